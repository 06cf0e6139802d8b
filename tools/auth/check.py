"""The auth route as a doctor check."""

from __future__ import annotations

from claude_health.tools.auth.inputs import gather
from claude_health.tools.auth.route import AuthResult, resolve
from claude_health.tools.outcome import CheckOutcome
from claude_health.tools.paths import Workspace


def auth_route(ws: Workspace) -> AuthResult:
    """Which credential Claude Code will use in this workspace, with findings."""
    return resolve(gather(ws))


def run_check(ws: Workspace) -> CheckOutcome:
    result = auth_route(ws)
    return CheckOutcome(findings=result.findings, data=result.status.to_json())
