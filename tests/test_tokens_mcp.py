"""The count_tokens and context_budget MCP tools, in memory, in both protocol eras."""

from __future__ import annotations

import pytest
from mcp import Client

from claude_health.server.app import build_server
from tests.conftest import Sandbox
from tests.fake_anthropic import FakeAnthropic
from tests.fakes import fake_key
from tests.mcp_helpers import MODES


@pytest.fixture
def offline(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(sandbox.home))
    monkeypatch.setenv("CLAUDE_HEALTH_STATE_DB", str(sandbox.root / "state.db"))
    monkeypatch.setenv("CLAUDE_HEALTH_LIMITER_URL", "memory://")
    monkeypatch.setenv("CLAUDE_HEALTH_MANAGED_DIR", str(sandbox.managed))
    return sandbox


@pytest.mark.parametrize("mode", MODES)
async def test_tools_are_listed_with_schemas(mode: str, offline: Sandbox) -> None:
    async with Client(build_server(), mode=mode) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
    count = tools["count_tokens"]
    assert count.output_schema is not None and "error_band" in count.output_schema["properties"]
    assert count.annotations is not None and count.annotations.read_only_hint is True
    assert set(count.input_schema["properties"]) >= {
        "text",
        "paths",
        "request",
        "model",
        "mode",
        "project_dir",
    }
    budget = tools["context_budget"]
    assert budget.annotations is not None and budget.annotations.open_world_hint is False


@pytest.mark.parametrize("mode", MODES)
async def test_count_text_offline(mode: str, offline: Sandbox) -> None:
    async with Client(build_server(), mode=mode) as c:
        r = await c.call_tool("count_tokens", {"text": "Hello, Claude", "model": "claude-opus-4-7"})
    assert r.is_error is False
    out = r.structured_content
    assert out is not None and out["method"] == "estimate" and out["family"] == "v2"
    assert out["error_band"][0] <= out["tokens"] <= out["error_band"][1]


@pytest.mark.parametrize("mode", MODES)
async def test_count_paths_confined_to_the_project(mode: str, offline: Sandbox) -> None:
    offline.write(offline.project / "notes.md", "Some project notes.")
    offline.write(offline.root / "secret.txt", "outside")
    args = {
        "paths": ["notes.md", "../secret.txt", "/etc/passwd"],
        "project_dir": str(offline.project),
        "mode": "estimate",
    }
    async with Client(build_server(), mode=mode) as c:
        r = await c.call_tool("count_tokens", args)
    assert r.is_error is False
    out = r.structured_content
    assert out is not None
    assert [f["path"] for f in out["files"]] == ["notes.md"]
    assert sum("outside the project" in n for n in out["notes"]) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_count_request(mode: str, offline: Sandbox) -> None:
    req = {"messages": [{"role": "user", "content": "Hi"}], "system": "Be brief."}
    async with Client(build_server(), mode=mode) as c:
        r = await c.call_tool("count_tokens", {"request": req, "model": "claude-haiku-4-5"})
    assert r.is_error is False
    assert r.structured_content is not None and set(r.structured_content["parts"]) == {
        "framing",
        "system",
        "messages",
    }


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"text": "a", "paths": ["b"]},
        {"request": {"messages": []}},
        {"paths": ["-"]},
        {"paths": []},
        {"text": "x", "mode": "exact"},
        {"text": "x", "project_dir": "/definitely/not/here"},
        {"text": "x", "mode": "sideways"},
    ],
)
async def test_bad_arguments_are_tool_errors(args: dict[str, object], offline: Sandbox) -> None:
    async with Client(build_server(), mode="auto") as c:
        r = await c.call_tool("count_tokens", args)
    assert r.is_error is True
    assert "Traceback" not in r.content[0].text  # type: ignore[union-attr]


async def test_exact_through_the_fake_api(offline: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    key = fake_key("api_key")
    with FakeAnthropic(key) as api:
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        async with Client(build_server(), mode="auto") as c:
            r = await c.call_tool("count_tokens", {"text": "count me exactly"})
        assert api.count() == 2
    assert r.structured_content is not None and r.structured_content["method"] == "exact"
    assert key not in str(r.structured_content)


@pytest.mark.parametrize("mode", MODES)
async def test_context_budget(mode: str, offline: Sandbox) -> None:
    offline.write(offline.project / "CLAUDE.md", "Conventions. @docs/more.md @nothing/here.md")
    offline.write(offline.project / "docs" / "more.md", "More conventions.")
    async with Client(build_server(), mode=mode) as c:
        r = await c.call_tool("context_budget", {"project_dir": str(offline.project)})
    assert r.is_error is False
    out = r.structured_content
    assert out is not None and out["tokens"] > 0
    assert {i["kind"] for i in out["items"]} == {"project", "import"}
    assert [f["code"] for f in out["findings"]] == ["T002"]
