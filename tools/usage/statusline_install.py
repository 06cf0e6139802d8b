"""Pure settings transforms for ``claude-health install --statusline`` (and its uninstall).

The installer (owned by the registration code) reads the user's ``settings.json``, calls
:func:`install_statusline`, and writes the result atomically with a backup. An existing status
line command is never lost: it is wrapped, so ``claude-health statusline --wrap '<command>'``
records the official percentages and then prints whatever the user's own command prints.
"""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass
from typing import Any

DEFAULT_COMMAND = "claude-health statusline"
WRAP_FLAG = "--wrap"


@dataclass(frozen=True)
class StatuslineChange:
    settings: dict[str, Any]
    changed: bool
    action: str  # added | wrapped | unchanged | replaced-invalid | removed | restored
    previous_command: str | None = None
    message: str = ""


def _is_ours(command: str, base: str) -> bool:
    return command.strip().startswith(base)


def install_statusline(settings: dict[str, Any], command: str = DEFAULT_COMMAND) -> StatuslineChange:
    """The settings with claude-health as status line; unrelated keys are kept untouched."""
    new = copy.deepcopy(settings)
    current = new.get("statusLine")
    if isinstance(current, dict) and isinstance(current.get("command"), str) and current["command"].strip():
        existing: str = current["command"]
        if _is_ours(existing, command):
            note = "claude-health is already the status line"
            return StatuslineChange(new, False, "unchanged", existing, note)
        wrapped = dict(current)
        wrapped["type"] = "command"
        wrapped["command"] = f"{command} {WRAP_FLAG} {shlex.quote(existing)}"
        new["statusLine"] = wrapped
        return StatuslineChange(
            new,
            True,
            "wrapped",
            existing,
            "kept the existing status line command; claude-health records plan usage and prints its output",
        )
    action = "added" if current is None else "replaced-invalid"
    entry: dict[str, Any] = {"type": "command", "command": command}
    if isinstance(current, dict) and isinstance(current.get("padding"), int):
        entry["padding"] = current["padding"]
    new["statusLine"] = entry
    note = "" if current is None else "the previous statusLine value had no command and was not usable"
    return StatuslineChange(new, True, action, None, note)


def uninstall_statusline(settings: dict[str, Any], command: str = DEFAULT_COMMAND) -> StatuslineChange:
    """Undo :func:`install_statusline`: restore a wrapped command, or remove ours."""
    new = copy.deepcopy(settings)
    current = new.get("statusLine")
    if not (isinstance(current, dict) and isinstance(current.get("command"), str)):
        return StatuslineChange(new, False, "unchanged")
    existing: str = current["command"]
    if not _is_ours(existing, command):
        return StatuslineChange(new, False, "unchanged", existing, "the status line is not claude-health's")
    rest = existing.strip()[len(command) :].strip()
    if rest.startswith(WRAP_FLAG):
        try:
            parts = shlex.split(rest[len(WRAP_FLAG) :])
        except ValueError:
            parts = []
        if len(parts) == 1:
            restored = dict(current)
            restored["command"] = parts[0]
            new["statusLine"] = restored
            return StatuslineChange(new, True, "restored", existing)
    del new["statusLine"]
    return StatuslineChange(new, True, "removed", existing)
