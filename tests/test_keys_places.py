"""Each place a credential should not be, outside the project tree, and committed config."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from claude_health.tools.findings import Finding, Severity
from claude_health.tools.keys.report import scan_keys
from tests.conftest import Sandbox
from tests.fakes import fake_key

FUTURE_MS = int((time.time() + 86_400) * 1000)


def by_code(sandbox: Sandbox, code: str) -> list[Finding]:
    return [f for f in scan_keys(sandbox.workspace()).findings if f.code == code]


def max_login(sandbox: Sandbox, plan: str = "max") -> None:
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": fake_key("oauth_access_token"),
                "refreshToken": fake_key("oauth_refresh_token"),
                "expiresAt": FUTURE_MS,
                "scopes": ["user:inference"],
                "subscriptionType": plan,
            }
        }
    )
    (sandbox.home / ".claude" / ".credentials.json").chmod(0o600)


def test_clean_sandbox_has_no_findings(sandbox: Sandbox) -> None:
    report = scan_keys(sandbox.workspace())
    assert report.findings == []
    assert report.stats.in_git is False


# -- environment --------------------------------------------------------------------------------


def test_key_in_process_environment(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.env["MYAPP_ANTHROPIC_KEY"] = key
    [f] = by_code(sandbox, "K004")
    assert f.kind == "api_key" and f.severity is Severity.WARNING
    assert "MYAPP_ANTHROPIC_KEY" in f.message and f.redacted == "sk-ant-api03-…" + key[-4:]


def test_admin_key_in_environment_is_an_error(sandbox: Sandbox) -> None:
    sandbox.env["ANTHROPIC_ADMIN_KEY"] = fake_key("admin_key")
    [f] = by_code(sandbox, "K004")
    assert f.kind == "admin_key" and f.severity is Severity.ERROR


@pytest.mark.parametrize("plan", ["max", "pro"])
def test_api_key_in_environment_of_a_subscriber(sandbox: Sandbox, plan: str) -> None:
    max_login(sandbox, plan)
    key = fake_key()
    sandbox.env["ANTHROPIC_API_KEY"] = key
    findings = scan_keys(sandbox.workspace()).findings
    [f] = [f for f in findings if f.code == "K005"]
    assert f.severity is Severity.ERROR and plan in f.message and f.kind == "api_key"
    assert not [f for f in findings if f.code == "K004"]  # one finding per variable


def test_api_key_without_subscription_is_not_k005(sandbox: Sandbox) -> None:
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    assert by_code(sandbox, "K005") == []
    assert len(by_code(sandbox, "K004")) == 1


def test_key_in_user_settings_env_of_a_subscriber(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.user_settings({"env": {"ANTHROPIC_API_KEY": fake_key()}})
    findings = scan_keys(sandbox.workspace()).findings
    [k005] = [f for f in findings if f.code == "K005"]
    assert "env block of user settings (~/.claude/settings.json)" in k005.message
    [k006] = [f for f in findings if f.code == "K006"]
    assert k006.path == str(sandbox.home / ".claude" / "settings.json") and k006.line == 3


def test_project_settings_env_key_does_not_reach_the_route(sandbox: Sandbox) -> None:
    """Claude Code ignores credentials in project settings env: no billing switch, but K002."""
    max_login(sandbox)
    sandbox.project_settings({"env": {"ANTHROPIC_API_KEY": fake_key()}})
    findings = scan_keys(sandbox.workspace()).findings
    assert [f.code for f in findings] == ["K002"]


def test_claude_json_mcp_server_env_is_reported_but_primary_api_key_is_not(sandbox: Sandbox) -> None:
    sandbox.claude_json(
        {
            "primaryApiKey": fake_key(),
            "mcpServers": {"notes": {"command": "x", "env": {"ANTHROPIC_API_KEY": fake_key("admin_key")}}},
        }
    )
    (sandbox.home / ".claude.json").chmod(0o600)
    [f] = by_code(sandbox, "K006")
    assert f.kind == "admin_key" and "mcpServers.notes.env.ANTHROPIC_API_KEY" in f.message
    assert f.severity is Severity.ERROR


def test_local_and_managed_settings(sandbox: Sandbox) -> None:
    sandbox.local_settings({"env": {"ANTHROPIC_AUTH_TOKEN": fake_key("oauth_access_token")}})
    sandbox.managed_settings({"env": {"ANTHROPIC_API_KEY": fake_key()}})
    found = {(Path(f.path or "").name, f.kind) for f in by_code(sandbox, "K006")}
    assert found == {("settings.local.json", "oauth_access_token"), ("managed-settings.json", "api_key")}


# -- shell start-up files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "line"),
    [
        (".bashrc", "export ANTHROPIC_API_KEY={k}"),
        (".profile", "export ANTHROPIC_API_KEY='{k}'"),
        (".zshrc", 'export ANTHROPIC_API_KEY="{k}"'),
        (".config/fish/config.fish", "set -gx ANTHROPIC_API_KEY {k}"),
        (".config/fish/conf.d/keys.fish", "set -Ux ANTHROPIC_API_KEY {k}"),
        (".config/powershell/Microsoft.PowerShell_profile.ps1", '$env:ANTHROPIC_API_KEY = "{k}"'),
    ],
)
def test_shell_startup_files(sandbox: Sandbox, rel: str, line: str) -> None:
    key = fake_key()
    sandbox.write(sandbox.home / rel, "# my shell\n" + line.format(k=key) + "\n")
    [f] = by_code(sandbox, "K007")
    assert f.path == str(sandbox.home / rel) and f.line == 2
    assert f.column == line.index("{k}") + 1 and f.kind == "api_key"


def test_zdotdir_is_honoured(sandbox: Sandbox) -> None:
    zdot = sandbox.root / "zdot"
    sandbox.write(zdot / ".zshenv", f"export ANTHROPIC_API_KEY={fake_key()}\n")
    sandbox.env["ZDOTDIR"] = str(zdot)
    [f] = by_code(sandbox, "K007")
    assert f.path == str(zdot / ".zshenv")


# -- credential files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "severity"), [(0o644, Severity.ERROR), (0o640, Severity.WARNING), (0o600, None)]
)
def test_credentials_file_mode(sandbox: Sandbox, mode: int, severity: Severity | None) -> None:
    max_login(sandbox)
    (sandbox.home / ".claude" / ".credentials.json").chmod(mode)
    found = by_code(sandbox, "K011")
    assert [f.severity for f in found] == ([severity] if severity else [])
    if found:
        assert f"{mode:04o}" in found[0].message


def test_claude_json_world_readable(sandbox: Sandbox) -> None:
    path = sandbox.claude_json({"numStartups": 1})
    path.chmod(0o644)
    [f] = by_code(sandbox, "K011")
    assert f.path == str(path) and f.severity is Severity.WARNING


def test_credentials_file_contents_are_not_scanned_as_leaks(sandbox: Sandbox) -> None:
    max_login(sandbox)
    assert scan_keys(sandbox.workspace()).findings == []


# -- committed config -------------------------------------------------------------------------


def test_key_in_committed_project_settings(sandbox: Sandbox) -> None:
    key = fake_key()
    path = sandbox.project_settings({"env": {"ANTHROPIC_API_KEY": key}})
    [f] = by_code(sandbox, "K002")
    assert f.path == str(path) and (f.line, f.kind) == (3, "api_key")
    assert "${ANTHROPIC_API_KEY}" in (f.hint or "")
    assert by_code(sandbox, "K001") == []  # reported once, by the more specific code


def test_mcp_json_literals(sandbox: Sandbox) -> None:
    bearer = "Bearer " + "Zq81kfPq02mLrT7vB3nWc9YdE4"
    path = sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "db": {
                    "command": "npx",
                    "args": ["db-mcp", "postgres://app:S3cr3tPassw0rd@db.internal:5432/app"],
                    "env": {
                        "ANTHROPIC_API_KEY": fake_key("admin_key"),
                        "GITHUB_TOKEN": "ghp_Zx81kfPq02mLrT7vB3nW",
                    },
                },
                "api": {"type": "http", "url": "https://x.example/mcp", "headers": {"Authorization": bearer}},
                "fine": {
                    "command": "npx",
                    "env": {"ANTHROPIC_API_KEY": "${ANTHROPIC_API_KEY}", "API_TOKEN": "${TOKEN:-}"},
                    "headers": {"Authorization": "Bearer ${API_TOKEN}"},
                    "args": ["postgres://app:${DB_PASSWORD}@db/app"],
                },
            }
        },
    )
    [k002] = by_code(sandbox, "K002")
    assert k002.kind == "admin_key" and k002.path == str(path)
    k003 = sorted(by_code(sandbox, "K003"), key=lambda f: f.line or 0)
    assert [f.message.split("`")[1] for f in k003] == [
        "mcpServers.db.args[1]",
        "mcpServers.db.env.GITHUB_TOKEN",
        "mcpServers.api.headers.Authorization",
    ]
    assert all(f.line and f.column and f.redacted for f in k003)
    text = json.dumps([f.to_json() for f in k003])
    assert "S3cr3tPassw0rd" not in text and "Zq81kfPq02mLrT7vB3nWc9YdE4" not in text


def test_malformed_mcp_json_still_gets_its_key_reported(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / ".mcp.json", '{"mcpServers": {"x": {"env": {"K": "' + fake_key() + '"}')
    assert [f.code for f in scan_keys(sandbox.workspace()).findings] == ["K002"]


def test_hostile_settings_values_do_not_crash(sandbox: Sandbox) -> None:
    sandbox.project_settings('{"env": [1, 2, {"a": null}], "deep": ' + "[" * 5000 + "]" * 5000 + "}")
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"x": "not an object", "y": {"env": 5}}})
    sandbox.user_settings(b"\x00\x01binary")
    assert scan_keys(sandbox.workspace()).findings == []


def test_project_in_the_home_folder_reports_each_file_once(sandbox: Sandbox) -> None:
    """Run from ~: the credential store is not a leak, and rc files are K007, not also K001."""
    max_login(sandbox)
    sandbox.write(sandbox.home / ".bashrc", f"export ANTHROPIC_API_KEY={fake_key()}\n")
    sandbox.user_settings({"env": {"OTHER": fake_key("admin_key")}})
    ws = sandbox.workspace()
    home_ws = type(ws).discover(project=sandbox.home, env=sandbox.env, platform="linux")
    codes = sorted(f.code for f in scan_keys(home_ws).findings)
    assert codes == ["K006", "K007"]


# -- K005 follows the auth route (review regressions) ------------------------------------------


def test_cloud_provider_is_not_a_plan_override(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.env.update(CLAUDE_CODE_USE_BEDROCK="1", ANTHROPIC_API_KEY=fake_key())
    assert by_code(sandbox, "K005") == []
    assert len(by_code(sandbox, "K004")) == 1


def test_login_without_inference_scope_is_not_a_plan(sandbox: Sandbox) -> None:
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": fake_key("oauth_access_token"),
                "expiresAt": FUTURE_MS,
                "scopes": ["user:profile"],
                "subscriptionType": "max",
            }
        }
    )
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    assert by_code(sandbox, "K005") == []


def test_oauth_account_alone_is_not_a_plan(sandbox: Sandbox) -> None:
    sandbox.claude_json({"oauthAccount": {"emailAddress": "a@b.example", "organizationName": "x"}})
    (sandbox.home / ".claude.json").chmod(0o600)
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    assert by_code(sandbox, "K005") == []


def test_setup_token_plan_is_overridden_by_an_api_key(sandbox: Sandbox) -> None:
    sandbox.env.update(CLAUDE_CODE_OAUTH_TOKEN=fake_key("oauth_access_token"), ANTHROPIC_API_KEY=fake_key())
    from claude_health.tools.auth.check import auth_route

    a001 = [f for f in auth_route(sandbox.workspace()).findings if f.code == "A001"]
    [k005] = by_code(sandbox, "K005")
    assert a001 and "ANTHROPIC_API_KEY" in k005.message


# -- names that hold a key, names that are not UTF-8 ----------------------------------------------


def test_key_in_a_file_name_is_redacted_everywhere(sandbox: Sandbox) -> None:
    key, inner = fake_key(), fake_key("oauth_access_token")
    sandbox.write(sandbox.project / f"notes-{key}.txt", f"hello {inner}\n")
    [f] = by_code(sandbox, "K001")
    assert key not in f.message and key not in (f.path or "")
    assert key[-4:] in f.message and "notes-" in f.message


def test_key_as_a_json_key_is_redacted_in_the_message(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.user_settings({"mcpServers": {key: {"url": "https://x.example/?k=" + key}}})
    found = by_code(sandbox, "K006")  # the key occurs twice in the file: as a name and in the URL
    assert found and all(key not in f.message for f in found)
    assert any("mcpServers.sk-ant-api03-…" in f.message for f in found)


def test_not_utf8_file_name_is_displayable_and_serialisable(sandbox: Sandbox) -> None:
    import os

    from claude_health.server.sarif import to_sarif

    key = fake_key()
    (sandbox.project / os.fsdecode(b"bad\xff.txt")).write_text(key + "\n")
    report = scan_keys(sandbox.workspace())
    [f] = [f for f in report.findings if f.code == "K001"]
    assert f.path is not None and f.path.endswith("bad\\xff.txt")
    from claude_health.server.mcp_tools.keys import KeyHygieneResult
    from claude_health.tools.findings import Summary

    # The MCP tool's output model: pydantic refuses lone surrogates, so none may reach it.
    result = KeyHygieneResult(
        stats=report.stats, findings=report.findings, summary=Summary.of(report.findings)
    )
    text = result.model_dump_json()
    assert key not in text
    sarif = to_sarif(report.findings, base_dir=sandbox.project)
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def test_sarif_percent_encodes_a_raw_not_utf8_path(tmp_path: Path) -> None:
    import os

    from claude_health.server.sarif import to_sarif
    from claude_health.tools.keys.rules import KEY_IN_TREE

    finding = KEY_IN_TREE.finding("x", path=str(tmp_path / os.fsdecode(b"bad\xff.txt")))
    [result] = to_sarif([finding], base_dir=tmp_path)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad%FF.txt"
