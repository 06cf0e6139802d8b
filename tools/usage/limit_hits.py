"""Plan limits actually hit: the ground truth a usage projection can only estimate.

When a session stops because the 5-hour or weekly plan limit is reached, Claude Code fires the
StopFailure hook (``error: "rate_limit"``) and writes the window (``rateLimitType``) into the
transcript. claude-health's hook records the moment here, with what its own estimate said at that
moment, so plan usage can say "limit hit at 14:20 at 97% of the local estimate" and treat the
window as full until it resets.

Stored in ``statusline.db`` beside the official snapshots (the other facts Claude Code reports
about the plan). Standard library only: the hook that writes it has a start-up budget.
"""

from __future__ import annotations

import os
import sqlite3

from claude_health.tools.usage.snapshot import FIVE_HOUR_S, SEVEN_DAY_S, open_db, snapshot_db_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import NamedTuple

    class LimitHit(NamedTuple):
        at: float  # Unix seconds
        window: str  # five_hour | seven_day | unknown
        session: str
        resets_at: int | None  # when known from the official snapshot of that window
        estimated_percentage: float | None  # what claude-health estimated at that moment
        estimate_source: str  # official | local estimate | none

else:
    from collections import namedtuple

    LimitHit = namedtuple(
        "LimitHit", ["at", "window", "session", "resets_at", "estimated_percentage", "estimate_source"]
    )

WINDOW_LENGTH_S = {"five_hour": FIVE_HOUR_S, "seven_day": SEVEN_DAY_S}
KEEP_HITS = 1000

HITS_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_limit_hits (
    at REAL NOT NULL, window TEXT NOT NULL, session TEXT NOT NULL, resets_at INTEGER,
    estimated_percentage REAL, estimate_source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_limit_hits_at ON usage_limit_hits (at);
"""


def open_hits(state_db: str | os.PathLike[str], busy_timeout_ms: int = 200) -> sqlite3.Connection:
    """The snapshot file with the hits table (created when missing)."""
    conn = open_db(snapshot_db_path(state_db), busy_timeout_ms)
    try:
        conn.executescript(HITS_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def record(conn: sqlite3.Connection, hit: LimitHit) -> None:
    conn.execute("INSERT INTO usage_limit_hits VALUES (?, ?, ?, ?, ?, ?)", tuple(hit))
    conn.execute(
        "DELETE FROM usage_limit_hits WHERE at < (SELECT at FROM usage_limit_hits ORDER BY at DESC "
        "LIMIT 1 OFFSET ?)",
        (KEEP_HITS,),
    )


def current(
    conn: sqlite3.Connection, window: str, now: float, resets_at: int | None = None
) -> LimitHit | None:
    """The first hit of ``window``'s current instance: it resets at ``resets_at`` (when known),
    or, for hits recorded without a reset time, it happened less than one window length ago."""
    length = WINDOW_LENGTH_S.get(window)
    if length is None:
        return None
    try:
        rows = conn.execute(
            "SELECT * FROM usage_limit_hits WHERE window = ? AND at > ? ORDER BY at",
            (window, now - length),
        ).fetchall()
    except sqlite3.Error:
        return None
    for row in rows:
        hit = LimitHit(*row)
        if hit.resets_at is not None:
            if hit.resets_at <= now:
                continue  # that window has reset since
            if resets_at is not None and abs(hit.resets_at - resets_at) > 300:
                continue  # another instance of the window
        return hit
    return None


def read_current(
    state_db: str | os.PathLike[str], window: str, now: float, resets_at: int | None = None
) -> LimitHit | None:
    """:func:`current` from the file on disk; None when nothing was ever recorded."""
    path = snapshot_db_path(state_db)
    if not os.path.isfile(path):
        return None
    try:
        conn = open_hits(state_db, 1000)
    except (sqlite3.Error, OSError):
        return None
    try:
        return current(conn, window, now, resets_at)
    finally:
        conn.close()
