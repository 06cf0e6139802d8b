"""MCP adapter for key hygiene: the ``check_key_hygiene`` tool."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from claude_health.server.mcp_tools._common import ProjectDir, clean_doc, lean, workspace_for
from claude_health.tools.findings import Finding, Summary
from claude_health.tools.keys.models import ScanStats


class KeyHygieneResult(BaseModel):
    stats: ScanStats
    findings: list[Finding] = Field(description="Most severe first; keys appear only redacted.")
    summary: Summary


def register(server: MCPServer) -> None:
    @server.tool(
        name="check_key_hygiene",
        title="Find leaked or misplaced Anthropic keys",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True),
    )
    @clean_doc
    async def check_key_hygiene(
        ctx: Context,
        project_dir: ProjectDir = None,
        history: Annotated[
            bool, Field(description="Also scan every commit of the git history (slower).")
        ] = False,
        verify: Annotated[
            bool,
            Field(
                description="Ask the Anthropic API whether found API/admin keys are live (network). "
                "Only with the user's consent."
            ),
        ] = False,
        transcripts: Annotated[
            bool,
            Field(description="Also check Claude Code's session transcripts (incremental; default on)."),
        ] = True,
        shell_history: Annotated[
            bool, Field(description="Also check bash, zsh and fish history files (incremental; default on).")
        ] = True,
    ) -> Annotated[CallToolResult, KeyHygieneResult]:
        """Find Anthropic API keys, admin keys and OAuth tokens where they should not be: files in
        the project (tracked or not ignored), committed .claude/settings.json and .mcp.json,
        settings env blocks, the environment (including an API key that moves a Max/Pro user onto
        API billing), shell start-up files, keys pasted into Claude Code sessions (transcripts) and
        shell history files, un-ignored .env files, credential file permissions and, with
        history=true, git history. Call it before committing, when the user worries about a
        leaked key, or asks about unexpected API charges. Keys are shown only redacted, with a
        fingerprint to match the same key in several places. verify=true contacts the Anthropic
        API (only api.anthropic.com or the user's ANTHROPIC_BASE_URL) and never sends OAuth tokens."""
        import anyio
        import anyio.from_thread

        from claude_health.tools.keys.report import KeysUsageError, ScanOptions, scan_keys

        if transcripts:
            from claude_health.tools.usage.session import keep_ledgers_open

            keep_ledgers_open()  # transcripts are read through the usage ledger, kept open here
        ws = workspace_for(project_dir)

        def progress(done: int, total: int) -> None:
            anyio.from_thread.run(ctx.report_progress, done, total, f"scanned {done} of {total} files")

        def scan() -> CallToolResult:
            options = ScanOptions(
                history=history,
                verify=verify,
                transcripts=transcripts,
                shell_history=shell_history,
                workers=1,
            )
            report = scan_keys(ws, options, progress=progress)
            return lean(
                KeyHygieneResult(
                    stats=report.stats, findings=report.findings, summary=Summary.of(report.findings)
                )
            )

        try:
            return await anyio.to_thread.run_sync(scan)
        except KeysUsageError as exc:
            raise ToolError(str(exc)) from None
        except Exception as exc:
            # Never forward an unexpected message: it could quote file content.
            raise ToolError(f"key scan failed ({type(exc).__name__}); run `claude-health keys -vv`") from None
