"""``claude-health uninstall``: remove the claude-health entry from an MCP client's configuration."""

from __future__ import annotations

import argparse
from typing import Any

from claude_health.server.commands.install import add_target_options


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "uninstall",
        parents=[common],
        help="remove claude-health from an MCP client",
        description="Remove the `claude-health` server entry from a client's MCP configuration (or, "
        "with --statusline, from Claude Code's status line), keeping every other byte of the file, "
        "atomically and with a timestamped backup in claude-health's state directory "
        "($XDG_STATE_HOME/claude-health/backups, default ~/.local/state/claude-health/backups).",
    )
    add_target_options(parser, "uninstall")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from claude_health.server.commands.common import workspace
    from claude_health.server.commands.install import execute, hooks, require_target, statusline
    from claude_health.tools.registration.plan import plan_uninstall

    require_target(args)
    ws = workspace(args)
    if args.statusline:
        return statusline(args, ws, remove=True)
    if args.hooks:
        return hooks(args, ws, remove=True)
    return execute(args, "uninstall", lambda: plan_uninstall(ws, args.client, scope=args.scope))
