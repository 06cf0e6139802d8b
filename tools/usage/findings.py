"""Findings of plan usage: the scan's problems, the ledger's health, and the plan windows."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from claude_health.tools.findings import Finding, Severity
from claude_health.tools.usage import rules

if TYPE_CHECKING:
    from claude_health.tools.paths import Workspace
    from claude_health.tools.usage.plan import PlanInfo
    from claude_health.tools.usage.projection import Projection
    from claude_health.tools.usage.session import UsageSession

NEAR_LIMIT_PCT = 80.0
MAX_LISTED_FILES = 10
DAY_MS = 86_400_000
# Claude Code's default for cleanupPeriodDays.
DEFAULT_CLEANUP_DAYS = 30


def scan_findings(session: UsageSession, bad: list[tuple[str, int]]) -> list[Finding]:
    """The scan's problems; ``bad``: transcripts with unreadable usage lines, worst first."""
    out: list[Finding] = []
    if session.state_problem and all(f.code != rules.STATE_UNUSABLE.code for f in session.findings):
        out.append(rules.STATE_UNUSABLE.finding(session.state_problem))
    if session.rebuild is not None:
        out.append(rules.LEDGER_REBUILT.finding(session.rebuild.note, path=session.rebuild.kept_at))
    for problem in session.stats.problems[:MAX_LISTED_FILES]:
        out.append(
            rules.UNREADABLE_TRANSCRIPT.finding(f"{problem.path} {problem.message}", path=problem.path)
        )
    for path, count in bad:
        out.append(rules.MALFORMED_LINES.finding(f"{count} unreadable usage line(s) in {path}", path=path))
    return out


def limit_findings(plan: PlanInfo, found: list[Projection]) -> list[Finding]:
    out: list[Finding] = []
    rules_by_window = {"five_hour": rules.FIVE_HOUR_NEAR_LIMIT, "seven_day": rules.WEEKLY_NEAR_LIMIT}
    label = {"five_hour": "5-hour", "seven_day": "weekly"}
    for p in found:
        pct = p.estimated_percentage_now if p.estimated_percentage_now is not None else p.used_percentage
        if pct is not None and pct >= NEAR_LIMIT_PCT:
            reached = pct >= 100
            out.append(
                rules_by_window[p.window].finding(
                    f"The {label[p.window]} window is at {pct:.0f}%"
                    f"{' (limit reached)' if reached else ''}; it resets at {p.resets_at}.",
                    severity=Severity.ERROR if reached else None,
                )
            )
        elif p.hits_limit_before_reset and p.confidence in {"high", "medium"}:
            out.append(
                rules.PROJECTED_TO_HIT.finding(
                    f"The {label[p.window]} window ({pct:.0f}% now, {p.percent_per_hour}%/h) is projected to "
                    f"reach 100% at {p.limit_at}, before it resets at {p.resets_at} "
                    f"(confidence {p.confidence})."
                )
            )
    if plan.has_plan_windows and all(p.used_percentage is None for p in found):
        out.append(
            rules.NO_OFFICIAL_NUMBERS.finding(
                f"Plan {plan.subscription_type} ({plan.rate_limit_tier or 'tier unknown'}): no current "
                "official 5-hour or weekly percentage is stored."
            )
        )
    return out


def cleanup_days(ws: Workspace) -> tuple[int, str | None]:
    """``cleanupPeriodDays`` as Claude Code applies it, and the file that set it (None: default).

    Read from the workspace's view (the one merge of every settings file). A value Claude Code
    rejects makes it ignore the whole file, so the view never holds one; anything else is the
    default.
    """
    settings = ws.view.settings
    value: Any = settings.settings.get("cleanupPeriodDays")
    if type(value) is int and value >= 1:
        return value, settings.provenance.get("cleanupPeriodDays")
    return DEFAULT_CLEANUP_DAYS, None


def cleanup_finding(session: UsageSession, ws: Workspace) -> Finding | None:
    """U008: transcripts can be deleted before the ledger sees them.

    Claude Code deletes a transcript ``cleanupPeriodDays`` after it was last written. The ledger
    sees transcripts only when claude-health scans them (any usage report, the MCP tool, the
    doctor, the key scan), so history is lost when the time between two scans exceeds that
    period: transcripts written just after one scan are gone before the next.
    """
    if session.db_path is None:  # an in-memory ledger keeps nothing; U006 says so already
        return None
    days, source = cleanup_days(ws)
    period_ms = days * DAY_MS
    times = [*session.scan_log_ms, *([session.previous_scan_ms] if session.previous_scan_ms else [])]
    times = sorted(set(times))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    since_last = session.now_ms - times[-1] if times else None
    where = f"set in {source}" if source else "Claude Code's default"
    if since_last is not None and since_last >= period_ms:
        return rules.CLEANUP_OUTRUNS_LEDGER.finding(
            f"cleanupPeriodDays is {days} ({where}) and the usage ledger had not been updated for "
            f"{since_last / DAY_MS:.1f} days before this run: transcripts written after its last update "
            f"and untouched for {days} days were deleted before it could read them.",
            path=source,
        )
    widest = max(gaps, default=0)
    if widest and widest * 2 >= period_ms:
        return rules.CLEANUP_OUTRUNS_LEDGER.finding(
            f"cleanupPeriodDays is {days} ({where}), and the usage ledger has gone "
            f"{widest / DAY_MS:.1f} days between updates: a little longer and transcripts are deleted "
            "before it reads them.",
            path=source,
        )
    return None
