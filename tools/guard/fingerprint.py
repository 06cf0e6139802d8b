"""A fingerprint of everything a SessionStart verdict depends on, cheap enough for every start.

The verdict itself (:func:`claude_health.tools.guard.facts.session_facts`) names the files it
read; this module only stats them, hashes the environment variables that decide the auth route,
and hashes the parts of ``~/.claude.json`` that matter (Claude Code rewrites that file on every
start, so its modification time says nothing). Standard library only: this is the fast path.
Values are hashed, never stored: the environment holds credentials.
"""

from __future__ import annotations

import json
import os

try:
    # hashlib's own blake2b, without the OpenSSL library ``import hashlib`` loads first (a few
    # milliseconds of every hook run); blake2 is always CPython's built-in _blake2.
    from _blake2 import blake2b
except ImportError:  # another Python implementation
    from hashlib import blake2b

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

# Variables the auth route and the settings validator's error-level verdicts read (the auth
# route's PROVIDER_SWITCHES all start with CLAUDE_CODE_USE_).
ENV_PREFIXES = ("ANTHROPIC_", "CLAUDE_CODE_USE_")
ENV_NAMES = frozenset(
    {
        "CLAUDE_CODE_OAUTH_TOKEN",
        "CLAUDE_CONFIG_DIR",
        "CLAUDE_HEALTH_MANAGED_DIR",
        "HOME",
        "USERPROFILE",
        "XDG_CONFIG_HOME",
    }
)
# Variables that move what the key scan reads or leaves to other checks (:mod:`.keyscan`): where
# home, Claude Code's config, the shell histories and git's repository are.
KEY_SCAN_ENV_NAMES = frozenset(
    {
        "CLAUDE_CONFIG_DIR",
        "CLAUDE_HEALTH_MANAGED_DIR",
        "GIT_DIR",
        "GIT_INDEX_FILE",
        "GIT_WORK_TREE",
        "HISTFILE",
        "HOME",
        "USERPROFILE",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "ZDOTDIR",
    }
)
# What of ~/.claude.json the verdict uses (the rest changes on every start).
GLOBAL_KEYS = ("env", "primaryApiKey", "oauthAccount", "customApiKeyResponses", "mcpServers")
MAX_GLOBAL_BYTES = 64 * 1024 * 1024


def _stat(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "-"
    return f"{info.st_mtime_ns}:{info.st_size}:{info.st_ino}"


def _global_subset(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_GLOBAL_BYTES + 1)
    except OSError:
        return b"-"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return raw
    if not isinstance(data, dict):
        return raw
    subset = {key: data.get(key) for key in GLOBAL_KEYS}
    return json.dumps(subset, sort_keys=True, default=str).encode("utf-8", "replace")


def decides_verdict(name: str) -> bool:
    """A variable the verdict depends on: the auth route's, the validator's or the key scan's."""
    return name.startswith(ENV_PREFIXES) or name in ENV_NAMES or name in KEY_SCAN_ENV_NAMES


def decides_key_scan(name: str) -> bool:
    return name in KEY_SCAN_ENV_NAMES


def fingerprint(
    env: Mapping[str, str],
    paths: Iterable[str],
    global_config: str | None,
    version: str,
    decides: Callable[[str], bool] = decides_verdict,
) -> str:
    """A hash of the variables ``decides`` names, of the stat of each of ``paths``, and of what
    matters in ``~/.claude.json``."""
    digest = blake2b(digest_size=16)
    digest.update(version.encode())
    for name in sorted(env):
        if decides(name):
            digest.update(f"\0{name}={env[name]}".encode("utf-8", "replace"))
    for path in paths:
        if path == global_config:
            continue
        digest.update(f"\0{path}\0{_stat(path)}".encode("utf-8", "replace"))
    if global_config:
        digest.update(b"\0global\0" + _global_subset(global_config))
    return digest.hexdigest()
