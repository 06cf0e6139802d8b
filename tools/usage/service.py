"""Plan usage end to end: scan incrementally, then answer one question (a report or a window)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from claude_health.tools.files import log_read
from claude_health.tools.findings import Severity, Summary
from claude_health.tools.paths import Workspace
from claude_health.tools.state import state_db_path
from claude_health.tools.usage import aggregate, rules
from claude_health.tools.usage.aggregate import Bucket, Tokens
from claude_health.tools.usage.block_cache import SCHEMA as BLOCKS_SCHEMA
from claude_health.tools.usage.limit_hits import LimitHit, read_current
from claude_health.tools.usage.plan import PlanInfo, plan_of
from claude_health.tools.usage.pricing import PriceLookup, default_lookup
from claude_health.tools.usage.projection import LocalWindow, Projection, WindowName, apply_limit_hit, project
from claude_health.tools.usage.scan import ScanStats, scan
from claude_health.tools.usage.snapshot import (
    SNAPSHOT_SCHEMA,
    Snapshot,
    first_in_window,
    latest,
    open_db,
    percent_per_hour,
    snapshot_db_path,
)
from claude_health.tools.usage.store import INDEXES, SCHEMA, TRIGGERS, StateError, connect, repair
from claude_health.tools.usage.timezones import resolve_tz, tz_name

# The pydantic models are imported where they are built: a `usage daily` or `usage blocks`
# report needs none, and pydantic costs ~100 ms to import.
if TYPE_CHECKING:
    from claude_health.tools.findings import Finding
    from claude_health.tools.usage.models import LocalUsage, OfficialWindow, PlanUsage, TokenTotals, Window

DAY_MS = 86_400_000
NEAR_LIMIT_PCT = 80.0
MAX_LISTED_FILES = 10


# Readers may wait longer than the status line: only the status line writes this file.
SNAPSHOT_READ_BUSY_MS = 1000


@dataclass
class UsageSession:
    """An up-to-date state database (or an in-memory stand-in) plus what the scan saw."""

    conn: sqlite3.Connection
    stats: ScanStats
    now: float
    env: Mapping[str, str]
    home: Path
    lookup: PriceLookup
    db_path: Path | None
    state_problem: str | None = None
    findings: list[Finding] = field(default_factory=list)
    roots: list[Path] | None = None
    _snapshots: sqlite3.Connection | None = field(default=None, repr=False)

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)

    @property
    def snapshots(self) -> sqlite3.Connection:
        """Where the status line's snapshots are read from.

        The status line's own file; the old table in the state database only while that file
        holds nothing yet (snapshots written by a version that kept them there).
        """
        if self._snapshots is None:
            conn: sqlite3.Connection | None = None
            try:
                conn = open_db(snapshot_db_path(state_db_path(self.env, self.home)), SNAPSHOT_READ_BUSY_MS)
                if latest(conn) is None:
                    conn.close()
                    conn = None
            except (sqlite3.Error, OSError):
                if conn is not None:
                    conn.close()
                conn = None
            self._snapshots = conn or self.conn
        return self._snapshots

    def close(self) -> None:
        if self._snapshots is not None and self._snapshots is not self.conn:
            self._snapshots.close()
        self.conn.close()

    def recover(self, exc: BaseException) -> bool:
        """After ``exc`` while reading the state database: repair it (rows claude-health never
        writes are set aside) or, if it cannot be, answer from an in-memory scan. False when the
        state is not to blame (an in-memory session, or nothing wrong in the file)."""
        if self.db_path is None:
            return False
        try:
            done = repair(self.conn, self.db_path)
        except (StateError, sqlite3.Error) as problem:
            self._in_memory(str(problem))
            return True
        if done is None:
            if not isinstance(exc, sqlite3.Error):
                return False
            self._in_memory(f"the state database {self.db_path} could not be read: {exc}")
            return True
        self.findings.append(rules.STATE_REPAIRED.finding(done, path=str(self.db_path)))
        try:
            self.stats = scan(self.conn, self.env, self.home, roots=self.roots)
        except (*_SCAN_ERRORS, TypeError, ValueError) as again:
            self._in_memory(f"the state database {self.db_path} could not be updated after repair: {again}")
        return True

    def _in_memory(self, problem: str) -> None:
        """Drop the state database for this session: history and incrementality are lost."""
        self.close()
        self._snapshots = None
        self.conn, self.db_path, self.state_problem = _memory(), None, problem
        try:
            self.stats = scan(self.conn, self.env, self.home, roots=self.roots)
        except _SCAN_ERRORS as again:
            self.stats = ScanStats()
            problem = f"{problem}; the transcripts could not be scanned either: {again}"
            self.state_problem = problem
        self.findings.append(rules.STATE_UNUSABLE.finding(problem))


T = TypeVar("T")
# What reading a state database with rows claude-health never wrote raises: arithmetic on text,
# a time out of range, a result model refusing a value (ValueError), undecodable text.
_STATE_ERRORS = (sqlite3.Error, TypeError, ValueError, OverflowError)


def guarded(session: UsageSession, build: Callable[[UsageSession], T]) -> T:
    """``build(session)``; if the state database is to blame it is repaired once and ``build`` rerun."""
    try:
        return build(session)
    except _STATE_ERRORS as exc:
        if not session.recover(exc):
            raise
    return build(session)


def open_session(
    env: Mapping[str, str],
    home: Path,
    *,
    now: float | None = None,
    lookup: PriceLookup | None = None,
    roots: list[Path] | None = None,
) -> UsageSession:
    """Open the shared state database and bring it up to date with the transcripts on disk."""
    db_path: Path | None = state_db_path(env, home)
    problem = None
    try:
        conn = connect(state_db_path(env, home))
    except StateError as exc:
        # Still answer, from this run's scan only: history and incrementality are lost.
        problem = str(exc)
        db_path = None
        conn = _memory()
    session = UsageSession(
        conn=conn,
        stats=ScanStats(),
        now=time.time() if now is None else now,
        env=env,
        home=home,
        lookup=lookup or default_lookup(),
        db_path=db_path,
        state_problem=problem,
        roots=roots,
    )
    if problem:
        session.findings.append(rules.STATE_UNUSABLE.finding(problem))
    try:
        session.stats = scan(conn, env, home, roots=roots)
    except _SCAN_ERRORS as exc:  # locked past the busy timeout, disk full, corrupted pages...
        # The same transcripts may break the scan wherever it writes: then the in-memory session
        # answers with no local usage and says why, rather than fail every usage call from now on.
        where = f"the state database {db_path} could not be updated" if db_path else "the scan failed"
        session._in_memory(f"{where}: {exc}")
    except (TypeError, ValueError) as exc:  # a stored row of the wrong type
        if not session.recover(exc):
            raise
    _log_scan(session.db_path, session.stats)
    session.findings.extend(guarded(session, _scan_findings))
    return session


# OverflowError: a value SQLite cannot store as a 64-bit integer.
_SCAN_ERRORS = (sqlite3.Error, OverflowError)


def _memory() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA)
    conn.executescript(INDEXES)
    conn.executescript(BLOCKS_SCHEMA)
    conn.executescript("\n".join(TRIGGERS))
    conn.executescript(SNAPSHOT_SCHEMA)
    return conn


def _log_scan(db_path: Path | None, stats: ScanStats) -> None:
    """For -v: the transcript folders and state database read (files are too many to list)."""
    folders = ", ".join(stats.roots) or "no transcript folder"
    seen, read = f"{stats.files_seen:,}", f"{stats.files_read:,}"
    log_read(folders, f"{seen} transcript file(s), {read} read for new lines ({stats.bytes_read:,} bytes)")
    log_read(db_path or "(in memory)", "usage state database")


def _scan_findings(session: UsageSession) -> list[Finding]:
    out: list[Finding] = []
    bad = session.conn.execute(
        "SELECT path, bad_lines FROM usage_files WHERE bad_lines > 0 ORDER BY bad_lines DESC LIMIT ?",
        (MAX_LISTED_FILES,),
    ).fetchall()
    if not (session.stats.problems or bad):
        return out

    for problem in session.stats.problems[:MAX_LISTED_FILES]:
        out.append(
            rules.UNREADABLE_TRANSCRIPT.finding(f"{problem.path} {problem.message}", path=problem.path)
        )
    for path, count in bad:
        out.append(rules.MALFORMED_LINES.finding(f"{count} unreadable usage line(s) in {path}", path=path))
    return out


# -- reports (CLI JSON shapes) --------------------------------------------------------------------


def _bucket_json(bucket: Bucket) -> dict[str, Any]:
    payload: dict[str, Any] = bucket.to_json()
    return payload


def daily(session: UsageSession, tz: tzinfo) -> dict[str, Any]:
    report = aggregate.by_period(session.conn, session.lookup, tz, "%Y-%m-%d")
    return {
        "days": [{"date": d, **_bucket_json(b)} for d, b in report.periods.items()],
        "totals": _bucket_json(report.totals),
        "timezone": tz_name(tz),
        "unpriced_models": report.unpriced_models,
    }


def monthly(session: UsageSession, tz: tzinfo) -> dict[str, Any]:
    report = aggregate.by_period(session.conn, session.lookup, tz, "%Y-%m")
    return {
        "months": [{"month": m, **_bucket_json(b)} for m, b in report.periods.items()],
        "totals": _bucket_json(report.totals),
        "timezone": tz_name(tz),
        "unpriced_models": report.unpriced_models,
    }


def weekly(session: UsageSession, tz: tzinfo) -> dict[str, Any]:
    """The rolling last 7 days (the plan's weekly window has a per-account anchor, see official)."""
    since = session.now_ms - 7 * DAY_MS
    report = aggregate.by_period(session.conn, session.lookup, tz, "%Y-%m-%d", since_ms=since)
    snap = _current_snapshot(session)
    official = _official(snap, "seven_day", session.now)
    return {
        "window": {"start": _iso_ms(since), "end": _iso_ms(session.now_ms), "kind": "rolling_7_days"},
        **_bucket_json(report.totals),
        "days": [{"date": d, **_bucket_json(b)} for d, b in report.periods.items()],
        "official": official.model_dump() if official else None,
        "timezone": tz_name(tz),
        "unpriced_models": report.unpriced_models,
    }


def blocks(session: UsageSession) -> dict[str, Any]:
    found = aggregate.load_blocks(session.conn, session.lookup, session.now_ms)
    return {"blocks": [b.to_json(session.now_ms) for b in found]}


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- plan usage (MCP tool, doctor) ---------------------------------------------------------------


def _current_snapshot(session: UsageSession) -> Snapshot | None:
    try:
        return latest(session.snapshots)
    except sqlite3.Error:
        return None


def _first_in_window(session: UsageSession, column: str, reset: int) -> Snapshot | None:
    try:
        return first_in_window(session.snapshots, column, reset)
    except sqlite3.Error:
        return None


def _official(snap: Snapshot | None, window: str, now: float) -> OfficialWindow | None:
    from claude_health.tools.usage.models import OfficialWindow

    if snap is None:
        return None
    win = snap.five_hour if window == "five_hour" else snap.seven_day
    if win is None or win.resets_at <= now:
        return None
    return OfficialWindow(
        used_percentage=win.used_percentage,
        resets_at=_iso_ms(win.resets_at * 1000),
        captured_at=_iso_ms(int(snap.captured_at * 1000)),
        age_seconds=round(max(0.0, now - snap.captured_at), 1),
    )


def _totals(tokens: Tokens) -> TokenTotals:
    from claude_health.tools.usage.models import TokenTotals

    return TokenTotals(**tokens.to_json())


def _local(session: UsageSession, window: Window, tz: tzinfo) -> LocalUsage:
    from claude_health.tools.usage.models import LocalUsage

    now_ms = session.now_ms
    if window == "block":
        found = aggregate.load_blocks(session.conn, session.lookup, now_ms, since_ms=now_ms - 7 * DAY_MS)
        active = next((b for b in reversed(found) if b.is_active), None)
        if active is None:
            return LocalUsage(window="block", is_active=False)
        rate = active.burn_rate()
        return LocalUsage(
            window="block",
            start=_iso_ms(active.start_ms),
            end=_iso_ms(active.end_ms),
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
    bucket, _ = aggregate.window(session.conn, session.lookup, since, now_ms + 1)
    hours = max((now_ms - since) / 3_600_000, 1e-9)
    return LocalUsage(
        window=window,
        start=_iso_ms(since),
        end=_iso_ms(now_ms),
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
    snap = _current_snapshot(session)
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
            rate = percent_per_hour(_first_in_window(session, column, win.resets_at), snap, name)
            local = _local_window(session, win.resets_at, length, recent)
        projection = project(name, snap, rate, local, session.now)
        hit = _limit_hit(session, name, win.resets_at if win is not None else None)
        out.append(apply_limit_hit(projection, hit) if hit is not None else projection)
    return out


def _limit_hit(session: UsageSession, window: str, resets_at: int | None) -> LimitHit | None:
    """The first recorded stop on this window's limit in its current instance, if any."""
    return read_current(state_db_path(session.env, session.home), window, session.now, resets_at)


def limit_findings(session: UsageSession, plan: PlanInfo, found: list[Projection]) -> list[Finding]:
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


def plan_usage(
    ws: Workspace,
    window: Window = "block",
    *,
    timezone: str | None = None,
    now: float | None = None,
    lookup: PriceLookup | None = None,
) -> PlanUsage:
    """Where the user stands: official %, local tokens for the window, projections, findings."""
    tz = resolve_tz(timezone, ws.env)
    session = open_session(ws.env, ws.home, now=now, lookup=lookup)
    try:
        return guarded(session, lambda s: build_plan_usage(s, ws, window, tz))
    finally:
        session.close()


def build_plan_usage(session: UsageSession, ws: Workspace, window: Window, tz: tzinfo) -> PlanUsage:
    from claude_health.tools.usage.models import PlanInfoModel, PlanUsage, ProjectionModel, ScanSummary

    plan = plan_of(ws.view.login)
    snap = _current_snapshot(session)
    found = projections(session)
    findings = [*session.findings, *limit_findings(session, plan, found)]
    local = _local(session, window, tz)
    first = session.conn.execute("SELECT MIN(ts) FROM usage_entries").fetchone()[0]
    unpriced = aggregate.unpriced_models(session.conn, session.lookup)
    stats = session.stats
    return PlanUsage(
        window=window,
        generated_at=_iso_ms(session.now_ms),
        timezone=tz_name(tz),
        plan=PlanInfoModel(subscription_type=plan.subscription_type, rate_limit_tier=plan.rate_limit_tier),
        official={
            "five_hour": _official(snap, "five_hour", session.now),
            "seven_day": _official(snap, "seven_day", session.now),
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
            files_missing=stats.files_missing,
            state_db=str(session.db_path) if session.db_path else None,
            history_since=_iso_ms(first) if first is not None else None,
        ),
        findings=findings,
        summary=Summary.of(findings),
    )
