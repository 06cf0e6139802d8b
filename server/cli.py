"""The ``claude-health`` command line.

Each subcommand lives in :mod:`claude_health.server.commands` as a module with ``register``;
modules import their domain code inside ``run`` so that ``--help`` and ``serve`` stay fast.
Exit codes: 0 healthy, 1 problems found, 2 usage error, 3 `serve` cannot listen (port in use).
"""

from __future__ import annotations

import contextlib  # (the three are loaded by the interpreter before any script: free)
import errno
import os
import sys

from claude_health.tools import __version__

# Not typing.TYPE_CHECKING: importing typing costs the status line fast path 4 ms a refresh.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import SimpleNamespace
    from typing import NoReturn

    Args = argparse.Namespace | SimpleNamespace  # the parser's, or keys_early's for plain `keys`

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_OUTPUT_LOST = 120  # what CPython exits with when stdout cannot be flushed at exit
# Errors of a write to stdout/stderr that mean the output is incomplete (no file name: the
# stream's own descriptor): a full disk or quota, a file too large, an I/O error.
_OUTPUT_LOST = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EIO") if hasattr(errno, name)
)

# Set when a command that leaves nothing open (files closed, children reaped; it sets
# ``skip_teardown`` in its parser defaults) has returned: the console script may then exit
# without the interpreter's teardown.
_skip_teardown = False
# Set by console(): this process ends when main() returns.
_console = False

# In the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "doctor",
    "auth",
    "settings",
    "keys",
    "tokens",
    "limits",
    "usage",
    "statusline",
    "hook",
    "install",
    "uninstall",
    "rules",
    "serve",
    "bundle",
)


def _parser_class() -> type[argparse.ArgumentParser]:
    """argparse, but usage errors name the command and exit 2 without a traceback.

    Built on first use: argparse (with re and gettext) is a fifth of the status line's start-up,
    and the status line path never parses with it.
    """
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            self.print_usage(sys.stderr)
            self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    return Parser


def common_options() -> argparse.ArgumentParser:
    """Options every reporting command accepts."""
    import argparse

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--project",
        metavar="DIR",
        default=None,
        help="project directory to check (default: the current directory)",
    )
    common.add_argument("--json", action="store_true", help="print machine-readable JSON")
    common.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour in human output (default: only on a terminal)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="on stderr, list every file read (-vv: debug logs too)",
    )
    return common


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or one with just the ``only`` subcommand (what a run actually needs)."""
    import importlib

    parser_class = _parser_class()
    parser = parser_class(
        prog="claude-health",
        description="Is my Claude integration healthy? Auth route and billing, settings, key "
        "hygiene, tokens, rate limits and plan usage, as a CLI and an MCP server.",
        epilog="Exit codes: 0 healthy, 1 problems found, 2 usage error, 3 `serve --transport http` "
        "cannot listen (port in use). "
        "`claude-health rules` documents every finding code.",
    )
    parser.add_argument("--version", action="version", version=f"claude-health {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=parser_class)
    common = common_options()
    for name in COMMAND_MODULES if only is None else (only,):
        module = importlib.import_module(f"claude_health.server.commands.{name}")
        module.register(sub, common)
    return parser


def configure_logging(verbosity: int) -> None:
    """Logs go to stderr only (on stdio, stdout carries the MCP protocol), scrubbed of keys."""
    import logging  # not at module level: the status line fast path never logs

    from claude_health.server.redacting import configure_logging as configure

    configure(logging.WARNING - 10 * min(verbosity, 2), "%(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["statusline"] and not {"-h", "--help"} & set(raw):
        # Claude Code runs the status line on every refresh: skip building the full parser
        # (it imports every subcommand) to stay well inside its time budget.
        from claude_health.server.commands.statusline import main as statusline_main

        return statusline_main(raw[1:])
    if raw[:1] == ["usage"] and "--json" in raw:
        # JSON usage reports are what other tools call on a schedule: a lean path, no parser.
        # Run by the console script, which exits right after: a first load's rows are kept to
        # the exit instead of freed one by one (scan.keep_rows_until_exit), and the collector,
        # which would walk all of them once (118 ms on 1 GiB), is off. Called in-process
        # (tests), it frees and collects as usual.
        paused = _collector_off_to_exit()
        from claude_health.server.commands.usage_json import main as usage_json_main

        code = usage_json_main(raw[1:], keep_rows=_console)
        if code is not None:
            _leaves_nothing_open()  # its ledger is closed and a forked reader reaped
            return code
        if paused:  # the full parser runs it after all
            import gc

            gc.enable()
    if raw[:1] == ["hook"] and len(raw) == 2 and not {"-h", "--help"} & set(raw):
        # Claude Code runs hooks before every session and every prompt: same fast path, and
        # each event has a time budget. The collector's 30 passes over what a hook's imports
        # make took 8-11 ms of a SessionStart that re-runs the key scan (timed in a gc
        # callback); without them that start took 4.4 ms less (40 interleaved rounds).
        _collector_off_to_exit()
        from claude_health.server.commands.hook import main as hook_main

        code = hook_main(raw[1:])
        _leaves_nothing_open()  # every event closes what it opened, and reaps what it forked
        return code
    if raw[:1] == ["keys"]:
        # Compared with ripgrep on large trees: the plain invocations skip the parser, and the
        # tree scan's child is forked before the output layer, logging and the other checks
        # load (keys_early.py); a child nothing claimed is stopped when the command ends.
        import gc

        # A run of usually a fraction of a second whose objects are acyclic, however long it
        # runs: the collector's passes over what the imports create cost it about 6 ms of CPU.
        # Not for --history (minutes over every commit) or --verify (an HTTPS client): those
        # keep the collector. A plain run by the console script leaves it off to the exit:
        # turned back on, its first pass would walk everything the run made, on the serial path
        # after the report (10 ms on a 100 MB tree, timed in a gc callback).
        collecting, exiting = gc.isenabled(), False
        if not {"--history", "--verify"} & set(raw):
            gc.disable()
        try:
            from claude_health.server.commands.keys_early import parse, prestart

            plain = parse(raw[1:])
            if plain is not None:
                exiting = _console
                prestarted = prestart(plain)
                try:
                    return _protected_run(plain)
                finally:
                    if prestarted:
                        from claude_health.tools.keys import early

                        early.discard()
        finally:
            if collecting and not exiting:
                gc.enable()
    # Import only the subcommand being run (`serve` start-up time is what hosts wait for);
    # anything else, `--help` included, gets the full parser.
    first = raw[0] if raw else None
    _protect_output(stdout=first != "serve")
    parser = build_parser(first if first in COMMAND_MODULES else None)
    args = parser.parse_args(raw)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return _with_streams(args)


def _collector_off_to_exit() -> bool:
    """Run by the console script, a fast path's objects are acyclic and the process exits right
    after: no cyclic garbage collection (its passes would only walk what the run made). True if
    this turned it off (the caller turns it back on if it hands over to the full parser)."""
    import gc

    if not (_console and gc.isenabled()):
        return False
    gc.disable()
    return True


def _leaves_nothing_open() -> None:
    """A fast path has returned with its files closed and children reaped: see :func:`console`."""
    global _skip_teardown
    _skip_teardown = True


def _protect_output(*, stdout: bool) -> None:
    """Every byte printed from here on is scrubbed of keys; `serve` keeps its stdout for the
    protocol, whose results the server middleware scrubs."""
    from claude_health.server.redacting import protect_process_output

    protect_process_output(stdout=stdout)


def _protected_run(args: Args) -> int:
    _protect_output(stdout=True)
    return _with_streams(args)


def _with_streams(args: Args) -> int:
    streams = sys.stdout, sys.stderr
    if not (args.command == "serve" or getattr(args, "json", False) or getattr(args, "sarif", False)):
        # Human output: nothing from a hostile repository may reach the terminal as control.
        # (serve speaks the protocol on stdout; JSON escapes control characters itself.)
        from claude_health.tools.terminal import TerminalText

        sys.stdout, sys.stderr = TerminalText(sys.stdout), TerminalText(sys.stderr)
    try:
        return _run(args)
    finally:
        sys.stdout, sys.stderr = streams


def _run(args: Args) -> int:
    configure_logging(getattr(args, "verbose", 0))
    from claude_health.server.commands.common import UsageError

    global _skip_teardown
    try:
        code = int(args.func(args))
        _skip_teardown = bool(getattr(args, "skip_teardown", False))
        return code
    except UsageError as exc:
        sys.stderr.write(f"claude-health {args.command}: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `claude-health doctor | head` closes the pipe early; that is not an error.
        return EXIT_OK
    except OSError as exc:
        if exc.filename is not None or exc.errno not in _OUTPUT_LOST:
            raise
        # Writing the report failed (a full disk behind `> out.sarif`): one line and the exit
        # code the interpreter gives an unflushable stdout, never a traceback or a success.
        _report_lost_output(sys.__stdout__, exc)
        return EXIT_OUTPUT_LOST
    finally:
        _flush_quietly()


def _flush_quietly() -> None:
    """Write out what the redacting streams still hold (a last line without a newline)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _report_lost_output(stream: object, exc: OSError) -> None:
    which = "standard output" if stream is sys.__stdout__ else "standard error"
    with contextlib.suppress(OSError):  # standard error gone too: the exit code says it
        os.write(2, f"claude-health: could not write {which}: {exc.strerror or exc}\n".encode())


def console() -> NoReturn:
    """The ``claude-health`` console script: :func:`main`, then exit with its code.

    After a command that leaves nothing open (``keys``, the JSON usage reports, hooks), without
    the interpreter's teardown: freeing every module and object a 100 MB key scan loaded costs
    15-20 ms, a tenth of the whole run (8 ms of a first usage report). Output is flushed first;
    nothing else is pending then. Output that cannot be written (a full disk behind
    ``> out.sarif``) exits 120 with one line, whatever the command. ``python -m
    claude_health.server`` runs this too.
    """
    global _console
    _console = True
    code = main()
    lost = not _flush_outputs()
    if lost:
        code = EXIT_OUTPUT_LOST
    if _skip_teardown or lost:
        # (After a failed flush the buffer keeps its bytes, and the teardown would try again
        # and print a traceback: the line above has said it.)
        logging = sys.modules.get("logging")
        if logging is not None:
            logging.shutdown()
        os._exit(code)
    raise SystemExit(code)


def _flush_outputs() -> bool:
    """Flush the process's own stdout and stderr; False (and one line said) if output was lost."""
    _flush_quietly()
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:  # `keys | head`: the reader left, as in main()
            pass
        except ValueError:  # closed by the command
            pass
        except OSError as exc:  # a full disk, an I/O error: the output is incomplete
            _report_lost_output(stream, exc)
            return False
    return True


if __name__ == "__main__":
    console()
