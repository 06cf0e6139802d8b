"""The stdio server answers every request line, even one the SDK cannot parse, and keeps serving.

Driven as a real subprocess over pipes, line by line: a client waiting for an answer that never
comes is exactly the failure, so every read below has a deadline.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from claude_health.server.stdio import top_level_id
from tests.conftest import Sandbox
from tests.mcp_helpers import cli_path

DEEP = "[" * 5000 + "]" * 5000


class Wire:
    """One ``claude-health serve`` over stdio, spoken to one JSON line at a time."""

    def __init__(self, sandbox: Sandbox, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [cli_path(), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={
                **sandbox.env,
                "CLAUDE_HEALTH_WATCH": "0",
                "CLAUDE_HEALTH_LIMITER_URL": "memory://",
                **(env or {}),
            },
            cwd=sandbox.project,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw)

    def send(self, line: str | bytes) -> None:
        assert self.proc.stdin is not None
        data = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float = 30.0) -> dict[str, Any]:
        try:
            raw = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no answer within {timeout} s (the client would wait forever)")
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(json.dumps(message))
        return self.receive()

    def close(self) -> str:
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.stderr.read().decode("utf-8", "replace")


@pytest.fixture
def wire(sandbox: Sandbox) -> Iterator[Wire]:
    w = Wire(sandbox)
    hello = w.call(
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
    )
    assert hello["result"]["serverInfo"]["name"] == "claude-health"
    w.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    try:
        yield w
    finally:
        stderr = w.close()
        assert "Traceback" not in stderr, stderr[-3000:]


HOSTILE: dict[str, tuple[str, int | str | None, int]] = {
    # name: (line, the id the answer must carry, error code)
    "lone surrogate": ('{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"x":"\\ud800"}}', 7, -32700),
    "lone surrogate, string id": (
        '{"jsonrpc":"2.0","id":"a\\"b","method":"x","params":{"q":"\\udfff"}}',
        'a"b',
        -32700,
    ),
    "5,000 deep": ('{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{"a":' + DEEP + "}}", 8, -32700),
    "deep, id last": (
        '{"jsonrpc":"2.0","method":"tools/list","params":{"a":' + DEEP + '},"id":"late"}',
        "late",
        -32700,
    ),
    "deep in the arguments": (
        '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"count_tokens","arguments":{"text":'
        + DEEP
        + "}}}",
        9,
        -32700,
    ),
    "params an array": ('{"jsonrpc":"2.0","id":10,"method":"tools/list","params":[1]}', 10, -32600),
    "not json": ("garbage {", None, -32700),
    "a batch": ("[1, 2]", None, -32600),
    "truncated": ('{"jsonrpc":"2.0","id":11,"method":"tools/li', 11, -32700),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_an_unparseable_request_gets_an_error_and_the_server_goes_on(wire: Wire, name: str) -> None:
    line, request_id, code = HOSTILE[name]
    wire.send(line)
    answer = wire.receive()
    assert answer["id"] == request_id, answer
    assert answer["error"]["code"] == code, answer
    listed = wire.call({"jsonrpc": "2.0", "id": 100, "method": "tools/list"})
    assert listed["id"] == 100 and any(t["name"] == "count_tokens" for t in listed["result"]["tools"])


def test_a_stream_of_hostile_lines_is_answered_in_order(wire: Wire) -> None:
    for n, (line, request_id, code) in enumerate(HOSTILE.values()):
        wire.send(line)
        answer = wire.receive()
        assert (answer["id"], answer["error"]["code"]) == (request_id, code), (n, answer)
    wire.send(b"\xff\xfe not utf-8")  # replaced by the SDK's reader: a parse error with no id
    assert wire.receive()["error"]["code"] == -32700
    done = wire.call(
        {
            "jsonrpc": "2.0",
            "id": 5,
            "method": "tools/call",
            "params": {"name": "count_tokens", "arguments": {"text": "hi"}},
        }
    )
    assert done["id"] == 5 and done["result"]["structuredContent"]["tokens"] > 0


def test_malformed_notifications_and_responses_get_no_answer(wire: Wire) -> None:
    wire.send('{"jsonrpc":"2.0","method":"notifications/progress","params":[1]}')  # no id: a notification
    wire.send('{"jsonrpc":"2.0","id":3,"result":[1]}')  # a malformed response to nothing
    listed = wire.call({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    assert listed["id"] == 4  # the next line's answer, nothing in between


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"id": 5, "x": ' + DEEP + "}", 5),
        ('{"x": {"id": 1}, "id": "top"}', "top"),
        ('{"x": [{"id": 1}], "id": -3}', -3),
        ('{"x": "\\"id\\": 9"}', None),
        ('{"id": true}', None),
        ('{"id": 1.5}', None),
        ('{"id": 99999999999999999999999}', None),
        ("[" + DEEP, None),
        ("", None),
    ],
)
def test_top_level_id(text: str, expected: int | str | None) -> None:
    assert top_level_id(text) == expected
