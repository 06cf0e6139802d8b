"""The output boundary: nothing leaves a claude-health process with a full key in it.

Every check redacts what it reports; this layer catches what a check missed. It wraps the CLI's
stdout and stderr (so every ``write``, ``print``, JSON and SARIF dump, traceback and log line is
scrubbed), formats log records through the scrubber, and scrubs every MCP result, resource,
prompt and error (``structuredContent`` and text alike) in a server middleware. The scrubber is
:func:`claude_health.tools.redact.scrub`; see its docstring for what it recognises.

Text is scrubbed a line at a time: a key never spans a newline, and holding back the unfinished
line means a key written in two pieces is still seen whole.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from typing import Any, BinaryIO, TextIO

from claude_health.tools.redact import register_secret, scrub, scrub_bytes, scrub_value

# Longest unfinished line held back before it is written anyway (a key is far shorter).
_MAX_PENDING = 64 * 1024
# The credentials the user's environment holds: claude-health may send them, so an echo of one
# in any shape (a gateway's error body, a response header) is removed exactly.
CREDENTIAL_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
# Methods whose results carry claude-health's own data (tool results, resources, prompts).
_SCRUBBED_METHODS = frozenset({"tools/call", "resources/read", "prompts/get"})


class _RedactingBuffer(io.RawIOBase):
    """The ``.buffer`` of a redacting stream: bytes written straight to it are scrubbed too."""

    def __init__(self, owner: RedactingStream, inner: BinaryIO) -> None:
        super().__init__()
        self._owner = owner
        self._inner = inner

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._owner.flush_pending()
        raw = bytes(data)
        self._inner.write(scrub_bytes(raw))
        return len(raw)

    def flush(self) -> None:
        self._inner.flush()

    def fileno(self) -> int:
        return self._inner.fileno()


class RedactingStream(io.TextIOBase):
    """A text stream that scrubs every complete line before it reaches ``inner``."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self._inner = inner
        self._pending = ""
        raw = getattr(inner, "buffer", None)
        self.buffer = _RedactingBuffer(self, raw) if raw is not None else None

    @property
    def inner(self) -> TextIO:
        return self._inner

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8") or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._inner, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    def write(self, text: str) -> int:
        data = self._pending + text
        cut = data.rfind("\n") + 1
        if cut == 0 and len(data) < _MAX_PENDING:
            self._pending = data
            return len(text)
        if cut == 0:
            cut = len(data)
        self._pending = data[cut:]
        self._inner.write(scrub(data[:cut]))
        return len(text)

    def flush_pending(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self._inner.write(scrub(pending))

    def flush(self) -> None:
        self.flush_pending()
        self._inner.flush()


class RedactingFormatter(logging.Formatter):
    """Formats a record (message, arguments, traceback, stack) and scrubs the result."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def register_environment_credentials(env: Any = None) -> None:
    values = os.environ if env is None else env
    for name in CREDENTIAL_VARIABLES:
        value = values.get(name)
        if value:
            register_secret(value)


def protect_process_output(*, stdout: bool = True) -> None:
    """Route the process's stdout (unless it carries the MCP protocol) and stderr through the
    scrubber, and remember the environment's credentials. Idempotent."""
    register_environment_credentials()
    if stdout and sys.stdout is not None and not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if sys.stderr is not None and not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)


def configure_logging(level: int, fmt: str) -> None:
    """Every log line goes to stderr through :class:`RedactingFormatter`. Wire-level HTTP traces
    (httpcore dumps raw response headers at DEBUG) are never logged."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(fmt))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("httpcore").setLevel(max(level, logging.INFO))


class RedactingMiddleware:
    """MCP server middleware: every result of a tool call, resource read or prompt, and every
    error, scrubbed (``structuredContent`` and text content alike)."""

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        from mcp.shared.exceptions import MCPError
        from pydantic import BaseModel

        try:
            result = await call_next(ctx)
        except MCPError as exc:
            message = scrub(exc.error.message)
            data = scrub_value(exc.error.data)
            if message == exc.error.message and data == exc.error.data:
                raise
            raise MCPError(code=exc.error.code, message=message, data=data) from None
        if ctx.method not in _SCRUBBED_METHODS or result is None:
            return result
        if isinstance(result, BaseModel):
            payload: Any = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        elif isinstance(result, dict):
            payload = result
        else:
            return result
        cleaned = scrub_value(payload)
        return result if cleaned == payload else cleaned
