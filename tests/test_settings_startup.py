"""The MCP server starts and answers in a project whose config files are hostile, and its settings
watcher outlives a failing first validation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import Client

from claude_health.server import watcher as W
from claude_health.server.app import build_server
from claude_health.tools.settings import rules as R
from tests.conftest import Sandbox

MODES = ("legacy", "auto")


@pytest.fixture
def live(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The server process sees the sandbox as its own HOME, managed dir and working directory."""
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv(W.WATCH_ENV, raising=False)
    monkeypatch.chdir(sandbox.project)
    return sandbox


def _hostile(sandbox: Sandbox) -> None:
    sandbox.project_settings(
        '{"hooks": {"PreToolUse": [{"hooks": [{"type": []}]}]}, "cleanupPeriodDays": ' + "9" * 5000 + "}"
    )
    sandbox.write(
        sandbox.project / ".mcp.json", '{"mcpServers": {"b": {"type": {}, "url": "https://h"}, "a": true}}'
    )
    sandbox.user_settings(
        {"deniedMcpServers": [{"serverCommand": ["npx"]}], "enableAllProjectMcpServers": True}
    )
    sandbox.claude_json({"projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}}})


@asynccontextmanager
async def subscribed(c: Client, mode: str) -> AsyncIterator[None]:
    """Subscribed to the findings resource in ``mode``'s era; the watcher starts with it."""
    if mode == "legacy":
        await c.session.subscribe_resource(W.FINDINGS_URI)
        yield
    else:
        async with c.listen(resource_subscriptions=[W.FINDINGS_URI]):
            yield


@pytest.mark.parametrize("mode", MODES)
async def test_server_answers_in_a_project_with_hostile_files(live: Sandbox, mode: str) -> None:
    _hostile(live)
    server = build_server()
    watcher: W.SettingsWatcher = server.settings_watcher  # type: ignore[attr-defined]
    async with Client(server, mode=mode) as c, subscribed(c, mode):
        assert watcher.ready.is_set()  # the subscription was acknowledged after the first validation
        names = {t.name for t in (await c.list_tools()).tools}
        result = await c.call_tool("validate_settings", {})
    assert {"validate_settings", "effective_settings", "explain_permission"} <= names
    assert not result.is_error
    data: dict[str, Any] = result.structured_content or {}
    codes = {f["code"] for f in data["findings"]}
    assert {R.INVALID_HOOK.code, R.INVALID_SERVER.code, R.WRONG_TYPE.code} <= codes
    assert set(watcher.last) == {W.FINDINGS_URI, W.EFFECTIVE_URI}  # the first snapshot succeeded


async def _edit_until(path: Path, got: anyio.Event) -> None:
    for i in range(40):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"model": f"m{i}"}))
        with anyio.move_on_after(0.5):
            await got.wait()
        if got.is_set():
            return


async def test_watcher_survives_a_failing_first_validation(
    live: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = W.snapshot
    calls: list[str | None] = []

    def flaky(project: str | None = None) -> dict[str, str]:
        calls.append(project)
        if len(calls) == 1:
            raise RuntimeError("a surprise in some config file")
        return real(project)

    monkeypatch.setattr(W, "snapshot", flaky)
    got = anyio.Event()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            got.set()

    server = build_server()
    watcher: W.SettingsWatcher = server.settings_watcher  # type: ignore[attr-defined]
    async with Client(server, mode="legacy", message_handler=on_message) as c:
        with anyio.fail_after(30):
            await c.session.subscribe_resource(W.FINDINGS_URI)
        assert watcher.last == {} and calls
        result = await c.call_tool("validate_settings", {})
        assert not result.is_error
        with anyio.fail_after(30):
            await _edit_until(live.project / ".claude" / "settings.json", got)
    assert got.is_set() and len(calls) >= 2  # still watching: the edit was re-validated and published


@pytest.mark.parametrize("mode", MODES)
async def test_a_session_that_never_subscribes_never_validates_in_the_background(
    live: Sandbox, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claude Code subscribes to no resource (it listens for list changes only, see
    tests/test_watcher_claude_code.py): the watcher must not race its first requests for the CPU."""
    calls: list[str | None] = []
    real = W.snapshot

    def counted(project: str | None = None) -> dict[str, str]:
        calls.append(project)
        return real(project)

    monkeypatch.setattr(W, "snapshot", counted)
    server = build_server()
    watcher: W.SettingsWatcher = server.settings_watcher  # type: ignore[attr-defined]
    async with Client(server, mode=mode) as c:
        await c.list_tools()
        await c.call_tool("validate_settings", {})
        if mode != "legacy":  # what Claude Code 2.1.332 opens at start-up
            async with c.listen(
                tools_list_changed=True, prompts_list_changed=True, resources_list_changed=True
            ):
                await c.list_tools()
        await anyio.sleep(0.5)
        assert calls == [] and not watcher.started
        async with subscribed(c, mode):
            assert watcher.started and len(calls) == 1  # the subscription started it, once
        async with subscribed(c, mode):
            assert len(calls) == 1


async def test_a_slow_first_validation_does_not_hang_the_subscription(
    live: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    real = W.snapshot

    def slow(project: str | None = None) -> dict[str, str]:
        time.sleep(3)  # a settings file on a stalled network mount
        return real(project)

    monkeypatch.setattr(W, "snapshot", slow)
    monkeypatch.setattr(W, "READY_TIMEOUT_S", 0.3)
    server = build_server()
    async with Client(server, mode="legacy") as c:
        started = anyio.current_time()
        with anyio.fail_after(2.5):
            await c.session.subscribe_resource(W.FINDINGS_URI)
        assert anyio.current_time() - started < 2.5
