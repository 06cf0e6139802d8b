"""`claude-health settings`: validate every Claude Code settings file."""

from __future__ import annotations

import argparse
from typing import Any

from claude_health.server.commands._reserved import register_reserved


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    register_reserved(sub, common, "settings", "validate every Claude Code settings file")
