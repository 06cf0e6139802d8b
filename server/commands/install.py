"""``claude-health install``: register claude-health with an MCP client."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from claude_health.tools.registration.clients import CLIENTS, Scope

_STATUSLINE_HELP = {
    "install": "make claude-health Claude Code's status line (`statusLine` in your user settings.json) "
    "instead of registering an MCP client; a status line command you already have is kept and wrapped",
    "uninstall": "take claude-health out of Claude Code's status line (your user settings.json): the "
    "command it wrapped is put back, or `statusLine` is removed when it wrapped none",
}


def add_target_options(parser: argparse.ArgumentParser, verb: str = "install") -> None:
    """Options install and uninstall share: which client, which scope, dry run."""
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        help="the MCP client to configure" if verb == "install" else "the MCP client to remove it from",
    )
    parser.add_argument("--statusline", action="store_true", help=_STATUSLINE_HELP[verb])
    parser.add_argument(
        "--hooks",
        action="store_true",
        help="claude-health's Claude Code hooks (SessionStart, UserPromptSubmit, ConfigChange, "
        "StopFailure: warnings about billing, broken settings and plan limits); user settings unless "
        "--scope says otherwise",
    )
    parser.add_argument(
        "--scope",
        choices=("project", "user", "local"),
        default=None,
        help="project (files under --project) or user (your home); default: project where the client has "
        "one, user for --hooks; local (.claude/settings.local.json) only with --hooks",
    )
    parser.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "install",
        parents=[common],
        help="register claude-health with an MCP client",
        description="Add a `claude-health` server entry to a client's MCP configuration. The edit keeps "
        "every other byte of the file, is atomic (temp file + rename), keeps a timestamped backup in "
        "claude-health's state directory ($XDG_STATE_HOME/claude-health/backups, default "
        "~/.local/state/claude-health/backups), and does nothing when the entry is already there. Files "
        "that cannot be edited safely (malformed, or an entry in a form it cannot rewrite) are refused "
        "untouched. A project-scope file is meant to be committed: it gets `claude-health` when that is "
        "on PATH, otherwise this machine's path with a warning (see --portable).",
    )
    add_target_options(parser)
    parser.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio (default): the client starts `claude-health serve` itself; http: the client "
        "connects to a running `claude-health serve --transport http` at --url",
    )
    parser.add_argument(
        "--url",
        default=None,
        help="server URL for --transport http (default http://127.0.0.1:8765/mcp, what `serve "
        "--transport http` listens on)",
    )
    parser.add_argument(
        "--command",
        dest="launch_command",
        metavar="PATH",
        default=None,
        help="stdio command to write (default: this claude-health's absolute path; `claude-health` for "
        "a project-scope file when it is on PATH; `uvx claude-health` when run through uvx)",
    )
    parser.add_argument(
        "--portable",
        action="store_true",
        help="write a command that works on every machine: `claude-health` when it is on PATH here, "
        "otherwise `uvx claude-health` (needs uv); for files that are committed or shared",
    )
    parser.add_argument(
        "--print-link",
        action="store_true",
        help="write nothing; print a one-click install link carrying the same entry (--client vscode: "
        "the `code --add-mcp` command and the vscode: link; --client cursor: Cursor's deeplink)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from claude_health.server.commands.common import UsageError, workspace
    from claude_health.tools.registration.launch import SERVE_ARGS, Launch
    from claude_health.tools.registration.plan import DEFAULT_URL, plan_install

    if args.url and args.transport != "http":
        raise UsageError("--url only applies with --transport http")
    if args.portable and args.launch_command:
        raise UsageError("--portable and --command are mutually exclusive")
    if args.portable and args.transport != "stdio":
        raise UsageError("--portable only applies with --transport stdio")
    require_target(args)
    launch = Launch(args.launch_command, list(SERVE_ARGS), "explicit") if args.launch_command else None
    ws = workspace(args)
    if args.print_link:
        return print_link(args, ws, launch)
    if args.statusline:
        return statusline(args, ws, remove=False, launch=launch)
    if args.hooks:
        return hooks(args, ws, remove=False, launch=launch)
    return execute(
        args,
        "install",
        lambda: plan_install(
            ws,
            args.client,
            scope=args.scope,
            transport=args.transport,
            launch=launch,
            url=args.url or DEFAULT_URL,
            portable=args.portable,
        ),
    )


def print_link(args: argparse.Namespace, ws: Any, launch: Any) -> int:
    """``--print-link``: the editor's install link for the entry `install` would write (user scope)."""
    from claude_health.server.commands.common import UsageError
    from claude_health.tools.registration.links import LINK_CLIENTS, install_links
    from claude_health.tools.registration.plan import DEFAULT_URL

    if args.client not in LINK_CLIENTS:
        raise UsageError(f"--print-link needs --client {' or --client '.join(LINK_CLIENTS)}")
    if args.scope == "project" or args.dry_run:
        raise UsageError(
            "--print-link writes nothing and its links install into your user profile; "
            "drop --scope project / --dry-run"
        )
    links = install_links(
        ws, args.client, transport=args.transport, launch=launch, url=args.url or DEFAULT_URL
    )
    if args.json:
        from claude_health.server.output import dump_json

        dump_json(links.to_json())
        return 0
    out = sys.stdout
    if links.command:
        out.write(f"Add claude-health to {links.title} with this command:\n\n  {links.command}\n\n")
        out.write("or open this link:\n\n")
    else:
        out.write(f"Add claude-health to {links.title} by opening this link:\n\n")
    out.write(f"  {links.link}\n")
    return 0


def require_target(args: argparse.Namespace) -> None:
    from claude_health.server.commands.common import UsageError

    if sum(map(bool, (args.client, args.statusline, args.hooks))) != 1:
        raise UsageError("name exactly one target: --client NAME, --statusline or --hooks")
    if args.scope == "local" and not args.hooks:
        raise UsageError("--scope local applies only to --hooks")


def statusline(args: argparse.Namespace, ws: Any, *, remove: bool, launch: Any = None) -> int:
    """(Un)install claude-health as Claude Code's status line in the user's settings."""
    from claude_health.tools.registration.statusline import plan_statusline

    verb = "uninstall" if remove else "install"
    return execute(args, verb, lambda: plan_statusline(ws, remove=remove, launch=launch))


def hooks(args: argparse.Namespace, ws: Any, *, remove: bool, launch: Any = None) -> int:
    """(Un)install claude-health's hooks in a Claude Code settings file (user scope by default)."""
    from claude_health.tools.registration.hooks import plan_hooks

    verb = "uninstall" if remove else "install"
    scope: Scope = args.scope or "user"
    return execute(args, verb, lambda: plan_hooks(ws, scope, remove=remove, launch=launch))


def execute(args: argparse.Namespace, verb: str, plan: Callable[[], Any]) -> int:
    """Plan, write unless --dry-run, report; refusals are one line on stderr and exit 1.

    A file another program saves meanwhile is planned again on its new content (a few times)."""
    from claude_health.tools.registration.atomic import ConcurrentChangeError
    from claude_health.tools.registration.clients import RegistrationError
    from claude_health.tools.registration.plan import apply_fresh

    try:
        if args.dry_run:
            change, backup = plan(), None
        else:
            applied = apply_fresh(plan)
            change, backup = applied.change, applied.backup
    except (RegistrationError, ConcurrentChangeError) as exc:
        sys.stderr.write(f"claude-health {verb}: {exc}\n")
        return 1
    except OSError as exc:  # the planner turns these into RegistrationError; never a traceback
        sys.stderr.write(
            f"claude-health {verb}: {exc.filename or ''}: {exc.strerror or type(exc).__name__}\n"
        )
        return 1
    return report(args, change, backup, verb=verb)


def report(args: argparse.Namespace, change: Any, backup: Any, *, verb: str) -> int:
    """Print what happened (or would happen), human or JSON; returns the exit code."""
    from claude_health.server.output import dump_json

    diff = change.diff()
    if args.json:
        payload = change.to_json()
        payload.update(dry_run=args.dry_run, diff=diff, backup=str(backup) if backup else None)
        if change.action == "snippet" and change.after:
            payload["snippet"] = change.after
        dump_json(payload)
        return 0
    out = sys.stdout
    where = f"{change.title}, {change.scope} scope"
    if change.action == "snippet":
        if verb == "install":
            out.write(f"{change.title} is configured in its settings window, not a file. Paste this:\n\n")
            out.write(change.after or "")
        else:
            out.write(f"Remove the `claude-health` server in {change.title}'s MCP settings.\n")
    elif change.action == "unchanged":
        out.write(f"claude-health is already registered in {change.path} ({where}); nothing to do.\n")
    elif change.action == "absent":
        out.write(f"claude-health is not registered in {change.path} ({where}); nothing to do.\n")
    else:
        if args.dry_run:
            out.write(f"Would {'create' if change.action == 'create' else 'edit'} {change.path} ({where}):\n")
            out.write(diff)
        else:
            done = "Registered claude-health in" if verb == "install" else "Removed claude-health from"
            out.write(f"{done} {change.path} ({where}).\n")
            if backup:
                out.write(f"Backup of the previous file: {backup}\n")
    if verb == "install":
        for note in change.notes:
            out.write(f"- {note}\n")
    return 0
