"""The settings MCP tools, resources and live notifications, in both protocol eras."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.server.watcher import EFFECTIVE_URI, FINDINGS_URI
from tests.conftest import Sandbox
from tests.fakes import fake_key

MODES = ("legacy", "auto")


@pytest.fixture
def live(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The server process sees the sandbox as its own HOME, managed dir and working directory."""
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.chdir(sandbox.project)
    return sandbox


@pytest.mark.parametrize("mode", MODES)
async def test_tools_listed_with_schemas(live: Sandbox, mode: str) -> None:
    async with Client(build_server(), mode=mode) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        for name in ("validate_settings", "effective_settings", "explain_permission"):
            assert tools[name].output_schema is not None
            assert tools[name].annotations is not None and tools[name].annotations.read_only_hint is True
        resources = {str(r.uri) for r in (await c.list_resources()).resources}
        assert {FINDINGS_URI, EFFECTIVE_URI} <= resources


@pytest.mark.parametrize("mode", MODES)
async def test_validate_settings(live: Sandbox, mode: str) -> None:
    path = live.project_settings('{\n  "permissions": {"allow": ["Bash(ls"]},\n  "model": 5\n}')
    async with Client(build_server(), mode=mode) as c:
        r = await c.call_tool("validate_settings", {"project_dir": str(live.project)})
    assert not r.is_error
    data: dict[str, Any] = r.structured_content or {}
    assert set(data) >= {"files", "findings", "summary"}
    errors = [f for f in data["findings"] if f["severity"] == "error"]
    assert errors and errors[0]["path"] == str(path) and errors[0]["line"] == 3
    project_file = next(f for f in data["files"] if f["path"] == str(path))
    assert project_file["loaded"] is False


@pytest.mark.parametrize("mode", MODES)
async def test_effective_and_explain(live: Sandbox, mode: str) -> None:
    key = fake_key()
    user = live.user_settings(
        {"permissions": {"deny": ["Bash(git push *)"]}, "env": {"ANTHROPIC_API_KEY": key}}
    )
    async with Client(build_server(), mode=mode) as c:
        eff = await c.call_tool("effective_settings", {"project_dir": str(live.project)})
        exp = await c.call_tool(
            "explain_permission",
            {"tool": "Bash", "tool_input": "git push origin main", "project_dir": str(live.project)},
        )
        res = await c.read_resource(EFFECTIVE_URI)
    assert key not in json.dumps(eff.structured_content)
    assert eff.structured_content and eff.structured_content["provenance"]["permissions.deny[0]"] == str(user)
    assert exp.structured_content and exp.structured_content["decision"] == "deny"
    assert exp.structured_content["matched"][0]["path"] == str(user)
    text = res.contents[0].text  # type: ignore[union-attr]
    assert key not in text and json.loads(text)["provenance"]["permissions.deny[0]"] == str(user)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "arguments",
    [
        {"project_dir": "../../../../etc/definitely-missing"},
        {"project_dir": "/tmp/\x00evil"},
        {"project_dir": "x" * 5000},
    ],
)
async def test_hostile_project_dir(live: Sandbox, mode: str, arguments: dict[str, Any]) -> None:
    async with Client(build_server(), mode=mode) as c:
        r = await c.call_tool("validate_settings", arguments)
    assert r.is_error
    assert "Traceback" not in str(r.content)


@pytest.mark.parametrize("mode", MODES)
async def test_hostile_explain_input(live: Sandbox, mode: str) -> None:
    async with Client(build_server(), mode=mode) as c:
        huge = await c.call_tool("explain_permission", {"tool": "Bash", "tool_input": "x" * 200_000})
        odd = await c.call_tool(
            "explain_permission", {"tool": "Read", "tool_input": {"file_path": ["not", "str"]}}
        )
    assert huge.is_error and "limit" in str(huge.content)
    assert not odd.is_error


async def _edit_until(path: Path, got: anyio.Event) -> None:
    """Keep editing (each time different content) until a notification arrives.

    The directory is created by the first edit, so the watcher must also notice new directories.
    """
    for i in range(40):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"model": f"m{i}", "permissions": {"allow": [f"Bash(echo {i}"]}}))
        with anyio.move_on_after(0.5):
            await got.wait()
        if got.is_set():
            return


async def test_watcher_notifies_legacy_subscriber(live: Sandbox) -> None:
    got = anyio.Event()
    uris: list[str] = []

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            uris.append(str(message.params.uri))
            got.set()

    async with Client(build_server(), mode="legacy", message_handler=on_message) as c:
        caps = c.server_capabilities.resources
        assert caps is not None and caps.subscribe is True
        await c.session.subscribe_resource(FINDINGS_URI)
        with anyio.fail_after(30):
            await _edit_until(live.project / ".claude" / "settings.json", got)
    assert FINDINGS_URI in uris


async def test_watcher_notifies_modern_listener(live: Sandbox) -> None:
    got = anyio.Event()
    async with Client(build_server()) as c, c.listen(resource_subscriptions=[FINDINGS_URI]) as sub:

        async def consume() -> None:
            async for event in sub:
                if getattr(event, "uri", None) == FINDINGS_URI:
                    got.set()
                    return

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            with anyio.fail_after(30):
                await _edit_until(live.project / ".claude" / "settings.json", got)
            tg.cancel_scope.cancel()
    assert got.is_set()


@pytest.mark.parametrize("mode", MODES)
async def test_watcher_over_stdio_subprocess(sandbox: Sandbox, mode: str) -> None:
    """The installed `claude-health serve`, a real stdio child, notifies after a real file edit."""
    from mcp import StdioServerParameters

    from tests.mcp_helpers import cli_path

    params = StdioServerParameters(
        command=cli_path(), args=["serve"], env=sandbox.env, cwd=str(sandbox.project)
    )
    got = anyio.Event()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification) and str(message.params.uri) == FINDINGS_URI:
            got.set()

    target = sandbox.project / ".claude" / "settings.json"
    if mode == "legacy":
        async with Client(params, mode="legacy", message_handler=on_message) as c:
            await c.session.subscribe_resource(FINDINGS_URI)
            with anyio.fail_after(60):
                await _edit_until(target, got)
    else:
        async with Client(params) as c, c.listen(resource_subscriptions=[FINDINGS_URI]) as sub:

            async def consume() -> None:
                async for event in sub:
                    if getattr(event, "uri", None) == FINDINGS_URI:
                        got.set()
                        return

            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                with anyio.fail_after(60):
                    await _edit_until(target, got)
                tg.cancel_scope.cancel()
    assert got.is_set()
