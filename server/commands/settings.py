"""``claude-health settings``: validate every Claude Code config file the way Claude Code reads it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from claude_health.server.commands.common import style, workspace
from claude_health.server.output import Style, dump_json, print_findings

if TYPE_CHECKING:
    from claude_health.tools.paths import Workspace


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "settings",
        parents=[common],
        help="validate every Claude Code settings file",
        description="Find every settings, ~/.claude.json and .mcp.json file that applies to the project "
        "and judge each one the way Claude Code 2.1.332 does: error = the whole file is ignored, "
        "warning = one entry is dropped, info = silently ignored.",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="re-validate and re-print whenever one of the files changes (Ctrl-C to stop)",
    )
    parser.set_defaults(func=run)


def _report(ws: Workspace, as_json: bool, st: Style) -> int:
    from claude_health.tools.view import build_view

    view = build_view(ws)  # a fresh view: under --watch every change is a new snapshot
    validation = view.validation
    if as_json:
        dump_json(validation.payload())
        return validation.summary.exit_code
    out = sys.stdout
    out.write(st.bold(f"Claude Code config files for {ws.project}") + "\n")
    for seen in view.files:
        if seen.verdict == "absent":
            state = st.dim("absent ")
        elif seen.verdict == "loaded":
            state = "loaded "
        elif seen.verdict == "partial":
            state = st.severity(_severity("warning"), "PARTIAL")
        else:
            state = st.severity(_severity("error"), "IGNORED")
        note = f"  ({seen.note})" if seen.note else ""
        out.write(f"  {state:<7} {seen.scope:<8} {seen.path}{note}\n")
    for server in validation.servers:
        shown = server.to_json()  # name and type scrubbed: a server may be named after a key
        out.write(f"  mcp     {server.scope:<8} {shown['name']}: {shown['status']} ({shown['type']})\n")
    out.write("\n")
    return print_findings(validation.findings, st).exit_code


def _severity(name: str) -> Any:
    from claude_health.tools.findings import Severity

    return Severity(name)


def run(args: argparse.Namespace) -> int:
    ws = workspace(args)
    st = style(args)
    code = _report(ws, args.json, st)
    if not args.watch:
        return code
    from claude_health.tools.settings.watch import watch_changes

    sys.stderr.write("Watching for changes (Ctrl-C to stop)...\n")
    try:
        for changed in watch_changes(ws):
            names = ", ".join(sorted(str(p) for p in changed))
            sys.stderr.write(f"\nchanged: {names}\n")
            code = _report(ws, args.json, st)
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    return code
