"""What a doctor check returns, and the finding for a check that could not run.

Every check module imports :class:`CheckOutcome`, and :mod:`claude_health.tools.doctor` imports
every check: when the type lived in ``doctor.py`` the two imported each other. The rule is here
too, so the catalogue collects it without importing every check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from claude_health.tools.findings import Finding, Rule, Severity
from claude_health.tools.paths import Workspace


@dataclass
class CheckOutcome:
    """What one check returns: findings plus a JSON-ready section for the report."""

    findings: list[Finding] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


CheckFunction = Callable[[Workspace], CheckOutcome]
"""A doctor check: one workspace in, its outcome out."""


CHECK_FAILED = Rule(
    code="H001",
    title="A check could not run",
    severity=Severity.WARNING,
    what="One of the doctor's checks stopped with an unexpected error, so its part of the report is missing.",
    why="The rest of the report is still valid, but the missing check may hide a real problem.",
    fix="Run the check's own command with -vv and report the message as a claude-health bug.",
    check="doctor",
)
RULES = (CHECK_FAILED,)
