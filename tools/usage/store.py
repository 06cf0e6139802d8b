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
        check_schema(conn, path)
    except StateError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateError(f"the state database {path} is unusable: {exc}") from None
    return conn


# -- rows claude-health did not write ---------------------------------------------------------------

MAX_TS_MS = 253_402_300_799_999  # 9999-12-31, the last instant a report can show
MAX_TOKENS = 10**12  # per response; far above any real one, far below what overflows a sum
# Every column of the tables that hold facts (the others are derived and rebuilt): its type.
FACT_COLUMNS: dict[str, dict[str, str]] = {
    "usage_files": {
        "path": "text",
        "project": "text",
        "dev": "integer",
        "ino": "integer",
        "size": "integer",
        "mtime_ns": "integer",
        "offset": "integer",
        "usage_lines": "integer",
        "bad_lines": "integer",
        "missing": "integer",
    },
    "usage_entries": {
        "key": "text",
        "msg_id": "text",
        "ts": "integer",
        "model": "text",
        "project": "text",
        "session": "text",
        "file": "text",
        "sidechain": "integer",
        "speed": "text",
        "input": "integer",
        "output": "integer",
        "cc5m": "integer",
        "cc1h": "integer",
        "cc": "integer",
        "cread": "integer",
        "total": "integer",
    },
}
DERIVED_COLUMNS = {
    "usage_meta": ("key", "value"),
    "usage_quarters": (
        "q",
        "model",
        "project",
        "speed",
        "tier",
        "input",
        "output",
        "cc5m",
        "cc1h",
        "cc",
        "cread",
        "n",
    ),
    "usage_blocks": ("start", "first", "last"),
    "usage_block_sums": (
        "start",
        "seq",
        "model",
        "speed",
        "tier",
        "input",
        "output",
        "cc5m",
        "cc1h",
        "cc",
        "cread",
        "n",
    ),
    "usage_blocks_dirty": ("id", "since"),
}
_RANGES = {
    "usage_files": "size < 0 OR offset < 0 OR offset > size OR usage_lines < 0 OR bad_lines < 0",
    "usage_entries": f"ts NOT BETWEEN 0 AND {MAX_TS_MS} OR "
    + " OR ".join(
        f"{c} NOT BETWEEN 0 AND {MAX_TOKENS}" for c in ("input", "output", "cc5m", "cc1h", "cc", "cread")
    )
    + f" OR total NOT BETWEEN 0 AND {6 * MAX_TOKENS}",
}


_INT = "typeof({}) != 'integer'"
_DERIVED_INVALID = {
    "usage_quarters": " OR ".join(
        [
            *(
                _INT.format(c)
                for c in DERIVED_COLUMNS["usage_quarters"]
                if c not in ("model", "project", "speed")
            ),
            *(f"typeof({c}) != 'text'" for c in ("model", "project", "speed")),
        ]
    ),
    "usage_blocks": " OR ".join(_INT.format(c) for c in DERIVED_COLUMNS["usage_blocks"]),
    "usage_block_sums": " OR ".join(
        [
            *(_INT.format(c) for c in DERIVED_COLUMNS["usage_block_sums"] if c not in ("model", "speed")),
            *(f"typeof({c}) != 'text'" for c in ("model", "speed")),
        ]
    ),
    "usage_blocks_dirty": " OR ".join(_INT.format(c) for c in DERIVED_COLUMNS["usage_blocks_dirty"]),
}


def _invalid(table: str) -> str:
    """SQL condition true for a row of ``table`` that this module never writes."""
    types = " OR ".join(f"typeof({c}) != '{t}'" for c, t in FACT_COLUMNS[table].items())
    return f"({types} OR {_RANGES[table]})"


def check_schema(conn: sqlite3.Connection, path: Path | str) -> None:
    """:class:`StateError` when a ``usage_*`` name holds another program's (or version's) table."""
    expected = {t: tuple(cols) for t, cols in FACT_COLUMNS.items()} | DERIVED_COLUMNS
    kinds = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'usage_%'").fetchall())
    for table, columns in expected.items():
        if table not in kinds:
            continue  # created on the next connect
        found = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        if kinds[table] != "table" or not set(columns) <= set(found):
            what = (
                f"a {kinds[table]}"
                if kinds[table] != "table"
                else f"a table with columns ({', '.join(found)})"
            )
            raise StateError(
                f"the state database {path} holds {what} named {table}, not claude-health's "
                f"({', '.join(columns)}); it was written by another program or version. Nothing in it was "
                "changed: move the file aside, or set CLAUDE_HEALTH_STATE_DB to use another one"
            )


def repair(conn: sqlite3.Connection, path: Path | str) -> str | None:
    """Set aside rows of the fact tables that claude-health never writes (wrong types, impossible
    values) and rebuild what is derived from them; what was done, or None when nothing was wrong.

    Nothing is deleted: the rows move to ``<table>_set_aside`` in the same file. Transcripts whose
    rows moved are read again from the start by the next scan.
    """
    check_schema(conn, path)
    conn.execute("BEGIN IMMEDIATE")
    try:
        moved: dict[str, int] = {}
        files_cond = _invalid("usage_files")
        entries_cond = _invalid("usage_entries")
        # The transcripts behind damaged entries are re-read; if one cannot be named, all are.
        named = "CASE WHEN typeof(file) = 'text' THEN file END"
        sources = conn.execute(f"SELECT DISTINCT {named} FROM usage_entries WHERE {entries_cond}").fetchall()  # noqa: S608
        for table, cond in (("usage_files", files_cond), ("usage_entries", entries_cond)):
            columns = ", ".join(FACT_COLUMNS[table])
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table}_set_aside ({columns})")
            count = conn.execute(
                f"INSERT INTO {table}_set_aside ({columns}) SELECT {columns} FROM {table} WHERE {cond}"  # noqa: S608
            ).rowcount
            if count:
                conn.execute(f"DELETE FROM {table} WHERE {cond}")  # noqa: S608
                moved[table] = count
        if sources:
            names = [row[0] for row in sources]
            if None in names:
                conn.execute("DELETE FROM usage_files")
            else:
                conn.executemany("DELETE FROM usage_files WHERE path = ?", [(n,) for n in names])
        derived = [
            t
            for t, cond in _DERIVED_INVALID.items()
            if conn.execute(f"SELECT 1 FROM {t} WHERE {cond} LIMIT 1").fetchone()  # noqa: S608
        ]
        if not moved and not derived:
            conn.execute("ROLLBACK")
            return None
        rebuild_quarters(conn)
        conn.execute("DELETE FROM usage_blocks_dirty")  # the block cache is rebuilt on the next report
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    done = [f"{n} row(s) of {t} moved to {t}_set_aside" for t, n in moved.items()]
    if derived:
        done.append(f"{', '.join(derived)} rebuilt")
    return (
        f"the state database {path} held values claude-health never writes: {'; '.join(done)} "
        "(the transcripts concerned are read again)"
    )


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
