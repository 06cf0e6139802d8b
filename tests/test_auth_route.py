"""The auth route, one test per route, over throw-away HOME trees and environments."""

from __future__ import annotations

import json
import time

import pytest

from claude_health.tools.auth.check import auth_route
from claude_health.tools.auth.route import is_truthy
from claude_health.tools.redact import suffix20
from tests.conftest import Sandbox
from tests.fakes import fake_key

FUTURE_MS = int((time.time() + 86_400) * 1000)
PAST_MS = int((time.time() - 86_400) * 1000)


def max_login(sandbox: Sandbox, *, expires: int = FUTURE_MS, refresh: bool = True, plan: str = "max") -> None:
    oauth: dict[str, object] = {
        "accessToken": fake_key("oauth_access_token"),
        "expiresAt": expires,
        "scopes": ["user:inference", "user:profile"],
        "subscriptionType": plan,
        "rateLimitTier": "default_claude_max_20x",
    }
    if refresh:
        oauth["refreshToken"] = fake_key("oauth_refresh_token")
    sandbox.credentials({"claudeAiOauth": oauth})


def codes(result: object) -> set[str]:
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


def test_no_credentials(sandbox: Sandbox) -> None:
    result = auth_route(sandbox.workspace())
    assert result.status.loggedIn is False
    assert result.status.authMethod == "none"
    assert result.status.billing == "none"
    assert codes(result) == {"A002"}


def test_subscription_login(sandbox: Sandbox) -> None:
    max_login(sandbox)
    status = auth_route(sandbox.workspace()).status
    assert (status.authMethod, status.billing, status.subscriptionType) == (
        "claude.ai",
        "subscription",
        "max",
    )
    assert status.rateLimitTier == "default_claude_max_20x"


def test_api_key_overrides_max_plan_is_the_seed_trap(sandbox: Sandbox) -> None:
    max_login(sandbox)
    key = fake_key()
    sandbox.env["ANTHROPIC_API_KEY"] = key
    result = auth_route(sandbox.workspace())
    assert result.status.authMethod == "api_key"
    assert result.status.apiKeySource == "ANTHROPIC_API_KEY"
    assert result.status.billing == "api"
    assert "A001" in codes(result)
    login = next(c for c in result.status.credentials if c.source == "claude.ai")
    assert login.in_use is False
    # the key is shown only redacted: prefix and last 4
    shown = next(c for c in result.status.credentials if c.source == "ANTHROPIC_API_KEY")
    assert shown.redacted == f"sk-ant-api03-…{key[-4:]}"
    assert key not in json.dumps(result.status.to_json())
    assert all(key not in json.dumps(f.to_json()) for f in result.findings)


def test_api_key_from_user_settings_env(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.user_settings({"env": {"ANTHROPIC_API_KEY": fake_key()}})
    result = auth_route(sandbox.workspace())
    assert result.status.authMethod == "api_key"
    assert "A001" in codes(result)
    assert "user settings env" in next(c.location for c in result.status.credentials if c.in_use)


def test_api_key_in_global_config_env_applies(sandbox: Sandbox) -> None:
    sandbox.claude_json({"env": {"ANTHROPIC_API_KEY": fake_key()}})
    assert auth_route(sandbox.workspace()).status.authMethod == "api_key"


def test_api_key_in_project_settings_is_not_applied(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.project_settings(
        {"env": {"ANTHROPIC_API_KEY": fake_key(), "ANTHROPIC_BASE_URL": "https://gw.example"}}
    )
    result = auth_route(sandbox.workspace())
    assert result.status.authMethod == "claude.ai"
    assert result.status.baseUrl is None
    assert "A005" in codes(result)
    assert "A001" not in codes(result)


def test_invalid_user_settings_is_ignored_whole(sandbox: Sandbox) -> None:
    sandbox.user_settings('{"env": {"ANTHROPIC_API_KEY": "' + fake_key() + '"},}')
    result = auth_route(sandbox.workspace())
    assert result.status.authMethod == "none"
    finding = next(f for f in result.findings if f.code == "A004")
    assert finding.path and finding.path.endswith("settings.json")


def test_settings_with_a_wrong_value_is_ignored_whole(sandbox: Sandbox) -> None:
    # Valid JSON, but Claude Code rejects cleanupPeriodDays: 0 and drops the file, env included.
    path = sandbox.user_settings({"cleanupPeriodDays": 0, "env": {"ANTHROPIC_API_KEY": fake_key()}})
    result = auth_route(sandbox.workspace())
    assert result.status.loggedIn is False
    assert any(f.code == "A004" and f.path == str(path) for f in result.findings)


def test_auth_token_wins_bearer_slot_and_bills_api(sandbox: Sandbox) -> None:
    sandbox.env["ANTHROPIC_AUTH_TOKEN"] = "gateway-token-" + "x" * 30
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    status = auth_route(sandbox.workspace()).status
    assert status.authMethod == "oauth_token"
    assert status.tokenSource == "ANTHROPIC_AUTH_TOKEN"
    assert status.apiKeySource == "ANTHROPIC_API_KEY"
    assert status.billing == "api"


def test_setup_token_is_subscription_billing(sandbox: Sandbox) -> None:
    sandbox.env["CLAUDE_CODE_OAUTH_TOKEN"] = fake_key("oauth_access_token")
    status = auth_route(sandbox.workspace()).status
    assert (status.authMethod, status.tokenSource, status.billing) == (
        "oauth_token",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "subscription",
    )


def test_api_key_helper_in_user_settings(sandbox: Sandbox) -> None:
    sandbox.user_settings({"apiKeyHelper": "~/bin/get-key.sh"})
    status = auth_route(sandbox.workspace()).status
    assert status.authMethod == "api_key_helper"
    assert status.billing == "api"


def test_api_key_helper_in_project_settings_overrides_login(sandbox: Sandbox) -> None:
    max_login(sandbox)
    path = sandbox.project_settings({"apiKeyHelper": "./scripts/key.sh"})
    result = auth_route(sandbox.workspace())
    assert result.status.authMethod == "api_key_helper"
    helper = next(f for f in result.findings if f.code == "A007")
    assert helper.path == str(path)
    assert "A001" in codes(result)


@pytest.mark.parametrize(
    ("variable", "provider"),
    [
        ("CLAUDE_CODE_USE_BEDROCK", "bedrock"),
        ("CLAUDE_CODE_USE_VERTEX", "vertex"),
        ("CLAUDE_CODE_USE_FOUNDRY", "foundry"),
        ("CLAUDE_CODE_USE_ANTHROPIC_AWS", "anthropicAws"),
        ("CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD", "anthropicGoogleCloud"),
        ("CLAUDE_CODE_USE_MANTLE", "mantle"),
    ],
)
def test_cloud_providers(sandbox: Sandbox, variable: str, provider: str) -> None:
    sandbox.env[variable] = "1"
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    status = auth_route(sandbox.workspace()).status
    assert (status.authMethod, status.apiProvider, status.billing) == ("third_party", provider, "cloud")


def test_bedrock_wins_over_vertex_and_is_flagged(sandbox: Sandbox) -> None:
    sandbox.env["CLAUDE_CODE_USE_VERTEX"] = "1"
    sandbox.env["CLAUDE_CODE_USE_BEDROCK"] = "true"
    result = auth_route(sandbox.workspace())
    assert result.status.apiProvider == "bedrock"
    assert "A006" in codes(result)


def test_bedrock_switch_in_project_env_applies(sandbox: Sandbox) -> None:
    sandbox.project_settings({"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}})
    assert auth_route(sandbox.workspace()).status.apiProvider == "bedrock"


def test_managed_gateway_login(sandbox: Sandbox) -> None:
    sandbox.managed_settings({"forceLoginMethod": "gateway"})
    assert auth_route(sandbox.workspace()).status.apiProvider == "gateway"


def test_settings_env_base_url_overrides_shell(sandbox: Sandbox) -> None:
    sandbox.env["ANTHROPIC_BASE_URL"] = "https://shell.example"
    sandbox.user_settings({"env": {"ANTHROPIC_BASE_URL": "https://settings.example"}})
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    result = auth_route(sandbox.workspace())
    assert result.status.baseUrl == "https://settings.example"
    assert "A003" in codes(result)


def test_official_base_url_is_not_a_gateway(sandbox: Sandbox) -> None:
    sandbox.env["ANTHROPIC_BASE_URL"] = "https://api.anthropic.com"
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    assert "A003" not in codes(auth_route(sandbox.workspace()))


def test_managed_env_wins_over_user_env(sandbox: Sandbox) -> None:
    sandbox.user_settings({"env": {"ANTHROPIC_BASE_URL": "https://user.example"}})
    sandbox.managed_settings({"env": {"ANTHROPIC_BASE_URL": "https://managed.example"}})
    assert auth_route(sandbox.workspace()).status.baseUrl == "https://managed.example"


def test_primary_api_key_from_console_login(sandbox: Sandbox) -> None:
    sandbox.claude_json({"primaryApiKey": fake_key()})
    status = auth_route(sandbox.workspace()).status
    assert (status.authMethod, status.apiKeySource, status.billing) == (
        "api_key",
        "/login managed key",
        "api",
    )


def test_expired_login_without_refresh_token(sandbox: Sandbox) -> None:
    max_login(sandbox, expires=PAST_MS, refresh=False)
    result = auth_route(sandbox.workspace())
    # Claude Code still reports the login (it refreshes on use), but this one cannot refresh.
    assert result.status.authMethod == "claude.ai"
    assert codes(result) == {"A009"}


def test_expired_login_with_refresh_token_still_works(sandbox: Sandbox) -> None:
    max_login(sandbox, expires=PAST_MS, refresh=True)
    assert auth_route(sandbox.workspace()).status.authMethod == "claude.ai"


def test_rejected_api_key_is_noted(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.env["ANTHROPIC_API_KEY"] = key
    sandbox.claude_json({"customApiKeyResponses": {"approved": [], "rejected": [suffix20(key)]}})
    assert "A008" in codes(auth_route(sandbox.workspace()))


def test_claude_config_dir_moves_credentials(sandbox: Sandbox) -> None:
    other = sandbox.root / "elsewhere"
    sandbox.env["CLAUDE_CONFIG_DIR"] = str(other)
    login = {"accessToken": "x" * 40, "scopes": ["user:inference"], "subscriptionType": "pro"}
    sandbox.write(other / ".credentials.json", {"claudeAiOauth": login})
    status = auth_route(sandbox.workspace()).status
    assert status.configDirectory == str(other)
    assert (status.authMethod, status.subscriptionType, status.planTier) == ("claude.ai", "pro", "pro")


def test_login_without_inference_scope_does_not_count(sandbox: Sandbox) -> None:
    sandbox.credentials({"claudeAiOauth": {"accessToken": "x" * 40, "scopes": ["user:profile"]}})
    assert auth_route(sandbox.workspace()).status.loggedIn is False


def test_api_key_beats_setup_token_and_is_flagged(sandbox: Sandbox) -> None:
    sandbox.env["CLAUDE_CODE_OAUTH_TOKEN"] = fake_key("oauth_access_token")
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    result = auth_route(sandbox.workspace())
    assert (result.status.authMethod, result.status.billing) == ("api_key", "api")
    token = next(c for c in result.status.credentials if c.source == "CLAUDE_CODE_OAUTH_TOKEN")
    assert token.in_use is False
    assert "A001" in codes(result)


def test_helper_with_api_key_reports_both(sandbox: Sandbox) -> None:
    sandbox.user_settings({"apiKeyHelper": "echo key"})
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    status = auth_route(sandbox.workspace()).status
    assert (status.authMethod, status.apiKeySource) == ("api_key_helper", "ANTHROPIC_API_KEY")


def test_empty_api_key_in_user_env_removes_shell_key(sandbox: Sandbox) -> None:
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    sandbox.user_settings({"env": {"ANTHROPIC_API_KEY": ""}})
    assert auth_route(sandbox.workspace()).status.loggedIn is False


def test_numeric_env_value_is_coerced(sandbox: Sandbox) -> None:
    sandbox.user_settings({"env": {"ANTHROPIC_API_KEY": 12345}})
    assert auth_route(sandbox.workspace()).status.authMethod == "api_key"


def test_forced_gateway_ignores_credentials_until_sign_in(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    sandbox.managed_settings({"forceLoginMethod": "gateway"})
    status = auth_route(sandbox.workspace()).status
    assert (status.loggedIn, status.authMethod, status.apiProvider) == (False, "none", "gateway")
    assert status.forcedLoginMethod == "gateway"
    assert status.apiKeySource == "ANTHROPIC_API_KEY"


def test_gateway_env_switch_alone_is_not_a_provider(sandbox: Sandbox) -> None:
    sandbox.env["CLAUDE_CODE_USE_GATEWAY"] = "1"
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    assert auth_route(sandbox.workspace()).status.apiProvider == "firstParty"


def test_max_plan_tier(sandbox: Sandbox) -> None:
    max_login(sandbox)
    assert auth_route(sandbox.workspace()).status.planTier == "max_20x"


@pytest.mark.parametrize(
    "content",
    [b"\x00\x01binary", b"[1, 2]", b"{not json", b"", b'{"claudeAiOauth": 5}'],
)
def test_bad_credentials_file_never_raises(sandbox: Sandbox, content: bytes) -> None:
    sandbox.credentials(content)
    result = auth_route(sandbox.workspace())
    assert result.status.authMethod == "none"
    assert json.loads(json.dumps(result.status.to_json()))


def test_unreadable_settings_is_reported_not_raised(sandbox: Sandbox) -> None:
    loop = sandbox.home / ".claude" / "settings.json"
    loop.parent.mkdir(parents=True)
    loop.symlink_to(loop)  # a symlink loop
    result = auth_route(sandbox.workspace())
    assert result.status.authMethod == "none"
    assert any(f.code == "A004" for f in result.findings)


def test_truthy_values() -> None:
    assert all(is_truthy(v) for v in ("1", "true", "TRUE", " yes ", "on"))
    assert not any(is_truthy(v) for v in (None, "", "0", "false", "no"))


def test_config_dir_set_in_user_settings_env_moves_credentials(sandbox: Sandbox) -> None:
    other = sandbox.root / "cfg"
    sandbox.user_settings({"env": {"CLAUDE_CONFIG_DIR": str(other)}})
    login = {"accessToken": "x" * 40, "scopes": ["user:inference"], "subscriptionType": "max"}
    sandbox.write(other / ".credentials.json", {"claudeAiOauth": login})
    status = auth_route(sandbox.workspace()).status
    assert (status.authMethod, status.configDirectory) == ("claude.ai", str(other))


def test_setup_token_in_project_env_is_explained(sandbox: Sandbox) -> None:
    sandbox.project_settings({"env": {"CLAUDE_CODE_OAUTH_TOKEN": fake_key("oauth_access_token")}})
    assert {"A002", "A005"} <= codes(auth_route(sandbox.workspace()))


def test_invalid_managed_settings_is_an_error(sandbox: Sandbox) -> None:
    path = sandbox.managed_settings('{"env": ')
    finding = next(f for f in auth_route(sandbox.workspace()).findings if f.code == "A012")
    assert finding.severity == "error" and finding.path == str(path)


def test_secrets_in_base_url_and_helper_are_redacted(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    sandbox.user_settings(
        {"env": {"ANTHROPIC_BASE_URL": f"https://me:hunter2secret@gw.example/v1?api_key={key}"}}
    )
    sandbox.project_settings({"apiKeyHelper": f"echo {key}"})
    result = auth_route(sandbox.workspace())
    dumped = json.dumps(result.status.to_json()) + "".join(json.dumps(f.to_json()) for f in result.findings)
    assert key not in dumped and key[13:40] not in dumped
    assert "hunter2secret" not in dumped
    assert result.status.baseUrl and result.status.baseUrl.startswith("https://me:***@gw.example/v1?api_key=")
    assert "A003" in codes(result) and "A007" in codes(result)
