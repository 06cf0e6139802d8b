"""A local stand-in for the Anthropic API: a real HTTP server on 127.0.0.1.

It follows the documented contract of the endpoints claude-health calls, so production code runs
unchanged with only the base URL pointed here:

- ``POST /v1/messages/count_tokens``: ``x-api-key`` (or ``Authorization: Bearer``) checked (401
  ``authentication_error``), ``anthropic-version`` required (400), bodies over the size limit
  rejected with 413 ``request_too_large`` before parsing, malformed JSON or a missing
  ``model``/``messages`` give 400 ``invalid_request_error``, otherwise ``{"input_tokens": N}``
  with N from :func:`fake_count` (deterministic, not a real tokenizer).
- ``GET /v1/models``: a one-page model list.

Every response carries ``request-id`` and ``anthropic-ratelimit-requests-*`` headers. Tests script
failures with :meth:`FakeAnthropic.enqueue` (a :class:`Reply` is served before the default
behaviour): any status/body/headers, malformed bodies, slow responses, dropped connections.
Other test modules may import it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_server import LocalServer

COUNT_TOKENS = "/v1/messages/count_tokens"
MODELS = "/v1/models"
DEFAULT_MAX_BODY = 32 * 1024 * 1024
_ids = itertools.count(1)


def error_body(etype: str, message: str, error_code: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"type": etype, "message": message}
    if error_code:
        err["details"] = {"error_code": error_code}
    return {"type": "error", "error": err, "request_id": f"req_fake_{next(_ids)}"}


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for k, v in value.items() if k not in ("type", "role", "model") for t in _texts(v)]
    return []


def fake_count(body: dict[str, Any]) -> int:
    """The fake's token count: 7 framing tokens + one token per 4 characters of every string."""
    texts = _texts(body.get("system")) + _texts(body.get("messages")) + _texts(body.get("tools"))
    return 7 + sum((len(t) + 3) // 4 for t in texts)


@dataclass
class Reply:
    """One scripted response. ``raw`` wins over ``json``; ``drop`` closes without answering."""

    status: int = 200
    json: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def error(cls, status: int, etype: str, message: str = "scripted", **headers: str) -> Reply:
        return cls(status, error_body(etype, message), headers=dict(headers))

    @classmethod
    def rate_limited(cls, **headers: str) -> Reply:
        return cls.error(
            429, "rate_limit_error", "Number of requests has exceeded your rate limit", **headers
        )

    @classmethod
    def spend_limit(cls) -> Reply:
        body = error_body(
            "rate_limit_error",
            "You have reached your monthly spend limit.",
            error_code="enforced_spend_limit_reached",
        )
        return cls(429, body)

    @classmethod
    def overloaded(cls) -> Reply:
        return cls.error(529, "overloaded_error", "Overloaded")

    @staticmethod
    def http_date(seconds_from_now: float) -> str:
        when = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
        return when.strftime("%a, %d %b %Y %H:%M:%S GMT")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeAnthropic(LocalServer):
    """``with FakeAnthropic(key) as api:`` then point the client at ``api.base_url``."""

    def __init__(self, api_key: str, *, max_body_bytes: int = DEFAULT_MAX_BODY) -> None:
        super().__init__()
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    # -- scripting --------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def _next_scripted(self) -> Reply | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def count(self, path: str = COUNT_TOKENS) -> int:
        return sum(1 for r in self.requests if r.path.split("?")[0] == path)

    # -- the documented behaviour -------------------------------------------------------------

    def default_reply(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        route = path.split("?")[0]
        if route not in (COUNT_TOKENS, MODELS):
            return Reply.error(404, "not_found_error", f"Not found: {route}")
        key = headers.get("x-api-key")
        bearer = headers.get("authorization", "")
        if key != self.api_key and bearer != f"Bearer {self.api_key}":
            return Reply.error(401, "authentication_error", "invalid x-api-key")
        if "anthropic-version" not in headers:
            return Reply.error(400, "invalid_request_error", "anthropic-version: header is required")
        if route == MODELS:
            if method != "GET":
                return Reply.error(405, "invalid_request_error", "method not allowed")
            data = [
                {"type": "model", "id": m, "display_name": m} for m in ("claude-opus-5", "claude-sonnet-4-6")
            ]
            return Reply(
                200, {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
            )
        if method != "POST":
            return Reply.error(405, "invalid_request_error", "method not allowed")
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return Reply.error(400, "invalid_request_error", "request body is not valid JSON")
        if not isinstance(parsed, dict):
            return Reply.error(400, "invalid_request_error", "request body must be an object")
        if not isinstance(parsed.get("model"), str):
            return Reply.error(400, "invalid_request_error", "model: Field required")
        if not isinstance(parsed.get("messages"), list):
            return Reply.error(400, "invalid_request_error", "messages: Field required")
        return Reply(200, {"input_tokens": fake_count(parsed)})


def _handler_for(api: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def _serve(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            length = int(headers.get("content-length") or 0)
            if length > api.max_body_bytes:
                # The real edge rejects before reading the body (Cloudflare 413).
                api.record(Recorded(self.command, self.path, headers, b""))
                self._answer(
                    Reply.error(413, "request_too_large", "Request exceeds the maximum allowed size")
                )
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            api.record(Recorded(self.command, self.path, headers, body))
            reply = api._next_scripted() or api.default_reply(self.command, self.path, headers, body)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._answer(reply)

        def _answer(self, reply: Reply) -> None:
            payload = reply.raw if reply.raw is not None else json.dumps(reply.json).encode()
            try:
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.send_header("request-id", f"req_fake_{next(_ids)}")
                self.send_header("anthropic-ratelimit-requests-limit", "2000")
                self.send_header("anthropic-ratelimit-requests-remaining", "1999")
                reset = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
                self.send_header("anthropic-ratelimit-requests-reset", reset)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and went away

        do_POST = _serve
        do_GET = _serve

    return Handler
