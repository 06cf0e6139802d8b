"""The doctor's plan-usage check: is a plan window close to (or on course for) its limit?"""

from __future__ import annotations

from claude_health.tools.outcome import CheckOutcome
from claude_health.tools.paths import Workspace
from claude_health.tools.usage.plan_usage import plan_usage


def run_check(ws: Workspace) -> CheckOutcome:
    usage = plan_usage(ws, "block")
    data = usage.model_dump(mode="json", include={"plan", "official", "projections", "local", "scan"})
    return CheckOutcome(findings=list(usage.findings), data=data)
