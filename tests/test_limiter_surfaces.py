"""The limiter's CLI command, doctor check and MCP tools, against a sandboxed HOME and state file."""

from __future__ import annotations

import json
import tomllib

import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.server.cli import main
from claude_health.tools.limiter.check import run_check
from claude_health.tools.limiter.core import Limiter
from tests.conftest import Sandbox
from tests.mcp_helpers import MODES


@pytest.fixture
def env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    sandbox.env["XDG_CONFIG_HOME"] = str(sandbox.home / "xdg")
    sandbox.env["CLAUDE_HEALTH_STATE_DB"] = str(sandbox.root / "state" / "limiter.db")
    for var in (
        "XDG_CACHE_HOME",
        "CLAUDE_HEALTH_LIMITER_URL",
        "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
        "ANTHROPIC_MODEL",
    ):
        monkeypatch.delenv(var, raising=False)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    return sandbox


def shared(sandbox: Sandbox) -> Limiter:
    return Limiter.open(env=sandbox.env, home=sandbox.home)


def codes(payload: dict[str, object]) -> set[str]:
    return {f["code"] for f in payload["findings"]}  # type: ignore[attr-defined,index]


def test_cli_status_and_set(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limits", "--json", "--project", str(env.project)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["limits"]["tier"] == "start" and codes(payload) == {"L006"}
    assert "not created yet" in payload["limits"]["store"]
    assert not (env.root / "state" / "limiter.db").exists()  # looking does not create the database

    assert main(["limits", "set", "--tier", "Build", "--project", str(env.project)]) == 0
    assert main(["limits", "set", "--model", "claude-opus-4-8", "--otpm", "8000"]) == 0
    written = env.home / "xdg" / "claude-health" / "limits.toml"
    assert tomllib.loads(written.read_text()) == {
        "tier": "build",
        "models": {"claude-opus-4-8": {"otpm": 8000}},
    }
    capsys.readouterr()
    assert main(["limits", "--model", "claude-opus-4-6", "--project", str(env.project)]) == 0
    out = capsys.readouterr().out
    assert "Build" in out and "8,000/8,000" in out and "fast:opus-4" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["limits", "set"],
        ["limits", "set", "--tier", "platinum"],
        ["limits", "set", "--model", "m", "--rpm", "0"],
        ["limits", "set", "--rpm", "5"],
        ["limits", "set", "--model", "../../x y", "--rpm", "5"],
        ["limits", "--model", "x" * 500],
        ["limits", "--store", "ftp://nowhere"],
    ],
)
def test_cli_usage_errors(argv: list[str], env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("claude-health limits") and "Traceback" not in err


def test_doctor_check_reports_429s_spend_limit_and_max_tokens(env: Sandbox) -> None:
    lim = shared(env)
    lim.observe_headers("claude-sonnet-4-6", {"retry-after": "20"}, status_code=429)
    lim.observe_headers("claude-sonnet-4-6", {}, status_code=429, error_code="enforced_spend_limit_reached")
    lim.close()
    settings = env.project_settings(
        {"model": "claude-opus-4-8", "env": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "500000"}}
    )
    outcome = run_check(env.workspace())
    found = {f.code: f for f in outcome.findings}
    assert set(found) == {"L001", "L002", "L003", "L006"}
    assert found["L001"].path == str(settings) and "400,000" in found["L001"].message
    assert "claude-sonnet-4-6" in found["L002"].message
    assert outcome.data["tier"] == "start" and outcome.data["store"].startswith("sqlite:///")


def test_doctor_check_reports_a_broken_override_file_and_store(env: Sandbox) -> None:
    env.write(env.home / "xdg" / "claude-health" / "limits.toml", "tier = = 1\n")
    env.env["CLAUDE_HEALTH_LIMITER_URL"] = "sqlite:///" + str(env.write("blocker", "x") / "db.sqlite")
    found = {f.code for f in run_check(env.workspace()).findings}
    assert {"L004", "L005"} <= found


async def _exercise(client: Client, env: Sandbox) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"limit_status", "check_request", "record_response"} <= set(tools)
    assert tools["limit_status"].annotations is not None and tools["limit_status"].annotations.read_only_hint
    assert tools["check_request"].output_schema is not None
    project = str(env.project)
    # A small OTPM (refills 100/s) so a kept reservation would show.
    env.write(env.home / "xdg" / "claude-health" / "limits.toml", "[models.haiku-4-5]\notpm = 6000\n")

    first = await client.call_tool(
        "check_request",
        {"model": "claude-haiku-4-5", "input_tokens": 1_000, "max_tokens": 4_000, "project_dir": project},
    )
    assert first.is_error is False and first.structured_content is not None
    data = first.structured_content
    assert (
        data["allowed"] is True and data["reserved_output_tokens"] == 4_000 and data["bucket"] == "haiku-4-5"
    )

    recorded = await client.call_tool(
        "record_response",
        {
            "model": "claude-haiku-4-5",
            "headers": {
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "49",
                "content-type": "application/json",
            },
            "usage": {"input_tokens": 900, "output_tokens": 120},
            "reserved_input_tokens": 1_000,
            "reserved_output_tokens": 4_000,
            "project_dir": project,
        },
    )
    assert recorded.is_error is False and recorded.structured_content is not None
    assert recorded.structured_content["synced_buckets"] == ["standard:rpm"]

    status = await client.call_tool(
        "limit_status", {"model": "claude-haiku-4-5-20251001", "project_dir": project}
    )
    assert status.is_error is False and status.structured_content is not None
    buckets = {b["dimension"]: b for b in status.structured_content["limits"]["classes"][0]["buckets"]}
    assert buckets["rpm"]["limit"] == 50 and buckets["rpm"]["source"] == "server headers"
    # 4,000 reserved, 120 used: the rest came back (without settling, about 2,000 would be left).
    assert buckets["otpm"]["limit"] == 6_000 and buckets["otpm"]["available"] > 5_000

    impossible = await client.call_tool(
        "check_request",
        {
            "model": "claude-haiku-4-5",
            "input_tokens": 1,
            "max_tokens": 9_000,
            "reserve": False,
            "project_dir": project,
        },
    )
    assert impossible.structured_content is not None and impossible.structured_content["impossible"] is True
    assert "max_tokens" in impossible.structured_content["message"]

    for bad in (
        {"model": "x" * 1_000, "input_tokens": 1, "max_tokens": 1},
        {"model": "bad model!", "input_tokens": 1, "max_tokens": 1},
        {"model": "m", "input_tokens": -5, "max_tokens": 1},
        {"model": "m", "input_tokens": 1, "max_tokens": 1, "endpoint": "files"},
    ):
        result = await client.call_tool("check_request", {**bad, "project_dir": project})
        assert result.is_error is True
        assert "Traceback" not in result.content[0].text  # type: ignore[union-attr]
    flood = await client.call_tool(
        "record_response",
        {"model": "m", "headers": {f"h{i}": "v" for i in range(500)}, "project_dir": project},
    )
    assert flood.is_error is True


@pytest.mark.parametrize("mode", MODES)
async def test_mcp_tools(mode: str, env: Sandbox) -> None:
    async with Client(build_server(), mode=mode) as client:
        await _exercise(client, env)
