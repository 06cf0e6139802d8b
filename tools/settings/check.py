"""Settings validation as a doctor check."""

from __future__ import annotations

from claude_health.tools.doctor import CheckOutcome
from claude_health.tools.paths import Workspace
from claude_health.tools.settings.validate import validate_workspace


def run_check(ws: Workspace) -> CheckOutcome:
    validation = validate_workspace(ws)
    payload = validation.payload()
    data = {
        "claude_code_version": payload["claude_code_version"],
        "trusted": payload["trusted"],
        "files": [f for f in payload["files"] if f["exists"]],
        "servers": payload["servers"],
    }
    return CheckOutcome(findings=list(validation.findings), data=data)
