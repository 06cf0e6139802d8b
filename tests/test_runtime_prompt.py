"""The `diagnose` prompt through the real MCP server, in both protocol eras."""

from __future__ import annotations

import pytest
from mcp import Client, MCPError

from claude_health.server.app import build_server
from tests.mcp_helpers import MODES


@pytest.mark.parametrize("mode", MODES)
async def test_diagnose_prompt_is_listed_and_renders(mode: str) -> None:
    async with Client(build_server(), mode=mode) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert "diagnose" in prompts
        assert {a.name for a in prompts["diagnose"].arguments or []} == {"project_dir", "symptom"}
        result = await client.get_prompt(
            "diagnose", {"project_dir": "/work/p", "symptom": "MCP server missing"}
        )
        text = result.messages[0].content.text  # type: ignore[union-attr]
        assert 'Call the `health_report` tool with project_dir="/work/p"' in text
        assert "<symptom>\nMCP server missing\n</symptom>" in text


@pytest.mark.parametrize("mode", MODES)
async def test_diagnose_prompt_without_arguments(mode: str) -> None:
    async with Client(build_server(), mode=mode) as client:
        result = await client.get_prompt("diagnose", {})
        text = result.messages[0].content.text  # type: ignore[union-attr]
        assert "Call the `health_report` tool." in text
        assert "<symptom>" not in text


async def test_diagnose_prompt_rejects_an_enormous_symptom() -> None:
    async with Client(build_server(), mode="legacy") as client:
        with pytest.raises(MCPError):
            await client.get_prompt("diagnose", {"symptom": "x" * 100_000})
