"""CLAUDE_CODE_SIMPLE (what `claude --bare` sets): Claude Code 2.1.332 then reads only
ANTHROPIC_API_KEY. The same cases run against the real binary in test_e2e_auth_differential.py."""

from __future__ import annotations

import json

import pytest

from claude_health.tools.auth.check import auth_route
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.test_auth_route import codes, max_login


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_bare_mode_ignores_the_claude_ai_login(sandbox: Sandbox, value: str) -> None:
    max_login(sandbox)
    sandbox.env["CLAUDE_CODE_SIMPLE"] = value
    result = auth_route(sandbox.workspace())
    assert (result.status.loggedIn, result.status.authMethod, result.status.subscriptionType) == (
        False,
        "none",
        None,
    )
    assert codes(result) == {"A002", "A022"}
    (bare,) = [f for f in result.findings if f.code == "A022"]
    assert "claude.ai login" in bare.message and "environment" in bare.message
    login = next(c for c in result.status.credentials if c.source == "claude.ai")
    assert login.in_use is False and login.note and "bare mode" in login.note


@pytest.mark.parametrize("value", ["0", "false", "", "2"])
def test_other_values_leave_the_login_alone(sandbox: Sandbox, value: str) -> None:
    max_login(sandbox)
    sandbox.env["CLAUDE_CODE_SIMPLE"] = value
    result = auth_route(sandbox.workspace())
    assert result.status.authMethod == "claude.ai" and "A022" not in codes(result)


def test_bare_mode_uses_the_api_key_and_says_the_plan_is_skipped(sandbox: Sandbox) -> None:
    max_login(sandbox)
    key = fake_key()
    sandbox.env.update(CLAUDE_CODE_SIMPLE="1", ANTHROPIC_API_KEY=key)
    result = auth_route(sandbox.workspace())
    assert (result.status.authMethod, result.status.apiKeySource, result.status.billing) == (
        "api_key",
        "ANTHROPIC_API_KEY",
        "api",
    )
    assert {"A001", "A022"} <= codes(result)
    assert key not in json.dumps([f.to_json() for f in result.findings])


@pytest.mark.parametrize(
    "setup",
    ["CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN", "helper", "primary"],
)
def test_bare_mode_ignores_tokens_helpers_and_the_login_key(sandbox: Sandbox, setup: str) -> None:
    sandbox.env["CLAUDE_CODE_SIMPLE"] = "1"
    if setup == "helper":
        sandbox.user_settings({"apiKeyHelper": "echo key"})
    elif setup == "primary":
        sandbox.claude_json({"primaryApiKey": fake_key()})
    else:
        sandbox.env[setup] = fake_key("oauth_access_token")
    result = auth_route(sandbox.workspace())
    assert (result.status.loggedIn, result.status.apiKeySource) == (False, None)
    assert codes(result) == {"A002", "A022"}
    assert not [c for c in result.status.credentials if c.in_use]


def test_bare_mode_from_user_settings_env_applies(sandbox: Sandbox) -> None:
    max_login(sandbox)
    user = sandbox.user_settings({"env": {"CLAUDE_CODE_SIMPLE": "1"}})
    result = auth_route(sandbox.workspace())
    assert result.status.authMethod == "none"
    (bare,) = [f for f in result.findings if f.code == "A022"]
    assert str(user) in bare.message


def test_bare_mode_from_project_settings_env_does_not(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.project_settings({"env": {"CLAUDE_CODE_SIMPLE": "1"}})
    assert auth_route(sandbox.workspace()).status.authMethod == "claude.ai"


def test_bare_mode_keeps_third_party_providers(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.env.update(CLAUDE_CODE_SIMPLE="1", CLAUDE_CODE_USE_BEDROCK="1")
    result = auth_route(sandbox.workspace())
    assert (result.status.authMethod, result.status.apiProvider) == ("third_party", "bedrock")
    assert "A022" not in codes(result)
