"""K014: an Admin API key where a regular API key belongs (Claude Code's env, project files)."""

from __future__ import annotations

import json

import pytest

from claude_health.server.cli import main
from claude_health.tools.findings import Finding, Severity
from claude_health.tools.keys.report import scan_keys
from tests.conftest import Sandbox
from tests.fakes import fake_key


def k014(sandbox: Sandbox) -> list[Finding]:
    return [f for f in scan_keys(sandbox.workspace()).findings if f.code == "K014"]


def test_admin_key_as_anthropic_api_key_in_the_shell(sandbox: Sandbox) -> None:
    admin = fake_key("admin_key")
    sandbox.env["ANTHROPIC_API_KEY"] = admin
    [f] = k014(sandbox)
    assert f.severity is Severity.ERROR and f.kind == "admin_key"
    assert "ANTHROPIC_API_KEY in Claude Code's environment (from environment)" in f.message
    assert admin not in f.message and f.redacted == "sk-ant-admin01-…" + admin[-4:]


def test_admin_key_in_user_settings_env_names_the_file(sandbox: Sandbox) -> None:
    path = sandbox.user_settings({"env": {"ANTHROPIC_AUTH_TOKEN": fake_key("admin_key")}})
    [f] = k014(sandbox)
    assert "ANTHROPIC_AUTH_TOKEN" in f.message and f.path == str(path)


def test_admin_key_in_project_files(sandbox: Sandbox) -> None:
    admin = fake_key("admin_key")
    sandbox.project_settings({"env": {"ANTHROPIC_API_KEY": admin}})
    sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "billing": {"command": "x", "env": {"VENDOR_API_KEY": admin}},
                "remote": {"type": "http", "url": "https://x.example", "headers": {"x-api-key": admin}},
            }
        },
    )
    sandbox.write(sandbox.project / ".env", f"# local\nexport ANTHROPIC_API_KEY={admin}\nOTHER=1\n")
    found = k014(sandbox)
    where = sorted(f.message.split(" holds")[0] for f in found)
    assert where == [
        "ANTHROPIC_API_KEY in .env",
        "env ANTHROPIC_API_KEY of settings.json",
        "env VENDOR_API_KEY of MCP server 'billing' in .mcp.json",
        "header x-api-key of MCP server 'remote' in .mcp.json",
    ]
    env_file = next(f for f in found if f.message.startswith("ANTHROPIC_API_KEY in .env"))
    assert env_file.line == 2
    assert all(admin not in json.dumps(f.to_json()) for f in found)


def test_regular_keys_and_admin_keys_elsewhere_are_not_k014(sandbox: Sandbox) -> None:
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key("api_key")
    sandbox.env["ANTHROPIC_ADMIN_KEY"] = fake_key("admin_key")  # its own variable: K004, not K014
    sandbox.write(sandbox.project / ".env", f"ANTHROPIC_ADMIN_KEY={fake_key('admin_key')}\n")
    assert k014(sandbox) == []


def test_the_keys_command_reports_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = fake_key("admin_key")
    for name, value in {**sandbox.env, "ANTHROPIC_API_KEY": admin}.items():
        monkeypatch.setenv(name, value)
    code = main(["keys", "--json", "--project", str(sandbox.project)])
    out = capsys.readouterr().out
    assert code == 1 and admin not in out
    assert "K014" in {f["code"] for f in json.loads(out)["findings"]}
