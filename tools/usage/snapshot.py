"""The official plan percentages Claude Code hands to status lines, captured and stored.

Import-light on purpose: the status line runs this on every refresh. Stdlib only, named tuples
rather than dataclasses (which pull in ``inspect``), and ``collections.namedtuple`` at run time
rather than ``typing.NamedTuple`` (importing typing costs a tenth of a refresh); type checkers
see the typed declarations.
Claude Code omits a window it does not know, so absence means "unknown", never 0%.
"""

from __future__ import annotations

import json
import os
import sqlite3

from claude_health.tools.terminal import plain

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name

FIVE_HOUR_S = 5 * 3600
SEVEN_DAY_S = 7 * 86400
MAX_INPUT_BYTES = 1024 * 1024
# Snapshots kept: enough for a week of refreshes every few minutes.
KEEP_SNAPSHOTS = 5000


if TYPE_CHECKING:
    from typing import Any, NamedTuple

    class WindowUsage(NamedTuple):
        used_percentage: float
        resets_at: int  # Unix seconds

    class _SnapshotFields(NamedTuple):
        captured_at: float
        session: str = ""
        model: str = ""
        five_hour: WindowUsage | None = None
        seven_day: WindowUsage | None = None
        cost_usd: float | None = None
        context_pct: float | None = None

else:
    from collections import namedtuple

    WindowUsage = namedtuple("WindowUsage", ["used_percentage", "resets_at"])
    _SnapshotFields = namedtuple(
        "_SnapshotFields",
        ["captured_at", "session", "model", "five_hour", "seven_day", "cost_usd", "context_pct"],
        defaults=("", "", None, None, None, None),
    )


class Snapshot(_SnapshotFields):
    """One status line payload's official numbers, as captured at ``captured_at``."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        def win(w: WindowUsage | None) -> dict[str, Any] | None:
            return None if w is None else {"used_percentage": w.used_percentage, "resets_at": w.resets_at}

        return {
            "captured_at": self.captured_at,
            "session": self.session,
            "model": self.model,
            "five_hour": win(self.five_hour),
            "seven_day": win(self.seven_day),
            "cost_usd": self.cost_usd,
            "context_pct": self.context_pct,
        }


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        return None
    return number if number == number and abs(number) != float("inf") else None


def _window(raw: object, now: float, length_s: int) -> WindowUsage | None:
    if not isinstance(raw, dict):
        return None
    pct = _number(raw.get("used_percentage"))
    reset = _number(raw.get("resets_at"))
    if pct is None or reset is None:
        return None
    if pct < 0 or pct > 1000:  # an epoch in the percentage field has been seen in the wild
        return None
    if reset > 1e11:  # milliseconds, not seconds
        reset /= 1000
    if reset <= now or reset > now + length_s + 3600:
        return None  # a window that already reset, or a reset time that cannot be right
    return WindowUsage(round(min(pct, 100.0), 2), int(reset))


def parse_payload(data: bytes | str, now: float) -> Snapshot | None:
    """The snapshot in Claude Code's status line JSON; None for empty or unusable input."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if not data.strip() or len(data) > MAX_INPUT_BYTES:
        return None
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    model = payload.get("model")
    model_name = ""
    if isinstance(model, dict):
        name = model.get("display_name") or model.get("id")
        model_name = plain(name)[:80] if isinstance(name, str) else ""
    elif isinstance(model, str):
        model_name = plain(model)[:80]
    limits = payload.get("rate_limits")
    limits = limits if isinstance(limits, dict) else {}
    cost = payload.get("cost")
    cost_usd = _number(cost.get("total_cost_usd")) if isinstance(cost, dict) else None
    session = payload.get("session_id")
    return Snapshot(
        captured_at=now,
        session=session[:100] if isinstance(session, str) else "",
        model=model_name,
        five_hour=_window(limits.get("five_hour"), now, FIVE_HOUR_S),
        seven_day=_window(limits.get("seven_day"), now, SEVEN_DAY_S),
        cost_usd=cost_usd if cost_usd is not None and cost_usd >= 0 else None,
        context_pct=_context_pct(payload.get("context_window")),
    )


def _context_pct(raw: object) -> float | None:
    if not isinstance(raw, dict):
        return None
    pct = _number(raw.get("used_percentage"))
    if pct is not None and 0 <= pct <= 100:
        return pct
    size = _number(raw.get("context_window_size"))
    current = raw.get("current_usage")
    if size and size > 0 and isinstance(current, dict):
        used = sum(
            _number(current.get(k)) or 0
            for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        return round(min(100.0, used / size * 100), 1)
    return None


# -- storage (usage_statusline in a small file of its own) --------------------------------------

# Beside the shared state database but not inside it: a usage scan holds that file's write lock
# for seconds, and the status line may wait only milliseconds.
SNAPSHOT_DB_NAME = "statusline.db"
STATUSLINE_BUSY_MS = 50

SNAPSHOT_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_statusline (
    captured_at REAL NOT NULL, session TEXT NOT NULL, model TEXT NOT NULL,
    five_pct REAL, five_reset INTEGER, week_pct REAL, week_reset INTEGER,
    cost_usd REAL, context_pct REAL
);
CREATE INDEX IF NOT EXISTS usage_statusline_at ON usage_statusline (captured_at);
"""


def snapshot_db_path(state_db: str | os.PathLike[str]) -> str:
    """The snapshot file that belongs to the state database ``state_db``."""
    return os.path.join(os.path.dirname(os.fspath(state_db)), SNAPSHOT_DB_NAME)


def open_db(path: str, busy_timeout_ms: int = STATUSLINE_BUSY_MS) -> sqlite3.Connection:
    """A connection for the snapshot table only (the status line must not wait long)."""
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(SNAPSHOT_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def store(conn: sqlite3.Connection, snap: Snapshot) -> None:
    if snap.five_hour is None and snap.seven_day is None:
        return  # nothing official to remember (API-key user, or before the first response)
    five, week = snap.five_hour, snap.seven_day
    conn.execute(
        "INSERT INTO usage_statusline VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            snap.captured_at,
            snap.session,
            snap.model,
            five.used_percentage if five else None,
            five.resets_at if five else None,
            week.used_percentage if week else None,
            week.resets_at if week else None,
            snap.cost_usd,
            snap.context_pct,
        ),
    )
    # Trim now and then, not on every refresh.
    if int(snap.captured_at) % 97 == 0:
        conn.execute(
            "DELETE FROM usage_statusline WHERE captured_at < (SELECT captured_at FROM usage_statusline"
            " ORDER BY captured_at DESC LIMIT 1 OFFSET ?)",
            (KEEP_SNAPSHOTS,),
        )


LATEST_S = 253402300799  # 9999-12-31: a later time cannot be shown


def _within(value: object, limit: float) -> bool:
    number = _number(value)
    return number is not None and 0 <= number <= limit


def _row_snapshot(row: tuple[Any, ...]) -> Snapshot | None:
    """The stored snapshot, or None for a row of the wrong shape (not written by :func:`store`)."""
    if len(row) != 9:
        return None
    at, session, model, fp, fr, wp, wr, cost, ctx = row
    if not (isinstance(session, str) and isinstance(model, str)) or not _within(at, LATEST_S):
        return None
    if not all(
        v is None or _within(v, limit)
        for v, limit in ((fr, LATEST_S), (wr, LATEST_S), (fp, 1000), (wp, 1000), (cost, 1e12), (ctx, 100))
    ):
        return None
    return Snapshot(
        captured_at=at,
        session=session,
        model=model,
        five_hour=WindowUsage(fp, fr) if fp is not None and fr is not None else None,
        seven_day=WindowUsage(wp, wr) if wp is not None and wr is not None else None,
        cost_usd=cost,
        context_pct=ctx,
    )


def latest(conn: sqlite3.Connection) -> Snapshot | None:
    row = conn.execute("SELECT * FROM usage_statusline ORDER BY captured_at DESC LIMIT 1").fetchone()
    return _row_snapshot(row) if row else None


def first_in_window(conn: sqlite3.Connection, column: str, reset: int) -> Snapshot | None:
    """The earliest snapshot of the window that resets at ``reset`` (for a %/hour rate)."""
    if column not in {"five_reset", "week_reset"}:
        raise ValueError(column)
    row = conn.execute(
        f"SELECT * FROM usage_statusline WHERE {column} BETWEEN ? AND ? ORDER BY captured_at LIMIT 1",  # noqa: S608 - column is whitelisted above
        (reset - 120, reset + 120),
    ).fetchone()
    return _row_snapshot(row) if row else None


def percent_per_hour(first: Snapshot | None, last: Snapshot, window: str) -> tuple[float, float] | None:
    """(%/hour, hours observed) between two snapshots of one window; None if too close."""
    if first is None:
        return None
    a = first.five_hour if window == "five_hour" else first.seven_day
    b = last.five_hour if window == "five_hour" else last.seven_day
    if a is None or b is None:
        return None
    hours = (last.captured_at - first.captured_at) / 3600
    if hours < 5 / 60:
        return None
    return max(0.0, (b.used_percentage - a.used_percentage) / hours), hours
