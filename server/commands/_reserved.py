"""Placeholders for subcommands whose checks land in later releases."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register_reserved(sub: Any, common: argparse.ArgumentParser, name: str, summary: str) -> None:
    parser = sub.add_parser(name, parents=[common], help=f"{summary} (not available yet)")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace) -> int:
        sys.stderr.write(f"claude-health {name}: not available in this version yet.\n")
        return 2

    parser.set_defaults(func=run)
