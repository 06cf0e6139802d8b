"""What the key scan has already read of append-only files (shell histories), and what it found.

Tables ``keys_history_files`` (per file: device, inode, size, mtime, the offset read up to, the
lines before it and the bytes just before it) and ``keys_history_hits`` (per credential: where,
redacted and fingerprinted; never the key) in claude-health's shared state database. A file
whose inode changed, that got shorter, or whose bytes before the offset changed (rewritten in
place, as ``fc -W`` or an editor does) is read again from the start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

BUSY_TIMEOUT_MS = 5000

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS keys_history_files (
    path TEXT PRIMARY KEY,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    tail BLOB NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS keys_history_hits (
    path TEXT NOT NULL,
    offset INTEGER NOT NULL,
    line INTEGER NOT NULL,
    col INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    redacted TEXT NOT NULL,
    PRIMARY KEY (path, offset)
) WITHOUT ROWID""",
)


class FileMark(NamedTuple):
    dev: int
    ino: int
    size: int
    mtime_ns: int
    offset: int
    lines: int
    tail: bytes


class StoredHit(NamedTuple):
    path: str
    offset: int
    line: int
    col: int
    at: str
    kind: str
    fingerprint: str
    redacted: str


def open_state(path: Path) -> sqlite3.Connection | None:
    """The state database with these tables, or None when it cannot be used (scan from scratch)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except (OSError, sqlite3.Error):
        return None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        for statement in SCHEMA:
            conn.execute(statement)
    except sqlite3.Error:
        conn.close()
        return None
    return conn


def mark(conn: sqlite3.Connection, path: str) -> FileMark | None:
    row = conn.execute(
        "SELECT dev, ino, size, mtime_ns, offset, lines, tail FROM keys_history_files WHERE path = ?", (path,)
    ).fetchone()
    if row is None:
        return None
    if any(type(v) is not int for v in row[:6]) or type(row[6]) is not bytes:
        return None  # wrong types (a damaged database): read the file again
    return FileMark(row[0], row[1], row[2], row[3], row[4], row[5], row[6])


def hits(conn: sqlite3.Connection, path: str) -> list[StoredHit]:
    rows = conn.execute(
        "SELECT path, offset, line, col, at, kind, fingerprint, redacted FROM keys_history_hits"
        " WHERE path = ? ORDER BY offset",
        (path,),
    ).fetchall()
    types = (str, int, int, int, str, str, str, str)
    return [StoredHit(*r) for r in rows if all(type(v) is t for v, t in zip(r, types, strict=True))]


def save(
    conn: sqlite3.Connection, path: str, new: FileMark, found: Iterable[StoredHit], *, restart: bool
) -> None:
    """Record what was read of ``path``; ``restart`` forgets what an earlier read found."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if restart:
            conn.execute("DELETE FROM keys_history_hits WHERE path = ?", (path,))
        conn.executemany(
            "INSERT OR REPLACE INTO keys_history_hits"
            " (path, offset, line, col, at, kind, fingerprint, redacted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            list(found),
        )
        conn.execute(
            "INSERT OR REPLACE INTO keys_history_files (path, dev, ino, size, mtime_ns, offset, lines, tail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (path, *new),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def forget(conn: sqlite3.Connection, path: str) -> None:
    """The file is gone (or must be read again): drop its mark and hits."""
    conn.execute("DELETE FROM keys_history_hits WHERE path = ?", (path,))
    conn.execute("DELETE FROM keys_history_files WHERE path = ?", (path,))
