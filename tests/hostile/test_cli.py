"""Every CLI command against every hostile workspace: a finding or a clear error, nothing else.

Run in this process (``claude_health.server.cli.main`` with the workspace's environment and a
strict UTF-8 stdout) so that hundreds of cases stay fast; ``test_subprocess.py`` runs the real
console script on the same inputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.hostile.harness import (
    TALLY,
    Outcome,
    changed,
    leaked,
    run_cli_inprocess,
    snapshot,
    terminal_control,
)
from tests.hostile.inputs import CASES, Case, Hostile

STATUS_PAYLOAD = json.dumps({"model": {"display_name": "Opus"}, "rate_limits": {}}).encode()

# Human output exercises printing (escapes, encodings); JSON exercises serialisation.
COMMANDS: dict[str, list[str]] = {
    "doctor": ["doctor"],
    "auth": ["auth", "--json"],
    "settings": ["settings"],
    "keys": ["keys", "--json"],
    "tokens": ["tokens", "."],
    "tokens-glob": ["tokens", "**/*.py", "--json"],
    "limits": ["limits"],
    "usage": ["usage", "--json"],
    "usage-daily": ["usage", "daily"],
    "statusline": ["statusline"],
    "install": ["install", "--client", "claude-code", "--dry-run"],
    "install-codex": ["install", "--client", "codex", "--scope", "user", "--dry-run"],
    "rules": ["rules", "S001"],
}


def check_command(h: Hostile, case: Case, name: str) -> Outcome:
    argv = COMMANDS[name]
    before = snapshot(h.sandbox.root)
    run = run_cli_inprocess(argv, stdin=h.stdin or (STATUS_PAYLOAD if name == "statusline" else b""))
    after = snapshot(h.sandbox.root)
    outcome = Outcome(case.klass, case.name, f"cli {' '.join(argv)}", crash=run.crash)
    outcome.leaks = leaked(run.stdout + run.stderr + run.logs, h.secrets)
    outcome.lost = changed(before, after)
    if "--json" not in argv:
        outcome.unsafe = terminal_control(run.stdout + run.stderr)
    return TALLY.add(outcome)


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.klass}-{c.name}")
def test_command(
    case: Case, name: str, workspaces: Callable[[Case], Hostile], inside: Callable[[Hostile], None]
) -> None:
    h = workspaces(case)
    inside(h)
    outcome = check_command(h, case, name)
    assert outcome.ok, outcome.explain()
