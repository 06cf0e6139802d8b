"""``claude-health statusline``: the command for Claude Code's ``statusLine`` setting.

Reads the JSON Claude Code pipes on stdin, stores the official plan percentages, prints one
line and always exits 0 (a failing status line command is shown as an error in Claude Code).
Only the standard library and :mod:`claude_health.tools.usage.statusline` are imported here,
because this runs on every status line refresh.
"""

from __future__ import annotations

import os
import sys
import time

# Not typing.TYPE_CHECKING: argparse and typing at run time cost a quarter of the status line's
# time budget. Type checkers honour this name too.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

FALLBACK_LINE = "claude-health: no usage data"
WRAP_TIMEOUT_S = 10.0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "statusline",
        help="status line command for Claude Code (reads its JSON on stdin)",
        description="Print one compact status line (plan 5-hour and 7-day %, time to reset, "
        "burn rate, context %, session cost) from the JSON Claude Code pipes on stdin, and "
        "remember the official percentages for `claude-health usage` and the MCP tools. "
        "Configure it with `claude-health install --statusline`.",
    )
    parser.add_argument(
        "--wrap",
        metavar="COMMAND",
        default=None,
        help="record the percentages, then run this status line command with the same input "
        "and print its output instead (keeps a status line you already had)",
    )
    parser.set_defaults(func=run)


def _read_stdin() -> bytes:
    stream = sys.stdin
    if stream is None or stream.isatty():
        return b""
    try:
        return stream.buffer.read(1024 * 1024 + 1)
    except (OSError, ValueError, AttributeError):
        return b""


def _run_wrapped(command: str, data: bytes) -> str | None:
    import subprocess

    try:
        # The user's own status line command, run through the shell exactly as Claude Code would.
        done = subprocess.run(  # noqa: S602
            command, shell=True, input=data, capture_output=True, timeout=WRAP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.decode("utf-8", "replace").rstrip("\n")
    return text or None


def render_line(data: bytes, wrap: str | None) -> str:
    try:
        from claude_health.tools.usage.statusline import statusline

        env = dict(os.environ)
        home = env.get("HOME") or env.get("USERPROFILE") or os.path.expanduser("~")
        line = statusline(data, env, home, time.time())
    except Exception:  # never fail loudly
        line = FALLBACK_LINE
    if wrap:
        wrapped = _run_wrapped(wrap, data)
        if wrapped is not None:
            # The wrapped command may echo the payload: keep its colours, drop every other escape.
            from claude_health.tools.terminal import keep_colours

            return keep_colours(wrapped)
    return line


def run(args: argparse.Namespace | None = None) -> int:
    wrap = getattr(args, "wrap", None) if args is not None else None
    return _print(render_line(_read_stdin(), wrap))


# Substrings without which the line cannot hold a credential (see tools/redact.py): the scrubber
# is imported only for a line that has one, so a normal refresh pays nothing for it.
_SCRUB_HINTS = ("sk-", "\\", "gh", "github_pat_", "glpat-", "xox", "AKIA", "AIza")


def _print(line: str) -> int:
    if any(hint in line for hint in _SCRUB_HINTS):
        from claude_health.tools.redact import scrub

        line = scrub(line)
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point that skips building the whole CLI parser.

    For ``python -m claude_health.server.commands.statusline`` and for a fast path in
    ``claude-health``'s ``main`` (``argv[0] == "statusline"``): the full parser imports every
    subcommand, which costs more than the status line's whole budget.
    """
    return _print(render_line(_read_stdin(), _wrap_option(sys.argv[1:] if argv is None else argv)))


def _wrap_option(argv: list[str]) -> str | None:
    """``--wrap COMMAND`` or ``--wrap=COMMAND`` (the last wins); anything else is ignored.

    Parsed by hand: this is the only option, and argparse costs 10 ms a refresh.
    """
    wrap = None
    args = iter(argv)
    for arg in args:
        if arg == "--wrap":
            wrap = next(args, None)
        elif arg.startswith("--wrap="):
            wrap = arg.partition("=")[2]
    return wrap or None


if __name__ == "__main__":
    raise SystemExit(main())
