"""The usage ledger: the ``usage_*`` tables in claude-health's shared SQLite state database.

Every SQL statement of plan usage lives here or in :mod:`.block_cache` (its own table); the
scan, the reports and the findings call these functions.

Per-file read offsets make re-runs read only appended bytes; deduplicated entries outlive the
transcripts, so history survives Claude Code's cleanup (``cleanupPeriodDays``). WAL and a busy
timeout let the limiter (``limiter_*`` tables) and several claude-health processes share the
file. Rows are narrow on purpose (the response key split in two columns, the transcript as an
integer id): a first scan writes one row per response, and row width is most of its cost.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections import namedtuple
from collections.abc import Iterable, Sequence

from claude_health.tools.usage import period_cache
from claude_health.tools.usage.block_cache import SCHEMA as BLOCKS_SCHEMA
from claude_health.tools.usage.block_cache import invalidate as invalidate_blocks

# No pathlib or typing at run time: a warm usage report is a new process that loads this module,
# and those imports cost it more than its queries. The records are ``collections.namedtuple``;
# type checkers read the typed declarations below.
TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from pickle import PickleBuffer
    from typing import Any, NamedTuple

SCHEMA_VERSION = "4"
BUSY_TIMEOUT_MS = 5000
# A new state database's pages are 16 KiB, not SQLite's 4 KiB: entry rows are wide (two ids, a
# session and a project name each), and with four times the rows to a page a first load inserts
# and indexes them about a fifth faster (the merge of the forked reader's half: 51 -> 41 ms on
# 200 MiB). A warm run's few hundred rows still touch one page each, now of 16 KiB.
BUILD_PAGE_SIZE = 16384

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- One row per transcript ever seen. ``missing`` is 0 while the file exists, else when it was
-- first found gone (epoch ms): its entries stay in the ledger.
CREATE TABLE IF NOT EXISTS usage_files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    project TEXT NOT NULL,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    tail BLOB NOT NULL DEFAULT x'',
    -- How far the file has been searched for credentials (see transcript_keys): a cold scan
    -- leaves that to the key check; later scans search what they read, so it keeps up.
    keys_offset INTEGER NOT NULL DEFAULT 0,
    usage_lines INTEGER NOT NULL DEFAULT 0,
    bad_lines INTEGER NOT NULL DEFAULT 0,
    missing INTEGER NOT NULL DEFAULT 0
);
-- One row per API response: ``msg`` is message.id, ``req`` the requestId ('' when absent; for
-- a response without message.id, msg is '' and req names the line, so it is never merged).
CREATE TABLE IF NOT EXISTS usage_entries (
    msg TEXT NOT NULL,
    req TEXT NOT NULL,
    ts INTEGER NOT NULL,
    model TEXT NOT NULL,
    project TEXT NOT NULL,
    session TEXT NOT NULL,
    file INTEGER NOT NULL,
    sidechain INTEGER NOT NULL,
    speed TEXT NOT NULL,
    input INTEGER NOT NULL,
    output INTEGER NOT NULL,
    cc5m INTEGER NOT NULL,
    cc1h INTEGER NOT NULL,
    cc INTEGER NOT NULL,
    cread INTEGER NOT NULL,
    PRIMARY KEY (msg, req)
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
-- Credentials found in transcript bytes as the usage scan read them (the key scan reports them):
-- redacted and fingerprinted only; the key itself is never stored.
CREATE TABLE IF NOT EXISTS transcript_key_hits (
    file INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    line INTEGER NOT NULL,
    session TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    redacted TEXT NOT NULL,
    PRIMARY KEY (file, offset)
) WITHOUT ROWID;
"""

_TIER = """(CASE WHEN {p}.input + {p}.cc + {p}.cread > 200000 THEN 2
         WHEN {p}.input + {p}.cc + {p}.cread > 100000 THEN 1 ELSE 0 END)"""

# ruff: noqa: S608 - every SQL string here is built from constants, never from input.

# Kept apart so that a cold scan can drop them, bulk-insert, and rebuild the quarters in one pass
# (per-row triggers triple the cost of a first scan); recreated in the same transaction.
_ADD = f"""
    INSERT INTO usage_quarters (q, model, project, speed, tier, input, output, cc5m, cc1h, cc, cread, n)
    VALUES (NEW.ts / 900000, NEW.model, NEW.project, NEW.speed, {_TIER.format(p="NEW")},
            NEW.input, NEW.output, NEW.cc5m, NEW.cc1h, NEW.cc, NEW.cread, 1)
    ON CONFLICT (q, model, project, speed, tier) DO UPDATE SET
        input = input + excluded.input, output = output + excluded.output,
        cc5m = cc5m + excluded.cc5m, cc1h = cc1h + excluded.cc1h, cc = cc + excluded.cc,
        cread = cread + excluded.cread, n = n + 1;"""
_SUBTRACT = f"""
    UPDATE usage_quarters SET
        input = input - OLD.input, output = output - OLD.output, cc5m = cc5m - OLD.cc5m,
        cc1h = cc1h - OLD.cc1h, cc = cc - OLD.cc, cread = cread - OLD.cread, n = n - 1
    WHERE q = OLD.ts / 900000 AND model = OLD.model AND project = OLD.project AND speed = OLD.speed
      AND tier = {_TIER.format(p="OLD")};"""
TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS usage_entries_ai AFTER INSERT ON usage_entries BEGIN{_ADD}
    UPDATE usage_blocks_dirty SET since = MIN(since, NEW.ts);
    UPDATE usage_period_dirty SET since = MIN(since, NEW.ts);
END;""",
    f"""CREATE TRIGGER IF NOT EXISTS usage_entries_ad AFTER DELETE ON usage_entries BEGIN{_SUBTRACT}
    UPDATE usage_blocks_dirty SET since = MIN(since, OLD.ts);
    UPDATE usage_period_dirty SET since = MIN(since, OLD.ts);
END;""",
    f"""CREATE TRIGGER IF NOT EXISTS usage_entries_au AFTER UPDATE ON usage_entries BEGIN{_SUBTRACT}{_ADD}
    UPDATE usage_blocks_dirty SET since = MIN(since, OLD.ts, NEW.ts);
    UPDATE usage_period_dirty SET since = MIN(since, OLD.ts, NEW.ts);
END;""",
)
INDEXES = "CREATE INDEX IF NOT EXISTS usage_entries_ts ON usage_entries (ts);"

TRIGGER_NAMES = ("usage_entries_ai", "usage_entries_ad", "usage_entries_au")


class StateError(Exception):
    """The state database cannot be opened or written (named path and reason)."""


class StateCorrupt(StateError):
    """The state database file is damaged (not a database, malformed pages): rebuild it."""


# Messages SQLite gives for a damaged file, as opposed to a locked or unwritable one.
_CORRUPT_MARKERS = ("not a database", "malformed", "disk image", "file is encrypted", "corrupt")


def is_corruption(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and any(m in str(exc).lower() for m in _CORRUPT_MARKERS)


def connect(
    path: str | os.PathLike[str], *, busy_timeout_ms: int | None = None, any_thread: bool = False
) -> sqlite3.Connection:
    """Open (creating if needed) the state database with the ``usage_*`` schema.

    ``any_thread``: the connection is kept by a long-running process and used (one at a time)
    from its worker threads. Raises :class:`StateCorrupt` for a damaged file, :class:`StateError`
    for any other failure.
    """
    # WAL + NORMAL: commits do not fsync; a crash can lose the last run, which a re-run redoes.
    return _open(path, busy_timeout_ms, any_thread, "WAL", "NORMAL")


def _open(
    path: str | os.PathLike[str],
    busy_timeout_ms: int | None,
    any_thread: bool,
    journal: str,
    sync: str,
    page_size: int = BUILD_PAGE_SIZE,
) -> sqlite3.Connection:
    if busy_timeout_ms is None:
        busy_timeout_ms = BUSY_TIMEOUT_MS
    try:
        parent = os.path.dirname(os.fspath(path))
        if parent:
            os.makedirs(parent, exist_ok=True)
        conn = sqlite3.connect(
            path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=not any_thread
        )
    except (OSError, sqlite3.Error) as exc:
        raise StateError(f"cannot open the state database {path}: {exc}") from None
    try:
        # Before anything is written: a new file's only chance to set it (an existing database
        # keeps its own; SQLite ignores this then).
        conn.execute(f"PRAGMA page_size = {int(page_size)}")
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute(f"PRAGMA journal_mode = {journal}")
        conn.execute(f"PRAGMA synchronous = {sync}")
        version = _schema_version(conn)
        if version != SCHEMA_VERSION:
            check_schema(conn, path, before_upgrade=True)
            _upgrade(conn, version)
        check_schema(conn, path)
    except StateError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        error = StateCorrupt if is_corruption(exc) else StateError
        raise error(f"the state database {path} is unusable: {exc}") from None
    return conn


# -- a first build ------------------------------------------------------------------------------
#
# When there is no state database yet, the first scan builds it in a file of its own beside it,
# in rollback-journal mode without syncs, and publishes it under its real name when complete.
# Through WAL every page of a first load is written twice (to the log at the commit, then into
# the database by the checkpoint that follows, with its syncs); on a new file SQLite journals
# only the pages that existed before the transaction (the empty schema's), so each page is
# written once. The file only gets its name once the build is whole: a run killed half-way
# leaves no half ledger where the next run looks (only its build file, removed by the next
# first build), and a build that fails is deleted. Without syncs, a power cut right after the
# publish can leave a damaged file: it is then set aside and rebuilt from the same transcripts,
# which are all a first build holds.

BUILD_SUFFIX = ".building-"


def build_fresh(path: str | os.PathLike[str]) -> tuple[sqlite3.Connection, str] | None:
    """A connection to a new ledger being built beside ``path`` and its file's name; None when
    ``path`` exists already (the usual case: then :func:`connect`)."""
    name = os.fspath(path)
    if os.path.lexists(name):
        return None
    _remove_stale_builds(name)
    building = f"{name}{BUILD_SUFFIX}{os.getpid()}"
    discard_build(building)
    return _open(building, None, False, "MEMORY", "OFF"), building


def publish_build(conn: sqlite3.Connection, building: str, path: str | os.PathLike[str]) -> bool:
    """Give a completed build its real name (in WAL mode, as :func:`connect` keeps it) and close
    its connection. False when another process created ``path`` meanwhile: the build is
    discarded, and ``path`` is to be brought up to date instead."""
    name = os.fspath(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    try:
        os.link(building, name)  # never replaces a database another process has just created
    except (OSError, AttributeError):
        # Another process's database is there, or this file system has no hard links (a rename
        # could replace a database created a moment before, and pair it with that one's WAL):
        # either way the database is opened as usual and brought up to date.
        discard_build(building)
        return False
    finally:
        _remove_stale_builds(name)  # a killed build's file, whether or not this one made it
    discard_build(building)
    return True


def discard_build(building: str) -> None:
    """Delete a build file (and its side files) that will not be published."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(OSError):  # absent (the usual case), or not ours to delete
            os.unlink(building + suffix)


def _remove_stale_builds(name: str) -> None:
    """Build files left by runs that were killed (their process is gone)."""
    folder, base = os.path.split(name)
    prefix = base + BUILD_SUFFIX
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return
    for entry in names:
        pid = entry[len(prefix) :]
        if entry.startswith(prefix) and pid.isdigit() and _abandoned(os.path.join(folder, entry), int(pid)):
            discard_build(os.path.join(folder, entry))


def _abandoned(building: str, pid: int) -> bool:
    """Is the process that built this file gone? (Where signals cannot tell: is it an hour old?)"""
    if pid == os.getpid():
        return True  # this process starts a new build under the same name
    if os.name != "posix":  # os.kill(pid, 0) would not just probe there
        try:
            return os.stat(building).st_mtime < time.time() - 3600
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):
        return False  # not ours to signal, or not a pid this system knows: leave it be
    return False


def memory() -> sqlite3.Connection:
    """An in-memory ledger with the same schema (when the state file cannot be used)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    _create(conn)
    return conn


def _create(conn: sqlite3.Connection) -> None:
    # Statement by statement: executescript would commit the caller's transaction.
    # The status line's module (and its terminal-text cleaning) only when a schema is created:
    # a report on an existing ledger does not load it.
    from claude_health.tools.usage.snapshot import SNAPSHOT_SCHEMA

    for script in (SCHEMA, INDEXES, BLOCKS_SCHEMA, period_cache.SCHEMA, SNAPSHOT_SCHEMA):
        for statement in _statements(script):
            conn.execute(statement)
    drop_triggers(conn)  # an older version's triggers lack the block-cache marks
    create_triggers(conn)


def _statements(script: str) -> list[str]:
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out


def _upgrade(conn: sqlite3.Connection, version: str | None) -> None:
    """Create the schema, carrying an older version's ledger over (its entries are history)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _schema_version(conn) == SCHEMA_VERSION:  # another process upgraded it meanwhile
            conn.execute("COMMIT")
            return
        files = _columns(conn, "usage_files")
        if "id" in files and "keys_offset" not in files:  # a development build of this schema
            conn.execute("ALTER TABLE usage_files ADD COLUMN keys_offset INTEGER NOT NULL DEFAULT 0")
        old = _columns(conn, "usage_entries")
        if old and "key" in old:  # versions 1-3: one text key, the transcript path on every row
            conn.execute("ALTER TABLE usage_entries RENAME TO usage_entries_v3")
            conn.execute("ALTER TABLE usage_files RENAME TO usage_files_v3")
            drop_triggers(conn)
            conn.execute("DROP INDEX IF EXISTS usage_entries_ts")
            conn.execute("DROP INDEX IF EXISTS usage_entries_msg")
        _create(conn)
        if old and "key" in old:
            _migrate_v3(conn)
        if version is not None:
            rebuild_quarters(conn)
            invalidate_blocks(conn)
            period_cache.invalidate(conn)
        conn.execute("INSERT OR REPLACE INTO usage_meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _migrate_v3(conn: sqlite3.Connection) -> None:
    conn.execute(
        """INSERT OR IGNORE INTO usage_files
            (path, project, dev, ino, size, mtime_ns, offset, usage_lines, bad_lines, missing)
        SELECT path, project, dev, ino, size, mtime_ns, offset, usage_lines, bad_lines,
               CASE WHEN missing THEN CAST(strftime('%s', 'now') AS INTEGER) * 1000 ELSE 0 END
        FROM usage_files_v3"""
    )
    # Entries whose transcript row is gone still belong to the ledger: give them a file row.
    conn.execute(
        """INSERT OR IGNORE INTO usage_files (path, project, dev, ino, size, mtime_ns, offset, missing)
        SELECT DISTINCT file, project, 0, 0, 0, 0, 0, CAST(strftime('%s', 'now') AS INTEGER) * 1000
        FROM usage_entries_v3"""
    )
    conn.execute(
        """INSERT OR IGNORE INTO usage_entries
            (msg, req, ts, model, project, session, file, sidechain, speed,
             input, output, cc5m, cc1h, cc, cread)
        SELECT e.msg_id, CASE WHEN e.msg_id != '' THEN substr(e.key, length(e.msg_id) + 2) ELSE e.key END,
               e.ts, e.model, e.project, e.session, f.id, e.sidechain, e.speed,
               e.input, e.output, e.cc5m, e.cc1h, e.cc, e.cread
        FROM usage_entries_v3 AS e JOIN usage_files AS f ON f.path = e.file"""
    )
    conn.execute("DROP TABLE usage_entries_v3")
    conn.execute("DROP TABLE usage_files_v3")


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


# -- rows claude-health did not write ---------------------------------------------------------------

MAX_TS_MS = 253_402_300_799_999  # 9999-12-31, the last instant a report can show
MAX_TOKENS = 10**12  # per response; far above any real one, far below what overflows a sum
# Every column of the tables that hold facts (the others are derived and rebuilt): its type.
FACT_COLUMNS: dict[str, dict[str, str]] = {
    "usage_files": {
        "id": "integer",
        "path": "text",
        "project": "text",
        "dev": "integer",
        "ino": "integer",
        "size": "integer",
        "mtime_ns": "integer",
        "offset": "integer",
        "tail": "blob",
        "keys_offset": "integer",
        "usage_lines": "integer",
        "bad_lines": "integer",
        "missing": "integer",
    },
    "usage_entries": {
        "msg": "text",
        "req": "text",
        "ts": "integer",
        "model": "text",
        "project": "text",
        "session": "text",
        "file": "integer",
        "sidechain": "integer",
        "speed": "text",
        "input": "integer",
        "output": "integer",
        "cc5m": "integer",
        "cc1h": "integer",
        "cc": "integer",
        "cread": "integer",
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
    "usage_period_dirty": ("id", "zone", "since"),
    "transcript_key_hits": ("file", "offset", "line", "session", "at", "kind", "fingerprint", "redacted"),
}
# The fact tables as schema version 3 wrote them: carried over by the upgrade.
_V3_COLUMNS = {
    "usage_files": (
        "path",
        "project",
        "dev",
        "ino",
        "size",
        "mtime_ns",
        "offset",
        "usage_lines",
        "bad_lines",
        "missing",
    ),
    "usage_entries": (
        "key",
        "msg_id",
        "ts",
        "model",
        "project",
        "session",
        "file",
        "sidechain",
        "speed",
        "input",
        "output",
        "cc5m",
        "cc1h",
        "cc",
        "cread",
    ),
}
_RANGES = {
    "usage_files": "size < 0 OR offset < 0 OR offset > size OR keys_offset < 0 OR usage_lines < 0"
    " OR bad_lines < 0",
    "usage_entries": f"ts NOT BETWEEN 0 AND {MAX_TS_MS} OR "
    + " OR ".join(
        f"{c} NOT BETWEEN 0 AND {MAX_TOKENS}" for c in ("input", "output", "cc5m", "cc1h", "cc", "cread")
    ),
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


# A transcript read again from its start: marked as replaced, so the scan drops what was derived
# from it and reads it whole.
_REREAD = "UPDATE usage_files SET ino = -1, mtime_ns = -1"


def _invalid(table: str) -> str:
    """SQL condition true for a row of ``table`` that this module never writes."""
    types = " OR ".join(f"typeof({c}) != '{t}'" for c, t in FACT_COLUMNS[table].items())
    return f"({types} OR {_RANGES[table]})"


def check_schema(
    conn: sqlite3.Connection, path: str | os.PathLike[str], *, before_upgrade: bool = False
) -> None:
    """:class:`StateError` when a ``usage_*`` name holds another program's (or version's) table.

    ``before_upgrade``: an older version's fact tables (schema 3) are claude-health's too; they
    are checked before the upgrade touches anything, so a foreign table is refused untouched.
    """
    expected = {t: tuple(cols) for t, cols in FACT_COLUMNS.items()} | DERIVED_COLUMNS
    names = "name LIKE 'usage_%' OR name = 'transcript_key_hits'"
    kinds = dict(conn.execute(f"SELECT name, type FROM sqlite_master WHERE {names}").fetchall())
    for table, columns in expected.items():
        if table not in kinds:
            continue  # created on the next connect
        found = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        older = before_upgrade and table in _V3_COLUMNS and set(_V3_COLUMNS[table]) <= set(found)
        if not older and before_upgrade and table in ("usage_blocks_dirty", "usage_period_dirty"):
            older = True  # derived caches: recreated by the upgrade
        if kinds[table] != "table" or not (older or set(columns) <= set(found)):
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


def repair(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> str | None:
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
        named = "CASE WHEN typeof(file) = 'integer' THEN file END"
        sources = conn.execute(f"SELECT DISTINCT {named} FROM usage_entries WHERE {entries_cond}").fetchall()
        for table, cond in (("usage_files", files_cond), ("usage_entries", entries_cond)):
            columns = ", ".join(FACT_COLUMNS[table])
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table}_set_aside ({columns})")
            count = conn.execute(
                f"INSERT INTO {table}_set_aside ({columns}) SELECT {columns} FROM {table} WHERE {cond}"
            ).rowcount
            if count:
                conn.execute(f"DELETE FROM {table} WHERE {cond}")
                moved[table] = count
        if sources:
            names = [row[0] for row in sources]
            if None in names:
                conn.execute(_REREAD)
            else:
                conn.executemany(
                    _REREAD + " WHERE id = ?",
                    [(n,) for n in names],
                )
        derived = [
            t
            for t, cond in _DERIVED_INVALID.items()
            if conn.execute(f"SELECT 1 FROM {t} WHERE {cond} LIMIT 1").fetchone()
        ]
        if not moved and not derived:
            conn.execute("ROLLBACK")
            return None
        rebuild_quarters(conn)
        invalidate_blocks(conn)  # the caches are rebuilt on the next report
        period_cache.invalidate(conn)
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
    conn.execute(INDEXES)


def create_triggers(conn: sqlite3.Connection) -> None:
    for statement in TRIGGERS:
        conn.execute(statement)


def rebuild_quarters(conn: sqlite3.Connection) -> None:
    """Derive the quarter-hour totals from the entries (after a bulk load or an upgrade)."""
    conn.execute("DELETE FROM usage_quarters")
    conn.execute(
        f"""INSERT INTO usage_quarters
            (q, model, project, speed, tier, input, output, cc5m, cc1h, cc, cread, n)
        SELECT ts / 900000, model, project, speed, {_TIER.format(p="e")},
               SUM(input), SUM(output), SUM(cc5m), SUM(cc1h), SUM(cc), SUM(cread), COUNT(*)
        FROM usage_entries AS e GROUP BY 1, 2, 3, 4, 5"""
    )


def _schema_version(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT value FROM usage_meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return str(row[0]) if row else None


# -- meta -----------------------------------------------------------------------------------------


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM usage_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def set_meta(conn: sqlite3.Connection, values: dict[str, str]) -> None:
    conn.executemany("INSERT OR REPLACE INTO usage_meta (key, value) VALUES (?, ?)", list(values.items()))


def meta_int(conn: sqlite3.Connection, key: str) -> int | None:
    value = get_meta(conn, key)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# -- transcript files -----------------------------------------------------------------------------


if TYPE_CHECKING:

    class FileState(NamedTuple):
        """What the ledger knows about one transcript (every field checked on the way out)."""

        id: int
        project: str
        dev: int
        ino: int
        size: int
        mtime_ns: int
        offset: int
        tail: bytes
        keys_offset: int
        usage_lines: int
        bad_lines: int
        missing: int

else:
    FileState = namedtuple(
        "FileState",
        "id project dev ino size mtime_ns offset tail keys_offset usage_lines bad_lines missing",
    )


_TRUSTED = (
    "typeof(path) = 'text' AND typeof(project) = 'text' AND typeof(tail) = 'blob'"
    " AND typeof(dev) = 'integer' AND typeof(ino) = 'integer' AND typeof(size) = 'integer'"
    " AND typeof(mtime_ns) = 'integer' AND typeof(offset) = 'integer' AND typeof(usage_lines) = 'integer'"
    " AND typeof(bad_lines) = 'integer' AND typeof(missing) = 'integer' AND typeof(keys_offset) = 'integer'"
)


def load_files(conn: sqlite3.Connection) -> tuple[dict[str, FileState], list[int]]:
    """Known transcripts by path, and the ids of rows that cannot be trusted (wrong types).

    A row with a value of the wrong type (a damaged or hand-edited database) is not used: its
    file is read again from the start and its entries re-derived. The types are checked by
    SQLite, so a warm run does not test a thousand rows field by field in Python.
    """
    make = FileState._make
    known = {
        row[0]: make(row[1:])
        for row in conn.execute(
            "SELECT path, id, project, dev, ino, size, mtime_ns, offset, tail, keys_offset, usage_lines,"
            f" bad_lines, missing FROM usage_files WHERE typeof(id) = 'integer' AND {_TRUSTED}"
        )
    }
    broken = [
        int(r[0])
        for r in conn.execute(f"SELECT id FROM usage_files WHERE typeof(id) = 'integer' AND NOT ({_TRUSTED})")
    ]
    return known, broken


def next_file_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(id) FROM usage_files").fetchone()
    return (row[0] if row and type(row[0]) is int else 0) + 1


def has_entries(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM usage_entries LIMIT 1").fetchone() is not None


# id, path, project, dev, ino, size, mtime_ns, offset, tail, keys_offset, usage_lines, bad_lines
FileRow = tuple[int, str, str, int, int, int, int, int, bytes, int, int, int]
# (file id, byte offset, 1-based line, session, timestamp of the line, kind, fingerprint, redacted)
KeyHitRow = tuple[int, int, int, str, str, str, str, str]

# Which copy of a response is kept (rows.better in SQL): main chain, then the larger total, then
# the copy that knows its speed; equal copies keep the stored one.
_ON_CONFLICT = """
ON CONFLICT (msg, req) DO UPDATE SET
    ts = excluded.ts, model = excluded.model, project = excluded.project,
    session = excluded.session, file = excluded.file, sidechain = excluded.sidechain,
    speed = excluded.speed, input = excluded.input, output = excluded.output,
    cc5m = excluded.cc5m, cc1h = excluded.cc1h, cc = excluded.cc, cread = excluded.cread
WHERE excluded.sidechain < usage_entries.sidechain
   OR (excluded.sidechain = usage_entries.sidechain AND (
        excluded.input + excluded.output + excluded.cc + excluded.cread
            > usage_entries.input + usage_entries.output + usage_entries.cc + usage_entries.cread
        OR (excluded.input + excluded.output + excluded.cc + excluded.cread
            = usage_entries.input + usage_entries.output + usage_entries.cc + usage_entries.cread
            AND excluded.speed != '' AND usage_entries.speed = '')))
"""
_UPSERT = (
    "INSERT INTO usage_entries (msg, req, ts, model, project, session, file, sidechain, speed,"
    " input, output, cc5m, cc1h, cc, cread) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    + _ON_CONFLICT
)
_INSERT = (
    "INSERT INTO usage_entries (msg, req, ts, model, project, session, file, sidechain, speed,"
    " input, output, cc5m, cc1h, cc, cread) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# A sidechain copy of a response (same message.id, another requestId) loses to the main chain,
# and among sidechain copies only the largest survives (ccusage v20's message-id index).
_REPLAY_LOSES = """sidechain = 1 AND (
    EXISTS (SELECT 1 FROM usage_entries m WHERE m.msg = usage_entries.msg AND m.sidechain = 0)
    OR EXISTS (SELECT 1 FROM usage_entries o WHERE o.msg = usage_entries.msg AND o.sidechain = 1
               AND o.req != usage_entries.req
               AND (o.input + o.output + o.cc + o.cread
                        > usage_entries.input + usage_entries.output + usage_entries.cc + usage_entries.cread
                    OR (o.input + o.output + o.cc + o.cread
                        = usage_entries.input + usage_entries.output + usage_entries.cc + usage_entries.cread
                        AND o.req < usage_entries.req))))"""
_DROP_REPLAYS = (
    f"DELETE FROM usage_entries WHERE msg IN (SELECT msg FROM temp.usage_touched) AND {_REPLAY_LOSES}"
)
# A first load checks every sidechain row, and hands back what it drops (for the quarter sums).
# Selected, then deleted by key, not `DELETE ... RETURNING`: that needs SQLite 3.35, and Python
# 3.11 is still linked against older ones (RHEL 8, Ubuntu 20.04). The same rows either way:
# SQLite decides a DELETE's rows before removing any when its WHERE reads the same table.
# (One pass over every row: a tenth of a first load's rows are sidechain rows, and listing their
# message ids to look each up cost more, 18 against 12 ms on 200 MiB, 124 against 58 on 1 GiB.)
_ALL_LOSING_REPLAYS = (
    "SELECT msg, req, ts, model, project, session, file, sidechain, speed,"
    " input, output, cc5m, cc1h, cc, cread"
    f" FROM main.usage_entries WHERE msg != '' AND {_REPLAY_LOSES}"
)
_DELETE_ENTRY = "DELETE FROM main.usage_entries WHERE msg = ? AND req = ?"


class Writer:
    """One write transaction of a scan: entries, file rows, key hits, missing marks.

    A first load into an empty ledger inserts rows in key order without triggers and derives
    the secondary index once at the end (a sort), instead of maintaining it row by row; its
    quarter-hour totals come summed from Python (:meth:`quarters`), less every copy that lost.
    ``staged``: a forked reader's rows will arrive as a SQLite image (see :mod:`.staging`).
    """

    def __init__(self, conn: sqlite3.Connection, *, staged: bool = False) -> None:
        self.conn = conn
        self.bulk = False
        self._staged = staged
        self._touched: set[str] = set()
        self._settled = False  # a first load whose quarter sums come from Python
        self._lost: list[tuple[Any, ...]] = []  # copies a first load dropped (out of those sums)
        # A first load for a blocks report: the block walk's hour parts, summed by the readers.
        self._parts: dict[tuple[int, int, str, str, int], list[int]] | None = None

    def __enter__(self) -> Writer:
        if self._staged:
            from claude_health.tools.usage import staging

            staging.attach(self.conn)  # ATTACH cannot run inside a transaction
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._detach()
            raise
        self.bulk = not has_entries(self.conn)
        if self.bulk:
            drop_triggers(self.conn)
            self.conn.execute("DROP INDEX IF EXISTS usage_entries_ts")
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is not None:
                self.conn.execute("ROLLBACK")
                return
            try:
                self._finish()
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        finally:
            self._detach()

    def _finish(self) -> None:
        lost: list[tuple[Any, ...]] = []
        if self.bulk and self._settled:
            # Sidechain replays that lose to another copy, in either half: out of the sums too.
            losing = self.conn.execute(_ALL_LOSING_REPLAYS).fetchall()
            self.conn.executemany(_DELETE_ENTRY, [(row[0], row[1]) for row in losing])
            lost = self._lost + losing
            if lost:
                from claude_health.tools.usage import staging
                from claude_health.tools.usage.bulk import quarters_of

                staging.subtract(self.conn, quarters_of(lost, -1))
        if self.bulk:
            create_indexes(self.conn)
            if not self._settled:
                rebuild_quarters(self.conn)
            create_triggers(self.conn)
            if self._parts is not None and self._settled:
                from claude_health.tools.usage.block_cache import store_first_walk
                from claude_health.tools.usage.bulk import HOUR_MS

                # The hours a copy that lost was summed into are grouped again from the entries.
                store_first_walk(self.conn, self._parts, {row[2] // HOUR_MS for row in lost})
            else:
                invalidate_blocks(self.conn)
            period_cache.invalidate(self.conn)
        if self._touched and not self._settled:
            self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS usage_touched (msg TEXT PRIMARY KEY)")
            self.conn.execute("DELETE FROM temp.usage_touched")
            self.conn.executemany(
                "INSERT OR IGNORE INTO temp.usage_touched (msg) VALUES (?)", [(m,) for m in self._touched]
            )
            self.conn.execute(_DROP_REPLAYS)

    def _detach(self) -> None:
        if self._staged:
            from claude_health.tools.usage import staging

            staging.detach(self.conn)

    def forget_files(self, ids: Sequence[int]) -> None:
        """Drop what was derived from these transcripts (rewritten or untrusted: read again)."""
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        self.conn.execute(f"DELETE FROM usage_entries WHERE file IN ({marks})", tuple(ids))
        self.conn.execute(f"DELETE FROM transcript_key_hits WHERE file IN ({marks})", tuple(ids))

    def entries(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Entry rows, ``(msg, req, ts, model, project, session, file, sidechain, speed, input,
        output, cc5m, cc1h, cc, cread)``, sorted by key; a stored better copy is kept."""
        if not rows:
            return
        # Replays can only collide through a sidechain copy: in this batch, or (for a main-chain
        # entry) one already stored by an earlier run.
        bulk = self.bulk
        self._touched.update(r[0] for r in rows if r[0] and (r[7] or not bulk))
        self.conn.executemany(_INSERT if bulk and not self._loaded else _UPSERT, rows)
        self._loaded = True

    _loaded = False

    def staged(self, image: bytes | bytearray | memoryview | PickleBuffer) -> None:
        """A forked reader's rows (a :func:`.staging.image`), after this process's own."""
        from claude_health.tools.usage import staging

        staging.load(self.conn, image)
        if self.bulk and self._settled:
            self._lost += staging.merge_first_load(self.conn)
        else:
            self._touched.update(staging.upsert_staged(self.conn, _ON_CONFLICT))
        self._loaded = True

    def hour_parts(self, parts: dict[tuple[int, int, str, str, int], list[int]]) -> None:
        """A first load's hour parts for the block cache (see bulk.first_load_sums), one reader's
        at a time; without them the cache is walked by the first blocks report."""
        if self._parts is None:
            self._parts = parts
            return
        from claude_health.tools.usage.bulk import add_hour_parts

        add_hour_parts(self._parts, parts)

    def quarters(self, sums: dict[tuple[int, str, str, str, int], list[int]]) -> None:
        """The quarter-hour totals of a first load's rows so far, summed in Python (see bulk.py)."""
        self.conn.execute("DELETE FROM usage_quarters")
        self.conn.executemany(
            "INSERT INTO usage_quarters (q, model, project, speed, tier, input, output, cc5m, cc1h, cc,"
            " cread, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sorted((*key, *acc) for key, acc in sums.items() if acc[6] > 0),
        )
        self._settled = True

    def files(self, rows: Iterable[FileRow]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO usage_files (id, path, project, dev, ino, size, mtime_ns, offset, tail,"
            " keys_offset, usage_lines, bad_lines, missing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            rows,
        )

    def mark_missing(self, ids: Sequence[int], now_ms: int) -> None:
        """Transcripts gone from disk: entries stay (the ledger), key hits go with the file."""
        if not ids:
            return
        self.conn.executemany(
            "UPDATE usage_files SET missing = ? WHERE id = ? AND missing = 0", [(now_ms, i) for i in ids]
        )
        self.conn.executemany("DELETE FROM transcript_key_hits WHERE file = ?", [(i,) for i in ids])

    def key_hits(self, rows: Iterable[KeyHitRow]) -> None:
        """One row per credential occurrence (see :data:`KeyHitRow`)."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO transcript_key_hits (file, offset, line, session, at, kind, fingerprint,"
            " redacted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


# -- what reports read ----------------------------------------------------------------------------


def bad_line_files(conn: sqlite3.Connection, limit: int) -> list[tuple[str, int]]:
    rows = conn.execute(
        "SELECT path, bad_lines FROM usage_files WHERE bad_lines > 0 AND missing = 0"
        " ORDER BY bad_lines DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [(str(p), int(n)) for p, n in rows if type(n) is int]


def history_start_ms(conn: sqlite3.Connection, *, only_existing: bool = False) -> int | None:
    if only_existing:
        row = conn.execute(
            "SELECT MIN(ts) FROM usage_entries"
            " WHERE file NOT IN (SELECT id FROM usage_files WHERE missing != 0)"
        ).fetchone()
    else:
        row = conn.execute("SELECT MIN(ts) FROM usage_entries").fetchone()
    return row[0] if row and type(row[0]) is int else None


if TYPE_CHECKING:

    class Gone(NamedTuple):
        """What the ledger holds from transcripts no longer on disk."""

        transcripts: int
        entries: int
        total_tokens: int
        first_ms: int | None
        last_ms: int | None

else:
    Gone = namedtuple("Gone", "transcripts entries total_tokens first_ms last_ms")


def gone(conn: sqlite3.Connection) -> Gone:
    (files,) = conn.execute("SELECT COUNT(*) FROM usage_files WHERE missing != 0").fetchone()
    if not files:
        return Gone(0, 0, 0, None, None)
    row = conn.execute(
        "SELECT COUNT(*), SUM(input + output + cc + cread), MIN(ts), MAX(ts) FROM usage_entries"
        " WHERE file IN (SELECT id FROM usage_files WHERE missing != 0)"
    ).fetchone()
    n, tokens, first, last = row
    return Gone(int(files), int(n or 0), int(tokens or 0), first, last)


def ledger_size(conn: sqlite3.Connection) -> tuple[int, int | None, int | None]:
    """Entries in the ledger and the span they cover (for the note after a rebuild)."""
    n, first, last = conn.execute("SELECT COUNT(*), MIN(ts), MAX(ts) FROM usage_entries").fetchone()
    return int(n or 0), first, last


def existing_only_source() -> str:
    """The entries of transcripts still on disk, as a table expression (ccusage's view)."""
    return "(SELECT * FROM usage_entries WHERE file NOT IN (SELECT id FROM usage_files WHERE missing != 0))"


if TYPE_CHECKING:

    class StoredKeyHit(NamedTuple):
        path: str
        project: str
        offset: int
        line: int
        session: str
        at: str
        kind: str
        fingerprint: str
        redacted: str

else:
    StoredKeyHit = namedtuple("StoredKeyHit", "path project offset line session at kind fingerprint redacted")


def key_hits(conn: sqlite3.Connection) -> list[StoredKeyHit]:
    """Credentials found in transcripts that are still on disk, in file order."""
    rows = conn.execute(
        "SELECT f.path, f.project, h.offset, h.line, h.session, h.at, h.kind, h.fingerprint, h.redacted"
        " FROM transcript_key_hits AS h JOIN usage_files AS f ON f.id = h.file"
        " WHERE f.missing = 0 ORDER BY f.path, h.offset"
    ).fetchall()
    types = (str, str, int, int, str, str, str, str, str)
    return [StoredKeyHit(*row) for row in rows if all(type(v) is t for v, t in zip(row, types, strict=True))]


def keys_behind(conn: sqlite3.Connection) -> list[tuple[int, str, int, int]]:
    """``(id, path, keys_offset, offset)`` of transcripts on disk not yet searched for keys."""
    rows = conn.execute(
        "SELECT id, path, keys_offset, offset FROM usage_files"
        " WHERE missing = 0 AND keys_offset < offset ORDER BY path"
    ).fetchall()
    return [(i, p, k, o) for i, p, k, o in rows if type(p) is str and type(k) is int and type(o) is int]


def keys_caught_up(conn: sqlite3.Connection, file_id: int, upto: int, hits: Iterable[KeyHitRow]) -> None:
    """Record a file searched for keys up to ``upto`` (if nothing rewrote it meanwhile)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT OR REPLACE INTO transcript_key_hits (file, offset, line, session, at, kind, fingerprint,"
            " redacted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            list(hits),
        )
        conn.execute(
            "UPDATE usage_files SET keys_offset = MAX(keys_offset, ?) WHERE id = ? AND offset >= ?",
            (upto, file_id, upto),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def forget_file_by_path(conn: sqlite3.Connection, path: str) -> None:
    """Make the next scan read this transcript again from the start (its hits no longer match)."""
    conn.execute("UPDATE usage_files SET size = -1, mtime_ns = -1, tail = x'00' WHERE path = ?", (path,))
