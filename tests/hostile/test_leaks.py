"""Secrets in shapes the checks do not recognise must still never leave redacted form.

Each vector (issue 13, "Secrets") is planted alone and every surface that shows the place it
sits in is read: only a redaction layer at the output boundary catches all of them. The keys
planted in every other case of the suite are checked everywhere too (test_cli, test_mcp, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from claude_health.server.app import build_server
from tests.hostile.harness import TALLY, Outcome, as_text, leaked, run_cli_inprocess
from tests.hostile.inputs import LEAK_VECTORS, Case, Hostile

COMMANDS = [
    ["settings", "--json"],
    ["settings"],
    ["doctor", "--json"],
    ["keys", "--json"],
    ["tokens", ".", "--json"],
    ["tokens", "."],
    ["install", "--client", "claude-code", "--dry-run"],
]


def _case(name: str) -> Case:
    return Case("encoded", f"secret-{name}", LEAK_VECTORS[name])


@pytest.mark.parametrize("name", LEAK_VECTORS)
def test_cli_never_shows_the_key(
    name: str, fresh: Callable[[Case], Hostile], inside: Callable[[Hostile], None]
) -> None:
    case = _case(name)
    h = fresh(case)
    inside(h)
    outcomes = []
    for argv in COMMANDS:
        run = run_cli_inprocess(argv)
        outcome = Outcome(case.klass, case.name, f"cli {' '.join(argv)}", crash=run.crash)
        outcome.leaks = leaked(run.stdout + run.stderr + run.logs, h.secrets)
        outcomes.append(TALLY.add(outcome))
    failed = [o.explain() for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("name", LEAK_VECTORS)
async def test_mcp_never_shows_the_key(
    name: str, fresh: Callable[[Case], Hostile], inside: Callable[[Hostile], None]
) -> None:
    case = _case(name)
    h = fresh(case)
    inside(h)
    project = str(h.project)
    outcomes = []
    async with Client(build_server(), mode="auto") as client:
        reads: list[tuple[str, Callable[[], Any]]] = [
            (f"mcp tool {tool}", lambda tool=tool, args=args: client.call_tool(tool, args))
            for tool, args in (
                ("effective_settings", {"project_dir": project}),
                ("validate_settings", {"project_dir": project}),
                ("check_key_hygiene", {"project_dir": project}),
                ("count_tokens", {"project_dir": project, "paths": ["."]}),
                ("health_report", {"project_dir": project}),
            )
        ] + [
            (f"mcp resource {uri}", lambda uri=uri: client.read_resource(uri))
            for uri in ("settings://effective", "settings://findings", "health://report")
        ]
        for surface, read in reads:
            result = await read()
            shown = as_text(getattr(result, "structured_content", None)) + as_text(
                getattr(result, "content", None) or getattr(result, "contents", None)
            )
            outcome = Outcome(case.klass, case.name, surface)
            outcome.leaks = leaked(shown, h.secrets)
            outcomes.append(TALLY.add(outcome))
    failed = [o.explain() for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)
