"""Per local day sums kept in the state database, so a daily or monthly report reads one row per
day, model, project, speed and price tier, and re-aggregates only the days that changed.

A whole-history daily report otherwise groups every quarter-hour row of the history into local
days (13,700 rows into 930 on the generated 200 MiB tree: 18 ms, most of an in-server report).
The same triggers that keep ``usage_quarters`` exact lower ``usage_period_dirty.since`` to the
earliest entry time added, replaced or dropped; a report keeps the cached days that end before
that moment and recomputes the rest. One time zone is cached at a time (the last one asked for);
another zone recomputes everything and replaces it.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import tzinfo

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import Any

CLEAN = 2**62

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_period_cache (
    lo INTEGER NOT NULL, hi INTEGER NOT NULL, day TEXT NOT NULL,
    model TEXT NOT NULL, project TEXT NOT NULL, speed TEXT NOT NULL, tier INTEGER NOT NULL,
    input INTEGER NOT NULL, output INTEGER NOT NULL, cc5m INTEGER NOT NULL, cc1h INTEGER NOT NULL,
    cc INTEGER NOT NULL, cread INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (lo, model, project, speed, tier)
) WITHOUT ROWID;
-- The zone of the cached days and the earliest entry time changed since; no row: empty cache.
CREATE TABLE IF NOT EXISTS usage_period_dirty (
    id INTEGER PRIMARY KEY CHECK (id = 0), zone TEXT NOT NULL, since INTEGER NOT NULL
);
"""

QUARTER_MS = 900_000


def invalidate(conn: sqlite3.Connection) -> None:
    """Forget the cache (after entries changed without the triggers firing)."""
    conn.execute("DELETE FROM usage_period_dirty")


def zone_key(tz: tzinfo) -> str | None:
    """A name that changes whenever the zone's rules may (None: do not cache this zone)."""
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key != "localtime":
        return key
    if key == "localtime":  # /etc/localtime: identified by where it points and what it holds
        try:
            st = os.stat("/etc/localtime")  # noqa: PTH116 - no pathlib on the report path
            return f"localtime:{os.path.realpath('/etc/localtime')}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            return None
    offset = tz.utcoffset(None)
    return None if offset is None else f"fixed:{offset.total_seconds()}"


Row = tuple["Any", ...]  # day, model, project, speed, tier, input, output, cc5m, cc1h, cc, cread, n


def day_rows(conn: sqlite3.Connection, tz: tzinfo, zone: str) -> list[Row]:
    """Every day's sums in ``tz``, brought up to date first (in one write transaction)."""
    from claude_health.tools.usage.aggregate import local_day_ranges

    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT zone, since FROM usage_period_dirty").fetchone()
        if row is None or row[0] != zone:
            from_q = 0
        else:
            since_q = int(row[1]) // QUARTER_MS
            stale = conn.execute(
                "SELECT MIN(lo) FROM usage_period_cache WHERE hi > ?", (since_q,)
            ).fetchone()[0]
            from_q = min(since_q, stale) if stale is not None else since_q
        if row is None or row[0] != zone or int(row[1]) < CLEAN:
            conn.execute("DELETE FROM usage_period_cache WHERE lo >= ? OR ? = 0", (from_q, from_q))
            days = local_day_ranges(conn, tz, from_q, CLEAN // QUARTER_MS)
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS usage_cache_days"
                " (lo INTEGER PRIMARY KEY, hi INTEGER, day TEXT)"
            )
            conn.execute("DELETE FROM temp.usage_cache_days")
            conn.executemany("INSERT INTO temp.usage_cache_days VALUES (?, ?, ?)", days)
            # The bounds live in the day table only: a WHERE on s.q would make SQLite scan that
            # constant range once per day instead of each day's own range.
            conn.execute(
                """INSERT INTO usage_period_cache
                SELECT l.lo, l.hi, l.day, s.model, s.project, s.speed, s.tier, SUM(s.input), SUM(s.output),
                       SUM(s.cc5m), SUM(s.cc1h), SUM(s.cc), SUM(s.cread), SUM(s.n)
                FROM temp.usage_cache_days AS l CROSS JOIN usage_quarters AS s ON s.q >= l.lo AND s.q < l.hi
                WHERE s.n > 0 GROUP BY l.lo, s.model, s.project, s.speed, s.tier"""
            )
            conn.execute(
                "INSERT OR REPLACE INTO usage_period_dirty (id, zone, since) VALUES (0, ?, ?)", (zone, CLEAN)
            )
        rows = conn.execute(
            "SELECT day, model, project, speed, tier, input, output, cc5m, cc1h, cc, cread, n"
            " FROM usage_period_cache WHERE n > 0 ORDER BY lo, model, project, speed, tier"
        ).fetchall()
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return rows
