"""The ``usage_*`` tables in claude-health's shared SQLite state database.

Per-file read offsets make re-runs read only appended bytes; deduplicated entries outlive the
transcripts, so history survives Claude Code's 30-day cleanup. WAL and a busy timeout let the
limiter (``limiter_*`` tables) and several claude-health processes share the file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from claude_health.tools.usage.block_cache import SCHEMA as BLOCKS_SCHEMA
from claude_health.tools.usage.snapshot import SNAPSHOT_SCHEMA

SCHEMA_VERSION = "3"
BUSY_TIMEOUT_MS = 5000

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS usage_files (
    path TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    usage_lines INTEGER NOT NULL DEFAULT 0,
    bad_lines INTEGER NOT NULL DEFAULT 0,
    missing INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS usage_entries (
    key TEXT PRIMARY KEY,
    msg_id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    model TEXT NOT NULL,
    project TEXT NOT NULL,
    session TEXT NOT NULL,
    file TEXT NOT NULL,
    sidechain INTEGER NOT NULL,
    speed TEXT NOT NULL,
    input INTEGER NOT NULL,
    output INTEGER NOT NULL,
    cc5m INTEGER NOT NULL,
    cc1h INTEGER NOT NULL,
    cc INTEGER NOT NULL,
    cread INTEGER NOT NULL,
    total INTEGER NOT NULL
) WITHOUT ROWID;
-- Per quarter-hour totals, kept exact by triggers as entries are added, replaced or dropped,
-- so day and month reports read a few thousand rows instead of every entry. (Every real UTC
-- offset is a multiple of 15 minutes.)
CREATE TABLE IF NOT EXISTS usage_quarters (
    q INTEGER NOT NULL,
    model TEXT NOT NULL,
    project TEXT NOT NULL,
    speed TEXT NOT NULL,
    tier INTEGER NOT NULL,
    input INTEGER NOT NULL, output INTEGER NOT NULL, cc5m INTEGER NOT NULL, cc1h INTEGER NOT NULL,
    cc INTEGER NOT NULL, cread INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (q, model, project, speed, tier)
) WITHOUT ROWID;
"""

# Kept apart so that a cold scan can drop them, bulk-insert, and rebuild the quarters in one pass
# (per-row triggers triple the cost of a first scan); recreated in the same transaction.
TRIGGERS = (
    """
CREATE TRIGGER IF NOT EXISTS usage_entries_ai AFTER INSERT ON usage_entries BEGIN
    INSERT INTO usage_quarters (q, model, project, speed, tier, input, output, cc5m, cc1h, cc, cread, n)
    VALUES (NEW.ts / 900000, NEW.model, NEW.project, NEW.speed,
            (CASE WHEN NEW.input + NEW.cc + NEW.cread > 200000 THEN 2
         WHEN NEW.input + NEW.cc + NEW.cread > 100000 THEN 1 ELSE 0 END),
            NEW.input, NEW.output, NEW.cc5m, NEW.cc1h, NEW.cc, NEW.cread, 1)
    ON CONFLICT (q, model, project, speed, tier) DO UPDATE SET
        input = input + excluded.input, output = output + excluded.output,
        cc5m = cc5m + excluded.cc5m, cc1h = cc1h + excluded.cc1h, cc = cc + excluded.cc,
        cread = cread + excluded.cread, n = n + 1;
    UPDATE usage_blocks_dirty SET since = MIN(since, NEW.ts);
END;
""",
    """
CREATE TRIGGER IF NOT EXISTS usage_entries_ad AFTER DELETE ON usage_entries BEGIN
    UPDATE usage_quarters SET
        input = input - OLD.input, output = output - OLD.output, cc5m = cc5m - OLD.cc5m,
        cc1h = cc1h - OLD.cc1h, cc = cc - OLD.cc, cread = cread - OLD.cread, n = n - 1
    WHERE q = OLD.ts / 900000 AND model = OLD.model AND project = OLD.project AND speed = OLD.speed
      AND tier = (CASE WHEN OLD.input + OLD.cc + OLD.cread > 200000 THEN 2
         WHEN OLD.input + OLD.cc + OLD.cread > 100000 THEN 1 ELSE 0 END);
    UPDATE usage_blocks_dirty SET since = MIN(since, OLD.ts);
END;
""",
    """
CREATE TRIGGER IF NOT EXISTS usage_entries_au AFTER UPDATE ON usage_entries BEGIN
    UPDATE usage_quarters SET
        input = input - OLD.input, output = output - OLD.output, cc5m = cc5m - OLD.cc5m,
        cc1h = cc1h - OLD.cc1h, cc = cc - OLD.cc, cread = cread - OLD.cread, n = n - 1
    WHERE q = OLD.ts / 900000 AND model = OLD.model AND project = OLD.project AND speed = OLD.speed
      AND tier = (CASE WHEN OLD.input + OLD.cc + OLD.cread > 200000 THEN 2
         WHEN OLD.input + OLD.cc + OLD.cread > 100000 THEN 1 ELSE 0 END);
    INSERT INTO usage_quarters (q, model, project, speed, tier, input, output, cc5m, cc1h, cc, cread, n)
    VALUES (NEW.ts / 900000, NEW.model, NEW.project, NEW.speed,
            (CASE WHEN NEW.input + NEW.cc + NEW.cread > 200000 THEN 2
         WHEN NEW.input + NEW.cc + NEW.cread > 100000 THEN 1 ELSE 0 END),
            NEW.input, NEW.output, NEW.cc5m, NEW.cc1h, NEW.cc, NEW.cread, 1)
    ON CONFLICT (q, model, project, speed, tier) DO UPDATE SET
        input = input + excluded.input, output = output + excluded.output,
        cc5m = cc5m + excluded.cc5m, cc1h = cc1h + excluded.cc1h, cc = cc + excluded.cc,
        cread = cread + excluded.cread, n = n + 1;
    UPDATE usage_blocks_dirty SET since = MIN(since, OLD.ts, NEW.ts);
END;
""",
)
INDEXES = """
CREATE INDEX IF NOT EXISTS usage_entries_ts ON usage_entries (ts);
CREATE INDEX IF NOT EXISTS usage_entries_msg ON usage_entries (msg_id);
"""

TRIGGER_NAMES = ("usage_entries_ai", "usage_entries_ad", "usage_entries_au")


class StateError(Exception):
    """The state database cannot be opened or written (named path and reason)."""


def connect(path: Path, *, busy_timeout_ms: int | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the state database with the ``usage_*`` schema."""
    if busy_timeout_ms is None:
        busy_timeout_ms = BUSY_TIMEOUT_MS
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise StateError(f"cannot open the state database {path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: commits do not fsync; a crash can lose the last run, which a re-run redoes.
        conn.execute("PRAGMA synchronous = NORMAL")
        version = _schema_version(conn)
        if version != SCHEMA_VERSION:
            conn.executescript(SCHEMA)
            conn.executescript(INDEXES)
            conn.executescript(BLOCKS_SCHEMA)
            drop_triggers(conn)  # an older version's triggers lack the block-cache marks
            conn.executescript("\n".join(TRIGGERS))
            conn.executescript(SNAPSHOT_SCHEMA)
            if version is not None:
                rebuild_quarters(conn)
            conn.execute(
                "INSERT OR REPLACE INTO usage_meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateError(f"the state database {path} is unusable: {exc}") from None
    return conn


def drop_triggers(conn: sqlite3.Connection) -> None:
    for name in TRIGGER_NAMES:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")


def create_indexes(conn: sqlite3.Connection) -> None:
    for statement in INDEXES.strip().split(";\n"):
        conn.execute(statement)


def create_triggers(conn: sqlite3.Connection) -> None:
    for statement in TRIGGERS:
        conn.execute(statement)


def rebuild_quarters(conn: sqlite3.Connection) -> None:
    """Derive the quarter-hour totals from the entries (upgrading a version-1 database)."""
    conn.execute("DELETE FROM usage_quarters")
    conn.execute(
        """INSERT INTO usage_quarters
            (q, model, project, speed, tier, input, output, cc5m, cc1h, cc, cread, n)
        SELECT ts / 900000, model, project, speed, (CASE WHEN e.input + e.cc + e.cread > 200000 THEN 2
         WHEN e.input + e.cc + e.cread > 100000 THEN 1 ELSE 0 END),
               SUM(input), SUM(output), SUM(cc5m), SUM(cc1h), SUM(cc), SUM(cread), COUNT(*)
        FROM usage_entries AS e GROUP BY 1, 2, 3, 4, 5"""
    )


def _schema_version(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT value FROM usage_meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError:
        return None
    return str(row[0]) if row else None
