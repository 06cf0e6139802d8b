"""The doctor: run every check against one workspace and bundle their findings in one report.

Checks register here by name and dotted path (``module:function``) and are imported only when
run. A check that raises becomes a finding, so one broken check never hides the others.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from claude_health.tools.findings import Finding, Rule, Severity, Summary, sort_findings
from claude_health.tools.paths import Workspace
from claude_health.tools.problems import Problem, group_problems

logger = logging.getLogger(__name__)


@dataclass
class CheckOutcome:
    """What one check returns: findings plus a JSON-ready section for the report."""

    findings: list[Finding] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


CheckFunction = Callable[[Workspace], CheckOutcome]

# name -> "module:function"; order is the report's section order.
CHECKS: dict[str, str] = {
    "auth": "claude_health.tools.auth.check:run_check",
    "runtime": "claude_health.tools.runtime.check:run_check",
    "settings": "claude_health.tools.settings.check:run_check",
    "keys": "claude_health.tools.keys.check:run_check",
    "limits": "claude_health.tools.limiter.check:run_check",
    "usage": "claude_health.tools.usage.check:run_check",
    "tokens": "claude_health.tools.tokens.check:run_check",
    "guard": "claude_health.tools.guard.check:run_check",
}

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


CheckStatus = Literal["ok", "info", "warning", "error", "failed"]
_STATUS: dict[Severity | None, CheckStatus] = {
    None: "ok",
    Severity.INFO: "info",
    Severity.WARNING: "warning",
    Severity.ERROR: "error",
}


class CheckRun(BaseModel):
    name: str
    ok: bool = Field(description="True only when the check ran and found no error or warning.")
    status: CheckStatus = Field(
        description="The worst severity it found (ok: nothing), or failed when it could not run."
    )
    ran: bool = Field(description="False when the check itself failed to run.")
    duration_ms: float
    findings: int

    @classmethod
    def of(cls, name: str, ran: bool, duration_ms: float, findings: list[Finding]) -> CheckRun:
        worst = min((f.severity for f in findings), key=lambda s: s.rank, default=None)
        status: CheckStatus = "failed" if not ran else _STATUS[worst]
        return cls(
            name=name,
            ok=ran and status in ("ok", "info"),
            status=status,
            ran=ran,
            duration_ms=duration_ms,
            findings=len(findings),
        )


class DoctorReport(BaseModel):
    """The combined report: problems (findings grouped by root cause, most important first),
    per-check sections, every finding ranked, and a summary."""

    checks: list[CheckRun]
    sections: dict[str, dict[str, Any]]
    findings: list[Finding]
    problems: list[Problem] = Field(default_factory=list)
    summary: Summary

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = dict(self.sections)
        payload["checks"] = [c.model_dump() for c in self.checks]
        payload["problems"] = [p.to_json() for p in self.problems]
        payload["findings"] = [f.to_json() for f in self.findings]
        payload["summary"] = self.summary.to_json()
        return payload


def load_check(name: str) -> CheckFunction:
    module_name, _, func = CHECKS[name].partition(":")
    fn: CheckFunction = getattr(importlib.import_module(module_name), func)
    return fn


def run_doctor(
    workspace: Workspace,
    only: Iterable[str] | None = None,
    extra: Mapping[str, CheckFunction] | None = None,
) -> DoctorReport:
    """Run the registered checks (or ``only`` those) plus ``extra`` ones the caller supplies.

    ``extra`` is how adapters add checks that cannot live in this pure library, such as
    probing MCP servers with an MCP client.
    """
    extra = dict(extra or {})
    chosen = set(only) if only is not None else None
    names = [n for n in CHECKS if (chosen is None or n in chosen) and n not in extra] + list(extra)
    runs: list[CheckRun] = []
    sections: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    for name in names:
        started = time.perf_counter()
        logger.info("check %s", name)  # with -v, the files each check reads follow this line
        try:
            check = extra[name] if name in extra else load_check(name)
            outcome = check(workspace)
            ok = True
        except Exception as exc:  # one broken check must not take the report down
            logger.exception("check %s failed", name)
            outcome = CheckOutcome(
                findings=[CHECK_FAILED.finding(f"The {name} check failed: {type(exc).__name__}: {exc}")]
            )
            ok = False
        elapsed = (time.perf_counter() - started) * 1000
        runs.append(CheckRun.of(name, ok, round(elapsed, 2), outcome.findings))
        if outcome.data:
            sections[name] = outcome.data
        findings.extend(outcome.findings)
    ordered = sort_findings(findings)
    return DoctorReport(
        checks=runs,
        sections=sections,
        findings=ordered,
        problems=problems_of(ordered, workspace),
        summary=Summary.of(ordered),
    )


def problems_of(findings: list[Finding], workspace: Workspace) -> list[Problem]:
    """The findings grouped into problems, told with the facts of the workspace's view. Should
    the view itself be what broke a check, the problems are told from the findings alone."""
    try:
        return group_problems(findings, workspace.view)
    except Exception:  # the report must come out whatever the view ran into
        logger.exception("telling problems with the view failed")
        return group_problems(findings)
