"""The real console script on a hostile workspace of each class: the process boundary itself
(interpreter start-up, logging set-up, real pipes) holds the same contract as in-process runs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.hostile.harness import TALLY, Outcome, changed, leaked, snapshot, terminal_control
from tests.hostile.inputs import CASES, Case, Hostile
from tests.mcp_helpers import cli_path

SAMPLE = ("wrong-types", "giant-files", "deep-json", "control-characters", "special-files")
COMMANDS = {
    "doctor": ["doctor"],
    "keys": ["keys"],
    "tokens": ["tokens", "."],
    "usage": ["usage", "daily"],
    "statusline": ["statusline"],
    "install": ["install", "--client", "cursor", "--dry-run"],
}
ONCE = {  # the cheap ones, on one workspace
    "auth": ["auth"],
    "settings": ["settings", "--json"],
    "limits": ["limits", "--json"],
    "rules": ["rules"],
}


def run(h: Hostile, case: Case, argv: list[str]) -> Outcome:
    before = snapshot(h.sandbox.root)
    done = subprocess.run(
        [cli_path(), *argv],
        env={**h.sandbox.env, "CLAUDE_HEALTH_WATCH": "0", **h.env},
        cwd=h.project,
        input=h.stdin or b"{}",
        capture_output=True,
        timeout=300,
        check=False,
    )
    out = done.stdout.decode("utf-8", "backslashreplace") + done.stderr.decode("utf-8", "backslashreplace")
    outcome = Outcome(case.klass, case.name, f"process {' '.join(argv)}")
    if done.returncode not in (0, 1, 2):
        outcome.crash = f"exit code {done.returncode}: {out[-1500:]}"
    elif "Traceback (most recent call last)" in out:
        outcome.crash = out[-3000:]
    outcome.leaks = leaked(out, h.secrets)
    outcome.lost = changed(before, snapshot(h.sandbox.root))
    if "--json" not in argv:
        outcome.unsafe = terminal_control(out)
    return TALLY.add(outcome)


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("case", [c for c in CASES if c.name in SAMPLE], ids=lambda c: f"{c.klass}-{c.name}")
def test_console_script(case: Case, name: str, workspaces: Callable[[Case], Hostile]) -> None:
    outcome = run(workspaces(case), case, COMMANDS[name])
    assert outcome.ok, outcome.explain()


@pytest.mark.parametrize("name", ONCE)
def test_console_script_once(name: str, workspaces: Callable[[Case], Hostile]) -> None:
    case = next(c for c in CASES if c.name == "control-characters")
    outcome = run(workspaces(case), case, ONCE[name])
    assert outcome.ok, outcome.explain()
