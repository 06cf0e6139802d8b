"""The guard's own state: ``guard.db`` and ``guard.log`` beside claude-health's state database.

Standard library only, and ``os.path`` rather than pathlib: every hook opens this file, and a hook
has a start-up budget like the status line's. WAL mode and a short busy timeout: hooks of several
sessions may write at once, and none of them may wait long.

Tables: ``guard_runs`` (the last run of each hook event, for the doctor), ``guard_alerts`` (plan
threshold alerts already given, so none is given twice), ``guard_pending`` (warnings waiting for
the next prompt, e.g. from ConfigChange, whose own output Claude Code does not show),
``guard_facts`` (the last SessionStart verdict per project, keyed by a fingerprint of its
inputs) and ``guard_keys`` (the last key-scan verdict per project).
"""

from __future__ import annotations

import os
import sqlite3
import time

from claude_health.tools.state import state_db_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from collections.abc import Mapping

GUARD_DB_NAME = "guard.db"
GUARD_LOG_NAME = "guard.log"
BUSY_MS = 200
MAX_LOG_BYTES = 512 * 1024
MAX_PENDING_CHARS = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS guard_runs (
    event TEXT PRIMARY KEY, last_at REAL NOT NULL, ok INTEGER NOT NULL, detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS guard_alerts (
    window TEXT NOT NULL, resets_at INTEGER NOT NULL, threshold REAL NOT NULL, percentage REAL NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (window, resets_at, threshold)
);
CREATE TABLE IF NOT EXISTS guard_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL, at REAL NOT NULL,
    for_model TEXT NOT NULL, for_user TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS guard_facts (
    project TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, at REAL NOT NULL, verdict TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS guard_keys (
    project TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, at REAL NOT NULL, verdict TEXT NOT NULL
);
"""


def state_dir(env: Mapping[str, str], home: str) -> str:
    """The directory of claude-health's state database (``~/.cache/claude-health`` by default)."""
    return os.path.dirname(state_db_name(env, home)) or "."


def guard_db_name(env: Mapping[str, str], home: str) -> str:
    return os.path.join(state_dir(env, home), GUARD_DB_NAME)


def log_name(env: Mapping[str, str], home: str) -> str:
    return os.path.join(state_dir(env, home), GUARD_LOG_NAME)


def connect(env: Mapping[str, str], home: str) -> sqlite3.Connection:
    """The guard database, created on first use."""
    path = guard_db_name(env, home)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def open_existing(env: Mapping[str, str], home: str) -> sqlite3.Connection | None:
    """The guard database for reading, or None when no hook has ever run."""
    path = guard_db_name(env, home)
    if not os.path.isfile(path):
        return None
    try:
        return connect(env, home)
    except sqlite3.Error:
        return None


def record_run(
    conn: sqlite3.Connection, event: str, ok: bool, detail: str = "", now: float | None = None
) -> None:
    conn.execute(
        "INSERT INTO guard_runs (event, last_at, ok, detail) VALUES (?, ?, ?, ?) ON CONFLICT(event) "
        "DO UPDATE SET last_at = excluded.last_at, ok = excluded.ok, detail = excluded.detail",
        (event, time.time() if now is None else now, 1 if ok else 0, detail[:300]),
    )


def runs(conn: sqlite3.Connection) -> dict[str, tuple[float, bool, str]]:
    """event -> (last run, whether it ended normally, why not)."""
    rows = conn.execute("SELECT event, last_at, ok, detail FROM guard_runs").fetchall()
    return {event: (at, bool(ok), detail) for event, at, ok, detail in rows}


def queue_pending(conn: sqlite3.Connection, project: str, for_model: str, for_user: str, now: float) -> None:
    """A warning for the next prompt in ``project`` (the newest replaces older ones)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM guard_pending WHERE project = ?", (project,))
        conn.execute(
            "INSERT INTO guard_pending (project, at, for_model, for_user) VALUES (?, ?, ?, ?)",
            (project, now, for_model[:MAX_PENDING_CHARS], for_user[:MAX_PENDING_CHARS]),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def take_pending(
    conn: sqlite3.Connection, project: str, max_age_s: float, now: float
) -> list[tuple[str, str]]:
    """The warnings waiting for ``project``, removed as they are taken (each is delivered once)."""
    if conn.execute("SELECT 1 FROM guard_pending WHERE project = ? LIMIT 1", (project,)).fetchone() is None:
        return []  # the usual prompt: no write lock taken
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute(
            "SELECT id, at, for_model, for_user FROM guard_pending WHERE project = ? ORDER BY id", (project,)
        ).fetchall()
        if rows:
            conn.execute("DELETE FROM guard_pending WHERE project = ?", (project,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return [(model, user) for _, at, model, user in rows if now - at <= max_age_s]


def log_problem(env: Mapping[str, str], home: str, event: str, text: str) -> None:
    """Append one line to ``guard.log`` (secrets redacted, file size capped); never raises."""
    try:
        from claude_health.tools.redact import redact_text  # only when something went wrong

        path = log_name(env, home)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        try:
            if os.path.getsize(path) > MAX_LOG_BYTES:
                os.replace(path, path + ".1")
        except OSError:
            pass
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
        line = redact_text(f"{stamp} {event}: {text}".replace("\n", " | "))[:4000]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except Exception:  # noqa: S110 - the log is the last resort; a hook must still exit quietly
        pass
