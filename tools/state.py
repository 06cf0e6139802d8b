"""Where claude-health keeps its own state (limiter buckets, usage offsets and aggregates).

One SQLite file per user, shared by every claude-health process on the machine; each
subsystem owns its tables (``limiter_*``, ``usage_*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

STATE_DB_NAME = "limiter.db"
STATE_DB_OVERRIDE = "CLAUDE_HEALTH_STATE_DB"


def cache_dir(env: Mapping[str, str], home: Path) -> Path:
    """``$XDG_CACHE_HOME/claude-health`` or ``~/.cache/claude-health``."""
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else home / ".cache"
    return base / "claude-health"


def state_db_path(env: Mapping[str, str], home: Path) -> Path:
    """The shared state database; ``CLAUDE_HEALTH_STATE_DB`` points it elsewhere."""
    override = env.get(STATE_DB_OVERRIDE, "").strip()
    if override:
        return Path(override).expanduser()
    return cache_dir(env, home) / STATE_DB_NAME
