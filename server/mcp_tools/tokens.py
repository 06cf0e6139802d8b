"""MCP adapter for token counting: the ``count_tokens`` and ``context_budget`` tools."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from claude_health.server.mcp_tools._common import MAX_PATH_CHARS, ProjectDir, clean_doc, lean, workspace_for
from claude_health.tools.tokens.results import ContextBudget, TokenCount

MAX_TEXT_CHARS = 8_000_000
MAX_PATHS = 256

ModelArg = Annotated[
    str | None,
    Field(
        default=None,
        max_length=200,
        description="Model ID, e.g. claude-opus-4-7 or claude-sonnet-4-6 (default claude-sonnet-4-6). "
        "Opus 4.7 and later use a newer tokenizer that counts ~30% more tokens for English.",
    ),
]


def register(server: MCPServer) -> None:
    @server.tool(
        name="count_tokens",
        title="Count tokens, cost and context fit",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True),
    )
    @clean_doc
    def count_tokens(
        text: Annotated[
            str | None, Field(default=None, max_length=MAX_TEXT_CHARS, description="Plain text to count.")
        ] = None,
        paths: Annotated[
            list[Annotated[str, Field(max_length=MAX_PATH_CHARS)]] | None,
            Field(
                default=None,
                max_length=MAX_PATHS,
                description="Files, directories or globs inside the project (relative to project_dir); "
                "the result lists each file, largest first, with the total.",
            ),
        ] = None,
        request: Annotated[
            dict[str, Any] | None,
            Field(
                default=None,
                description="A Messages API request body (system, messages, tools, images, documents, "
                "thinking) to count exactly as it would be sent.",
            ),
        ] = None,
        model: ModelArg = None,
        mode: Annotated[
            Literal["auto", "estimate", "exact"],
            Field(
                description="estimate: offline, never sends anything. exact: POST /v1/messages/count_tokens "
                "with ANTHROPIC_API_KEY (free; fails if impossible). auto: exact when a key is set, "
                "else the estimate."
            ),
        ] = "auto",
        project_dir: ProjectDir = None,
    ) -> Annotated[CallToolResult, TokenCount]:
        """Count the tokens of text, project files or a Messages API request for a Claude model, with the
        cost (input, cache writes/reads, batch) from a dated price table and whether it fits the context
        window. Call it before pasting a large file, loading a folder into context, or sending a batch;
        or when the user asks how many tokens or how much something costs. Offline estimates carry an
        error band (`error_band`); `method` says estimate or exact. Give exactly one of text, paths,
        request."""
        from claude_health.tools.anthropic import AnthropicError
        from claude_health.tools.tokens.counter import count_files, count_request, count_text
        from claude_health.tools.tokens.exact import ExactUnavailable
        from claude_health.tools.tokens.request import RequestError

        given = [
            name for name, v in (("text", text), ("paths", paths), ("request", request)) if v is not None
        ]
        if len(given) != 1:
            raise ToolError("give exactly one of text, paths or request")
        ws = workspace_for(project_dir)
        env, home = dict(ws.env), ws.home
        try:
            if text is not None:
                return lean(count_text(text, model=model, mode=mode, env=env, home=home))
            if paths is not None:
                if not paths:
                    raise ToolError("paths must name at least one file, directory or glob")
                if any("\x00" in p for p in paths):
                    raise ToolError("paths must not contain NUL characters")
                if any(p == "-" for p in paths):
                    raise ToolError("'-' (stdin) is a CLI feature; pass the text instead")
                return lean(
                    count_files(paths, ws.project, model=model, mode=mode, confine=True, env=env, home=home)
                )
            assert request is not None
            return lean(count_request(request, model=model, mode=mode, env=env, home=home))
        except RequestError as exc:
            raise ToolError(f"request: {exc}") from None
        except (ExactUnavailable, AnthropicError) as exc:
            raise ToolError(f"exact count impossible: {exc}") from None

    @server.tool(
        name="context_budget",
        title="Fixed context the project pays on every turn",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    @clean_doc
    def context_budget(
        project_dir: ProjectDir = None, model: ModelArg = None
    ) -> Annotated[CallToolResult, ContextBudget]:
        """Estimate the tokens Claude Code sends on every turn for this project before the user types:
        CLAUDE.md files (managed, user, project, local, .claude/rules) with their @imports, and the auto
        memory MEMORY.md, largest first; configured MCP servers are listed (not launched, so their tool
        definitions are not counted). Call it when the user asks what eats their context, why sessions
        compact early, or why every turn is expensive. Offline; never sends anything."""
        from claude_health.tools.tokens.budget import context_budget as budget

        return lean(budget(workspace_for(project_dir), model))
