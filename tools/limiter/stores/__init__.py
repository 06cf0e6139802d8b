"""Limiter stores chosen by URL: ``memory://``, ``sqlite:///PATH``, ``redis://HOST:PORT/DB``,
``redis+cluster://HOST:PORT[,HOST:PORT...]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from claude_health.tools.limiter.stores.base import Event, Store, StoreError, Sync

if TYPE_CHECKING:
    from claude_health.tools.limiter.clock import ClockLike

__all__ = ["Event", "Store", "StoreError", "Sync", "open_store", "sqlite_path", "sqlite_url"]

SCHEMES: tuple[str, ...] = ("memory://", "sqlite://", "redis://", "rediss://", "unix://")
SCHEMES += ("redis+cluster://", "rediss+cluster://")


def sqlite_path(url: str) -> Path:
    """``sqlite:///abs/file.db`` -> ``/abs/file.db``; ``sqlite://rel.db`` -> ``rel.db``; ``~`` expands."""
    rest = unquote(url[len("sqlite://") :].split("?", 1)[0])
    if not rest or rest.endswith("/") or "\x00" in rest:
        raise StoreError(f"{url!r}: expected sqlite:///PATH/TO/FILE.db")
    if rest.startswith("//"):  # sqlite:////abs (SQLAlchemy's spelling) is the same file
        rest = "/" + rest.lstrip("/")
    return Path(rest).expanduser()


def sqlite_url(path: Path) -> str:
    """``sqlite:///abs/path`` for an absolute path (three slashes), ``sqlite://rel`` otherwise."""
    return f"sqlite://{path}"


def open_store(url: str, clock: ClockLike | None = None) -> Store:
    """The store for ``url``; raises :class:`StoreError` (with a clear message) when it cannot open.

    ``clock`` (memory and SQLite only; Redis reads its server's ``TIME``) replaces the machine's
    clocks -- for tests of refill, reboots and clock steps (see :mod:`..clock`).
    """
    text = url.strip()
    if text.startswith("memory://"):
        from claude_health.tools.limiter.stores.memory import MemoryStore

        return MemoryStore(text, clock=clock)
    if text.startswith("sqlite://"):
        from claude_health.tools.limiter.stores.sqlite import SQLiteStore

        path = sqlite_path(text)
        return SQLiteStore(path, url=f"sqlite:///{path}".replace("////", "///"), clock=clock)
    if text.startswith(("redis+cluster://", "rediss+cluster://")):
        from claude_health.tools.limiter.stores.redis_cluster import RedisClusterStore

        return RedisClusterStore(text)
    if text.startswith(("redis://", "rediss://", "unix://")):
        from claude_health.tools.limiter.stores.redis_store import RedisStore

        return RedisStore(text)
    shown = text.split("@")[-1][:100]
    raise StoreError(
        f"unknown limiter store URL {shown!r}: use memory://, sqlite:///PATH, redis://HOST:PORT/DB "
        "or redis+cluster://HOST:PORT[,HOST:PORT...]"
    )
