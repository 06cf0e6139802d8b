"""`claude-health keys` without argparse, and its tree scan started before anything else loads.

A key scan of a large tree is compared with ripgrep, which starts in a millisecond. The
parser (argparse, gettext, every option built) costs the CLI about 7 ms, and the output layer,
logging and the other checks about 60 ms of imports, all before the tree scan's child used to
be forked. Here the plain invocations (``--json``, ``--project DIR``, ``--jobs 4``...) are read
directly, into the same namespace the parser builds, and the child that lists and reads the
tree (:mod:`claude_health.tools.keys.early`) is forked before the rest is imported. Anything
else (``--help``, an abbreviated option, a value that looks like an option, a bad choice) goes
to the full parser, which reports it as always.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

# Options read here, spelled out in full as the parser accepts them.
_FLAGS = {
    "--json": "json",
    "--sarif": "sarif",
    "--history": "history",
    "--verify": "verify",
    "--staged": "staged",
    "--no-transcripts": "no_transcripts",
    "--no-shell-history": "no_shell_history",
}
_VALUED = {"--project", "--jobs", "--color", "--history-timeout"}
COLORS = ("auto", "always", "never")  # (common_options in server/cli.py)


def parse(argv: list[str]) -> SimpleNamespace | None:
    """What the parser would make of ``claude-health keys <argv>``; None to leave it to the parser.

    Attributes as :func:`claude_health.server.commands.keys.register` declares them, plus the
    parser defaults (``func``, ``skip_teardown``) and ``command``.
    """
    from claude_health.server.commands.keys import HISTORY_TIMEOUT, run

    args = SimpleNamespace(
        command="keys",
        project=None,
        json=False,
        color="auto",
        verbose=0,
        sarif=False,
        history=False,
        verify=False,
        staged=False,
        no_transcripts=False,
        no_shell_history=False,
        jobs=None,
        history_timeout=HISTORY_TIMEOUT,
        func=run,
        skip_teardown=True,
    )
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _VALUED:
            if not eq:
                if not rest or rest[0].startswith("-"):
                    return None  # a missing value, or a negative number: the parser's call
                value = rest.pop(0)
            try:
                if name == "--project":
                    args.project = value
                elif name == "--jobs":
                    args.jobs = int(value)
                elif name == "--history-timeout":
                    args.history_timeout = float(value)
                elif value in COLORS:
                    args.color = value
                else:
                    return None
            except ValueError:
                return None
        elif eq:
            return None  # a flag given a value
        elif arg in _FLAGS:
            setattr(args, _FLAGS[arg], True)
        elif arg == "--verbose":
            args.verbose += 1
        elif len(arg) > 1 and arg.startswith("-") and arg[1:] == "v" * (len(arg) - 1):
            args.verbose += len(arg) - 1  # -v, -vv, -vvv
        else:
            return None  # --help, --, an abbreviation, a typo: the parser explains
    return args


def prestart(args: SimpleNamespace) -> bool:
    """Fork the tree scan's child for these arguments, if the command will scan the tree.

    ``scan_keys`` takes it when it asks for the same workspace and options; anything else (a
    usage error, another workspace) and :func:`claude_health.tools.keys.early.discard` stops it.
    """
    if args.staged or args.jobs == 1 or (args.jobs is not None and not 1 <= args.jobs <= 64):
        return False  # no tree scan, one process, or a usage error
    if args.json and args.sarif:
        return False  # a usage error
    from claude_health.tools.platform import PLATFORM_OVERRIDE, PLATFORMS

    override = os.environ.get(PLATFORM_OVERRIDE, "").strip().lower()
    if override and override not in PLATFORMS:
        return False  # the workspace warns about it: once, when the command builds it
    from pathlib import Path

    from claude_health.tools.keys import early
    from claude_health.tools.keys.report import ScanOptions
    from claude_health.tools.paths import Workspace

    options = ScanOptions(
        transcripts=not args.no_transcripts,
        shell_history=not args.no_shell_history,
        workers=args.jobs,
        fork_early=True,
    )
    try:
        if args.project is not None and not Path(args.project).expanduser().is_dir():
            return False  # the command reports it
        ws = Workspace.discover(project=args.project)
    except (OSError, RuntimeError, ValueError):  # an unknown ~user, a folder we may not search...
        return False  # ... the command meets it again, and says so
    return early.prestart(ws, options)
