"""The stdio server, as a client launches it, in hostile workspaces: every tool and resource is
answered over the real pipe, hostile request lines in between, and the server keeps serving."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.hostile.harness import TALLY, Outcome, changed, leaked, snapshot
from tests.hostile.inputs import CASES, Case, Hostile
from tests.hostile.test_mcp import tool_calls
from tests.test_stdio_hostile import HOSTILE, Wire

STDIO_CASES = ("control-characters", "special-files", "deep-json")


def _answer(wire: Wire, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    wire.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
    answer = wire.receive(timeout=120)
    assert answer.get("id") == request_id, answer
    return answer


@pytest.mark.parametrize("case", [c for c in CASES if c.name in STDIO_CASES], ids=lambda c: c.name)
def test_stdio_server_in_a_hostile_workspace(case: Case, workspaces: Callable[[Case], Hostile]) -> None:
    h = workspaces(case)
    before = snapshot(h.sandbox.root)
    wire = Wire(h.sandbox, env=h.env)
    outcomes: list[Outcome] = []
    try:
        hello = _answer(
            wire,
            0,
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        )
        assert hello["result"]["serverInfo"]["name"] == "claude-health"
        wire.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        lines = iter(HOSTILE.values())
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("tools/call", name, {"name": name, "arguments": args})
            for name, args in tool_calls(str(h.project)).items()
        ]
        uris = [r["uri"] for r in _answer(wire, 1, "resources/list", {})["result"]["resources"]]
        calls += [("resources/read", uri, {"uri": uri}) for uri in uris]
        for n, (method, name, params) in enumerate(calls, start=10):
            answer = _answer(wire, n, method, params)
            outcome = Outcome(case.klass, case.name, f"stdio {method} {name}")
            text = json.dumps(answer)
            if "error" in answer and answer["error"].get("code") == -32603:
                outcome.crash = f"internal error: {answer['error']}"
            elif answer.get("result", {}).get("isError"):
                said = " ".join(c.get("text", "") for c in answer["result"].get("content", []))
                if said.strip() == f"Error executing tool {name}" or "Traceback" in said:
                    outcome.crash = f"unexpected exception: {said[:300]}"
            outcome.leaks = leaked(text, h.secrets)
            outcomes.append(TALLY.add(outcome))
            line, request_id, code = next(lines, (None, None, None))
            if line is not None:  # a hostile line between two calls: answered, and nothing else breaks
                wire.send(line)
                bad = wire.receive()
                assert (bad["id"], bad["error"]["code"]) == (request_id, code)
    finally:
        stderr = wire.close()
    last = Outcome(case.klass, case.name, "stdio server shutdown")
    if "Traceback" in stderr:
        last.crash = stderr[-3000:]
    last.leaks = leaked(stderr, h.secrets)
    last.lost = changed(before, snapshot(h.sandbox.root))
    outcomes.append(TALLY.add(last))
    failed = [o.explain() for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)
