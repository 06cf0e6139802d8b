"""Claude Code's hook input: JSON on stdin, read defensively.

Observed with Claude Code 2.1.332 (every event): ``session_id``, ``transcript_path``, ``cwd`` and
``hook_event_name``; then per event ``source`` (SessionStart: startup | resume | clear | compact,
plus ``model`` interactively), ``prompt`` and ``prompt_id`` (UserPromptSubmit), ``source`` and
``file_path`` (ConfigChange: user_settings | project_settings | local_settings | ...), ``error``
and ``last_assistant_message`` (StopFailure: ``error`` is ``rate_limit`` for a plan limit).
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

MAX_INPUT_BYTES = 1024 * 1024


def parse(data: bytes) -> dict[str, Any]:
    """The hook input object; empty for missing, oversized or malformed input."""
    if not data.strip() or len(data) > MAX_INPUT_BYTES:
        return {}
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def text(payload: Mapping[str, Any], key: str, limit: int = 4096) -> str:
    value = payload.get(key)
    return value[:limit] if isinstance(value, str) else ""


def project_dir(payload: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """The session's project: ``CLAUDE_PROJECT_DIR`` (set for hooks), else the input's ``cwd``."""
    for candidate in (env.get("CLAUDE_PROJECT_DIR", ""), text(payload, "cwd")):
        if candidate and os.path.isabs(candidate) and os.path.isdir(candidate):
            return os.path.realpath(candidate)
    return os.path.realpath(os.getcwd())
