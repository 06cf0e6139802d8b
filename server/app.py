"""The MCP server: one :class:`MCPServer` with the tools, resources and prompts of every check.

Each domain adapts itself in :mod:`claude_health.server.mcp_tools` with ``register(server)``.
Start-up imports only the adapters and their result models; the checks behind a tool are
imported on its first call, which keeps the cold start close to a bare ``MCPServer``.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

from mcp.server.mcpserver import MCPServer

from claude_health.server.redacting import RedactingMiddleware
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


def build_server() -> MCPServer:
    """A fresh server with every tool, resource and prompt registered."""
    server = MCPServer(
        SERVER_NAME,
        title="Claude integration health",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url="https://github.com/claude-health/claude-health",
        middleware=[RedactingMiddleware()],
    )
    for name in tool_modules():
        module = importlib.import_module(f"claude_health.server.mcp_tools.{name}")
        module.register(server)
    from claude_health.server.safe_results import make_results_sendable

    make_results_sendable(server)  # after every registration: it wraps what is there
    return server
