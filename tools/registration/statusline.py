"""``claude-health install --statusline``: make claude-health Claude Code's status line.

The edit goes to the user's ``settings.json`` through the same machinery as client
registration (in-place JSON edit, verification, diff, atomic write with a backup). What the new
``statusLine`` value is, including keeping an existing command by wrapping it, is decided by
:mod:`claude_health.tools.usage.statusline_install`.
"""

from __future__ import annotations

import dataclasses
import json
import shlex

from claude_health.tools.paths import Workspace
from claude_health.tools.registration import jsonc
from claude_health.tools.registration.clients import RegistrationError
from claude_health.tools.registration.launch import MODULE_ARGS, Launch, detect_launch
from claude_health.tools.registration.plan import Action, Change, backup_dir, read_settings
from claude_health.tools.usage.statusline_install import install_statusline, uninstall_statusline

TITLE = "Claude Code status line"


def statusline_command(launch: Launch) -> str:
    """The shell command Claude Code runs on each refresh (hosts have a minimal PATH: be absolute)."""
    if launch.how == "uvx":
        return "uvx claude-health statusline"
    if launch.how == "python-module":
        return f"{shlex.quote(launch.command)} {' '.join(MODULE_ARGS)} statusline"
    return f"{shlex.quote(launch.command)} statusline"


def plan_statusline(ws: Workspace, *, remove: bool = False, launch: Launch | None = None) -> Change:
    """Plan adding (or removing) claude-health as the status line in the user's settings."""
    return dataclasses.replace(_plan(ws, remove, launch), backup_dir=backup_dir(ws))


def _plan(ws: Workspace, remove: bool, launch: Launch | None) -> Change:
    path = ws.user_settings
    command = statusline_command(launch or detect_launch(env=ws.env))
    text, doc, data = read_settings(path)
    change = uninstall_statusline(data, command) if remove else install_statusline(data, command)
    entry = change.settings.get("statusLine")
    notes = (change.message,) if change.message else ()
    if not change.changed:
        kept: Action = "absent" if remove else "unchanged"
        return Change("claude-code", TITLE, "user", path, kept, text, text, entry, notes)
    if doc is None:
        new_text = json.dumps(change.settings, indent=2) + "\n"
    elif entry is None:
        removed = jsonc.remove_path(doc, ["statusLine"])
        if removed is None:
            raise RegistrationError(f"{path}: cannot remove statusLine safely; edit it by hand")
        new_text = removed
    else:
        new_text = jsonc.set_path(doc, ["statusLine"], entry)
    if json.loads(new_text) != change.settings:
        raise RegistrationError(
            f"{path}: cannot edit statusLine safely; edit it by hand, nothing was changed"
        )
    action: Action = "remove" if remove else ("create" if text is None else "update")
    return Change("claude-code", TITLE, "user", path, action, text, new_text, entry, notes)
