"""UserPromptSubmit: plan threshold alerts, and warnings waiting for the next prompt.

Reads only the status line's snapshot file, the config file's thresholds (when the file exists)
and the guard's own tables; standard library only. Its output reaches the model's request for
this prompt (``UserPromptSubmit hook additional context: ...``) and the user (``systemMessage``).
"""

from __future__ import annotations

import os
import sqlite3

from claude_health.tools.guard.payload import project_dir
from claude_health.tools.guard.state import log_problem, take_pending
from claude_health.tools.guard.thresholds import due_alerts, load_thresholds, render
from claude_health.tools.state import state_db_name
from claude_health.tools.usage.snapshot import latest, open_db, snapshot_db_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

# A warning queued by ConfigChange is delivered at the next prompt, if it comes within this time.
PENDING_MAX_AGE_S = 6 * 3600.0


def plan_alerts(
    guard: sqlite3.Connection, env: Mapping[str, str], home: str, now: float
) -> tuple[str, str] | None:
    path = snapshot_db_path(state_db_name(env, home))
    if not os.path.isfile(path):
        return None  # no status line snapshot was ever stored: nothing official to go by
    snapshots = open_db(path)
    try:
        snap = latest(snapshots)
        if snap is None:
            return None
        thresholds, problem = load_thresholds(env, home)
        if problem:
            log_problem(env, home, "UserPromptSubmit", problem)
        alerts = due_alerts(guard, snapshots, snap, thresholds, now)
    finally:
        snapshots.close()
    return render(alerts, now) if alerts else None


def handle(
    payload: Mapping[str, Any], env: Mapping[str, str], home: str, now: float, guard: sqlite3.Connection
) -> dict[str, Any] | None:
    project = project_dir(payload, env)
    model_parts: list[str] = []
    user_parts: list[str] = []
    for for_model, for_user in take_pending(guard, project, PENDING_MAX_AGE_S, now):
        model_parts.append(for_model)
        user_parts.append(for_user)
    alerts = plan_alerts(guard, env, home, now)
    if alerts:
        model_parts.append(alerts[0])
        user_parts.append(alerts[1])
    if not model_parts:
        return None
    return {
        "systemMessage": " ".join(user_parts),
        "hookSpecificOutput": {
            "hookEventName": "UserPromptSubmit",
            "additionalContext": "\n".join(model_parts),
        },
    }
