"""Settings validation as a doctor check."""

from __future__ import annotations

from claude_health.tools.outcome import CheckOutcome
from claude_health.tools.paths import Workspace


def run_check(ws: Workspace) -> CheckOutcome:
    view = ws.view
    validation = view.validation
    payload = validation.payload()
    data = {
        "claude_code_version": payload["claude_code_version"],
        "trusted": payload["trusted"],
        "files": [{**f.result.to_json(), "verdict": f.verdict} for f in view.files if f.exists and f.result],
        "servers": payload["servers"],
    }
    return CheckOutcome(findings=list(validation.findings), data=data)
