"""Every MCP tool, resource and prompt against every hostile workspace, and hostile arguments.

In memory (``mcp.Client(server)``), alternating protocol eras by case. A result that hides an
unexpected exception ("Error executing tool NAME" with no message), a traceback in a result or
in the logs, or a server that does not answer the next request is a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from claude_health.server.app import build_server
from tests.hostile.harness import (
    TALLY,
    Outcome,
    as_text,
    captured_logs,
    changed,
    leaked,
    snapshot,
    tool_crash,
)
from tests.hostile.inputs import CASES, Case, Hostile

MODEL = "claude-opus-4-6"


def tool_calls(project: str) -> dict[str, dict[str, Any]]:
    """Each tool with arguments that make it read the whole (hostile) workspace."""
    return {
        "auth_status": {"project_dir": project},
        "health_report": {"project_dir": project},
        "check_key_hygiene": {"project_dir": project, "history": True},
        "limit_status": {"project_dir": project, "model": MODEL},
        "check_request": {"project_dir": project, "model": MODEL, "input_tokens": 100, "max_tokens": 100},
        "record_response": {
            "project_dir": project,
            "model": MODEL,
            "headers": {"retry-after": "1e999", "anthropic-ratelimit-requests-limit": "-5"},
            "status_code": 429,
        },
        "validate_settings": {"project_dir": project},
        "effective_settings": {"project_dir": project},
        "explain_permission": {"project_dir": project, "tool": "Bash", "tool_input": {"command": "rm -rf /"}},
        "count_tokens": {"project_dir": project, "paths": [".", "**/*"]},
        "context_budget": {"project_dir": project},
        "plan_usage": {"project_dir": project, "window": "block"},
    }


async def _answers(client: Client) -> str | None:
    """None when the server still answers; otherwise why not."""
    try:
        with anyio.fail_after(60):  # (ping is gone from the 2026-07-28 era)
            tools = await client.list_tools()
    except Exception as exc:  # any failure here is the finding
        return f"the server did not answer the next request: {exc!r}"
    return None if tools.tools else "the server listed no tools"


async def _surface(
    client: Client, h: Hostile, case: Case, surface: str, call: Callable[[], Any], name: str
) -> Outcome:
    outcome = Outcome(case.klass, case.name, surface)
    before = snapshot(h.sandbox.root)
    with captured_logs() as logs:
        try:
            with anyio.fail_after(120):
                result = await call()
        except Exception as exc:  # a protocol error is a clear error, unless bare
            text = str(exc)
            result = None
            if "Traceback" in text or not text.strip():
                outcome.crash = f"{surface}: {exc!r}"
    outcome.crash = outcome.crash or (tool_crash(name, result) if result is not None else None)
    if outcome.crash is None and logs.tracebacks:
        outcome.crash = "logged with a traceback: " + "; ".join(logs.tracebacks)
    if outcome.crash is None:
        outcome.crash = await _answers(client)
    shown = as_text(getattr(result, "structured_content", None)) + as_text(getattr(result, "content", None))
    shown += as_text(getattr(result, "contents", None)) + as_text(getattr(result, "messages", None))
    outcome.leaks = leaked(shown + "\n".join(logs.lines), h.secrets)
    outcome.lost = changed(before, snapshot(h.sandbox.root))
    return TALLY.add(outcome)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.klass}-{c.name}")
async def test_every_tool_resource_and_prompt(
    case: Case, workspaces: Callable[[Case], Hostile], inside: Callable[[Hostile], None]
) -> None:
    h = workspaces(case)
    inside(h)
    mode = ("auto", "legacy")[CASES.index(case) % 2]
    outcomes: list[Outcome] = []
    async with Client(build_server(), mode=mode) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        calls = tool_calls(str(h.project))
        assert listed == set(calls), f"a tool is not covered by the suite: {listed ^ set(calls)}"
        for name, args in calls.items():

            async def call(name: str = name, args: dict[str, Any] = args) -> Any:
                return await client.call_tool(name, args)

            outcomes.append(await _surface(client, h, case, f"mcp tool {name}", call, name))
        for resource in (await client.list_resources()).resources:
            uri = str(resource.uri)

            async def read(uri: str = uri) -> Any:
                return await client.read_resource(uri)

            outcomes.append(await _surface(client, h, case, f"mcp resource {uri}", read, uri))

        async def prompt() -> Any:
            return await client.get_prompt("diagnose", {"project_dir": str(h.project), "symptom": "\x1b[2J"})

        outcomes.append(await _surface(client, h, case, "mcp prompt diagnose", prompt, "diagnose"))
    failed = [o.explain() for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)


# -- hostile arguments (malformed class), with hypothesis -------------------------------------------

JUNK = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=50),
        st.sampled_from(
            ["", "\x00", "\x1b[2J", "\ud800", "../../../etc/passwd", "/", "~", "x" * 5000, "**/*"]
        ),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def deep_dict(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


def _argument_sets(project: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    names = sorted(tool_calls(project))

    def args_for(name: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        base = tool_calls(project)[name]
        keys = [*base, "request", "text", "paths", "tool_input", "headers", "usage", "window", "only"]
        values = st.one_of(JUNK, st.just(deep_dict(150)), st.just(project))
        return st.dictionaries(st.sampled_from(keys), values, max_size=5).map(
            lambda extra: (name, {**base, **extra})
        )

    return st.sampled_from(names).flatmap(args_for)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_tool_arguments(
    data: st.DataObject, workspaces: Callable[[Case], Hostile], inside: Callable[[Hostile], None]
) -> None:
    case = next(c for c in CASES if c.name == "wrong-types")
    h = workspaces(case)
    inside(h)
    name, args = data.draw(_argument_sets(str(h.project)))
    hostile = Case("malformed", "tool-arguments", case.build)

    async def run() -> Outcome:
        async with Client(build_server(), mode="auto") as client:

            async def call() -> Any:
                return await client.call_tool(name, args)

            return await _surface(client, h, hostile, f"mcp tool {name} {as_text(args)[:200]}", call, name)

    outcome = anyio.run(run)
    assert outcome.ok, outcome.explain()


DEEP_ARGUMENTS = {
    "explain_permission": {"tool": "Bash", "tool_input": "DEEP"},
    "count_tokens": {"request": "DEEP"},
    "record_response": {"model": MODEL, "headers": "DEEP"},
    "health_report": {"only": "DEEP"},
}


@pytest.mark.parametrize("name", DEEP_ARGUMENTS)
async def test_arguments_nested_thousands_deep(
    name: str, workspaces: Callable[[Case], Hostile], inside: Callable[[Hostile], None]
) -> None:
    case = next(c for c in CASES if c.name == "wrong-types")
    h = workspaces(case)
    inside(h)
    args = {k: (deep_dict(3000) if v == "DEEP" else v) for k, v in DEEP_ARGUMENTS[name].items()}
    hostile = Case("deep", "tool-arguments", case.build)
    async with Client(build_server(), mode="auto") as client:

        async def call() -> Any:
            return await client.call_tool(name, {**args, "project_dir": str(h.project)})

        outcome = await _surface(client, h, hostile, f"mcp tool {name} (3,000-deep argument)", call, name)
    assert outcome.ok, outcome.explain()
