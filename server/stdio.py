"""The stdio transport, with an answer for every request line the SDK cannot parse.

The mcp SDK's stdio reader validates each line with pydantic and, when that fails (a lone
surrogate escape such as ``"\\ud800"``, nesting deeper than its JSON parser takes, a request of
the wrong shape), hands the exception to the server, which only logs it: the client never hears
back and waits forever. Here a screen sits between the SDK's reader and the server and turns
each such line into a JSON-RPC error, with the request's id whenever it can be recovered:
-32700 (parse error) for a line that is not usable JSON, -32600 (invalid request) for JSON that
is not a valid message. The server then reads the next line as usual.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

logger = logging.getLogger(__name__)

# Strings (with escapes) and JSON's structural characters: enough to find the top-level "id".
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]', re.DOTALL)
_NUMBER = re.compile(r"\s*(-?\d{1,18})\s*[,}]")
_STRING = re.compile(r'\s*("(?:[^"\\]|\\.)*")', re.DOTALL)

RequestId = int | str


def _valid_id(value: Any) -> RequestId | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return value


def top_level_id(text: str) -> RequestId | None:
    """The ``id`` member of the outermost JSON object in ``text``, found without parsing the rest.

    Used for lines a parser refused (too deep, invalid escapes), so it only tokenises: strings and
    brackets, tracking depth; numbers and literals are read only where the id's value is.
    """
    depth = 0
    key_next = False
    after_id = False
    for match in _TOKEN.finditer(text):
        lexeme = match.group(0)
        if lexeme in "{[":
            depth += 1
            key_next = depth == 1 and lexeme == "{"
        elif lexeme in "}]":
            depth -= 1
            if depth <= 0:
                return None
        elif lexeme == ",":
            key_next = depth == 1
        elif lexeme == ":":
            if after_id:
                rest = text[match.end() :]
                number = _NUMBER.match(rest)
                if number:
                    return int(number.group(1))
                string = _STRING.match(rest)
                if string:
                    try:
                        return _valid_id(json.loads(string.group(1)))
                    except ValueError:
                        return None
                return None
        elif key_next:  # a key of the outermost object
            after_id = lexeme == '"id"'
            key_next = False
    return None


def _recover(line: str, said: str) -> tuple[RequestId | None, str]:
    """The request id in a line the SDK refused, and why it was refused."""
    try:
        value = json.loads(line)  # Python's parser takes lone surrogates and deeper nesting
    except (ValueError, RecursionError):
        return top_level_id(line), said
    request_id = _valid_id(value.get("id")) if isinstance(value, dict) else None
    if "escape" in said or "surrogate" in said:
        said = "a string holds a lone surrogate escape (such as \\ud800), which is not Unicode"
    return request_id, said


def error_reply(exc: Exception) -> JSONRPCError | None:
    """The JSON-RPC error that answers the line behind ``exc``; None when nothing should be sent."""
    if not isinstance(exc, ValidationError):
        return None
    errors = exc.errors(include_url=False)
    if not errors:
        return None
    raw = errors[0].get("input")
    if errors[0].get("type") == "json_invalid" and isinstance(raw, str | bytes | bytearray):
        line = raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else raw
        # pydantic's words, e.g. "Invalid JSON: recursion limit exceeded at line 1 column 283"
        request_id, why = _recover(line, str(errors[0].get("msg", "invalid JSON")))
        return JSONRPCError(
            jsonrpc="2.0", id=request_id, error=ErrorData(code=PARSE_ERROR, message=f"Parse error: {why}")
        )
    # Each error carries the value at its location; a missing field's is the whole message.
    whole = next(
        (e["input"] for e in errors if isinstance(e.get("input"), dict) and "jsonrpc" in e["input"]), raw
    )
    if isinstance(whole, dict):
        raw = whole
        if "method" not in raw:  # a malformed response or a stray object: answering would not help
            return None
        request_id = _valid_id(raw.get("id"))
        if request_id is None:  # a malformed notification gets no answer (JSON-RPC 2.0, section 4.1)
            return None
        where = ", ".join(".".join(str(p) for p in e.get("loc", ())) or "message" for e in errors[:3])
        return JSONRPCError(
            jsonrpc="2.0",
            id=request_id,
            error=ErrorData(code=INVALID_REQUEST, message=f"Invalid request: not a valid message ({where})"),
        )
    return JSONRPCError(
        jsonrpc="2.0",
        id=None,
        error=ErrorData(code=INVALID_REQUEST, message="Invalid request: expected one JSON-RPC object"),
    )


async def _screen(
    source: Any,
    sink: MemoryObjectSendStream[SessionMessage | Exception],
    replies: Any,
) -> None:
    """Pass messages on; answer what the SDK could not parse instead of dropping it."""
    async with sink:
        async for item in source:
            if isinstance(item, Exception):
                reply = error_reply(item)
                if reply is not None:
                    logger.info("answered an unreadable request line: %s", reply.error.message)
                    await replies.send(SessionMessage(reply))
                    continue
            await sink.send(item)


async def run_stdio(server: MCPServer) -> None:
    """What ``MCPServer.run("stdio")`` does, with :func:`_screen` between the reader and the server."""
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_screen, read_stream, send, write_stream)
            await lowlevel.run(receive, write_stream, lowlevel.create_initialization_options())
