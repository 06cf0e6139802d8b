"""A local Messages API for real Claude Code sessions, and a proxy that refuses to go anywhere.

Claude Code 2.1.332 only calls ``POST /v1/messages?beta=true`` with ``"stream": true``. This
server answers it with a server-sent event stream (the whole stream at once, with a
Content-Length) built from what a scripted "model" decides after reading the request body.
Every request is recorded (headers and parsed body) so a test can assert what reached the
model: hook output and tool results arrive inside ``messages[]``.

Optional response headers imitate the plan's unified rate limits
(``anthropic-ratelimit-unified-5h-utilization`` and friends), which is how Claude Code fills the
status line's ``rate_limits`` under subscription auth. A scripted error (a 429 with those
headers) makes a session stop on a rate limit.

:class:`RefusingProxy` is what ``HTTPS_PROXY``/``HTTP_PROXY`` point at during these tests: it
records and refuses every request, so any traffic meant for the outside world is both blocked
and visible to the test.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_server import LocalServer

MESSAGES = "/v1/messages"
_ids = itertools.count(1)


# -- what the model answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class ToolUse:
    name: str
    input: dict[str, Any]
    id: str = field(default_factory=lambda: f"toolu_fake_{next(_ids):04d}")


Block = Text | ToolUse
Model = Callable[["Request"], list[Block]]


@dataclass
class Failure:
    """A scripted error response instead of a stream (e.g. a rate limit)."""

    status: int
    etype: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


# -- what Claude Code sent -------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        value = self.body.get("messages")
        return value if isinstance(value, list) else []

    @property
    def tool_names(self) -> list[str]:
        tools = self.body.get("tools")
        return [t.get("name", "") for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []

    def texts(self) -> list[str]:
        """Every text of every message (system-role injections included), in order."""
        out: list[str] = []
        for message in self.messages:
            out.extend(_texts(message.get("content")))
        return out

    def all_text(self) -> str:
        return "\n".join(self.texts())

    def last_user_text(self) -> str:
        """The text the user typed last (not Claude Code's own injected context)."""
        for message in reversed(self.messages):
            if message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                texts = [
                    b.get("text", "")
                    for b in content
                    if isinstance(b, dict) and b.get("type") == "text" and not _injected(b.get("text", ""))
                ]
                if any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
                    return ""
                if texts:
                    return texts[-1]
        return ""

    def last_tool_result(self) -> dict[str, Any] | None:
        """The newest ``tool_result`` block, or None when the last user turn carries none."""
        for message in reversed(self.messages):
            content = message.get("content")
            if message.get("role") != "user" or not isinstance(content, list):
                continue
            results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
            if results:
                return results[-1]
            if any(
                isinstance(b, dict) and b.get("type") == "text" and not _injected(b.get("text", ""))
                for b in content
            ):
                return None
        return None

    def tool_result_text(self) -> str:
        result = self.last_tool_result()
        return "\n".join(_texts(result.get("content"))) if result else ""


def _injected(text: str) -> bool:
    """Claude Code's own additions in user turns (reminders, hook context)."""
    return text.lstrip().startswith("<system-reminder>")


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return [value["text"]]
        if "content" in value:
            return _texts(value["content"])
    return []


def say(text: str) -> Model:
    """A model that always answers ``text``."""
    return lambda _request: [Text(text)]


TOOL_COMMAND = "echo hi"


def bash_once(command: str = TOOL_COMMAND) -> Model:
    """A model that asks once for a Bash call and ends the turn after its result, so a session
    exercises what settings control: hooks around the call and the rules that allow or deny it."""

    def model(request: Request) -> list[Block]:
        if request.last_tool_result() is not None or not request.tool_names:
            return [Text("done")]
        return [ToolUse("Bash", {"command": command, "description": "say hi"})]

    return model


# -- the server ------------------------------------------------------------------------------------


def unified_headers(
    five_hour: tuple[float, int] | None, seven_day: tuple[float, int] | None
) -> dict[str, str]:
    """The plan's unified rate-limit headers: utilisation as a fraction, reset in epoch seconds."""
    headers = {"anthropic-ratelimit-unified-status": "allowed"}
    for label, window in (("5h", five_hour), ("7d", seven_day)):
        if window is not None:
            headers[f"anthropic-ratelimit-unified-{label}-utilization"] = f"{window[0]:g}"
            headers[f"anthropic-ratelimit-unified-{label}-reset"] = str(int(window[1]))
    return headers


class FakeMessages(LocalServer):
    """``with FakeMessages(model) as api:`` then ``ANTHROPIC_BASE_URL=api.base_url``."""

    def __init__(self, model: Model | None = None) -> None:
        super().__init__()
        self.model: Model = model or say("ok")
        self.requests: list[Request] = []
        self.headers: dict[str, str] = {}  # sent with every response (e.g. unified_headers(...))
        self.failures: list[Failure] = []  # served, in order, instead of the next streams
        self._lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def answered(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def _take_failure(self) -> Failure | None:
        with self._lock:
            return self.failures.pop(0) if self.failures else None

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def sse(blocks: list[Block], model: str) -> bytes:
    """One complete Messages stream for ``blocks``."""
    events: list[tuple[str, dict[str, Any]]] = []
    message = {
        "id": f"msg_fake_{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 100,
            "output_tokens": 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    events.append(("message_start", {"type": "message_start", "message": message}))
    events.append(("ping", {"type": "ping"}))
    for index, block in enumerate(blocks):
        if isinstance(block, Text):
            start: dict[str, Any] = {"type": "text", "text": ""}
            delta: dict[str, Any] = {"type": "text_delta", "text": block.text}
        else:
            start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block.input)}
        events.append(
            ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
        )
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    stop = "tool_use" if any(isinstance(b, ToolUse) for b in blocks) else "end_turn"
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 20},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def _handler(api: FakeMessages) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            length = int(headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            request = Request(self.path, headers, body if isinstance(body, dict) else {})
            api._record(request)
            if self.path.split("?")[0] != MESSAGES:
                self._send(404, "application/json", _error("not_found_error", self.path), {})
                return
            failure = api._take_failure()
            if failure is not None:
                self._send(
                    failure.status,
                    "application/json",
                    _error(failure.etype, failure.message),
                    {**api.headers, **failure.headers},
                )
                return
            try:
                blocks = api.model(request)
            except Exception as exc:  # a broken script must show up as a visible answer, not a hang
                blocks = [Text(f"fake model error: {type(exc).__name__}: {exc}")]
            payload = sse(blocks, str(request.body.get("model", "claude-fake")))
            self._send(200, "text/event-stream", payload, api.headers)

        def do_GET(self) -> None:
            api._record(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, {}))
            self._send(404, "application/json", _error("not_found_error", self.path), {})

        def _send(self, status: int, ctype: str, payload: bytes, extra: dict[str, str]) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(payload)))
                self.send_header("request-id", f"req_fake_{next(_ids)}")
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

    return Handler


def _error(etype: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": etype, "message": message}}).encode()


# -- no traffic leaves ------------------------------------------------------------------------------


class RefusingProxy:
    """An HTTP(S) proxy on 127.0.0.1 that answers 403 to everything and remembers what was asked."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def __enter__(self) -> RefusingProxy:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    @property
    def url(self) -> str:
        assert self._sock is not None
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def env(self) -> dict[str, str]:
        """Proxy variables for a child process: everything but loopback goes here."""
        return {
            "HTTPS_PROXY": self.url,
            "HTTP_PROXY": self.url,
            "https_proxy": self.url,
            "http_proxy": self.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def seen(self) -> list[str]:
        with self._lock:
            return list(self.attempts)

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._refuse, args=(conn,), daemon=True).start()

    def _refuse(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            with contextlib.suppress(OSError):
                while b"\r\n" not in data and len(data) < 8192:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            line = data.split(b"\r\n", 1)[0].decode("latin-1", "replace")
            with self._lock:
                self.attempts.append(line)
            with contextlib.suppress(OSError):
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")


@contextlib.contextmanager
def offline(model: Model | None = None) -> Iterator[tuple[FakeMessages, RefusingProxy]]:
    """A fake Messages API plus a refusing proxy, both stopped on exit."""
    with FakeMessages(model) as api, RefusingProxy() as proxy:
        yield api, proxy
