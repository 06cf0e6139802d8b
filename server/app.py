"""The MCP server: one :class:`MCPServer` with the tools, resources and prompts of every check.

Each domain adapts itself in :mod:`claude_health.server.mcp_tools` with ``register(server)``; the
checks behind a tool are imported on its first call. ``serve`` goes one step further: from the
second start of an install it answers the list requests from a recorded listing and registers an
adapter only when one of its tools, resources or prompts is used, which keeps the cold start close
to a bare ``MCPServer`` (see :mod:`claude_health.server.listing`).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterable, Iterator
from importlib import metadata
from typing import Any

from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, GetPromptResult, InputRequiredResult
from mcp.types import Prompt as MCPPrompt
from mcp.types import Resource as MCPResource
from mcp.types import ResourceTemplate as MCPResourceTemplate
from mcp.types import Tool as MCPTool
from pydantic import AnyUrl

from claude_health.server.listing import (
    PROMPT,
    RESOURCE,
    TEMPLATE,
    TOOL,
    Listing,
    fingerprint,
    load,
    owner_key,
    record,
    save,
)
from claude_health.server.redacting import RedactingMiddleware
from claude_health.server.safe_results import make_results_sendable
from claude_health.server.watcher import install_watcher
from claude_health.tools import __version__

logger = logging.getLogger(__name__)

SERVER_NAME = "claude-health"


def tool_modules() -> list[str]:
    """Every adapter module in :mod:`claude_health.server.mcp_tools`, in name order."""
    from claude_health.server import mcp_tools

    return sorted(m.name for m in pkgutil.iter_modules(mcp_tools.__path__) if not m.name.startswith("_"))


INSTRUCTIONS = """\
claude-health answers "is this Claude integration healthy?" for Claude Code and Claude API users.
Tools are read-only and offline unless their description says otherwise. Pass `project_dir` (the
absolute path of the user's project) whenever you know it; otherwise the server's working
directory is used. `health_report` returns problems (one per root cause, each with a summary, a
severity and one fix), most important first; findings carry a stable `code` and a `hint` (the
fix). Fix errors first. Never ask the user to paste a key: results show keys only redacted
(prefix and last 4 characters).

When to call what:
- "What is wrong with my setup?", something silently does not work, or before you change Claude
  Code configuration: call `health_report` (or use the `diagnose` prompt to walk every problem);
  pass detail="full" only when you need the findings behind a problem.
  Claude Code will not start, is the wrong version, search/@-mentions fail, or it is slow under
  WSL: read the `runtime` findings (R codes) of `health_report`.
- A permission, hook or MCP server silently does not apply, or "are my Claude Code settings
  valid?": call `validate_settings` (an `error` means Claude Code ignores the whole file). "Where
  does this setting come from / why isn't my value used?": call `effective_settings`. "Would
  Claude be allowed to run `git push` / read `.env`?" or "why does it keep asking?": call
  `explain_permission` with the tool name and its input.
- Billing questions, unexpected API charges, "is Claude Code using my Max/Pro plan?", which key or
  login is active: call `auth_status`.
- The user worries about a leaked key, is about to commit or push, or asks whether an Anthropic
  key sits in the project, config, environment, shell files or git history: call
  `check_key_hygiene` (history=true to include git history; verify=true only with the user's
  consent, since it contacts the Anthropic API).
- The user hits 429 / rate-limit errors, asks how much headroom is left or which tier applies:
  call `limit_status` (optionally with `model`). Before you send a Claude API request yourself,
  call `check_request`; after the response, call `record_response` with its headers and usage
  (passing back the reserved token counts) so every client shares one picture.
- An API organisation's admin asks for the organisation's real rate limits or this month's spend:
  `limit_status(admin_sync=true)` / `plan_usage(admin_api=true)` (they contact the Admin API:
  only when the user asks; they need an Admin API key, which you never ask the user to paste).
- How much of the Pro/Max plan is left, when the 5-hour or weekly limit resets, whether the user
  will run out, or what Claude Code usage costs per day, model or project: call `plan_usage`
  (window "block" = current 5-hour block, "day" = today, "week" = last 7 days). If `official` is
  empty and finding U004 appears, suggest `claude-health install --statusline`.
- How many tokens is this, what does it cost, does this file / folder / request fit the context
  window (before pasting a large file, loading a folder or sending a batch): call `count_tokens`
  (one of text, paths or request; offline estimate unless a key is set and mode allows exact).
- What eats the context window, why sessions compact early, why every turn is expensive: call
  `context_budget`.
"""


class ClaudeHealthServer(MCPServer):
    """An MCPServer whose adapters register when first needed, once a :class:`Listing` is known.

    Without a listing it is a plain MCPServer with everything registered. With one, the three list
    requests are answered from it, and a tool call, resource read or prompt first registers the
    adapter module that owns the name (every module, for a name the listing does not know, so an
    unknown name gets the SDK's own answer). The listing was recorded from this same code, so what
    a client was shown is what it gets.
    """

    def __init__(self, *, listing: Listing | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.listing = listing
        self.loaded: set[str] = set()
        self.owners: dict[str, str] = {}

    def load(self, module: str) -> None:
        """Register one adapter module (once), its results made sendable."""
        if module in self.loaded:
            return
        before = set(_entries(self))
        importlib.import_module(f"claude_health.server.mcp_tools.{module}").register(self)
        self.loaded.add(module)
        for key in _entries(self):
            if key not in before:
                self.owners[key] = module
        make_results_sendable(self)

    def load_all(self) -> None:
        for name in tool_modules():
            self.load(name)

    def _load_owner(self, kind: str, name: str) -> None:
        if self.listing is None:
            return
        module = self.listing.owner(kind, name)
        if module is None:
            self.load_all()
        else:
            self.load(module)

    async def list_tools(self) -> list[MCPTool]:
        return list(self.listing.tools) if self.listing else await super().list_tools()

    async def list_resources(self) -> list[MCPResource]:
        return list(self.listing.resources) if self.listing else await super().list_resources()

    async def list_resource_templates(self) -> list[MCPResourceTemplate]:
        if self.listing:
            return list(self.listing.templates)
        return await super().list_resource_templates()

    async def list_prompts(self) -> list[MCPPrompt]:
        return list(self.listing.prompts) if self.listing else await super().list_prompts()

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        # The low-level server asks for it before middleware and before call_tool.
        self._load_owner(TOOL, name)
        return super()._tool_input_schema(name)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        self._load_owner(TOOL, name)
        return await super().call_tool(name, arguments, context)

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        self._load_owner(RESOURCE, str(uri))
        return await super().read_resource(uri, context)

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        self._load_owner(PROMPT, name)
        return await super().get_prompt(name, arguments, context)


def _entries(server: MCPServer) -> Iterator[str]:
    """The owner keys of everything registered on ``server`` now."""
    for tool in server._tool_manager.list_tools():
        yield owner_key(TOOL, tool.name)
    for resource in server._resource_manager.list_resources():
        yield owner_key(RESOURCE, str(resource.uri))
    for template in server._resource_manager.list_templates():
        yield owner_key(TEMPLATE, template.uri_template)
    for prompt in server._prompt_manager.list_prompts():
        yield owner_key(PROMPT, prompt.name)


def build_server(*, cache_dir: str | None = None) -> ClaudeHealthServer:
    """A fresh server with every tool, resource and prompt.

    With ``cache_dir`` (what ``serve`` passes), the listing recorded there for this code stands in
    for registration until something is used (see :mod:`claude_health.server.listing`); when there
    is none, everything registers now and the listing is recorded for the next start.
    """
    key = ""
    if cache_dir is not None:
        try:
            key = fingerprint()
        except (OSError, metadata.PackageNotFoundError) as exc:  # no way to tell a record fits
            logger.info("serving without a recorded listing: %s", exc)
            cache_dir = None
    listing = load(cache_dir, key) if cache_dir is not None else None
    server = ClaudeHealthServer(
        name=SERVER_NAME,
        title="Claude integration health",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url="https://github.com/claude-health/claude-health",
        middleware=[RedactingMiddleware()],
        listing=listing,
    )
    install_watcher(server)
    if listing is not None:
        logger.debug("tools, resources and prompts listed from the record in %s", cache_dir)
        return server
    server.load_all()
    if cache_dir is not None:
        try:
            save(cache_dir, key, record(server, server.owners))
        except RuntimeError as exc:  # an SDK whose list methods suspend: serve without a record
            logger.info("the server listing is not recorded: %s", exc)
    return server
