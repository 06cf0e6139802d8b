"""``claude-health uninstall``: remove the claude-health entry from an MCP client's configuration."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from claude_health.server.commands.install import add_target_options


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "uninstall",
        parents=[common],
        help="remove claude-health from an MCP client",
        description="Remove the `claude-health` server entry from a client's MCP configuration, keeping "
        "every other byte of the file, atomically and with a timestamped backup.",
    )
    add_target_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from claude_health.server.commands.common import workspace
    from claude_health.server.commands.install import report, require_target, statusline
    from claude_health.tools.registration import RegistrationError, apply, plan_uninstall
    from claude_health.tools.registration.atomic import ConcurrentChangeError

    require_target(args)
    ws = workspace(args)
    if args.statusline:
        return statusline(args, ws, remove=True)
    try:
        change = plan_uninstall(ws, args.client, scope=args.scope)
        backup = None if args.dry_run else apply(change).backup
    except (RegistrationError, ConcurrentChangeError) as exc:
        sys.stderr.write(f"claude-health uninstall: {exc}\n")
        return 1
    except OSError as exc:  # the planner turns these into RegistrationError; never a traceback
        sys.stderr.write(
            f"claude-health uninstall: {exc.filename or ''}: {exc.strerror or type(exc).__name__}\n"
        )
        return 1
    return report(args, change, backup, verb="uninstall")
