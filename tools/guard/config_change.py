"""ConfigChange: an edit that makes Claude Code ignore a settings file or drop its rules.

Claude Code 2.1.332 fires ConfigChange (``source``, ``file_path``) when a settings file changes
during an interactive session, before it reloads the file, and treats the hook as a gate: its
output (``additionalContext``, ``systemMessage``, plain stdout) is neither shown nor sent to the
model. So the file is judged again with the settings validator here, and a warning naming the
deny and ask rules that stopped applying is queued for the next prompt, where UserPromptSubmit
delivers it to the model and the user. The hook never blocks the change (exit 0, no decision).
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from claude_health.tools.findings import Severity
from claude_health.tools.guard.facts import shown_path
from claude_health.tools.guard.lost_rules import applied, lost_rules, settings_results
from claude_health.tools.guard.payload import project_dir, text
from claude_health.tools.guard.session_start import load_verdict, store_verdict
from claude_health.tools.guard.state import queue_pending
from claude_health.tools.paths import Workspace
from claude_health.tools.settings.scrub import scrub_text
from claude_health.tools.view import view_of


def handle(payload: dict[str, Any], env: dict[str, str], now: float, guard: sqlite3.Connection) -> None:
    changed = text(payload, "file_path")
    if not changed or not os.path.isabs(changed) or not os.path.isfile(changed):
        return  # a deleted file loses its rules on purpose; skills changes carry no settings

    project = project_dir(payload, env)
    ws = Workspace.discover(project=project, env=env)
    validation = view_of(ws).validation
    target = os.path.realpath(changed)
    result = next((r for r in settings_results(validation) if os.path.realpath(r.file.path) == target), None)
    if result is None:
        return  # not a settings file of this workspace (e.g. another project's)
    cached = load_verdict(guard, project)
    before = None
    if cached is not None:
        rules = cached[2].get("applied_rules")
        before = rules.get(str(result.file.path)) if isinstance(rules, dict) else None
    lost = lost_rules(validation, result, before if isinstance(before, dict) else None)
    if cached is not None:  # what applies now is the baseline for the next edit
        fingerprint, at, verdict = cached
        verdict.setdefault("applied_rules", {})[str(result.file.path)] = applied(result)
        store_verdict(guard, project, fingerprint, at, verdict)
    if not (lost.any or result.loaded is False):
        return
    shown = shown_path(str(result.file.path), ws)
    errors = [
        f for f in validation.findings if f.path == str(result.file.path) and f.severity == Severity.ERROR
    ]
    reason = errors[0].message if errors else "it can no longer be read"
    if result.loaded is False:
        what = f"{shown} was edited during this session and Claude Code now ignores the whole file ({reason})"
    else:
        what = f"{shown} was edited during this session and Claude Code skips some of its rules"
    rules_text = f" These permission rules stopped applying: {lost.describe()}." if lost.any else ""
    for_user = scrub_text(
        f"claude-health: {what}.{rules_text} Fix the file to restore them (`claude-health settings`)."
    )
    for_model = scrub_text(
        f"claude-health: {what}.{rules_text} Do not rely on those rules; tell the user, and do not take "
        "actions they were meant to block or to ask about."
    )
    queue_pending(guard, project, for_model, for_user, now)
