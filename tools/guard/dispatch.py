"""One hook run: parse Claude Code's input, do the event's work, say what to print.

The caller (``claude-health hook EVENT``) owns the safety net: any exception or timeout here
becomes an exit 0 with nothing printed and a line in ``guard.log``.
"""

from __future__ import annotations

import json

from claude_health.tools.guard.payload import parse
from claude_health.tools.guard.state import connect, record_run

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

# The events `claude-health install --hooks` adds, in the order they fire.
EVENTS = ("SessionStart", "UserPromptSubmit", "ConfigChange", "StopFailure")


def handle(event: str, raw: bytes, env: Mapping[str, str], home: str, now: float) -> str | None:
    """What to print on stdout (None: nothing), after doing the event's work."""
    payload = parse(raw)
    out: dict[str, Any] | None = None
    guard = connect(env, home)
    try:
        # The hook's boundary: each event imports its own module, and nothing else is loaded.
        if event == "SessionStart":
            from claude_health.tools.guard.payload import project_dir
            from claude_health.tools.guard.session_start import output_for

            out = output_for(guard, env, project_dir(payload, env), now)
        elif event == "UserPromptSubmit":
            from claude_health.tools.guard.prompt import handle as prompt

            out = prompt(payload, env, home, now, guard)
        elif event == "ConfigChange":
            from claude_health.tools.guard.config_change import handle as config_change

            config_change(payload, dict(env), now, guard)
        elif event == "StopFailure":
            from claude_health.tools.guard.stop_failure import handle as stop_failure

            stop_failure(payload, env, home, now)
        record_run(
            guard, event if event in EVENTS else "other", True, "" if event in EVENTS else event[:40], now
        )
    finally:
        guard.close()
    return json.dumps(out) if out else None
