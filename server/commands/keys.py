"""`claude-health keys`: find Anthropic credentials where they should not be."""

from __future__ import annotations

import argparse
from typing import Any

from claude_health.server.commands._reserved import register_reserved


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    register_reserved(sub, common, "keys", "find Anthropic credentials where they should not be")
