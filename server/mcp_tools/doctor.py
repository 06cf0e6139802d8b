"""MCP adapter for the doctor: the ``health_report`` tool and the ``health://report`` resource."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from claude_health.server.mcp_tools._common import ProjectDir, clean_doc, lean, workspace_for
from claude_health.tools.findings import Finding, Summary

REPORT_URI = "health://report"

Detail = Literal["brief", "full"]


class CheckRunModel(BaseModel):
    name: str
    ok: bool = Field(description="True only when the check ran and found no error or warning.")
    status: str = Field(description="ok, info, warning, error (the worst it found) or failed.")
    ran: bool
    duration_ms: float
    findings: int


class ProblemModel(BaseModel):
    """One root cause: what is wrong, in one line, and the one fix that removes it."""

    id: str = Field(description="Stable while the cause stays: the lead finding's code and a hash.")
    severity: Literal["error", "warning", "info"] = Field(
        description="error: Claude Code misbehaves, loses a guard or spends money now; warning: it is "
        "likely to; info: hygiene."
    )
    summary: str
    fix: str
    codes: list[str] | None = Field(
        default=None, description="Finding codes it explains (brief detail; `claude-health rules CODE`)."
    )
    findings: list[Finding] | None = Field(
        default=None, description="The findings it explains, as evidence (full detail)."
    )


class HealthReport(BaseModel):
    """Problems first, most important first (money and security before the rest)."""

    summary: Summary
    billing: str | None = Field(
        default=None, description="Who pays for Claude Code: subscription, api, cloud or none."
    )
    checks: dict[str, str] = Field(description="Each check's status: ok, info, warning, error, failed.")
    problems: list[ProblemModel]
    runs: list[CheckRunModel] | None = Field(default=None, description="Per check timings (full detail).")
    sections: dict[str, dict[str, Any]] | None = Field(
        default=None, description="Each check's own data, e.g. `auth` (full detail)."
    )


def build_report(
    project_dir: str | None, only: list[str] | None = None, detail: Detail = "brief"
) -> HealthReport:
    from claude_health.tools.doctor import CHECKS, run_doctor

    if only:
        unknown = sorted(set(only) - set(CHECKS))
        if unknown:
            raise ToolError(f"unknown check(s) {unknown}; known checks: {sorted(CHECKS)}")
    report = run_doctor(workspace_for(project_dir), only=only)
    full = detail == "full"
    auth = report.sections.get("auth") or {}
    return HealthReport(
        summary=report.summary,
        billing=auth.get("billing"),
        checks={c.name: c.status for c in report.checks},
        problems=[ProblemModel.model_validate(p.to_json(evidence=full)) for p in report.problems],
        runs=[CheckRunModel(**c.model_dump()) for c in report.checks] if full else None,
        sections=report.sections if full else None,
    )


def register(server: MCPServer) -> None:
    @server.tool(
        name="health_report",
        title="Health report of the Claude integration: problems and their fixes",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    @clean_doc
    def health_report(
        project_dir: ProjectDir = None,
        only: Annotated[
            list[Annotated[str, Field(max_length=64)]] | None,
            Field(default=None, max_length=32, description="Run only these checks (names as in `checks`)."),
        ] = None,
        detail: Annotated[
            Detail,
            Field(
                description="brief: each problem's summary, severity and fix. full: also the findings "
                "behind each problem (file, line, redacted key) and every check's data."
            ),
        ] = "brief",
    ) -> Annotated[CallToolResult, HealthReport]:
        """Run every claude-health check (auth route and billing, settings, keys, limits, runtime,
        plan usage, context budget) and return the problems found, each with one summary, one
        severity and one fix, most important first; findings that share a cause are one problem.
        Call it when the user asks what is wrong with their Claude Code / Claude API setup, when
        something silently does not work, or before editing Claude Code configuration. Ask for
        detail="full" only to see the evidence (files, lines) behind a problem."""
        return lean(build_report(project_dir, only, detail), trim=detail != "full")

    @server.resource(REPORT_URI, name="health-report", mime_type="application/json")
    def report_resource() -> str:
        """The full health report of the server's working directory, as JSON."""
        return json.dumps(build_report(None, detail="full").model_dump(mode="json", exclude_none=True))
