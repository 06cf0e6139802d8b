"""MCP adapter for the doctor: the ``health_report`` tool and the ``health://report`` resource."""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from claude_health.server.mcp_tools._common import ProjectDir, clean_doc, workspace_for
from claude_health.tools.findings import Finding, Summary

REPORT_URI = "health://report"


class CheckRunModel(BaseModel):
    name: str
    ok: bool
    duration_ms: float
    findings: int


class HealthReport(BaseModel):
    checks: list[CheckRunModel]
    sections: dict[str, dict[str, Any]] = Field(description="Each check's own data, e.g. `auth`.")
    findings: list[Finding] = Field(description="Every finding, most severe first.")
    summary: Summary


def build_report(project_dir: str | None, only: list[str] | None = None) -> HealthReport:
    from claude_health.tools.doctor import CHECKS, run_doctor

    if only:
        unknown = sorted(set(only) - set(CHECKS))
        if unknown:
            raise ToolError(f"unknown check(s) {unknown}; known checks: {sorted(CHECKS)}")
    report = run_doctor(workspace_for(project_dir), only=only)
    return HealthReport(
        checks=[CheckRunModel(**c.model_dump()) for c in report.checks],
        sections=report.sections,
        findings=report.findings,
        summary=report.summary,
    )


def register(server: MCPServer) -> None:
    @server.tool(
        name="health_report",
        title="Full health report of the Claude integration",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    @clean_doc
    def health_report(
        project_dir: ProjectDir = None,
        only: Annotated[
            list[Annotated[str, Field(max_length=64)]] | None,
            Field(default=None, max_length=32, description="Run only these checks (names as in `checks`)."),
        ] = None,
    ) -> HealthReport:
        """Run every claude-health check (auth route and billing, and every other available check)
        and return one report: findings ranked most severe first, each with a stable code and a fix
        hint. Call it when the user asks what is wrong with their Claude Code / Claude API setup, when
        something silently does not work, or before editing Claude Code configuration."""
        return build_report(project_dir, only)

    @server.resource(REPORT_URI, name="health-report", mime_type="application/json")
    def report_resource() -> str:
        """The health report of the server's working directory, as JSON."""
        return json.dumps(build_report(None).model_dump(mode="json"))
