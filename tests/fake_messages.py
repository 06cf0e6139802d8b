"""A scripted Messages API on 127.0.0.1 for real `claude -p` sessions (streaming only).

Claude Code calls only ``POST /v1/messages`` with ``"stream": true`` (see
../shared/notes/claude-code-sessions.md). The "model" here asks once for a Bash tool call
(``echo hi``) and ends the turn after the tool result, so a session exercises what settings
control: SessionStart/PreToolUse/PostToolUse/Stop hooks, and the permission rules that allow
or deny that call (reported as ``permission_denials`` by ``--output-format json``).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOOL_COMMAND = "echo hi"


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _stream(block: dict[str, Any], stop_reason: str) -> bytes:
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": "claude-fake",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    if block["type"] == "text":
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    return b"".join(
        [
            _event("message_start", {"type": "message_start", "message": message}),
            _event(
                "content_block_start", {"type": "content_block_start", "index": 0, "content_block": start}
            ),
            _event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
            _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": 5},
                },
            ),
            _event("message_stop", {"type": "message_stop"}),
        ]
    )


def _reply(body: dict[str, Any]) -> bytes:
    turns = [m for m in body.get("messages", []) if m.get("role") != "system"]
    content = turns[-1].get("content") if turns else None
    answered = isinstance(content, list) and any(
        isinstance(c, dict) and c.get("type") == "tool_result" for c in content
    )
    if answered or not body.get("tools"):
        return _stream({"type": "text", "text": "done"}, "end_turn")
    call = {"command": TOOL_COMMAND, "description": "say hi"}
    return _stream({"type": "tool_use", "id": "toolu_fake", "name": "Bash", "input": call}, "tool_use")


class FakeMessages:
    """``with FakeMessages() as api:`` then point ANTHROPIC_BASE_URL at ``api.base_url``."""

    def __init__(self) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                outer.requests += 1
                data = _reply(body if isinstance(body, dict) else {})
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeMessages:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
