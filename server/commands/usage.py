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
    parser.add_argument(
        "--only-existing",
        action="store_true",
        help="count only transcripts still on disk (what ccusage reports); by default the ledger "
        "also counts usage from transcripts Claude Code has deleted",
    )
    parser.add_argument(
        "--api",
        action="store_true",
        help="the organisation's API usage, cost, spend headroom and Claude Code use this month from the "
        "Anthropic Admin API (network; needs an Admin API key in ANTHROPIC_ADMIN_KEY)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from claude_health.server.commands.common import UsageError, workspace
    from claude_health.tools.usage import reports
    from claude_health.tools.usage.session import guarded, open_session
    from claude_health.tools.usage.timezones import TimezoneError, resolve_tz

    if args.api:
        return run_api(args)
    ws = workspace(args)
    try:
        tz = resolve_tz(args.timezone, ws.env)
    except TimezoneError as exc:
        raise UsageError(f"--timezone: {exc}") from None
    only = bool(args.only_existing)
    session = open_session(ws.env, ws.home, blocks=args.report == "blocks")
    try:
        if args.report is None:
            from claude_health.tools.usage.plan_usage import build_plan_usage

            usage = guarded(session, lambda s: build_plan_usage(s, ws, "block", tz, only_existing=only))
            if args.json:
                _dump(usage.model_dump(mode="json"))
            else:
                _print_plan(usage, _style(args), sys.stdout)
                _print_findings(usage.findings, args)
            return usage.summary.exit_code
        if args.json:
            from claude_health.server.commands.usage_json import payload as json_payload

            data, code = json_payload(session, args.report, tz, only)
            _dump(data)
            return code
        payload: dict[str, Any]
        # A stored row claude-health never wrote is set aside and the report made again.
        if args.report == "daily":
            payload = guarded(session, lambda s: reports.daily(s, tz, only_existing=only))
        elif args.report == "monthly":
            payload = guarded(session, lambda s: reports.monthly(s, tz, only_existing=only))
        elif args.report == "weekly":
            payload = guarded(session, lambda s: reports.weekly(s, tz, only_existing=only))
        else:
            payload = guarded(session, lambda s: reports.blocks(s, only_existing=only))
        findings = session.findings
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
    from claude_health.server.commands.usage_json import dump

    dump(payload)


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


def _ledger_note(ledger: dict[str, Any] | None) -> str | None:
    """One line on what the totals rest on: usage from transcripts Claude Code has deleted."""
    if not ledger:
        return None
    gone = ledger.get("from_deleted_transcripts") or {}
    n = gone.get("entries") or 0
    if not n:
        return None
    span = f"{str(gone.get('first'))[:10]} to {str(gone.get('last'))[:10]}"
    what = (
        f"{n:,} responses ({_fmt_tokens(gone.get('total_tokens') or 0)} tokens, {span}) come from "
        f"{gone.get('transcripts')} transcript(s) Claude Code has deleted"
    )
    if ledger.get("only_existing"):
        return f"left out (--only-existing): {what}"
    return f"included: {what}, kept by claude-health's ledger (--only-existing leaves them out)"


def _print_report(report: str, payload: dict[str, Any], st: Style, out: TextIO) -> None:
    if report == "weekly":
        _window_heading(payload, st, out)
    out.write(st.bold(_HEAD) + "\n")
    note = _ledger_note(payload.get("ledger"))
    if report == "blocks":
        for b in payload["blocks"]:
            if b["is_gap"]:
                continue
            label = b["start"][:16].replace("T", " ") + (" *" if b["is_active"] else "")
            out.write(_row(label, b) + "\n")
            _model_rows(b, st, out)
        out.write(st.dim("* active block; times in UTC; cost is API-equivalent") + "\n")
        if note:
            out.write(st.dim(note) + "\n")
        return
    rows = payload.get("days") or payload.get("months") or []
    for r in rows:
        out.write(_row(r.get("date") or r.get("month"), r) + "\n")
        _model_rows(r, st, out)
    totals = payload.get("totals") or payload
    out.write(st.bold(_row("total", totals)) + "\n")
    _model_rows(totals, st, out)
    out.write(st.dim(f"dates in {payload.get('timezone')}; cost is API-equivalent") + "\n")
    if note:
        out.write(st.dim(note) + "\n")


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


# -- usage --api: the organisation's month from the Admin API ---------------------------------------


def run_api(args: argparse.Namespace) -> int:
    from claude_health.server.commands.common import UsageError, workspace
    from claude_health.tools.admin.credential import AdminKeyError
    from claude_health.tools.admin.service import organisation_usage

    if args.report is not None or args.timezone is not None:
        raise UsageError("--api reports the organisation's month in UTC: drop the report name and --timezone")
    ws = workspace(args)
    try:
        report = organisation_usage(ws.env, ws.home)
    except AdminKeyError as exc:
        raise UsageError(f"--api: {exc}") from None
    if args.json:
        _dump(report.model_dump(mode="json"))
    else:
        _print_org(report, _style(args), sys.stdout)
        _print_findings(report.findings, args)
    return report.summary.exit_code if report.summary else 0


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _print_org(report: Any, st: Style, out: TextIO) -> None:
    out.write(
        st.bold(f"Organisation, {report.period_start[:10]} to {report.period_end[:10]} (UTC), Admin API")
        + "\n"
    )
    if report.cost is not None:
        out.write(f"{st.bold('Cost:')} {_money(report.cost.total_usd)}")
        if report.spend is not None:
            s = report.spend
            out.write(
                f" of {_money(s.limit_usd)} ({s.used_fraction:.0%}; headroom {_money(s.headroom_usd)}; "
                f"on pace for {_money(s.projected_month_usd)}; limit: {s.limit_source})"
            )
        out.write("\n")
        for row in report.cost.by_model[:5]:
            out.write(st.dim(f"  └ {row.name}: {_money(row.usd)}") + "\n")
    if report.usage is not None:
        t = report.usage.totals
        rate = f", cache reads {t.cache_read_rate:.0%} of input" if t.cache_read_rate is not None else ""
        out.write(
            f"{st.bold('Tokens:')} input {_fmt_tokens(t.uncached_input_tokens)}, cache writes "
            f"{_fmt_tokens(t.cache_creation_input_tokens)}, cache reads "
            f"{_fmt_tokens(t.cache_read_input_tokens)}, output {_fmt_tokens(t.output_tokens)}{rate}\n"
        )
        for label, rows in (("model", report.usage.by_model), ("workspace", report.usage.by_workspace)):
            for row in rows[:5]:
                hit = f", cache reads {row.cache_read_rate:.0%}" if row.cache_read_rate is not None else ""
                out.write(
                    st.dim(
                        f"  └ {label} {row.name}: in {_fmt_tokens(row.uncached_input_tokens)}, out "
                        f"{_fmt_tokens(row.output_tokens)}{hit}"
                    )
                    + "\n"
                )
    if report.claude_code is not None:
        c = report.claude_code.totals
        out.write(
            f"{st.bold('Claude Code:')} {c.sessions:,} sessions, {c.commits:,} commits, "
            f"{c.pull_requests:,} PRs, +{c.lines_added:,}/-{c.lines_removed:,} lines, "
            f"{_money(c.estimated_cost_usd)} estimated\n"
        )
        for a in report.claude_code.by_actor[:5]:
            out.write(st.dim(f"  └ {a.actor}: {a.sessions} sessions, {_money(a.estimated_cost_usd)}") + "\n")
    for m in report.missing:
        out.write(f"{st.bold('Missing:')} {m.part}: {m.reason}\n")
    out.write("\n")
