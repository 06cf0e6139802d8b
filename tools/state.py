"""Where claude-health keeps its own state (limiter buckets, usage offsets and aggregates).

One SQLite file per user, shared by every claude-health process on the machine; each
subsystem owns its tables (``limiter_*``, ``usage_*``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Not typing.TYPE_CHECKING: importing typing (and pathlib) costs the status line, which resolves
# the state file on every refresh, a tenth of its time. Type checkers honour this name too.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

STATE_DB_NAME = "limiter.db"
STATE_DB_OVERRIDE = "CLAUDE_HEALTH_STATE_DB"
# claude-health's one config file (rate-limit overrides, plan alert thresholds), in the config dir.
CONFIG_FILE_NAME = "limits.toml"


def config_dir_name(env: Mapping[str, str], home: str | os.PathLike[str]) -> str:
    """``$XDG_CONFIG_HOME/claude-health`` (when absolute) or ``~/.config/claude-health``."""
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(home, ".config")
    return os.path.join(base, "claude-health")


def config_file_name(env: Mapping[str, str], home: str | os.PathLike[str]) -> str:
    """claude-health's config file: ``limits.toml`` in :func:`config_dir_name`."""
    return os.path.join(config_dir_name(env, home), CONFIG_FILE_NAME)


def cache_dir_name(env: Mapping[str, str], home: str | os.PathLike[str]) -> str:
    """``$XDG_CACHE_HOME/claude-health`` or ``~/.cache/claude-health``."""
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    base = os.path.expanduser(xdg) if xdg else os.path.join(home, ".cache")
    return os.path.join(base, "claude-health")


def backup_dir_name(env: Mapping[str, str], home: str | os.PathLike[str]) -> str:
    """Where claude-health keeps the backup of every file it edits (install, uninstall, status line).

    ``$XDG_STATE_HOME/claude-health/backups``, default ``~/.local/state/claude-health/backups``:
    never beside the edited file, where a backup of ``.mcp.json`` would sit in the project (and
    could be committed) and one of ``~/.claude/settings.json`` among Claude Code's own files; and
    not in the cache directory, which cleaners may empty.
    """
    xdg = env.get("XDG_STATE_HOME", "").strip()
    base = os.path.expanduser(xdg) if xdg else os.path.join(home, ".local", "state")
    return os.path.join(base, "claude-health", "backups")


def state_db_name(env: Mapping[str, str], home: str | os.PathLike[str]) -> str:
    """The shared state database; ``CLAUDE_HEALTH_STATE_DB`` points it elsewhere."""
    override = env.get(STATE_DB_OVERRIDE, "").strip()
    if override:
        return os.path.expanduser(override)
    return os.path.join(cache_dir_name(env, home), STATE_DB_NAME)


def cache_dir(env: Mapping[str, str], home: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(cache_dir_name(env, home))


def state_db_path(env: Mapping[str, str], home: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(state_db_name(env, home))
