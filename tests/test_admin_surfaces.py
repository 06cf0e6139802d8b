"""The Admin API from the CLI and the MCP tools: only when asked, never showing the key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.server.cli import main
from claude_health.tools.limiter.check import run_check
from claude_health.tools.limiter.orglimits import org_limits_path
from tests.conftest import Sandbox
from tests.fake_admin import FakeAdmin
from tests.fakes import fake_key


@pytest.fixture
def admin_key() -> str:
    return fake_key("admin_key")


@pytest.fixture
def admin(sandbox: Sandbox, admin_key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAdmin]:
    with FakeAdmin(admin_key) as fake:
        sandbox.env.update(
            XDG_CONFIG_HOME=str(sandbox.home / "xdg"),
            CLAUDE_HEALTH_STATE_DB=str(sandbox.root / "state" / "limiter.db"),
            ANTHROPIC_ADMIN_KEY=admin_key,
            CLAUDE_HEALTH_ADMIN_BASE_URL=fake.base_url,
        )
        for var in ("XDG_CACHE_HOME", "CLAUDE_HEALTH_LIMITER_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_MODEL"):
            monkeypatch.delenv(var, raising=False)
        for name, value in sandbox.env.items():
            monkeypatch.setenv(name, value)
        yield fake


def test_limits_sync_from_the_cli(
    sandbox: Sandbox, admin: FakeAdmin, admin_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["limits", "--sync", "--json", "--project", str(sandbox.project)]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert admin_key not in captured.out + captured.err
    assert payload["admin"]["groups"][0]["display_name"] == "Claude Opus 4.x"
    assert payload["limits"]["org_limits"].startswith("admin api (fetched ")
    opus = next(c for c in payload["limits"]["classes"] if c["bucket"] == "opus-4")
    assert opus["buckets"][0]["limit"] == 4_000 and opus["buckets"][0]["source"].startswith("admin api")
    assert "L006" not in {f["code"] for f in payload["findings"]}  # the tier guess no longer matters

    assert main(["limits", "--sync", "--workspace", "wrkspc_alpha", "--project", str(sandbox.project)]) == 0
    text = capsys.readouterr().out
    assert "Admin API: 4 rate-limit groups for workspace wrkspc_alpha" in text
    assert "RPM 100" in text and "workspace Alpha overrides: Claude Opus 4.x" in text
    assert admin_key not in text


def test_cli_usage_errors_for_the_admin_flags(
    sandbox: Sandbox, admin: FakeAdmin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["limits", "--workspace", "wrkspc_alpha"]) == 2
    assert "--workspace needs --sync" in capsys.readouterr().err
    assert main(["limits", "--sync", "--workspace", "a b"]) == 2
    assert "workspace ID" in capsys.readouterr().err
    assert main(["usage", "daily", "--api"]) == 2
    regular = fake_key("api_key")
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", regular)
    assert main(["limits", "--sync"]) == 2
    err = capsys.readouterr().err
    assert "not an Admin API key" in err and regular not in err
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY")
    assert main(["usage", "--api"]) == 2
    assert "No Admin API key" in capsys.readouterr().err
    assert not admin.requests


def test_usage_api_from_the_cli(
    sandbox: Sandbox, admin: FakeAdmin, admin_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["usage", "--api", "--json", "--project", str(sandbox.project)])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert admin_key not in captured.out + captured.err
    cents = sum(Decimal(r["amount"]) for day in admin.org.cost.values() for r in day)
    assert report["cost"]["total_usd"] == pytest.approx(float(cents / 100))
    assert report["usage"]["totals"]["output_tokens"] == 550 * len(admin.org.usage)
    assert report["claude_code"]["totals"]["sessions"] == 4 * len(admin.org.claude_code)
    assert report["spend"]["limit_usd"] == 500 and report["missing"] == []
    assert code == (1 if report["findings"] else 0)  # O003 only if the pace so far projects past $500
    assert main(["usage", "--api", "--project", str(sandbox.project)]) in (0, 1)
    text = capsys.readouterr().out
    assert (
        "Organisation," in text and "Cost: $" in text and "Claude Code:" in text and "dev@example.com" in text
    )


def test_nothing_is_sent_unless_asked(sandbox: Sandbox, admin: FakeAdmin) -> None:
    for argv in (["limits"], ["limits", "--json"], ["usage"], ["keys", "--json"], ["doctor", "--json"]):
        main([*argv, "--project", str(sandbox.project)])
    assert admin.requests == []


def test_stale_or_broken_org_limits_are_l007(sandbox: Sandbox, admin: FakeAdmin) -> None:
    assert main(["limits", "--sync", "--json", "--project", str(sandbox.project)]) == 0
    ws = sandbox.workspace()
    assert "L007" not in {f.code for f in run_check(ws).findings}
    path = org_limits_path(sandbox.env, sandbox.home)
    data = json.loads(path.read_text())
    data["fetched_at"] = (datetime.now(UTC) - timedelta(days=45)).isoformat()
    path.write_text(json.dumps(data))
    [stale] = [f for f in run_check(ws).findings if f.code == "L007"]
    assert stale.severity == "info" and "45 days ago" in stale.message
    path.write_text("{not json")
    [broken] = [f for f in run_check(ws).findings if f.code == "L007"]
    assert broken.severity == "warning" and "not valid JSON" in broken.message


async def test_mcp_tools_fetch_only_with_the_explicit_argument(
    sandbox: Sandbox, admin: FakeAdmin, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = str(sandbox.project)
    async with Client(build_server()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "admin_sync" in tools["limit_status"].input_schema["properties"]
        assert "admin_api" in tools["plan_usage"].input_schema["properties"]
        plain = await client.call_tool("limit_status", {"project_dir": project})
        assert plain.is_error is False and plain.structured_content is not None
        assert "admin" not in plain.structured_content and admin.requests == []  # unset fields are left out

        synced = await client.call_tool("limit_status", {"admin_sync": True, "project_dir": project})
        assert synced.is_error is False and synced.structured_content is not None
        assert synced.structured_content["admin"]["seeded"]
        assert synced.structured_content["limits"]["org_limits"].startswith("admin api")

        usage = await client.call_tool("plan_usage", {"admin_api": True, "project_dir": project})
        assert usage.is_error is False and usage.structured_content is not None
        org = usage.structured_content["organization"]
        assert org["cost"]["total_usd"] > 0 and org["claude_code"]["days"] == datetime.now(UTC).day
        everything = json.dumps(
            [plain.structured_content, synced.structured_content, usage.structured_content]
        )
        assert admin_key not in everything

        bad = await client.call_tool("limit_status", {"workspace": "wrkspc_alpha", "project_dir": project})
        assert bad.is_error is True and "admin_sync" in bad.content[0].text  # type: ignore[union-attr]
        monkeypatch.delenv("ANTHROPIC_ADMIN_KEY")
        nokey = await client.call_tool("plan_usage", {"admin_api": True, "project_dir": project})
        assert nokey.is_error is True
        assert "No Admin API key" in nokey.content[0].text  # type: ignore[union-attr]
        assert "Traceback" not in nokey.content[0].text  # type: ignore[union-attr]
