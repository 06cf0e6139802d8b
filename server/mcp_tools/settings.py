"""MCP adapter for settings validation: three tools, two resources and the live watcher."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from claude_health.server.mcp_tools._common import ProjectDir, clean_doc, lean, workspace_for
from claude_health.tools.findings import Finding, Summary

FINDINGS_URI = "settings://findings"
EFFECTIVE_URI = "settings://effective"
MAX_INPUT_CHARS = 100_000


class SettingsFile(BaseModel):
    scope: str = Field(description="user, project, local, managed, global, ignored")
    kind: str = Field(description="settings, global_config, mcp, managed_mcp or ignored")
    path: str
    exists: bool
    loaded: bool | None = Field(default=None, description="Would Claude Code load it? None when absent.")
    verdict: str | None = Field(
        default=None, description="loaded, partial (entries dropped), ignored (whole file) or absent."
    )
    note: str | None = None


class McpServerState(BaseModel):
    name: str
    scope: str
    path: str
    type: str
    target: str = Field(description="Command line or URL, credentials redacted.")
    status: str = Field(description="enabled, pending, disabled, blocked, ignored, overridden or invalid")


class SettingsReport(BaseModel):
    claude_code_version: str = Field(description="The Claude Code version whose behaviour is mirrored.")
    project: str
    trusted: bool = Field(description="Whether the workspace trust dialog was accepted.")
    files: list[SettingsFile] = Field(description="The config files that exist, with Claude Code's verdict.")
    servers: list[McpServerState]
    findings: list[Finding] = Field(description="Most severe first; each has file, line and column.")
    summary: Summary


class EffectiveSettings(BaseModel):
    settings: dict[str, Any] = Field(description="The merged settings (credentials redacted).")
    provenance: dict[str, str] = Field(description="Dotted path of every value -> the file that set it.")
    sources: list[dict[str, Any]]
    notes: list[str]


class MatchedRule(BaseModel):
    behavior: Literal["allow", "ask", "deny"]
    rule: str
    path: str
    scope: str
    line: int | None = None
    column: int | None = None


class UnappliedRule(MatchedRule):
    why: str = Field(description="Why Claude Code does not apply it (file ignored, rule dropped, ...).")


class PermissionExplanation(BaseModel):
    tool: str
    decision: Literal["allow", "ask", "deny"] = Field(description="What Claude Code will do.")
    reason: str
    matched: list[MatchedRule] = Field(default_factory=list, description="The rule(s) that decide it.")
    default_mode: str
    notes: list[str] = Field(default_factory=list)
    not_applied: list[UnappliedRule] = Field(
        default_factory=list,
        description="Rules written for this call that Claude Code does not apply, with file and why.",
    )
    as_written: Literal["allow", "ask", "deny"] | None = Field(
        default=None,
        description="The decision if every rule applied as written, when it differs from `decision`.",
    )


def validation_report(project_dir: str | None, *, absent: bool = False) -> SettingsReport:
    """The settings validation; files that do not exist only with ``absent`` (the resource)."""
    view = workspace_for(project_dir).view
    payload = view.validation.payload()
    verdicts = {str(f.path): f.verdict for f in view.files}
    payload["files"] = [
        {**f, "verdict": verdicts.get(f["path"])} for f in payload["files"] if absent or f["exists"]
    ]
    return SettingsReport.model_validate(payload)


def effective_report(project_dir: str | None) -> EffectiveSettings:
    from claude_health.tools.settings.public import public_effective

    effective = workspace_for(project_dir).view.settings
    return EffectiveSettings.model_validate(public_effective(effective.to_json()))


def register(server: MCPServer) -> None:
    @server.tool(
        name="validate_settings",
        title="Validate Claude Code settings files",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    @clean_doc
    def validate_settings(project_dir: ProjectDir = None) -> Annotated[CallToolResult, SettingsReport]:
        """Find every Claude Code config file for the project (user, project, local and managed
        settings, ~/.claude.json, every .mcp.json, managed-mcp.json) and judge each one the way
        Claude Code does: `error` = Claude Code ignores the whole file, `warning` = it drops one
        entry (an invalid permission rule, hook or MCP server), `info` = silently ignored. Every
        finding names file, line and column. Call it when a permission, hook or MCP server
        silently does not apply, or before and after editing Claude Code settings."""
        return lean(validation_report(project_dir))

    @server.tool(
        name="effective_settings",
        title="Merged Claude Code settings with provenance",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    @clean_doc
    def effective_settings(project_dir: ProjectDir = None) -> Annotated[CallToolResult, EffectiveSettings]:
        """The settings Claude Code actually ends up with after merging user, project, local and
        managed files (objects deep-merged, arrays concatenated, managed switches applied), and
        for every value the file that set it. Call it to answer "where does this setting come
        from?" or "why is this value not what I wrote?"."""
        return lean(effective_report(project_dir))

    @server.tool(
        name="explain_permission",
        title="Would this tool call be allowed, asked or denied?",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    @clean_doc
    def explain_permission(
        tool: Annotated[
            str,
            Field(
                min_length=1,
                max_length=200,
                description="Tool name as Claude Code calls it: Bash, Read, Edit, WebFetch, "
                "mcp__server__tool...",
            ),
        ],
        tool_input: Annotated[
            str | dict[str, Any] | None,
            Field(
                default=None,
                description="The call's input: a Bash command, a file path, a URL, or the tool's "
                "input object.",
            ),
        ] = None,
        project_dir: ProjectDir = None,
    ) -> Annotated[CallToolResult, PermissionExplanation]:
        """Decide whether Claude Code would allow, ask or deny one tool call in this project, and
        which rule in which file decides it (deny, then ask, then allow; first match wins). Rules
        written for the call that Claude Code does not apply (their file is ignored, the rule is
        dropped, the folder is not trusted) are listed in `not_applied` with the file and why, and
        `as_written` gives the decision their author meant when it differs. Call it when the user
        asks "why does Claude keep asking before X", "is `git push` allowed", or "can Claude read
        .env"."""
        size = len(tool_input) if isinstance(tool_input, str) else len(json.dumps(tool_input or {}))
        if size > MAX_INPUT_CHARS:
            raise ToolError(f"tool_input is {size:,} characters; the limit is {MAX_INPUT_CHARS:,}")
        if "\x00" in tool:
            raise ToolError("tool must not contain NUL characters")
        from claude_health.tools.settings.explain import explain_permission as explain

        validation = workspace_for(project_dir).view.validation
        return lean(PermissionExplanation.model_validate(explain(validation, tool, tool_input).to_json()))

    @server.resource(FINDINGS_URI, name="settings-findings", mime_type="application/json")
    def findings_resource() -> str:
        """Settings validation of the server's working directory (files, MCP servers, findings)."""
        # json.dumps escapes what UTF-8 cannot carry (a "\ud800" from a hostile file);
        # model_dump_json would raise on it.
        return json.dumps(validation_report(None, absent=True).model_dump(mode="json"), separators=(",", ":"))

    @server.resource(EFFECTIVE_URI, name="settings-effective", mime_type="application/json")
    def effective_resource() -> str:
        """Merged Claude Code settings of the server's working directory, with provenance."""
        return json.dumps(effective_report(None).model_dump(mode="json"), separators=(",", ":"))
