"""Cause keys: what a finding is about, so that findings with one root cause become one problem.

A check that knows what its finding is about sets ``Finding.cause`` with one of these helpers.
The doctor groups findings whose keys are equal, or linked by a fact of the view (an environment
variable whose value was read from the file a key finding points at, for example).
"""

from __future__ import annotations

from pathlib import Path

ENV, IGNORED_FILE, MCP, KEY = "env", "file-ignored", "mcp", "key"
SETTING, SETTING_ENV = "setting", "setting-env"


def env(name: str) -> str:
    """An environment variable of Claude Code's process, whatever set it."""
    return f"{ENV}:{name}"


def ignored_file(path: str | Path) -> str:
    """A config file Claude Code ignores whole (or, for managed settings, refuses to start over)."""
    return f"{IGNORED_FILE}:{path}"


def mcp_server(name: str) -> str:
    """An MCP server entry, by the name Claude Code knows it under."""
    return f"{MCP}:{name}"


def key(fingerprint: str) -> str:
    """One credential, wherever it is stored."""
    return f"{KEY}:{fingerprint}"


def setting(path: str | Path, key: str) -> str:
    """One setting of one file (``apiKeyHelper`` of the project settings, say)."""
    return f"{SETTING}:{path}#{key}"


def setting_env(path: str | Path, name: str) -> str:
    """One entry of a settings file's ``env`` block."""
    return f"{SETTING_ENV}:{path}#{name}"


def split(cause: str) -> tuple[str, str]:
    """``(kind, subject)`` of a cause key."""
    kind, _, subject = cause.partition(":")
    return kind, subject
