"""The IDE backend over real HTTP: token, Host/Origin (DNS rebinding), body cap, /healthz, shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from claude_health.server.http import HttpConfigError, HttpSettings, is_loopback
from tests.conftest import Sandbox
from tests.mcp_helpers import ERA, INITIALIZE, MCP_HEADERS, MODES, cli_path, free_port, http_server

TOKEN = "t0k3n-" + "x" * 26
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - the tests check that such a bind is refused


# -- configuration -------------------------------------------------------------------------------


def test_non_loopback_without_token_is_refused() -> None:
    with pytest.raises(HttpConfigError, match="without a bearer token"):
        HttpSettings.resolve(ALL_INTERFACES, 8765, None, env={})
    with pytest.raises(HttpConfigError, match="without a bearer token"):
        HttpSettings.resolve("192.168.1.20", 8765, "", env={})


def test_token_comes_from_the_environment_and_must_be_long_enough() -> None:
    settings = HttpSettings.resolve(ALL_INTERFACES, 8765, None, env={"CLAUDE_HEALTH_TOKEN": TOKEN})
    assert settings.token == TOKEN
    assert settings.check_hosts is False  # wildcard bind: the names are unknown, the token guards it
    with pytest.raises(HttpConfigError, match="at least 16 characters"):
        HttpSettings.resolve("127.0.0.1", 8765, "short", env={})


def test_loopback_needs_no_token_and_checks_hosts() -> None:
    settings = HttpSettings.resolve("127.0.0.1", 9000, None, env={})
    assert settings.token is None and settings.check_hosts
    assert "127.0.0.1:9000" in settings.allowed_hosts()
    assert "http://localhost:9000" in settings.allowed_origins()
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback(ALL_INTERFACES)


def test_cli_refuses_a_public_bind_without_token(sandbox: Sandbox) -> None:
    env = {**os.environ, **sandbox.env}
    env.pop("CLAUDE_HEALTH_TOKEN", None)
    proc = subprocess.run(
        [cli_path(), "serve", "--transport", "http", "--host", ALL_INTERFACES, "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "without a bearer token" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_busy_port_is_one_line_and_exit_3(sandbox: Sandbox) -> None:
    """Another process holds the port: one sentence naming it and what to do, exit 3, nothing else."""
    import socket

    env = {**os.environ, **sandbox.env}
    env.pop("CLAUDE_HEALTH_TOKEN", None)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = subprocess.run(
            [cli_path(), "serve", "--transport", "http", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr == (
        f"claude-health serve: cannot listen on 127.0.0.1:{port}: the port is already in use (another "
        "`claude-health serve --transport http`?); stop that server or choose another port with --port\n"
    )


# -- a real server ------------------------------------------------------------------------------


@pytest.fixture
def secured(sandbox: Sandbox) -> Iterator[str]:
    with http_server({**sandbox.env, "CLAUDE_HEALTH_TOKEN": TOKEN}) as (url, _proc):
        yield url


def post(url: str, headers: dict[str, str], body: bytes | None = None) -> httpx.Response:
    return httpx.post(
        url, headers={**MCP_HEADERS, **headers}, content=body or json.dumps(INITIALIZE).encode()
    )


def test_healthz_answers_without_a_token(secured: str) -> None:
    response = httpx.get(secured.replace("/mcp", "/healthz"))
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_missing_and_wrong_tokens_get_401(secured: str) -> None:
    missing = post(secured, {})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert post(secured, {"Authorization": "Bearer " + "y" * 32}).status_code == 401
    assert post(secured, {"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert post(secured, {"Authorization": f"Bearer {TOKEN}x"}).status_code == 401
    ok = post(secured, {"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200, ok.text
    assert TOKEN not in missing.text


def test_dns_rebinding_host_and_origin_are_rejected(secured: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    port = secured.split(":")[2].split("/")[0]
    assert post(secured, {**auth, "Host": f"evil.example:{port}"}).status_code == 421
    assert post(secured, {**auth, "Host": "127.0.0.1:1"}).status_code == 421
    assert post(secured, {**auth, "Origin": "http://evil.example"}).status_code == 403
    assert post(secured, {**auth, "Origin": f"http://localhost:{port}"}).status_code == 200
    assert httpx.get(secured.replace("/mcp", "/healthz"), headers={"Host": "evil.example"}).status_code == 421


def test_oversized_bodies_are_refused(secured: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    big = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + b"a" * (2 * 1024 * 1024) + b'"}}'
    assert post(secured, auth, big).status_code == 413

    def chunks() -> Iterator[bytes]:
        yield big[: 1024 * 1024]
        yield big[1024 * 1024 :]

    streamed = httpx.post(secured, headers={**MCP_HEADERS, **auth}, content=chunks())
    assert streamed.status_code == 413


@pytest.mark.parametrize("mode", MODES)
async def test_mcp_client_through_the_token(secured: str, mode: str) -> None:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    async with http, Client(streamable_http_client(secured, http_client=http), mode=mode) as client:
        assert client.protocol_version == ERA[mode]
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "auth_status" in tools
        result = await client.call_tool("auth_status", {})
        assert not result.is_error


async def test_mcp_client_without_the_token_fails(secured: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the SDK surfaces the 401 as its own error types
        async with Client(secured, mode="legacy") as client:
            await client.list_tools()


def test_graceful_shutdown_on_sigterm(sandbox: Sandbox) -> None:
    with http_server(sandbox.env) as (url, proc):
        assert httpx.get(url.replace("/mcp", "/healthz")).status_code == 200
        proc.send_signal(signal.SIGTERM)
        # uvicorn drains, runs the lifespan exit, then re-raises the signal (the POSIX convention)
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert proc.stderr is not None
        assert b"claude-health: HTTP server stopped" in proc.stderr.read()
