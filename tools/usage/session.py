"""A usage session: the ledger brought up to date with the transcripts on disk, or a stand-in.

Fallbacks, in order: the state database as it is; a damaged database moved aside and the
ledger rebuilt from the transcripts that still exist (with a note of what was lost); an
in-memory ledger of this run's scan when the file cannot be used at all (locked, unwritable).
A small stamp beside the database remembers how much history the ledger held, so that a
database that disappears or is replaced is noticed and the loss stated, not silently absorbed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from claude_health.tools.state import state_db_name
from claude_health.tools.usage import store
from claude_health.tools.usage.record import Record
from claude_health.tools.usage.scan import ScanMemo, ScanStats, scan

# No dataclasses, pathlib or typing here: a warm JSON report is a new process that runs this
# module, and those imports (inspect, urllib.parse, ipaddress...) cost it more than its scan.
# Paths are plain strings.
TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import TypeVar

    from claude_health.tools.findings import Finding
    from claude_health.tools.usage.pricing import PriceLookup

    T = TypeVar("T")

# Readers may wait longer than the status line: only the status line writes this file.
SNAPSHOT_READ_BUSY_MS = 1000
STAMP_SUFFIX = ".ledger"
# Scan times kept to judge how often the ledger sees the transcripts (see findings.cleanup_finding).
SCAN_LOG_KEEP = 30
SCAN_LOG_MIN_GAP_MS = 3_600_000
# How stale "last updated" may get when a scan found nothing new (it bounds U008's precision).
SCAN_MARK_EVERY_MS = 600_000

MAX_LISTED_FILES = 10

# OverflowError: a value SQLite cannot store as a 64-bit integer.
SCAN_ERRORS = (sqlite3.Error, OverflowError)


class Rebuild(Record):
    """The ledger was started again: why, when, and what history that cost."""

    __slots__ = ("reason", "note", "at_ms", "kept_at")  # noqa: RUF023 - in the order of the fields

    def __init__(self, reason: str, note: str, at_ms: int, kept_at: str | None = None) -> None:
        self.reason = reason
        self.note = note
        self.at_ms = at_ms
        self.kept_at = kept_at


class UsageSession:
    """An up-to-date ledger (or an in-memory stand-in) plus what the scan saw.

    ``db_path`` is the state database as a string (None for an in-memory ledger).
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        stats: ScanStats,
        now: float,
        env: Mapping[str, str],
        home: str | os.PathLike[str],
        lookup: PriceLookup,
        db_path: str | os.PathLike[str] | None,
        state_problem: str | None = None,
        rebuild: Rebuild | None = None,
        previous_scan_ms: int | None = None,
        scan_log_ms: list[int] | None = None,
        findings: list[Finding] | None = None,
        roots: list[str] | None = None,
        _snapshots: sqlite3.Connection | None = None,
        _release: Callable[[], None] | None = None,
    ) -> None:
        self.conn = conn
        self.stats = stats
        self.now = now
        self.env = env
        self.home = home
        self.lookup = lookup
        self.db_path: str | None = None if db_path is None else os.fspath(db_path)
        self.state_problem = state_problem
        self.rebuild = rebuild
        self.previous_scan_ms = previous_scan_ms
        self.scan_log_ms: list[int] = [] if scan_log_ms is None else scan_log_ms
        self.findings: list[Finding] = [] if findings is None else findings
        self.roots = roots
        self._snapshots = _snapshots
        self._release = _release

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
            from claude_health.tools.usage.snapshot import latest, open_db, snapshot_db_path

            conn: sqlite3.Connection | None = None
            try:
                conn = open_db(snapshot_db_path(state_db_name(self.env, self.home)), SNAPSHOT_READ_BUSY_MS)
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
        if self._release is not None:
            self._release()  # a kept connection goes back to the process's pool
        else:
            self.conn.close()

    def recover(self, exc: BaseException) -> bool:
        """After ``exc`` while reading the state database: repair it (rows claude-health never
        writes are set aside) or, if it cannot be, answer from an in-memory scan. False when the
        state is not to blame (an in-memory session, or nothing wrong in the file)."""
        from claude_health.tools.usage import rules

        if self.db_path is None:
            return False
        try:
            done = store.repair(self.conn, self.db_path)
        except (store.StateError, sqlite3.Error) as problem:
            self._in_memory(str(problem))
            return True
        if done is None:
            if not isinstance(exc, sqlite3.Error):
                return False
            self._in_memory(f"the state database {self.db_path} could not be read: {exc}")
            return True
        self.findings.append(rules.STATE_REPAIRED.finding(done, path=str(self.db_path)))
        if _POOL is not None and self._release is not None:
            _POOL.memos[self.db_path] = ScanMemo()  # what it remembered came from the bad rows
        try:
            self.stats = scan(self.conn, self.env, self.home, roots=self.roots, now_ms=self.now_ms)
        except (*SCAN_ERRORS, TypeError, ValueError) as again:
            self._in_memory(f"the state database {self.db_path} could not be updated after repair: {again}")
        return True

    def _in_memory(self, problem: str) -> None:
        """Drop the state database for this session: history and incrementality are lost."""
        from claude_health.tools.usage import rules

        if self._snapshots is not None and self._snapshots is not self.conn:
            self._snapshots.close()
        self._snapshots = None
        _discard(self.conn, self.db_path, self._release)
        self._release = None
        self.conn, self.db_path, self.state_problem, self.rebuild = store.memory(), None, problem, None
        try:
            self.stats = scan(self.conn, self.env, self.home, roots=self.roots, now_ms=self.now_ms)
        except SCAN_ERRORS as again:
            self.stats = ScanStats()
            problem = f"{problem}; the transcripts could not be scanned either: {again}"
            self.state_problem = problem
        self.findings.append(rules.STATE_UNUSABLE.finding(problem))


# What reading a state database with rows claude-health never wrote raises: arithmetic on text,
# a time out of range, a result model refusing a value (ValueError), undecodable text.
STATE_ERRORS = (sqlite3.Error, TypeError, ValueError, OverflowError)


def guarded(session: UsageSession, build: Callable[[UsageSession], T]) -> T:
    """``build(session)``; if the state database is to blame it is repaired once and ``build`` rerun."""
    try:
        return build(session)
    except STATE_ERRORS as exc:
        if not session.recover(exc):
            raise
    return build(session)


class _Pool:
    """One open connection per ledger for a long-running process, used by one session at a time.

    An MCP server answers many calls: reopening the database each time costs the schema check,
    and closing it the checkpoint that the last connection to a WAL database runs.
    """

    def __init__(self) -> None:
        import threading  # only a long-running process keeps ledgers open

        self.lock = threading.Lock()
        # path -> (conn, dev, ino); and what the scans of that ledger remember between calls
        self.conns: dict[str, tuple[sqlite3.Connection, int, int]] = {}
        self.memos: dict[str, ScanMemo] = {}

    def take(self, db_path: str) -> tuple[sqlite3.Connection, Callable[[], None]]:
        self.lock.acquire()
        try:
            key = db_path
            kept = self.conns.get(key)
            try:
                st = os.stat(db_path)
                here = (st.st_dev, st.st_ino)
            except OSError:
                here = None
            if kept is not None and here == kept[1:]:
                return kept[0], self.lock.release
            if kept is not None:  # the file was replaced or removed meanwhile: start again
                self.drop(db_path)
            conn = store.connect(db_path, any_thread=True)
            st = os.stat(db_path)
            self.conns[key] = (conn, st.st_dev, st.st_ino)
            self.memos[key] = ScanMemo()
            return conn, self.lock.release
        except BaseException:
            self.lock.release()
            raise

    def drop(self, db_path: str) -> None:
        self.memos.pop(db_path, None)
        kept = self.conns.pop(db_path, None)
        if kept is not None:
            with contextlib.suppress(sqlite3.Error):
                kept[0].close()


_POOL: _Pool | None = None


def keep_ledgers_open() -> None:
    """For long-running processes (the MCP server): keep each ledger's connection between calls."""
    global _POOL
    if _POOL is None:
        _POOL = _Pool()


def close_ledgers() -> None:
    """Close every kept connection and stop keeping them (tests, or a server shutting down)."""
    global _POOL
    pool, _POOL = _POOL, None
    if pool is not None:
        with pool.lock:
            for key in list(pool.conns):
                pool.drop(key)


def _connect(db_path: str) -> tuple[sqlite3.Connection, Callable[[], None] | None]:
    if _POOL is None:
        return store.connect(db_path), None
    return _POOL.take(db_path)


def _discard(conn: sqlite3.Connection, db_path: str | None, release: Callable[[], None] | None) -> None:
    """Close a connection that failed; a kept one leaves the pool first."""
    if release is not None and _POOL is not None and db_path is not None:
        _POOL.drop(db_path)
        release()
    else:
        conn.close()


def open_session(
    env: Mapping[str, str],
    home: str | os.PathLike[str],
    *,
    now: float | None = None,
    lookup: PriceLookup | None = None,
    roots: list[str] | list[os.PathLike[str]] | None = None,
    blocks: bool = False,
) -> UsageSession:
    """Open the ledger and bring it up to date with the transcripts on disk.

    ``blocks``: a blocks report follows (a first load then stores the block cache as it loads).
    """
    now = time.time() if now is None else now
    now_ms = int(now * 1000)
    root_names = None if roots is None else [os.fspath(r) for r in roots]
    db_path: str | None = state_db_name(env, home)
    assert db_path is not None
    stamp = _read_stamp(db_path)
    problem = None
    rebuild: Rebuild | None = None
    conn: sqlite3.Connection
    release: Callable[[], None] | None = None
    building: str | None = None  # a first ledger's build file (see store.build_fresh)
    try:
        built = store.build_fresh(db_path) if _POOL is None else None
        if built is not None:
            conn, building = built
        else:
            conn, release = _connect(db_path)
    except store.StateCorrupt as exc:
        conn, rebuild, problem = _quarantine(db_path, str(exc), stamp, now_ms)
        if rebuild is None:
            db_path = None
    except store.StateError as exc:
        # Still answer, from this run's scan only: history and incrementality are lost.
        problem = str(exc)
        db_path = None
        conn = store.memory()
    try:
        previous, log = _scan_log(conn)
        if rebuild is None and db_path is not None and stamp and stamp[0] > 0 and not store.has_entries(conn):
            rebuild = Rebuild("missing", "", now_ms)
        memo = _POOL.memos.get(db_path) if _POOL is not None and release is not None and db_path else None
        wrong_type: TypeError | ValueError | None = None
        try:
            if building is not None and db_path is not None:
                conn, stats = _first_build(conn, building, db_path, env, home, root_names, now_ms, blocks)
            else:
                stats = scan(conn, env, home, roots=root_names, now_ms=now_ms, memo=memo, blocks=blocks)
        except (TypeError, ValueError) as exc:  # a stored row of the wrong type: repaired below
            stats, wrong_type = ScanStats(), exc
        except SCAN_ERRORS as exc:  # locked past the busy timeout, disk full, corrupted pages...
            _discard(conn, db_path, release)
            release = None
            if store.is_corruption(exc) and db_path is not None and rebuild is None:
                conn, rebuild, problem = _quarantine(db_path, str(exc), stamp, now_ms)
                if rebuild is None:
                    db_path = None
            else:
                problem = f"the state database {db_path} could not be updated: {exc}"
                db_path = None
                conn = store.memory()
            try:
                stats = scan(conn, env, home, roots=root_names, now_ms=now_ms, blocks=blocks)
            except SCAN_ERRORS as again:
                # The same transcripts break the scan wherever it writes: answer with no local
                # usage and say why, rather than fail every usage call from now on.
                conn.close()
                conn = store.memory()
                stats = ScanStats()
                db_path = None
                rebuild = None
                first = problem or "the state database could not be updated"
                problem = f"{first}; the transcripts could not be scanned either: {again}"
        if rebuild is not None and db_path is not None:
            rebuild.note = _loss_note(conn, rebuild, stamp)
            _remember_rebuild(conn, rebuild)
        if db_path is not None and wrong_type is None:
            _after_scan(conn, db_path, stats, now_ms, previous, log)
        session = UsageSession(
            conn=conn,
            stats=stats,
            now=now,
            env=env,
            home=home,
            lookup=lookup or _default_lookup(),
            db_path=db_path,
            state_problem=problem,
            rebuild=rebuild,
            previous_scan_ms=previous,
            scan_log_ms=log,
            roots=root_names,
            _release=release,
        )
    except BaseException:
        # Anything unforeseen (a bug, an interrupt) must still give a kept connection back:
        # a lock left held would hang every later usage call of the server.
        if release is not None:
            _discard(conn, db_path, release)
        else:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        raise
    if wrong_type is not None and not session.recover(wrong_type):
        session.close()
        raise wrong_type
    _log_scan(session.db_path, session.stats)
    bad = guarded(session, lambda s: store.bad_line_files(s.conn, MAX_LISTED_FILES))
    if problem or session.rebuild is not None or session.stats.problems or bad:
        # Imported only when there is something to say: findings cost a clean report nothing.
        from claude_health.tools.usage.findings import scan_findings

        session.findings[:0] = scan_findings(session, bad)
    return session


def _first_build(
    conn: sqlite3.Connection,
    building: str,
    db_path: str,
    env: Mapping[str, str],
    home: str | os.PathLike[str],
    roots: list[str] | None,
    now_ms: int,
    blocks: bool,
) -> tuple[sqlite3.Connection, ScanStats]:
    """Scan into a new ledger's build file, publish it as the state database, and reopen it.

    A build that fails or is interrupted is deleted: the state database appears whole or not at
    all. If another process created the state database meanwhile, that one is brought up to date.
    """
    try:
        stats = scan(conn, env, home, roots=roots, now_ms=now_ms, blocks=blocks)
        published = store.publish_build(conn, building, db_path)
    except BaseException as exc:
        conn.close()
        store.discard_build(building)
        if isinstance(exc, OSError):  # the build could not be published: a failed update
            raise sqlite3.OperationalError(str(exc)) from exc
        raise
    try:
        conn = store.connect(db_path)
    except store.StateError as exc:  # (as a failed update: answered from memory, with U006)
        raise sqlite3.OperationalError(str(exc)) from None
    if not published:
        try:
            stats = scan(conn, env, home, roots=roots, now_ms=now_ms, blocks=blocks)
        except BaseException as exc:
            conn.close()  # the caller holds only the build's connection
            if isinstance(exc, TypeError | ValueError | OSError):  # answered as a failed update
                raise sqlite3.OperationalError(str(exc)) from exc
            raise
    else:
        # What this process writes next (the update marks, the report's caches) is derived from
        # the same transcripts as the build, which was not synced either: syncing it at the
        # close's checkpoint would flush the whole new file to disk first (10+ ms on 200 MiB).
        conn.execute("PRAGMA synchronous = OFF")
    return conn, stats


def _default_lookup() -> PriceLookup:
    # Imported here: the key scan opens a session to read transcripts and prices nothing.
    from claude_health.tools.usage.pricing import default_lookup

    return default_lookup()


def _quarantine(
    db_path: str, reason: str, stamp: tuple[int, int | None, int | None] | None, now_ms: int
) -> tuple[sqlite3.Connection, Rebuild | None, str | None]:
    """Move a damaged database aside and start a fresh one (the ledger is rebuilt by the scan)."""
    stamp_time = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = f"{db_path}.damaged-{stamp_time}"
    try:
        os.replace(db_path, kept)
        for suffix in ("-wal", "-shm"):
            side = f"{db_path}{suffix}"
            if os.path.exists(side):
                os.replace(side, f"{kept}{suffix}")
        conn = store.connect(db_path)
    except (OSError, store.StateError) as exc:
        return store.memory(), None, f"{reason}; it could not be replaced: {exc}"
    return conn, Rebuild("damaged", "", now_ms, kept_at=kept), None


def _day(ms: int | None) -> str:
    return "?" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _loss_note(
    conn: sqlite3.Connection, rebuild: Rebuild, stamp: tuple[int, int | None, int | None] | None
) -> str:
    """What the rebuild cost, in words: what the ledger held before, and what could be found again."""
    n, first, _last = store.ledger_size(conn)
    why = (
        f"was damaged (kept at {rebuild.kept_at})"
        if rebuild.reason == "damaged"
        else "was missing (the state database was deleted or replaced)"
    )
    found = f"rebuilt from the transcripts still on disk: {n:,} responses since {_day(first)}"
    if stamp is None or stamp[0] <= 0:
        lost = "Usage from transcripts Claude Code had already deleted is lost."
        return f"The usage ledger {why}; {found}. {lost}"
    held, held_first, held_last = stamp
    lost_span = (
        f"{_day(held_first)} to {_day(first)}"
        if first is not None
        else f"{_day(held_first)} to {_day(held_last)}"
    )
    return (
        f"The usage ledger {why}. It held {held:,} responses from {_day(held_first)} to {_day(held_last)}; "
        f"{found}. Usage from {lost_span} that only the ledger still had (about {max(0, held - n):,} "
        "responses) is lost."
    )


def _remember_rebuild(conn: sqlite3.Connection, rebuild: Rebuild) -> None:
    with contextlib.suppress(sqlite3.Error):
        store.set_meta(conn, {"rebuilt_at": str(rebuild.at_ms), "rebuild_note": rebuild.note})


def _scan_log(conn: sqlite3.Connection) -> tuple[int | None, list[int]]:
    """When the ledger was last brought up to date, and the recent update times (oldest first)."""
    try:
        previous = store.meta_int(conn, "last_scan_ms")
        raw = store.get_meta(conn, "scan_log") or ""
    except sqlite3.Error:
        return None, []
    log = [int(v) for v in raw.split(",") if v.isdigit()]
    return previous, log


def _after_scan(
    conn: sqlite3.Connection,
    db_path: str,
    stats: ScanStats,
    now_ms: int,
    previous: int | None,
    log: list[int],
) -> None:
    """Record the update (for the cleanup check) and refresh the stamp beside the database.

    Only every few minutes when nothing changed: a write is a transaction, and the last
    connection to close then checkpoints the log, which a report that read nothing new should
    not pay for.
    """
    changed = bool(stats.entries_written or stats.files_gone_now or stats.files_read)
    values: dict[str, str] = {}
    if changed or previous is None or now_ms - previous >= SCAN_MARK_EVERY_MS:
        values["last_scan_ms"] = str(now_ms)
    if not log or now_ms - log[-1] >= SCAN_LOG_MIN_GAP_MS:
        values["scan_log"] = ",".join(str(v) for v in [*log, now_ms][-SCAN_LOG_KEEP:])
    if values:
        try:
            store.set_meta(conn, values)
        except sqlite3.Error:
            return
    if (
        previous is None
        or stats.files_gone_now
        or (stats.entries_written and _stamp_age_ms(db_path, now_ms) > SCAN_MARK_EVERY_MS)
    ):
        _write_stamp(conn, db_path)


def _stamp_age_ms(db_path: str, now_ms: int) -> float:
    """How old the stamp is (it may lag a few minutes: it only sizes a loss after the fact)."""
    try:
        return now_ms - os.stat(stamp_path(db_path)).st_mtime * 1000
    except OSError:
        return float("inf")


def stamp_path(db_path: str | os.PathLike[str]) -> str:
    return os.fspath(db_path) + STAMP_SUFFIX


def _write_stamp(conn: sqlite3.Connection, db_path: str) -> None:
    try:
        n, first_q, last_q = conn.execute(
            "SELECT SUM(n), MIN(CASE WHEN n > 0 THEN q END), MAX(CASE WHEN n > 0 THEN q END)"
            " FROM usage_quarters"
        ).fetchone()
    except sqlite3.Error:
        return
    first = "null" if first_q is None else str(int(first_q) * 900_000)
    last = "null" if last_q is None else str(int(last_q) * 900_000)
    text = f'{{"entries": {int(n or 0)}, "first_ms": {first}, "last_ms": {last}}}\n'
    path = stamp_path(db_path)
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        pass


def _read_stamp(db_path: str) -> tuple[int, int | None, int | None] | None:
    """``(entries, first ms, last ms)`` the ledger held when last written, if a stamp exists."""
    import json

    try:
        with open(stamp_path(db_path), encoding="utf-8") as fh:
            data = json.loads(fh.read())
        entries, first, last = data["entries"], data["first_ms"], data["last_ms"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if type(entries) is not int or any(v is not None and type(v) is not int for v in (first, last)):
        return None
    return entries, first, last


def _log_scan(db_path: str | None, stats: ScanStats) -> None:
    """For -v: the transcript folders and state database read (files are too many to list)."""
    import sys

    if "logging" not in sys.modules:  # nobody asked (see files.log_read): nothing to import
        return
    from claude_health.tools.files import log_read

    folders = ", ".join(stats.roots) or "no transcript folder"
    seen, read = f"{stats.files_seen:,}", f"{stats.files_read:,}"
    log_read(folders, f"{seen} transcript file(s), {read} read for new lines ({stats.bytes_read:,} bytes)")
    log_read(db_path or "(in memory)", "usage state database")


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
