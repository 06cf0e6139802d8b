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

from claude_health.tools import __version__

logger = logging.getLogger(__name__)

SERVER_NAME = "claude-health"


def tool_modules() -> list[str]:
    """Every adapter module in :mod:`claude_health.server.mcp_tools`, in name order."""
    from claude_health.server import mcp_tools

    return sorted(m.name for m in pkgutil.iter_modules(mcp_tools.__path__) if not m.name.startswith("_"))


INSTRUCTIONS = """\
claude-health answers "is this Claude integration healthy?" for Claude Code and Claude API users.
Every tool is read-only and works offline unless its description says otherwise.

When to call what:
- The user asks why they are billed for API usage, whether Claude Code uses their Max/Pro plan,
  or which key/login is active: call `auth_status`.
- The user asks "what is wrong with my setup", something silently does not work (a permission,
  a hook, an MCP server), or before you change Claude Code configuration: call `health_report`
  and fix findings from the top (errors first). Each finding has a stable `code` and a `hint`.
Pass `project_dir` (absolute path of the user's project) whenever you know it; otherwise the
server's working directory is used. Never ask the user to paste a key: results show keys only
redacted (prefix and last 4 characters).
"""


def build_server() -> MCPServer:
    """A fresh server with every tool, resource and prompt registered."""
    server = MCPServer(
        SERVER_NAME,
        title="Claude integration health",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url="https://github.com/claude-health/claude-health",
    )
    for name in tool_modules():
        module = importlib.import_module(f"claude_health.server.mcp_tools.{name}")
        module.register(server)
    return server
