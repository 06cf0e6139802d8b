"""The doctor: run every check against one workspace and bundle their findings in one report.

A check that raises while it runs becomes a finding, so one broken check never hides the others
(a module that fails to import is an installation problem and stops the doctor with it). Importing
this module imports every check: it is imported when a report is made (the CLI's ``doctor`` and
the MCP ``health_report`` import it inside the command), never at start-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from claude_health.tools.auth.check import run_check as auth_check
from claude_health.tools.findings import Finding, Severity, Summary, sort_findings
from claude_health.tools.guard.check import run_check as guard_check
from claude_health.tools.keys.check import run_check as keys_check
from claude_health.tools.limiter.check import run_check as limits_check
from claude_health.tools.outcome import CHECK_FAILED, CheckFunction, CheckOutcome
from claude_health.tools.paths import Workspace
from claude_health.tools.problems import Problem, group_problems
from claude_health.tools.runtime.check import run_check as runtime_check
from claude_health.tools.settings.check import run_check as settings_check
from claude_health.tools.tokens.check import run_check as tokens_check
from claude_health.tools.usage.check import run_check as usage_check

logger = logging.getLogger(__name__)


# The doctor's checks by name; the order is the report's section order.
CHECKS: dict[str, CheckFunction] = {
    "auth": auth_check,
    "runtime": runtime_check,
    "settings": settings_check,
    "keys": keys_check,
    "limits": limits_check,
    "usage": usage_check,
    "tokens": tokens_check,
    "guard": guard_check,
}


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
            check = extra[name] if name in extra else CHECKS[name]
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
