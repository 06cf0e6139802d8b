"""``python -m claude_health.server``: the same entry point as the ``claude-health`` script."""

from __future__ import annotations

from claude_health.server.cli import console

if __name__ == "__main__":
    console()
