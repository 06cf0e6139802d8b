"""HTTP sessions are capped and expire when idle, through a real server and real HTTP."""

from __future__ import annotations

import json
import subprocess
import time

import httpx
import pytest
from mcp import Client

from claude_health.server.http import (
    DEFAULT_MAX_SESSIONS,
    DEFAULT_SESSION_IDLE,
    HttpConfigError,
    HttpSettings,
)
from tests.conftest import Sandbox
from tests.mcp_helpers import INITIALIZE, MCP_HEADERS, cli_path, free_port, http_server

PING = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"}).encode()


def open_session(url: str) -> httpx.Response:
    """A legacy-era initialize without a session id: what opens a session."""
    return httpx.post(url, headers=MCP_HEADERS, content=json.dumps(INITIALIZE).encode(), timeout=30)


def ping(url: str, session: str) -> int:
    headers = {**MCP_HEADERS, "Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-11-25"}
    return httpx.post(url, headers=headers, content=PING, timeout=30).status_code


def test_defaults_and_configuration() -> None:
    settings = HttpSettings.resolve("127.0.0.1", 8765, None, env={})
    assert (settings.max_sessions, settings.session_idle) == (DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE)
    env = {"CLAUDE_HEALTH_HTTP_MAX_SESSIONS": "7", "CLAUDE_HEALTH_HTTP_SESSION_IDLE": "2.5"}
    settings = HttpSettings.resolve("127.0.0.1", 8765, None, env=env)
    assert (settings.max_sessions, settings.session_idle) == (7, 2.5)
    settings = HttpSettings.resolve("127.0.0.1", 8765, None, env=env, max_sessions=3, session_idle=9)
    assert (settings.max_sessions, settings.session_idle) == (3, 9)
    for bad in ({"CLAUDE_HEALTH_HTTP_MAX_SESSIONS": "many"}, {"CLAUDE_HEALTH_HTTP_SESSION_IDLE": "nan"}):
        with pytest.raises(HttpConfigError):
            HttpSettings.resolve("127.0.0.1", 8765, None, env=bad)
    with pytest.raises(HttpConfigError, match="--max-sessions"):
        HttpSettings.resolve("127.0.0.1", 8765, None, env={}, max_sessions=0)


def test_bad_limits_on_the_command_line_are_usage_errors(sandbox: Sandbox) -> None:
    for option in (("--max-sessions", "0"), ("--session-idle", "-1"), ("--session-idle", "inf")):
        done = subprocess.run(
            [cli_path(), "serve", "--transport", "http", "--port", str(free_port()), *option],
            env=sandbox.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2 and option[0] in done.stderr and "Traceback" not in done.stderr


def test_sessions_are_capped(sandbox: Sandbox) -> None:
    with http_server(sandbox.env, "--max-sessions", "3") as (url, _proc):
        opened = [open_session(url) for _ in range(3)]
        assert [r.status_code for r in opened] == [200, 200, 200]
        refused = open_session(url)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["message"] == "Too many open sessions"
        # the sessions already open keep working
        assert all(ping(url, r.headers["mcp-session-id"]) == 200 for r in opened)
        # ending one (DELETE, as a polite client does) makes room
        first = opened[0].headers["mcp-session-id"]
        gone = httpx.delete(
            url, headers={**MCP_HEADERS, "Mcp-Session-Id": first, "Mcp-Protocol-Version": "2025-11-25"}
        )
        assert gone.status_code == 200
        assert open_session(url).status_code == 200


def test_idle_sessions_expire_and_free_their_place(sandbox: Sandbox) -> None:
    with http_server(sandbox.env, "--max-sessions", "1", "--session-idle", "1") as (url, _proc):
        abandoned = open_session(url).headers["mcp-session-id"]
        # Touching a session keeps it alive, so only new sessions are asked for (a refused one
        # touches nothing) until the abandoned one makes room. No timing is asserted.
        deadline = time.monotonic() + 60
        while (answer := open_session(url)).status_code != 200:
            assert answer.status_code == 503, answer.text
            assert time.monotonic() < deadline, "idle sessions never expired"
            time.sleep(0.5)
        assert ping(url, abandoned) == 404  # its client is told to initialize again


async def test_a_real_client_still_works_under_the_limits(sandbox: Sandbox) -> None:
    with http_server(sandbox.env, "--max-sessions", "1", "--session-idle", "30") as (url, _proc):
        for _ in range(3):  # each client ends its session on exit, so the single place is reused
            async with Client(url, mode="legacy") as client:
                assert "auth_status" in {t.name for t in (await client.list_tools()).tools}
