"""``claude-health hook EVENT``: the command Claude Code runs for each guard hook.

Reads the hook JSON on stdin and prints JSON for Claude Code, or nothing. It never blocks or
fails a session: whatever happens inside (an exception, a locked file, a run over the time
budget) it exits 0 with nothing printed, and the problem goes to ``guard.log`` in claude-health's
state directory. Like the status line, it skips the CLI parser and imports only what the event
needs: SessionStart and UserPromptSubmit run before every session and every prompt.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    import argparse
    from typing import Any

MAX_INPUT_BYTES = 1024 * 1024
# Seconds before a run gives up quietly; `install --hooks` sets Claude Code's own timeout above it.
BUDGET_S = {"SessionStart": 8.0, "UserPromptSubmit": 3.0, "ConfigChange": 8.0, "StopFailure": 5.0}
DEFAULT_BUDGET_S = 3.0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    from claude_health.tools.guard.dispatch import EVENTS

    parser = sub.add_parser(
        "hook",
        help="run one Claude Code hook event (reads its JSON on stdin)",
        description="The command `claude-health install --hooks` adds to Claude Code: warn at session "
        "start when the session bills differently from the plan login or a setting is broken, alert "
        "when plan usage crosses a threshold, warn when an edit makes Claude Code drop a settings file, "
        "record plan limits hit. Always exits 0; problems go to guard.log.",
    )
    parser.add_argument("event", choices=EVENTS, help="the hook event Claude Code fires")
    parser.set_defaults(func=run)


class _OverBudget(Exception):
    """The run took longer than its budget."""


def _read_stdin() -> bytes:
    stream = sys.stdin
    if stream is None or stream.isatty():
        return b""
    try:
        return stream.buffer.read(MAX_INPUT_BYTES + 1)
    except (OSError, ValueError, AttributeError):
        return b""


def _alarm(seconds: float) -> bool:
    """Raise :class:`_OverBudget` after ``seconds`` (POSIX); False where that is not possible."""
    try:
        import signal

        def over(signum: int, frame: object) -> None:
            raise _OverBudget(f"over the {seconds:g} s budget")

        signal.signal(signal.SIGALRM, over)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        return True
    except (ImportError, AttributeError, ValueError, OSError):
        return False


def _disarm() -> None:
    try:
        import signal

        signal.setitimer(signal.ITIMER_REAL, 0)
    except (ImportError, AttributeError, ValueError, OSError):
        pass


def execute(event: str, env: dict[str, str], home: str) -> str | None:
    """The text to print, or None; every failure is logged and swallowed."""
    started = time.time()
    armed = _alarm(BUDGET_S.get(event, DEFAULT_BUDGET_S))
    try:
        from claude_health.tools.guard.dispatch import handle

        return handle(event, _read_stdin(), env, home, started)
    except BaseException as exc:  # a hook must never fail the session, whatever happened
        if armed:
            _disarm()
        _record_failure(event, env, home, exc)
        return None
    finally:
        if armed:
            _disarm()


def _record_failure(event: str, env: dict[str, str], home: str, exc: BaseException) -> None:
    try:
        import traceback

        from claude_health.tools.guard.state import connect, log_problem, record_run

        detail = f"{type(exc).__name__}: {exc}"
        where = "".join(traceback.format_exception(exc, limit=-3)).strip()
        log_problem(env, home, event, f"{detail} | {where}")
        conn = connect(env, home)
        try:
            record_run(conn, event, False, detail)
        finally:
            conn.close()
    except BaseException:  # noqa: S110 - nothing may escape a hook
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point that skips the CLI parser (``claude-health hook EVENT`` is on the hot path)."""
    args = sys.argv[1:] if argv is None else argv
    event = args[0] if args else ""
    env = dict(os.environ)
    home = env.get("HOME") or env.get("USERPROFILE") or os.path.expanduser("~")
    try:
        out = execute(event, env, home)
    except BaseException:  # the budget alarm firing at the last moment, at worst: still exit 0
        out = None
    if out:
        try:
            sys.stdout.write(out + "\n")
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
    return 0


def run(args: argparse.Namespace) -> int:
    return main([args.event])


if __name__ == "__main__":
    raise SystemExit(main())
