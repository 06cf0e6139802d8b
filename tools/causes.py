"""Cause keys: what a finding is about, so that findings with one root cause become one problem.

Keys are shown in ``doctor --json`` and built from names a user's files choose (an ``env`` entry
named after a key is hostile, not impossible), so every name passes through ``redact_text``; the
same input always gives the same key, so grouping is unaffected. Paths are kept as they are, as
in every finding's ``path``.

A check that knows what its finding is about sets ``Finding.cause`` with one of these helpers.
The doctor groups findings whose keys are equal, or linked by a fact of the view (an environment
variable whose value was read from the file a key finding points at, for example).
"""

from __future__ import annotations

from pathlib import Path

from claude_health.tools.redact import redact_text

ENV, IGNORED_FILE, MCP, KEY = "env", "file-ignored", "mcp", "key"
SETTING, SETTING_ENV = "setting", "setting-env"


def env(name: str) -> str:
    """An environment variable of Claude Code's process, whatever set it."""
    return f"{ENV}:{_safe(name)}"


def ignored_file(path: str | Path) -> str:
    """A config file Claude Code ignores whole (or, for managed settings, refuses to start over)."""
    return f"{IGNORED_FILE}:{path}"


def mcp_server(name: str) -> str:
    """An MCP server entry, by the name Claude Code knows it under."""
    return f"{MCP}:{_safe(name)}"


def key(fingerprint: str) -> str:
    """One credential, wherever it is stored."""
    return f"{KEY}:{fingerprint}"


def setting(path: str | Path, key: str) -> str:
    """One setting of one file (``apiKeyHelper`` of the project settings, say)."""
    return f"{SETTING}:{path}#{_safe(key)}"


def setting_env(path: str | Path, name: str) -> str:
    """One entry of a settings file's ``env`` block."""
    return f"{SETTING_ENV}:{path}#{_safe(name)}"


def split(cause: str) -> tuple[str, str]:
    """``(kind, subject)`` of a cause key."""
    kind, _, subject = cause.partition(":")
    return kind, subject


def _safe(subject: str | Path) -> str:
    return redact_text(str(subject))
