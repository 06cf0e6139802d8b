"""claude-health's MCP server, CLI and transports: adapters over :mod:`claude_health.tools`."""

from __future__ import annotations

from claude_health.tools import __version__

__all__ = ["__version__"]
