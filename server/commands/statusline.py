"""`claude-health statusline`: status line command for Claude Code."""

from __future__ import annotations

import argparse
from typing import Any

from claude_health.server.commands._reserved import register_reserved


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    register_reserved(sub, common, "statusline", "status line command for Claude Code")
