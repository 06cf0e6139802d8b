"""Exact counts cached by content hash and model, in the shared state database.

Why SQLite in the state DB rather than a JSON file: the MCP server and CLI runs write to it
concurrently, and SQLite gives atomic, locked upserts across processes without a temp-file dance
or lost updates; the database already exists per user (``claude_health.tools.state``). The key is
``sha256(canonical JSON of the count_tokens body)`` — the body carries the model and the content —
so recounting an unchanged file costs nothing, and any edit or other model misses.
A broken or locked database never fails a count: the cache is skipped.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from claude_health.tools.state import state_db_path

TABLE = "tokens_cache"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    created REAL NOT NULL
)
"""


def request_key(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class ExactCache:
    """``get``/``put`` exact counts; every failure degrades to a miss."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self.disabled_reason: str | None = None if path else "no cache path"

    @classmethod
    def for_env(cls, env: Mapping[str, str], home: Path) -> ExactCache:
        return cls(state_db_path(env, home))

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None or self.disabled_reason is not None or self.path is None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=2.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=2000")
            conn.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            self.disabled_reason = f"cache unavailable: {exc}"
            return None
        self._conn = conn
        return conn

    def get(self, key: str) -> int | None:
        conn = self._connect()
        if conn is None:
            return None
        try:
            row = conn.execute(f"SELECT input_tokens FROM {TABLE} WHERE key = ?", (key,)).fetchone()  # noqa: S608
        except sqlite3.Error:
            return None
        return int(row[0]) if row else None

    def put(self, key: str, model: str, tokens: int) -> None:
        conn = self._connect()
        if conn is None:
            return
        try:
            conn.execute(
                f"INSERT OR REPLACE INTO {TABLE} (key, model, input_tokens, created) VALUES (?, ?, ?, ?)",  # noqa: S608
                (key, model, int(tokens), time.time()),
            )
        except sqlite3.Error:
            return

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
