"""Where the user stands in the plan's windows: the MCP tool's (and the doctor's) answer.

Builds the :class:`~claude_health.tools.usage.models.PlanUsage` model: official percentages,
local totals for a window, projections and findings.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from claude_health.tools.paths import Workspace
from claude_health.tools.state import state_db_path
from claude_health.tools.usage import aggregate, store
from claude_health.tools.usage.aggregate import ENTRIES, Tokens
from claude_health.tools.usage.findings import cleanup_finding, limit_findings
from claude_health.tools.usage.limit_hits import LimitHit, read_current
from claude_health.tools.usage.models import (
    LocalUsage,
    PlanInfoModel,
    PlanUsage,
    ProjectionModel,
    ScanSummary,
    TokenTotals,
    Window,
)
from claude_health.tools.usage.official import current_snapshot, first_snapshot_in_window, official_window
from claude_health.tools.usage.plan import plan_of
from claude_health.tools.usage.pricing import PriceLookup
from claude_health.tools.usage.projection import LocalWindow, Projection, WindowName, apply_limit_hit, project
from claude_health.tools.usage.session import UsageSession, guarded, iso_ms, open_session
from claude_health.tools.usage.snapshot import percent_per_hour
from claude_health.tools.usage.timezones import resolve_tz, tz_name

DAY_MS = 86_400_000


def _totals(tokens: Tokens) -> TokenTotals:
    return TokenTotals(**tokens.to_json())


def _local(session: UsageSession, window: Window, tz: tzinfo, source: str) -> LocalUsage:
    now_ms = session.now_ms
    if window == "block":
        found = aggregate.load_blocks(
            session.conn, session.lookup, now_ms, since_ms=now_ms - 7 * DAY_MS, source=source
        )
        active = next((b for b in reversed(found) if b.is_active), None)
        if active is None:
            return LocalUsage(window="block", is_active=False)
        rate = active.burn_rate()
        return LocalUsage(
            window="block",
            start=iso_ms(active.start_ms),
            end=iso_ms(active.end_ms),
            is_active=True,
            totals=_totals(active.tokens),
            models={m: _totals(t) for m, t in sorted(active.models.items())},
            tokens_per_minute=rate["tokens_per_minute"] if rate else None,
            cost_per_hour_usd=rate["cost_per_hour"] if rate else None,
        )
    if window == "day":
        local_now = datetime.fromtimestamp(session.now, tz)
        since = int(local_now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
    else:
        since = now_ms - 7 * DAY_MS
    bucket, _ = aggregate.window(session.conn, session.lookup, since, now_ms + 1, source=source)
    hours = max((now_ms - since) / 3_600_000, 1e-9)
    return LocalUsage(
        window=window,
        start=iso_ms(since),
        end=iso_ms(now_ms),
        totals=_totals(bucket.totals),
        models={m: _totals(t) for m, t in sorted(bucket.models.items())},
        projects={p: _totals(t) for p, t in sorted(bucket.projects.items())},
        tokens_per_minute=round(bucket.totals.total_tokens / hours / 60, 3),
        cost_per_hour_usd=round(bucket.totals.cost_usd / hours, 6),
    )


def _local_window(session: UsageSession, reset_s: int, length_s: int, recent_h: float) -> LocalWindow:
    start_ms = (reset_s - length_s) * 1000
    now_ms = session.now_ms
    in_window, _ = aggregate.window(session.conn, session.lookup, start_ms, now_ms + 1)
    recent_h = min(recent_h, max((now_ms - start_ms) / 3_600_000, 1 / 60))
    recent, _ = aggregate.window(session.conn, session.lookup, now_ms - int(recent_h * 3_600_000), now_ms + 1)
    return LocalWindow(
        tokens_in_window=in_window.totals.total_tokens,
        recent_tokens=recent.totals.total_tokens,
        recent_hours=round(recent_h, 3),
        entries_in_window=in_window.totals.entries,
    )


def projections(session: UsageSession) -> list[Projection]:
    snap = current_snapshot(session)
    out: list[Projection] = []
    plan: tuple[tuple[WindowName, str, int, float], ...] = (
        ("five_hour", "five_reset", 5 * 3600, 1.0),
        ("seven_day", "week_reset", 7 * 86400, 24.0),
    )
    for name, column, length, recent in plan:
        win = None if snap is None else (snap.five_hour if name == "five_hour" else snap.seven_day)
        rate = None
        local = None
        if snap is not None and win is not None and win.resets_at > session.now:
            rate = percent_per_hour(first_snapshot_in_window(session, column, win.resets_at), snap, name)
            local = _local_window(session, win.resets_at, length, recent)
        projection = project(name, snap, rate, local, session.now)
        hit = _limit_hit(session, name, win.resets_at if win is not None else None)
        out.append(apply_limit_hit(projection, hit) if hit is not None else projection)
    return out


def _limit_hit(session: UsageSession, window: str, resets_at: int | None) -> LimitHit | None:
    """The first recorded stop on this window's limit in its current instance, if any."""
    return read_current(state_db_path(session.env, session.home), window, session.now, resets_at)


def plan_usage(
    ws: Workspace,
    window: Window = "block",
    *,
    timezone: str | None = None,
    now: float | None = None,
    lookup: PriceLookup | None = None,
    only_existing: bool = False,
) -> PlanUsage:
    """Where the user stands: official %, local tokens for the window, projections, findings."""
    tz = resolve_tz(timezone, ws.env)
    session = open_session(ws.env, ws.home, now=now, lookup=lookup)
    try:
        return guarded(session, lambda s: build_plan_usage(s, ws, window, tz, only_existing=only_existing))
    finally:
        session.close()


def build_plan_usage(
    session: UsageSession, ws: Workspace, window: Window, tz: tzinfo, *, only_existing: bool = False
) -> PlanUsage:
    from claude_health.tools.findings import Summary

    plan = plan_of(ws.view.login)
    snap = current_snapshot(session)
    found = projections(session)
    findings = [*session.findings, *limit_findings(plan, found)]
    cleanup = cleanup_finding(session, ws)
    if cleanup is not None:
        findings.append(cleanup)
    source = store.existing_only_source() if only_existing else ENTRIES
    local = _local(session, window, tz, source)
    first = store.history_start_ms(session.conn, only_existing=only_existing)
    gone = store.gone(session.conn)
    unpriced = aggregate.unpriced_models(session.conn, session.lookup)
    stats = session.stats
    return PlanUsage(
        window=window,
        generated_at=iso_ms(session.now_ms),
        timezone=tz_name(tz),
        plan=PlanInfoModel(subscription_type=plan.subscription_type, rate_limit_tier=plan.rate_limit_tier),
        official={
            "five_hour": official_window(snap, "five_hour", session.now),
            "seven_day": official_window(snap, "seven_day", session.now),
        },
        local=local,
        projections=[ProjectionModel(**vars(p)) for p in found],
        unpriced_models=unpriced,
        scan=ScanSummary(
            roots=stats.roots,
            files=stats.files_seen,
            files_read=stats.files_read,
            bytes_read=stats.bytes_read,
            bad_lines=stats.bad_lines,
            files_missing=gone.transcripts,
            entries_from_deleted_transcripts=gone.entries,
            only_existing=only_existing,
            state_db=str(session.db_path) if session.db_path else None,
            history_since=iso_ms(first) if first is not None else None,
            rebuild_note=session.rebuild.note if session.rebuild is not None else None,
        ),
        findings=findings,
        summary=Summary.of(findings),
    )
