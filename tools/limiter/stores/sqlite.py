"""``sqlite:///PATH``: buckets in one SQLite file shared by every process on the machine.

WAL journal, ``synchronous=NORMAL`` (a power cut may lose the last decisions, never corrupt the
file), one ``BEGIN IMMEDIATE`` transaction per decision so concurrent processes serialise on the
write lock. The busy wait is ours (short randomised sleeps up to :data:`BUSY_TIMEOUT`) rather
than SQLite's, whose back-off sleeps whole milliseconds and collapses throughput under
contention. Times are wall-clock Unix seconds (``time.time()``), the one clock that means the
same to every process and survives a reboot; ``bucket`` makes its steps harmless (see
:mod:`claude_health.tools.limiter.clock` for why not ``time.monotonic()``, which restarts at
boot). A hold is stored with its length, so a clock stepped back cannot stretch it.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from claude_health.tools.limiter.bucket import State, Verdict, adjusted, decide, hold_left
from claude_health.tools.limiter.clock import ClockLike, reader
from claude_health.tools.limiter.headers import MAX_RETRY_AFTER
from claude_health.tools.limiter.stores.base import (
    Event,
    StoreError,
    Sync,
    is_number,
    valid_event,
    valid_state,
)

logger = logging.getLogger(__name__)

BUSY_TIMEOUT = 5.0
_SAID: set[str] = set()  # damaged rows already logged by this process (several stores may meet one)
EVENT_RETENTION = 7 * 86400.0
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS limiter_buckets (
    key TEXT PRIMARY KEY, tokens REAL NOT NULL, ts REAL NOT NULL,
    capacity REAL NOT NULL, learned INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS limiter_holds (
    key TEXT PRIMARY KEY, until REAL NOT NULL, length REAL NOT NULL DEFAULT 86400
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS limiter_events (
    at REAL NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL, detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS limiter_events_at ON limiter_events (at);
"""
_UPSERT = (
    "INSERT INTO limiter_buckets (key, tokens, ts, capacity, learned) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET tokens = excluded.tokens, ts = excluded.ts, "
    "capacity = excluded.capacity, learned = excluded.learned"
)


COLUMNS = {
    "limiter_buckets": ("key", "tokens", "ts", "capacity", "learned"),
    "limiter_holds": ("key", "until"),
    "limiter_events": ("at", "kind", "model", "detail"),
}


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse tables that have claude-health's names but not its columns (another program's, or
    another version's): writing into them would fail on every decision, or corrupt their data."""
    kinds = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'limiter_%'").fetchall())
    for table, expected in COLUMNS.items():
        if table not in kinds:
            continue  # created next
        if kinds[table] != "table":
            found = f"a {kinds[table]}"
        else:
            columns = tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
            if set(expected) <= set(columns):
                continue
            found = f"a table with columns ({', '.join(columns)})"
        raise StoreError(
            f"the limiter database {path} holds {found} named {table}, not claude-health's table "
            f"({', '.join(expected)}); it was written by another program or version. Nothing in it was "
            "changed: move the file aside, or set CLAUDE_HEALTH_STATE_DB to use another one"
        )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _is_unusable(exc: sqlite3.DatabaseError) -> bool:
    """Corruption (as opposed to a lock or a permission problem), which replacing the file fixes."""
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


class SQLiteStore:
    def __init__(self, path: Path, url: str | None = None, clock: ClockLike | None = None) -> None:
        self.path = path
        self.url = url or f"sqlite://{path}"
        self.warnings: list[str] = []
        # Shared by processes and kept across reboots: the wall clock (see limiter.clock).
        self._clock = reader(clock, "time")
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._read_sql: dict[int, str] = {}
        self._write_sql: dict[int, str] = {}
        self._conn = self._open_or_replace()

    # -- opening, corruption -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {self.path.parent}: {exc.strerror or exc}") from None
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
            conn.execute("PRAGMA synchronous=NORMAL")
            self._retry(lambda: _check_schema(conn, self.path))
            self._retry(lambda: conn.executescript(SCHEMA))
            self._retry(lambda: self._add_hold_length(conn))
            # A read-only file opens fine and fails only at the first write: find out now.
            self._retry(lambda: self._write_probe(conn))
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _write_probe(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM limiter_holds WHERE until < -1")
        conn.execute("COMMIT")

    @staticmethod
    def _add_hold_length(conn: sqlite3.Connection) -> None:
        """Give a holds table written by an older version its ``length`` column (once, under the
        write lock so two processes do not both add it). Old holds get the longest allowed."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(limiter_holds)")}
            if "length" not in columns:
                conn.execute(
                    f"ALTER TABLE limiter_holds ADD COLUMN length REAL NOT NULL DEFAULT {MAX_RETRY_AFTER:.0f}"
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _open_or_replace(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if not _is_unusable(exc):
                raise StoreError(f"cannot use the limiter database {self.path}: {exc}") from None
            self._quarantine(exc)
            try:
                return self._connect()
            except sqlite3.DatabaseError as again:
                raise StoreError(f"cannot recreate the limiter database {self.path}: {again}") from None

    def _quarantine(self, exc: BaseException) -> None:
        """Move a corrupt file aside (kept for inspection) so a fresh one can take its place."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        try:
            self.path.replace(target)
        except OSError as move_error:
            raise StoreError(
                f"the limiter database {self.path} is corrupt ({exc}) and cannot be moved aside: "
                f"{move_error.strerror or move_error}"
            ) from None
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            with suppress(OSError):
                side.unlink(missing_ok=True)
        message = (
            f"the limiter database {self.path} was corrupt ({exc}); it was moved to {target.name} "
            "and a new one was created (bucket levels restart full; the server's headers correct them)"
        )
        logger.warning(message)
        self.warnings.append(message)

    def _retry(self, fn: Callable[[], T]) -> T:
        deadline = time.monotonic() + BUSY_TIMEOUT
        attempt = 0
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                attempt += 1
                # jitter, not security
                time.sleep(random.uniform(0, min(0.002, 0.00002 * (1 << min(attempt, 10)))))  # noqa: S311

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a corrupt file found mid-flight is replaced and the call fails cleanly."""
        with self._lock:
            if os.getpid() != self._pid:  # forked child: never share the parent's connection
                self._pid = os.getpid()
                self._conn = self._open_or_replace()
            conn = self._conn
            try:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as first:
                    if not _is_busy(first):
                        raise
                    self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    raise StoreError(
                        f"the limiter database {self.path} stayed locked for {BUSY_TIMEOUT:.0f} s"
                    ) from None
                raise StoreError(f"cannot write the limiter database {self.path}: {exc}") from None
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                raise StoreError(f"the limiter database {self.path} was unusable: {exc}") from None
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if _is_unusable(exc):
                    self._recover(exc)
                raise StoreError(f"the limiter database {self.path} failed: {exc}") from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        if not _is_unusable(exc):
            return
        try:
            self._conn.close()
        finally:
            self._quarantine(exc)
            self._conn = self._connect()

    # -- reads and writes ---------------------------------------------------------------------

    def _states(self, conn: sqlite3.Connection, keys: Sequence[str]) -> list[State | None]:
        marks = ",".join("?" * len(keys))
        rows = conn.execute(
            f"SELECT key, tokens, ts, capacity, learned FROM limiter_buckets WHERE key IN ({marks})",  # noqa: S608
            list(keys),
        ).fetchall()
        found: dict[str, State] = {}
        for key, *values in rows:
            state = valid_state(*values)
            if state is None:
                self._damaged(f"bucket {key!r}", values)
            else:
                found[key] = state
        return [found.get(k) for k in keys]

    def _hold_left(self, conn: sqlite3.Connection, key: str, now: float) -> float:
        row = conn.execute("SELECT until, length FROM limiter_holds WHERE key = ?", (key,)).fetchone()
        if row is None:
            return 0.0
        if not (is_number(row[0]) and is_number(row[1])):
            self._damaged(f"hold {key!r}", list(row))
            conn.execute("DELETE FROM limiter_holds WHERE key = ?", (key,))
            return 0.0
        return hold_left(float(row[0]), float(row[1]), now)

    def _damaged(self, what: str, values: Sequence[object]) -> None:
        """A row that is not numbers: said once per process, then treated as never written."""
        message = (
            f"the limiter database {self.path}: {what} held values that are not numbers "
            f"({', '.join(type(v).__name__ for v in values)}); it counts as unused until rewritten"
        )
        if message not in self.warnings:
            self.warnings.append(message)
            if message not in _SAID:
                _SAID.add(message)
                logger.warning(message)

    @staticmethod
    def _write(conn: sqlite3.Connection, keys: Sequence[str], states: Sequence[State | None]) -> None:
        rows = [
            (key, st.tokens, st.ts, st.capacity, int(st.learned))
            for key, st in zip(keys, states, strict=True)
            if st is not None
        ]
        conn.executemany(_UPSERT, rows)

    # -- the store protocol --------------------------------------------------------------------

    def acquire(
        self, keys: Sequence[str], caps: Sequence[float], amounts: Sequence[float], hold_key: str
    ) -> Verdict:
        # The hot path: one statement reads buckets and hold, one writes; BEGIN/COMMIT around them.
        with self._transaction() as conn:
            now = self._clock()
            read = self._read_sql.get(len(keys))
            if read is None:
                marks = ",".join("?" * len(keys))
                read = self._read_sql[len(keys)] = (
                    f"SELECT key, tokens, ts, capacity, learned FROM limiter_buckets WHERE key IN ({marks}) "  # noqa: S608
                    "UNION ALL SELECT key, until, length, -1, 0 FROM limiter_holds WHERE key = ?"
                )
            found: dict[str, State] = {}
            left = 0.0
            try:
                for key, tokens, ts, capacity, learned in conn.execute(read, (*keys, hold_key)):
                    if capacity == -1 and key == hold_key:
                        left = hold_left(tokens, ts, now)
                        if left <= 0.0:  # over: gone, so that a later step back cannot revive it
                            conn.execute("DELETE FROM limiter_holds WHERE key = ?", (hold_key,))
                        elif now + left < tokens:  # a clock stepped back stretched it: re-date it
                            conn.execute(
                                "UPDATE limiter_holds SET until = ? WHERE key = ?", (now + left, hold_key)
                            )
                    else:
                        found[key] = State(tokens, ts, capacity, bool(learned))
                verdict, new = decide(caps, amounts, [found.get(k) for k in keys], now, left)
            except (TypeError, ValueError, OverflowError):  # a row that is not numbers: the slow path
                states, left = self._states(conn, keys), self._hold_left(conn, hold_key, now)
                verdict, new = decide(caps, amounts, states, now, left)
            if new:  # allowed: the debited buckets; refused: buckets re-dated from the future
                rows = [
                    v
                    for key, st in zip(keys, new, strict=True)
                    if st is not None
                    for v in (key, st.tokens, st.ts, st.capacity, int(st.learned))
                ]
                if rows:
                    count = len(rows) // 5
                    write = self._write_sql.get(count)
                    if write is None:
                        write = self._write_sql[count] = _UPSERT.replace(
                            "VALUES (?, ?, ?, ?, ?)", "VALUES " + ",".join(["(?, ?, ?, ?, ?)"] * count)
                        )
                    conn.execute(write, rows)
            return verdict

    def adjust(self, keys: Sequence[str], caps: Sequence[float], deltas: Sequence[float]) -> None:
        with self._transaction() as conn:
            now = self._clock()
            states = self._states(conn, keys)
            new = [adjusted(st, cap, delta, now) for st, cap, delta in zip(states, caps, deltas, strict=True)]
            self._write(conn, keys, new)

    def sync(self, items: Sequence[Sync], hold: tuple[str, float] | None = None) -> None:
        with self._transaction() as conn:
            now = self._clock()
            conn.executemany(_UPSERT, [(i.key, min(i.tokens, i.capacity), now, i.capacity, 1) for i in items])
            if hold is not None and hold[1] > 0:
                # The later end wins, with its own length (SET reads the old row throughout).
                conn.execute(
                    "INSERT INTO limiter_holds (key, until, length) VALUES (?, ?, ?) ON CONFLICT(key) "
                    "DO UPDATE SET until = max(until, excluded.until), length = CASE WHEN "
                    "excluded.until >= until THEN excluded.length ELSE length END",
                    (hold[0], now + hold[1], hold[1]),
                )

    def snapshot(self, keys: Sequence[str], hold_key: str) -> tuple[list[State | None], float, float]:
        with self._transaction() as conn:
            now = self._clock()
            return self._states(conn, keys), self._hold_left(conn, hold_key, now), now

    def record_event(self, event: Event) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO limiter_events (at, kind, model, detail) VALUES (?, ?, ?, ?)",
                (event.at, event.kind, event.model, event.detail[:500]),
            )
            conn.execute("DELETE FROM limiter_events WHERE at < ?", (event.at - EVENT_RETENTION,))

    def events(self, since: float) -> list[Event]:
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT kind, model, at, detail FROM limiter_events WHERE at >= ? ORDER BY at LIMIT 1000",
                (since,),
            ).fetchall()
        events = [valid_event(*r) for r in rows]
        return [e for e in events if e is not None]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
