"""MCP adapter for plan usage: the ``plan_usage`` tool and the ``usage://current`` resource."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from claude_health.server.mcp_tools._common import ProjectDir, clean_doc, lean, workspace_for
from claude_health.tools.admin.models import OrgUsageReport
from claude_health.tools.usage.models import PlanUsage

CURRENT_URI = "usage://current"


class PlanUsageResult(PlanUsage):
    organization: OrgUsageReport | None = Field(
        default=None,
        description="With admin_api: the organisation's API usage, cost, spend headroom and Claude Code "
        "use this month, from the Anthropic Admin API.",
    )


def build_plan_usage(
    project_dir: str | None,
    window: Literal["block", "day", "week"],
    timezone: str | None,
    only_existing: bool = False,
) -> PlanUsage:
    from claude_health.tools.usage.plan_usage import plan_usage
    from claude_health.tools.usage.session import keep_ledgers_open
    from claude_health.tools.usage.store import StateError
    from claude_health.tools.usage.timezones import TimezoneError

    keep_ledgers_open()  # the server answers many calls: keep the ledger's connection open
    ws = workspace_for(project_dir)
    try:
        return plan_usage(ws, window, timezone=timezone, only_existing=only_existing)
    except TimezoneError as exc:
        raise ToolError(str(exc)) from None
    except StateError as exc:
        raise ToolError(str(exc)) from None


def register(server: MCPServer) -> None:
    @server.tool(
        name="plan_usage",
        title="Plan usage: 5-hour and weekly windows, tokens, cost, projection",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True),
    )
    @clean_doc
    def plan_usage(
        window: Annotated[
            Literal["block", "day", "week"],
            Field(description="Local totals for the active 5-hour block, today, or the rolling 7 days."),
        ] = "block",
        timezone: Annotated[
            str | None,
            Field(default=None, max_length=64, description="IANA zone for 'day' (default: local)."),
        ] = None,
        only_existing: Annotated[
            bool,
            Field(
                description="Count only transcripts still on disk (what ccusage reports). By default the "
                "totals include usage kept from transcripts Claude Code has deleted."
            ),
        ] = False,
        admin_api: Annotated[
            bool,
            Field(
                description="true only when the user asks about the organisation's API spend: also fetch "
                "this month's usage, cost, spend headroom and Claude Code use from the Anthropic Admin API "
                "(network; needs ANTHROPIC_ADMIN_KEY)."
            ),
        ] = False,
        project_dir: ProjectDir = None,
    ) -> Annotated[CallToolResult, PlanUsageResult]:
        """Where a Claude Pro/Max user stands: the plan's official 5-hour and weekly percentages
        (captured from Claude Code's status line, with their age), tokens and API-equivalent cost
        from Claude Code's local transcripts for the chosen window (deduplicated, per model and
        project), and a projection of when each window would hit 100% with its confidence and
        reasons. Call it when the user asks how much of their plan is left, when a limit resets,
        whether they will run out, or what their Claude Code usage costs. Reads local files only,
        unless admin_api is true (an API organisation's month from the Admin API)."""
        usage = build_plan_usage(project_dir, window, timezone, only_existing)
        organization = None
        if admin_api:
            from claude_health.tools.admin.credential import AdminKeyError
            from claude_health.tools.admin.service import organisation_usage

            ws = workspace_for(project_dir)
            try:
                organization = organisation_usage(ws.env, ws.home)
            except AdminKeyError as exc:
                raise ToolError(f"admin_api: {exc}") from None
        return lean(PlanUsageResult(**dict(usage), organization=organization))

    @server.resource(CURRENT_URI, name="usage-current", mime_type="application/json")
    def current_usage() -> str:
        """Plan usage now (active 5-hour block, official percentages, projections), as JSON."""
        return json.dumps(build_plan_usage(None, "block", None).model_dump(mode="json"))
