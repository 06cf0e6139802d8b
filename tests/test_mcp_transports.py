"""The MCP server through three real transports, each in both protocol eras.

In memory (``Client(server)``), a stdio subprocess (the console script, as Claude Code launches
it) and streamable HTTP on 127.0.0.1. ``mode="legacy"`` speaks the 2025-11-25 ``initialize``
handshake; the default speaks 2026-07-28.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from mcp import Client, StdioServerParameters

from claude_health.server.app import build_server
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import ERA, MODES, cli_path, http_server

EXPECTED_TOOLS = {"auth_status", "health_report"}


def plant_trap(sandbox: Sandbox) -> str:
    """A Max login plus an API key in the environment: the seed billing trap."""
    sandbox.credentials(
        {"claudeAiOauth": {"accessToken": "t" * 40, "scopes": ["user:inference"], "subscriptionType": "max"}}
    )
    key = fake_key()
    sandbox.env["ANTHROPIC_API_KEY"] = key
    return key


async def exercise(client: Client, sandbox: Sandbox, key: str) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= EXPECTED_TOOLS
    for name in EXPECTED_TOOLS:
        tool = tools[name]
        assert tool.title and tool.description and len(tool.description) > 80
        assert tool.output_schema is not None
        assert {"findings", "problems"} & set(tool.output_schema["properties"])
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
        assert tool.annotations.open_world_hint is False
    assert "project_dir" in tools["auth_status"].input_schema["properties"]

    result = await client.call_tool("auth_status", {"project_dir": str(sandbox.project)})
    assert result.is_error is False
    data = result.structured_content
    assert data is not None
    assert data["auth"]["authMethod"] == "api_key"
    assert data["auth"]["billing"] == "api"
    assert "A001" in {f["code"] for f in data["findings"]}
    assert key not in json.dumps(data)
    assert all(key not in getattr(c, "text", "") for c in result.content)

    report = await client.call_tool("health_report", {"project_dir": str(sandbox.project)})
    assert report.is_error is False and report.structured_content is not None
    assert report.structured_content["billing"] == "api" and "sections" not in report.structured_content
    assert report.structured_content["summary"]["healthy"] is False
    assert report.structured_content["problems"][0]["severity"] == "error"
    full = await client.call_tool("health_report", {"project_dir": str(sandbox.project), "detail": "full"})
    assert full.structured_content is not None
    assert full.structured_content["sections"]["auth"]["billing"] == "api"
    assert key not in json.dumps(full.structured_content)

    bad = await client.call_tool("auth_status", {"project_dir": str(sandbox.root / "missing")})
    assert bad.is_error is True
    assert "not an existing directory" in bad.content[0].text  # type: ignore[union-attr]

    wrong_type = await client.call_tool("auth_status", {"project_dir": 42})
    assert wrong_type.is_error is True

    resource = await client.read_resource("health://report")
    assert json.loads(resource.contents[0].text)["summary"]  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
async def test_in_memory(mode: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    key = plant_trap(sandbox)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    async with Client(build_server(), mode=mode) as client:
        assert client.protocol_version == ERA[mode]
        assert client.server_info is not None and client.server_info.name == "claude-health"
        await exercise(client, sandbox, key)


@pytest.mark.parametrize("mode", MODES)
async def test_stdio_console_script(mode: str, sandbox: Sandbox) -> None:
    key = plant_trap(sandbox)
    params = StdioServerParameters(
        command=cli_path(), args=["serve"], env=sandbox.env, cwd=str(sandbox.project)
    )
    async with Client(params, mode=mode) as client:
        assert client.protocol_version == ERA[mode]
        assert client.server_info is not None and client.server_info.version
        await exercise(client, sandbox, key)


@pytest.mark.parametrize("mode", MODES)
async def test_streamable_http(mode: str, sandbox: Sandbox) -> None:
    key = plant_trap(sandbox)
    with http_server(sandbox.env) as (url, _proc):
        async with Client(url, mode=mode) as client:
            assert client.protocol_version == ERA[mode]
            await exercise(client, sandbox, key)


def test_stdio_stdout_carries_only_protocol(sandbox: Sandbox) -> None:
    """Even with verbose logging, every stdout line is a JSON-RPC message; logs go to stderr."""
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw-test", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "health_report", "arguments": {}},
        },
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_health.server", "serve", "-vv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **sandbox.env},
        cwd=sandbox.project,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write("".join(json.dumps(r) + "\n" for r in requests).encode())
    proc.stdin.flush()
    messages = []
    try:
        for raw in proc.stdout:  # every line must parse: nothing but protocol on stdout
            message = json.loads(raw)
            messages.append(message)
            if message.get("id") == 3:
                break
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    stderr = proc.stderr.read()
    assert all(m.get("jsonrpc") == "2.0" for m in messages)
    by_id = {m["id"]: m for m in messages if "id" in m}
    assert {1, 2, 3} <= set(by_id)
    assert by_id[3]["result"]["isError"] is False
    assert b"DEBUG" in stderr or b"INFO" in stderr
