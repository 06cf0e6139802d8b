"""``claude-health usage``: tokens and cost by 5-hour block, day, week or month, plus plan windows."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

# Findings and terminal output are imported where used: they pull in pydantic (~100 ms), which
# a JSON report of a healthy scan never needs.
if TYPE_CHECKING:
    from claude_health.server.output import Style

REPORTS = ("blocks", "daily", "weekly", "monthly")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "usage",
        parents=[common],
        help="plan usage in the 5-hour and weekly windows, tokens and cost by block/day/week",
        description="Read Claude Code's transcripts incrementally (deduplicated, history kept "
        "beyond Claude Code's cleanup) and report tokens and API-equivalent cost. Without a "
        "report name: where the plan stands in its 5-hour and weekly windows (official "
        "percentages captured by `claude-health statusline`) with a projection.",
    )
    parser.add_argument("report", nargs="?", choices=REPORTS, default=None, help="which report")
    parser.add_argument(
        "--timezone",
        metavar="TZ",
        default=None,
        help="IANA time zone for dates (default: the local zone)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from claude_health.server.commands.common import UsageError, workspace
    from claude_health.tools.usage import service
    from claude_health.tools.usage.timezones import TimezoneError, resolve_tz

    ws = workspace(args)
    try:
        tz = resolve_tz(args.timezone, ws.env)
    except TimezoneError as exc:
        raise UsageError(f"--timezone: {exc}") from None
    session = service.open_session(ws.env, ws.home)
    try:
        if args.report is None:
            usage = service.guarded(session, lambda s: service.build_plan_usage(s, ws, "block", tz))
            if args.json:
                _dump(usage.model_dump(mode="json"))
            else:
                _print_plan(usage, _style(args), sys.stdout)
                _print_findings(usage.findings, args)
            return usage.summary.exit_code
        payload: dict[str, Any]
        # A stored row claude-health never wrote is set aside and the report made again.
        if args.report == "daily":
            payload = service.guarded(session, lambda s: service.daily(s, tz))
        elif args.report == "monthly":
            payload = service.guarded(session, lambda s: service.monthly(s, tz))
        elif args.report == "weekly":
            payload = service.guarded(session, lambda s: service.weekly(s, tz))
        else:
            payload = service.guarded(session, service.blocks)
        findings = session.findings
        if args.json:
            from claude_health.tools.findings import Summary, sort_findings

            ordered = sort_findings(findings)
            payload["findings"] = [f.to_json() for f in ordered]
            payload["summary"] = Summary.of(ordered).to_json()
            _dump(payload)
        else:
            _print_report(args.report, payload, _style(args), sys.stdout)
            if findings:
                _print_findings(findings, args)
        if not findings:
            return 0
        from claude_health.tools.findings import Summary

        return Summary.of(findings).exit_code
    finally:
        session.close()


def _style(args: argparse.Namespace) -> Style:
    from claude_health.server.commands.common import style

    return style(args)


def _print_findings(findings: Any, args: argparse.Namespace) -> None:
    from claude_health.server.output import print_findings

    print_findings(findings, _style(args))


def _dump(payload: dict[str, Any]) -> None:
    """The JSON on stdout in one write: ``json.dump`` makes one call per token (~25k for blocks)."""
    import orjson

    data = orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n"
    raw = getattr(sys.stdout, "buffer", None)
    if raw is None:  # a text-only stream (tests redirecting stdout)
        sys.stdout.write(data.decode())
        return
    sys.stdout.flush()
    raw.write(data)
    raw.flush()


def _fmt_tokens(n: int) -> str:
    for unit, size in (("B", 1_000_000_000), ("M", 1_000_000), ("k", 1_000)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


_HEAD = f"{'':<24} {'input':>8} {'output':>8} {'cache wr':>9} {'cache rd':>9} {'total':>9} {'cost $':>10}"


def _row(label: str, t: dict[str, Any]) -> str:
    return (
        f"{label:<24} {_fmt_tokens(t['input_tokens']):>8} {_fmt_tokens(t['output_tokens']):>8} "
        f"{_fmt_tokens(t['cache_creation_input_tokens']):>9} {_fmt_tokens(t['cache_read_input_tokens']):>9} "
        f"{_fmt_tokens(t['total_tokens']):>9} {t['cost_usd']:>10.2f}"
    )


def _short_model(model: str) -> str:
    name = model.removeprefix("claude-")
    return name if len(name) <= 20 else name[:19] + "…"


def _model_rows(row: dict[str, Any], st: Style, out: TextIO) -> None:
    """The row's per-model breakdown (the JSON's ``models``), one dim line per model."""
    for model, tokens in sorted((row.get("models") or {}).items(), key=lambda kv: -kv[1]["total_tokens"]):
        out.write(st.dim(_row(f"  └ {_short_model(model)}", tokens)) + "\n")


def _window_heading(payload: dict[str, Any], st: Style, out: TextIO) -> None:
    """`usage weekly` is the last 7 days, not the plan's weekly limit window: say so first."""
    window = payload.get("window") or {}
    start, end = (str(window.get(k, ""))[:16].replace("T", " ") for k in ("start", "end"))
    out.write(st.bold(f"Last 7 days, a rolling window: {start} to {end} UTC") + "\n")
    official = payload.get("official")
    if official:
        used, resets = f"{official['used_percentage']:.0f}%", official["resets_at"]
        out.write(f"Your plan's weekly limit window (set per account): {used} used, resets {resets}.\n")
    else:
        out.write(
            st.dim(
                "Not your plan's weekly limit window, which resets at a time set per account "
                "(`claude-health usage` shows it once the status line has captured it)."
            )
            + "\n"
        )
    out.write("\n")


def _print_report(report: str, payload: dict[str, Any], st: Style, out: TextIO) -> None:
    if report == "weekly":
        _window_heading(payload, st, out)
    out.write(st.bold(_HEAD) + "\n")
    if report == "blocks":
        for b in payload["blocks"]:
            if b["is_gap"]:
                continue
            label = b["start"][:16].replace("T", " ") + (" *" if b["is_active"] else "")
            out.write(_row(label, b) + "\n")
            _model_rows(b, st, out)
        out.write(st.dim("* active block; times in UTC; cost is API-equivalent") + "\n")
        return
    rows = payload.get("days") or payload.get("months") or []
    for r in rows:
        out.write(_row(r.get("date") or r.get("month"), r) + "\n")
        _model_rows(r, st, out)
    totals = payload.get("totals") or payload
    out.write(st.bold(_row("total", totals)) + "\n")
    _model_rows(totals, st, out)
    out.write(st.dim(f"dates in {payload.get('timezone')}; cost is API-equivalent") + "\n")


def _print_plan(usage: Any, st: Style, out: TextIO) -> None:
    plan = usage.plan
    if plan.subscription_type:
        out.write(f"{st.bold('Plan:')} {plan.subscription_type} ({plan.rate_limit_tier or 'tier unknown'})\n")
    for p in usage.projections:
        name = "5-hour" if p.window == "five_hour" else "weekly"
        if p.used_percentage is None:
            out.write(f"{st.bold(name + ':')} official % unknown\n")
            continue
        line = f"{st.bold(name + ':')} {p.estimated_percentage_now:.0f}% (resets {p.resets_at})"
        if p.percent_per_hour is not None:
            line += f", {p.percent_per_hour}%/h"
        if p.hits_limit_before_reset:
            line += f", limit at {p.limit_at}"
        line += f" [confidence {p.confidence}]"
        out.write(line + "\n")
    local = usage.local
    if local.is_active:
        t = local.totals
        out.write(
            f"{st.bold('Active block:')} {local.start} - {local.end}: {_fmt_tokens(t.total_tokens)} tokens, "
            f"${t.cost_usd:.2f} API-equivalent"
        )
        if local.tokens_per_minute is not None:
            out.write(f", {_fmt_tokens(int(local.tokens_per_minute))} tokens/min")
        out.write("\n")
        for model, m in sorted(local.models.items(), key=lambda kv: -kv[1].total_tokens):
            out.write(
                st.dim(f"  └ {_short_model(model)}: {_fmt_tokens(m.total_tokens)} tokens, ${m.cost_usd:.2f}")
                + "\n"
            )
    else:
        out.write(f"{st.bold('Active block:')} none\n")
    out.write("\n")
