"""`claude-health usage`: plan usage in the 5-hour and weekly windows."""

from __future__ import annotations

import argparse
from typing import Any

from claude_health.server.commands._reserved import register_reserved


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    register_reserved(sub, common, "usage", "plan usage in the 5-hour and weekly windows")
