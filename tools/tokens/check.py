"""The context budget as a doctor check: the fixed per-turn cost of the project's memory files."""

from __future__ import annotations

from claude_health.tools.outcome import CheckOutcome
from claude_health.tools.paths import Workspace
from claude_health.tools.tokens.budget import context_budget


def run_check(ws: Workspace) -> CheckOutcome:
    budget = context_budget(ws)
    data = budget.model_dump(mode="json", exclude={"findings", "items"})
    data["items"] = [i.model_dump(mode="json", exclude_none=True) for i in budget.items[:10]]
    return CheckOutcome(findings=budget.findings, data=data)
