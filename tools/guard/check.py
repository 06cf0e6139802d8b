"""The doctor's view of the guard: are the hooks and the status line installed, and do they run?

Installed means a claude-health hook command under each guard event in a settings file Claude
Code reads (user, project or local), and claude-health in ``statusLine`` of the user settings.
Working means the command exists and its last run (from ``guard.db``, and the status line's
heartbeat file) ended normally.
"""

from __future__ import annotations

import os
import shlex
import shutil
import time
from pathlib import Path
from typing import Any

from claude_health.tools.findings import Finding
from claude_health.tools.guard import rules as R
from claude_health.tools.guard import state
from claude_health.tools.guard.dispatch import EVENTS
from claude_health.tools.outcome import CheckOutcome
from claude_health.tools.paths import Workspace
from claude_health.tools.registration.hooks import is_ours
from claude_health.tools.registration.launch import is_module_launch
from claude_health.tools.usage.statusline import heartbeat_name


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _executable(command: str) -> str | None:
    """The program a command line starts, when it names one we can check; None when it is fine."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    program = words[0]
    if os.path.isabs(program):
        return None if os.access(program, os.X_OK) else program
    return None if shutil.which(program) else program


def _module_launch_without_safe_path(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return len(words) > 2 and words[1] == "-m" and words[2] == "claude_health.server"


def installed_hooks(ws: Workspace) -> tuple[dict[str, dict[str, str]], bool]:
    """event -> {scope, path, command} of claude-health's hooks; and whether any file disables all hooks."""
    found: dict[str, dict[str, str]] = {}
    disabled = False
    for scope, path in (
        ("user", ws.user_settings),
        ("project", ws.project_settings),
        ("local", ws.local_settings),
    ):
        data = _written(ws, path)
        if data is None:
            continue
        disabled = disabled or data.get("disableAllHooks") is True
        hooks = data.get("hooks")
        if not isinstance(hooks, dict):
            continue
        for event in EVENTS:
            groups = hooks.get(event)
            for group in groups if isinstance(groups, list) else []:
                inner = group.get("hooks") if isinstance(group, dict) else None
                for hook in inner if isinstance(inner, list) else []:
                    command = hook.get("command") if isinstance(hook, dict) else None
                    if is_ours(command):
                        found.setdefault(event, {"scope": scope, "path": str(path), "command": str(command)})
    return found, disabled


def _written(ws: Workspace, path: Path) -> dict[str, Any] | None:
    """A settings file as written, from the view's one reading (an ignored file too: its hooks
    are claude-health's to report, and the settings check says that the file is ignored)."""
    verdict = ws.view.file(path)
    return verdict.raw if verdict is not None else None


def statusline_command(ws: Workspace) -> str | None:
    data = _written(ws, ws.user_settings) or {}
    line = data.get("statusLine")
    command = line.get("command") if isinstance(line, dict) else None
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError:
            return None
        if "statusline" in words[1:3] or is_module_launch(words, "statusline"):
            return command
    return None


def run_check(ws: Workspace) -> CheckOutcome:
    home = str(ws.home)
    hooks, disabled = installed_hooks(ws)
    line = statusline_command(ws)
    findings: list[Finding] = []
    last: dict[str, tuple[float, bool, str]] = {}
    conn = state.open_existing(ws.env, home)
    if conn is not None:
        try:
            last = state.runs(conn)
        finally:
            conn.close()
    try:
        beat: float | None = os.stat(heartbeat_name(ws.env, home)).st_mtime
    except OSError:
        beat = None
    log = state.log_name(ws.env, home)
    if not hooks:
        findings.append(
            R.NOT_INSTALLED.finding("No claude-health hook is installed in user, project or local settings.")
        )
    else:
        missing = [e for e in EVENTS if e not in hooks]
        if missing:
            findings.append(R.PARTLY_INSTALLED.finding(f"No claude-health hook for {', '.join(missing)}."))
        if line is None:
            findings.append(
                R.STATUSLINE_MISSING.finding("claude-health is not the status line in user settings.")
            )
    for what, command in [
        *((f"{e} hook", h["command"]) for e, h in hooks.items()),
        ("status line", line or ""),
    ]:
        program = _executable(command) if command else None
        if program:
            findings.append(
                R.COMMAND_MISSING.finding(f"The {what} runs {program}, which is not an executable here.")
            )
        elif command and _module_launch_without_safe_path(command):
            findings.append(
                R.UNSAFE_MODULE_LAUNCH.finding(
                    f"The {what} runs `{command}`: Python imports from the project first."
                )
            )
    if disabled and (hooks or line):
        findings.append(
            R.HOOKS_DISABLED.finding(
                "disableAllHooks is true: the guard's hooks and the status line do not run."
            )
        )
    for event, (at, ok, detail) in sorted(last.items()):
        if not ok and event in hooks:
            findings.append(
                R.HOOK_FAILED.finding(
                    f"The {event} hook failed at {_iso(at)}: {detail}. Details: {log}.", path=log
                )
            )
    data: dict[str, Any] = {
        "hooks": {
            event: {
                **hooks[event],
                "last_run": _iso(last[event][0]) if event in last else None,
                "last_ok": last[event][1] if event in last else None,
            }
            for event in EVENTS
            if event in hooks
        },
        "statusline": {"installed": line is not None, "last_run": _iso(beat)},
        "log": log,
    }
    return CheckOutcome(findings=findings, data=data)


def summary_line(data: dict[str, Any]) -> str:
    """One line for the doctor's header: each hook and the status line, and when each last ran."""
    hooks = data.get("hooks") or {}
    parts = [] if hooks else ["hooks not installed"]
    for event in EVENTS if hooks else ():
        hook = hooks.get(event)
        if hook is None:
            parts.append(f"{event} not installed")
        elif hook.get("last_run") is None:
            parts.append(f"{event} never ran")
        else:
            parts.append(f"{event} {'ran' if hook.get('last_ok') else 'FAILED'} {hook['last_run']}")
    line = data.get("statusline") or {}
    if not line.get("installed"):
        parts.append("status line not claude-health's")
    else:
        parts.append(f"status line last ran {line.get('last_run') or 'never'}")
    return "; ".join(parts)
