"""``claude-health limits``: rate-limit buckets and headroom; ``limits set`` picks tier and overrides."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from claude_health.server.commands.common import UsageError, style, workspace
from claude_health.server.output import dump_json, findings_payload, print_findings
from claude_health.tools.findings import Summary


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "limits",
        parents=[common],
        help="rate-limit buckets and headroom (per model class)",
        description="Show Anthropic rate-limit buckets (RPM, ITPM, OTPM) as every claude-health session on "
        "this machine (or team, with Redis) shares them: limit, what is available now and where each "
        "number comes from (tier table, override file or the server's own headers).",
    )
    parser.add_argument("--model", help="only this model's class (e.g. claude-opus-4-8)")
    parser.add_argument(
        "--sync",
        action="store_true",
        help="first fetch the organisation's real rate limits from the Anthropic Admin API and seed the "
        "limiter with them (network; needs an Admin API key in ANTHROPIC_ADMIN_KEY)",
    )
    parser.add_argument(
        "--workspace", metavar="ID", help="with --sync: seed with this workspace's limits (its overrides)"
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="memory://, sqlite:///PATH, redis://HOST:PORT/DB or redis+cluster://HOST:PORT[,HOST:PORT...]",
    )
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="limits_action", metavar="ACTION")
    setter = actions.add_parser(
        "set",
        parents=[common],
        help="set your tier, store or per-model limits in ~/.config/claude-health/limits.toml",
        description="Write ~/.config/claude-health/limits.toml ($XDG_CONFIG_HOME honoured) atomically, "
        "keeping a .bak copy and any keys it does not know.",
    )
    setter.add_argument("--tier", help="start, build, scale, or legacy tier-1 .. tier-4")
    setter.add_argument("--store", metavar="URL", help="shared store URL, e.g. redis://10.0.0.5:6379/0")
    setter.add_argument("--model", help="model ID or class ID (opus-4, sonnet-4, ...) for the values below")
    for dim, label in (("rpm", "requests"), ("itpm", "input tokens"), ("otpm", "output tokens")):
        setter.add_argument(f"--{dim}", type=int, metavar="N", help=f"{label} per minute for --model")
    setter.add_argument("--clear-model", metavar="MODEL", help="remove the overrides of MODEL")
    setter.set_defaults(func=run_set)


def run(args: argparse.Namespace) -> int:
    from claude_health.tools.limiter.check import open_for_report, run_check
    from claude_health.tools.limiter.core import Limiter, LimiterUnavailable
    from claude_health.tools.limiter.stores import StoreError

    ws = workspace(args)
    if args.workspace and not args.sync:
        raise UsageError("--workspace needs --sync")
    sync = _sync(args, ws) if args.sync else None
    outcome = run_check(ws)
    try:
        if args.store:
            lim = Limiter.open(args.store, env=ws.env, home=ws.home, fallback=None)
        else:
            lim = open_for_report(ws)
    except (LimiterUnavailable, ValueError) as exc:
        raise UsageError(str(exc)) from None
    findings = outcome.findings + (sync.findings if sync else [])
    try:
        status = lim.status(args.model)
    except ValueError as exc:
        raise UsageError(f"--model: {exc}") from None
    except StoreError as exc:  # the store opened, then failed (the check above may have said so)
        from claude_health.tools.limiter.rules import STORE_PROBLEM

        if not any(str(exc) in f.message for f in findings):
            findings = [*findings, STORE_PROBLEM.finding(str(exc))]
        if args.json:
            dump_json(findings_payload(findings, limits=None))
            return Summary.of(findings).exit_code
        return print_findings(findings, style(args)).exit_code
    finally:
        lim.close()
    if args.json:
        sections: dict[str, Any] = {"limits": status.model_dump(mode="json")}
        if sync is not None:
            sections["admin"] = sync.sync.model_dump(mode="json") if sync.sync else None
        dump_json(findings_payload(findings, **sections))
        return Summary.of(findings).exit_code
    st = style(args)
    out = sys.stdout
    if sync is not None and sync.sync is not None:
        _print_sync(sync.sync, st, out)
    out.write(
        f"{st.bold('Tier:')}  {status.tier_label} ({status.tier_source}; table of {status.table_as_of})\n"
    )
    out.write(f"{st.bold('Store:')} {status.store}\n")
    if status.org_limits:
        out.write(f"{st.bold('Organisation limits:')} {status.org_limits}\n")
    out.write("\n")
    header = f"{'bucket':<16} {'RPM':>21} {'ITPM':>25} {'OTPM':>23}  source"
    out.write(st.bold(header) + "\n")
    for cls in status.classes:
        cells: dict[str, str] = {}
        sources: set[str] = set()
        for b in cls.buckets:
            if b.limit is None or b.available is None:
                cells[b.dimension] = "unknown"
            else:
                cells[b.dimension] = f"{b.available:,.0f}/{b.limit:,.0f}"
            sources.add(b.source)
        hold = f"  retry-after {cls.retry_after:.0f}s" if cls.retry_after else ""
        out.write(
            f"{cls.bucket:<16} {cells.get('rpm', '-'):>21} {cells.get('itpm', '-'):>25} "
            f"{cells.get('otpm', '-'):>23}  {st.dim('; '.join(sorted(sources)))}{hold}\n"
        )
    extra = [f"Message Batches {status.batches_rpm:,} RPM"] if status.batches_rpm else []
    if status.batch_queue:
        extra.append(f"batch queue {status.batch_queue:,} requests")
    if status.monthly_spend_cap_usd:
        extra.append(f"monthly spend cap ${status.monthly_spend_cap_usd:,}")
    if extra:
        out.write(st.dim(", ".join(extra)) + "\n")
    out.write("\n")
    return print_findings(findings, st).exit_code


def _sync(args: argparse.Namespace, ws: Any) -> Any:
    """``--sync``: the Admin API's limits into org-limits.json; problems become findings."""
    from claude_health.tools.admin.credential import AdminKeyError
    from claude_health.tools.admin.service import sync_limits

    try:
        return sync_limits(ws.env, ws.home, workspace=args.workspace)
    except (AdminKeyError, ValueError) as exc:
        raise UsageError(f"--sync: {exc}") from None


def _print_sync(sync: Any, st: Any, out: Any) -> None:
    where = f" for workspace {sync.workspace_id}" if sync.workspace_id else ""
    out.write(
        f"{st.bold('Admin API:')} {len(sync.groups)} rate-limit groups{where}, fetched {sync.fetched_at}, "
        f"saved to {sync.saved_to}\n"
    )
    for group in sync.groups:
        if not group.limits:
            continue
        values = ", ".join(f"{d.upper()} {v:,}" for d, v in group.limits.items())
        out.write(st.dim(f"  {group.display_name or group.group_type}: {values}") + "\n")
    for w in sync.workspaces:
        if w.overrides:
            names = ", ".join(g.display_name or g.group_type for g in w.overrides)
            out.write(st.dim(f"  workspace {w.name or w.workspace_id} overrides: {names}") + "\n")
    out.write("\n")


def run_set(args: argparse.Namespace) -> int:
    from claude_health.tools.limiter.config import LimitsConfigError, write_config

    limits = {d: getattr(args, d) for d in ("rpm", "itpm", "otpm") if getattr(args, d) is not None}
    if limits and not args.model:
        raise UsageError("--rpm/--itpm/--otpm need --model MODEL")
    if args.model and not limits:
        raise UsageError("--model needs at least one of --rpm, --itpm, --otpm")
    if not (args.tier or args.store or limits or args.clear_model):
        raise UsageError("nothing to set: give --tier, --store, --model with limits, or --clear-model")
    if args.model is not None:
        from claude_health.tools.limiter.table import clean_model

        try:
            clean_model(args.model)
        except ValueError as exc:
            raise UsageError(f"--model: {exc}") from None
    ws = workspace(args)
    try:
        path = write_config(
            ws.env,
            ws.home,
            tier=args.tier,
            store=args.store,
            model=args.model.strip().lower() if args.model else None,
            limits=limits or None,
            clear_model=args.clear_model,
        )
    except LimitsConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        dump_json({"written": str(path)})
    else:
        sys.stdout.write(f"Wrote {path}\n")
    return 0
