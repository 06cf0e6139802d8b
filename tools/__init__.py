"""claude-health's domain library: pure, typed checks with no MCP imports.

Every check returns :class:`~claude_health.tools.findings.Finding` objects whose codes are
documented once in :mod:`claude_health.tools.catalogue`.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
