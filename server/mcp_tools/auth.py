"""MCP adapter for the auth route: the ``auth_status`` tool."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel

from claude_health.server.mcp_tools._common import ProjectDir, clean_doc, lean, workspace_for
from claude_health.tools.auth.models import AuthStatus
from claude_health.tools.findings import Finding, Summary


class AuthStatusResult(BaseModel):
    auth: AuthStatus
    findings: list[Finding]
    summary: Summary


def register(server: MCPServer) -> None:
    @server.tool(
        name="auth_status",
        title="Which credential Claude Code uses, and who pays",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    @clean_doc
    def auth_status(project_dir: ProjectDir = None) -> Annotated[CallToolResult, AuthStatusResult]:
        """Report which credential Claude Code will use in this project (claude.ai subscription login,
        API key, bearer token, apiKeyHelper or a cloud provider) and therefore who pays: the Max/Pro
        plan, API credits or a cloud account. Call it when the user asks about billing, unexpected
        API charges, which key or login is active, or before changing credentials. Flags the trap
        of an API key silently overriding a subscription. Keys are shown redacted only."""
        from claude_health.tools.auth.check import auth_route

        result = auth_route(workspace_for(project_dir))
        return lean(
            AuthStatusResult(
                auth=result.status, findings=result.findings, summary=Summary.of(result.findings)
            )
        )
