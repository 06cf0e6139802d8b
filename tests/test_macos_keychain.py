"""The claude.ai login in the macOS Keychain, through a fake ``security`` that behaves like the real one.

Each test is one case of the auth route on macOS as Claude Code documents it (code.claude.com/docs/
en/authentication: the Keychain holds the login; cloud provider, ANTHROPIC_AUTH_TOKEN,
ANTHROPIC_API_KEY, apiKeyHelper and CLAUDE_CODE_OAUTH_TOKEN all win over it) and as its 2.1.330
bundle reads the item (``security find-generic-password -a $USER -w -s <service>``, the file
only as a fallback). Every test also checks that no token reached the result.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.auth import keychain as kc
from claude_health.tools.auth.check import auth_route
from claude_health.tools.auth.inputs import gather
from claude_health.tools.auth.route import AuthResult
from claude_health.tools.paths import Workspace
from tests.conftest import Sandbox
from tests.fake_security import FakeSecurity
from tests.fakes import fake_key

FUTURE_MS = int((time.time() + 86_400) * 1000)
PAST_MS = int((time.time() - 86_400) * 1000)
SERVICE = "Claude Code-credentials"


class Mac:
    """A macOS user on this Linux machine: the platform override, USER, and a fake ``security``."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.security = FakeSecurity(sandbox.root / "bin")
        sandbox.env.update(
            USER="alice",
            PATH=f"{self.security.bin_dir}:/usr/bin:/bin",
            CLAUDE_HEALTH_PLATFORM="darwin",
            CLAUDE_HEALTH_MANAGED_PREFERENCES_DIR=str(sandbox.root / "managed-preferences"),
        )
        self.secrets: list[str] = []

    def login(self, plan: str = "max", *, expires: int = FUTURE_MS, refresh: bool = True) -> dict[str, Any]:
        """A credentials document like Claude Code's, with fresh fake tokens."""
        access = fake_key("oauth_access_token")
        oauth: dict[str, Any] = {
            "accessToken": access,
            "expiresAt": expires,
            "scopes": ["user:inference", "user:profile", "user:sessions:claude_code"],
            "subscriptionType": plan,
            "rateLimitTier": "default_claude_max_20x" if plan == "max" else "default_claude_ai",
        }
        self.secrets.append(access)
        if refresh:
            oauth["refreshToken"] = fake_key("oauth_refresh_token")
            self.secrets.append(oauth["refreshToken"])
        return {"claudeAiOauth": oauth}

    def keychain_login(self, plan: str = "max", *, service: str = SERVICE, **kw: Any) -> None:
        self.security.add(service, "alice", self.login(plan, **kw))

    def file_login(self, plan: str = "pro") -> None:
        self.sandbox.credentials(self.login(plan))

    def workspace(self) -> Workspace:
        return Workspace.discover(project=self.sandbox.project, env=self.sandbox.env)

    def route(self) -> AuthResult:
        result = auth_route(self.workspace())
        self.assert_no_secret(json.dumps(result.status.to_json()))
        self.assert_no_secret(json.dumps([f.to_json() for f in result.findings]))
        return result

    def assert_no_secret(self, text: str) -> None:
        for secret in self.secrets:
            assert secret not in text, "a token leaked"
            assert secret[13:45] not in text, "part of a token leaked"


@pytest.fixture
def mac(sandbox: Sandbox) -> Mac:
    return Mac(sandbox)


def codes(result: AuthResult) -> set[str]:
    return {f.code for f in result.findings}


def test_the_platform_override_selects_macos(mac: Mac) -> None:
    assert mac.workspace().os_name == "darwin"
    mac.sandbox.env["CLAUDE_HEALTH_PLATFORM"] = "linux"
    assert mac.workspace().os_name == "linux"
    mac.sandbox.env["CLAUDE_HEALTH_PLATFORM"] = "beos"  # unknown: this machine's platform
    assert mac.workspace().platform.startswith("linux")


def test_keychain_login_is_the_subscription(mac: Mac) -> None:
    mac.keychain_login("max")
    result = mac.route()
    status = result.status
    assert (status.loggedIn, status.authMethod, status.billing) == (True, "claude.ai", "subscription")
    assert (status.subscriptionType, status.planTier) == ("max", "max_20x")
    [cred] = status.credentials
    assert cred.in_use and cred.location == 'macOS Keychain item "Claude Code-credentials" (account alice)'
    assert codes(result) == set()
    # Exactly Claude Code's command: account, password only, service; no shell, nothing else.
    assert mac.security.calls() == [["find-generic-password", "-a", "alice", "-w", "-s", SERVICE]]


def test_api_key_overrides_the_keychain_login(mac: Mac) -> None:
    mac.keychain_login("max")
    key = fake_key()
    mac.secrets.append(key)
    mac.sandbox.env["ANTHROPIC_API_KEY"] = key
    result = mac.route()
    assert (result.status.authMethod, result.status.billing) == ("api_key", "api")
    assert "A001" in codes(result)
    login = next(c for c in result.status.credentials if c.source == "claude.ai")
    assert login.in_use is False and "Keychain" in login.location


@pytest.mark.parametrize(
    ("variable", "method", "billing"),
    [
        ("ANTHROPIC_AUTH_TOKEN", "oauth_token", "api"),
        ("CLAUDE_CODE_OAUTH_TOKEN", "oauth_token", "subscription"),
    ],
)
def test_bearer_tokens_win_over_the_keychain_login(
    mac: Mac, variable: str, method: str, billing: str
) -> None:
    mac.keychain_login("max")
    token = fake_key("oauth_access_token")
    mac.secrets.append(token)
    mac.sandbox.env[variable] = token
    status = mac.route().status
    assert (status.authMethod, status.tokenSource, status.billing) == (method, variable, billing)


def test_api_key_helper_wins_over_the_keychain_login(mac: Mac) -> None:
    mac.keychain_login("max")
    mac.sandbox.user_settings({"apiKeyHelper": "/usr/local/bin/print-key"})
    result = mac.route()
    assert (result.status.authMethod, result.status.billing) == ("api_key_helper", "api")
    assert "A001" in codes(result)


def test_cloud_provider_wins_over_the_keychain_login(mac: Mac) -> None:
    mac.keychain_login("max")
    mac.sandbox.env["CLAUDE_CODE_USE_BEDROCK"] = "1"
    status = mac.route().status
    assert (status.authMethod, status.apiProvider, status.billing) == ("third_party", "bedrock", "cloud")


def test_missing_item_and_no_file_is_no_credentials(mac: Mac) -> None:
    result = mac.route()
    assert result.status.loggedIn is False and codes(result) == {"A002"}
    assert gather(mac.workspace()).keychain.state == "missing"  # type: ignore[union-attr]


def test_missing_item_falls_back_to_the_credentials_file(mac: Mac) -> None:
    mac.file_login("pro")
    status = mac.route().status
    assert (status.authMethod, status.subscriptionType) == ("claude.ai", "pro")
    assert status.credentials[0].location.endswith(".credentials.json")


def test_keychain_item_wins_over_a_stale_credentials_file(mac: Mac) -> None:
    mac.keychain_login("max")
    mac.file_login("pro")
    status = mac.route().status
    assert status.subscriptionType == "max"
    by_location = {c.location: c for c in status.credentials}
    stale = next(c for loc, c in by_location.items() if loc.endswith(".credentials.json"))
    assert stale.in_use is False and "Keychain item first" in (stale.note or "")


def test_item_without_a_login_is_used_and_the_file_is_not_read(mac: Mac) -> None:
    """An item Claude Code can parse is what it uses, even when it holds only MCP tokens."""
    mac.security.add(SERVICE, "alice", {"mcpOAuth": {}})
    mac.file_login("pro")
    result = mac.route()
    assert result.status.loggedIn is False and codes(result) == {"A002"}


def test_config_dir_hashes_the_service_name(mac: Mac) -> None:
    config = str(mac.sandbox.root / "work-claude")
    mac.sandbox.env["CLAUDE_CONFIG_DIR"] = config
    hashed = f"{SERVICE}-{hashlib.sha256(config.encode()).hexdigest()[:8]}"
    assert kc.keychain_service(mac.sandbox.env) == hashed
    mac.keychain_login("pro", service=SERVICE)  # the default config dir's login: not this one's
    assert mac.route().status.loggedIn is False
    mac.keychain_login("max", service=hashed)
    status = mac.route().status
    assert (status.subscriptionType, status.credentials[0].location.split('"')[1]) == ("max", hashed)
    assert mac.security.calls()[-1] == ["find-generic-password", "-a", "alice", "-w", "-s", hashed]


def test_secure_storage_dir_overrides_the_hash_and_empty_means_default() -> None:
    assert kc.keychain_service({"CLAUDE_CONFIG_DIR": ""}) == SERVICE
    assert kc.keychain_service({"CLAUDE_CONFIG_DIR": "/x", "CLAUDE_SECURESTORAGE_CONFIG_DIR": ""}) == SERVICE
    digest = hashlib.sha256(b"/y").hexdigest()[:8]
    assert kc.keychain_service({"CLAUDE_CONFIG_DIR": "/x", "CLAUDE_SECURESTORAGE_CONFIG_DIR": "/y"}) == (
        f"{SERVICE}-{digest}"
    )
    # NFC, as Claude Code normalises the directory before hashing it.
    decomposed, composed = "/Users/Jose\u0301", "/Users/Jos\u00e9"
    assert kc.keychain_service({"CLAUDE_CONFIG_DIR": decomposed}) == kc.keychain_service(
        {"CLAUDE_CONFIG_DIR": composed}
    )


def test_account_is_user_or_claude_codes_fallback() -> None:
    assert kc.keychain_account({"USER": "bob.smith"}) == "bob.smith"
    assert kc.keychain_account({"USER": "bob smith"}) == "claude-code-user"
    assert kc.keychain_account({"USER": "bob;rm"}) == "claude-code-user"


@pytest.mark.parametrize(("mode", "words"), [("locked", "locked"), ("denied", "denied")])
def test_unreadable_keychain_is_its_own_finding_not_no_credentials(mac: Mac, mode: str, words: str) -> None:
    mac.keychain_login("max")
    mac.security.set_mode(mode)
    mac.sandbox.claude_json({"oauthAccount": {"emailAddress": "alice@example.com", "organizationName": "A"}})
    result = mac.route()
    assert result.status.loggedIn is False
    assert codes(result) == {"A020"}  # never A002: a login may well be there
    [finding] = result.findings
    assert finding.severity == "error"  # Claude Code cannot make a request: as bad as A002
    assert words in finding.message and "oauthAccount" in finding.message
    assert "alice@example.com" not in finding.message
    assert "Keychain" in result.status.billingExplanation
    entry = next(c for c in result.status.credentials if c.source == "claude.ai")
    assert entry.in_use is False and words in (entry.note or "")


def test_unreadable_keychain_without_any_login_hint_says_so(mac: Mac) -> None:
    mac.security.set_mode("locked")
    result = mac.route()
    assert codes(result) == {"A020"}
    assert "records no claude.ai login either" in result.findings[0].message


def test_unreadable_keychain_with_an_api_key_says_what_is_used_meanwhile(mac: Mac) -> None:
    mac.security.set_mode("denied")
    mac.sandbox.env["ANTHROPIC_API_KEY"] = key = fake_key()
    mac.secrets.append(key)
    result = mac.route()
    assert (result.status.authMethod, result.status.billing) == ("api_key", "api")
    assert codes(result) == {"A020"}
    assert "Meanwhile Claude Code uses api_key (api billing)" in result.findings[0].message


def test_unreadable_keychain_falls_back_to_the_file_like_claude_code(mac: Mac) -> None:
    mac.security.set_mode("locked")
    mac.file_login("pro")
    result = mac.route()
    assert (result.status.authMethod, result.status.subscriptionType) == ("claude.ai", "pro")
    assert codes(result) == {"A020"} and result.findings[0].severity == "warning"
    assert ".credentials.json instead" in result.findings[0].message


def test_no_security_program(mac: Mac) -> None:
    mac.sandbox.env["PATH"] = str(mac.sandbox.root / "empty")
    result = mac.route()
    assert codes(result) == {"A020"} and "no `security` program" in result.findings[0].message


def test_security_that_never_answers_times_out(mac: Mac, monkeypatch: pytest.MonkeyPatch) -> None:
    mac.keychain_login("max")
    mac.security.set_mode("hang")
    monkeypatch.setattr(kc, "READ_TIMEOUT", 0.5)
    started = time.monotonic()
    result = mac.route()
    assert time.monotonic() - started < 30
    assert codes(result) == {"A020"} and "did not answer" in result.findings[0].message


@pytest.mark.parametrize("content", ["not json {", "[1, 2]", "", "7b0a"])
def test_damaged_item_is_reported_and_the_file_is_used(mac: Mac, content: str) -> None:
    mac.security.add(SERVICE, "alice", content)
    mac.file_login("pro")
    result = mac.route()
    assert codes(result) == {"A021"}
    assert (result.status.authMethod, result.status.subscriptionType) == ("claude.ai", "pro")


def test_damaged_item_and_no_file(mac: Mac) -> None:
    mac.security.add(SERVICE, "alice", "{truncated")
    result = mac.route()
    assert codes(result) == {"A021", "A002"} and result.status.loggedIn is False


def test_item_printed_as_hex_is_decoded(mac: Mac) -> None:
    """`security -w` prints a password with non-ASCII bytes as hex; Claude Code's JSON can hold some."""
    document = mac.login("team")
    document["claudeAiOauth"]["note"] = "équipe"
    mac.security.add(SERVICE, "alice", document)
    status = mac.route().status
    assert (status.authMethod, status.subscriptionType) == ("claude.ai", "team")


def test_expired_keychain_login_without_refresh(mac: Mac) -> None:
    mac.keychain_login("max", expires=PAST_MS, refresh=False)
    result = mac.route()
    assert result.status.loggedIn is True and "A009" in codes(result)


def test_expired_keychain_login_with_refresh_still_works(mac: Mac) -> None:
    mac.keychain_login("max", expires=PAST_MS)
    result = mac.route()
    assert result.status.authMethod == "claude.ai" and "A009" not in codes(result)


def test_keychain_login_without_inference_scope_does_not_count(mac: Mac) -> None:
    document = mac.login("max")
    document["claudeAiOauth"]["scopes"] = ["user:profile"]
    mac.security.add(SERVICE, "alice", document)
    assert mac.route().status.loggedIn is False


def test_other_platforms_never_ask_the_keychain(mac: Mac) -> None:
    mac.keychain_login("max")
    for platform in ("linux", "win32"):
        mac.sandbox.env["CLAUDE_HEALTH_PLATFORM"] = platform
        assert mac.route().status.loggedIn is False
    assert mac.security.calls() == []


def test_the_read_keeps_no_secret_anywhere(mac: Mac) -> None:
    """Objects, their reprs and the debug log carry metadata only."""
    mac.keychain_login("max")
    inputs = gather(mac.workspace())
    mac.assert_no_secret(repr(inputs))
    mac.assert_no_secret(repr(inputs.keychain))
    assert inputs.oauth is not None and inputs.oauth.has_access_token and inputs.oauth.has_refresh_token


def test_security_runs_with_a_minimal_environment(mac: Mac, tmp_path: Path) -> None:
    """Only what `security` needs is passed on: never the user's API keys or tokens."""
    spy = mac.security.bin_dir / "security"
    spy.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(tmp_path / 'env.json')!r}, 'w').write(json.dumps(sorted(os.environ)))\n"
        "sys.exit(44)\n"
    )
    mac.sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    mac.route()
    names = set(json.loads((tmp_path / "env.json").read_text()))
    assert "ANTHROPIC_API_KEY" not in names and {"PATH", "HOME", "USER"} <= names


def test_a_security_the_project_ships_is_never_run(mac: Mac, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative PATH entry resolves in the working directory, often a cloned repository: its own
    `security` must not run (as with git). The Keychain then counts as unreadable, never empty."""
    marker = mac.sandbox.root / "ran"
    for folder in (mac.sandbox.project, mac.sandbox.project / "bin"):
        folder.mkdir(exist_ok=True)
        shipped = folder / "security"
        shipped.write_text(f"#!/bin/sh\ntouch {marker}\nexit 44\n")
        shipped.chmod(0o755)
    mac.sandbox.env["PATH"] = f".::bin:{mac.sandbox.root / 'no-bin'}"
    monkeypatch.chdir(mac.sandbox.project)
    result = mac.route()
    assert not marker.exists(), "a program from the project ran"
    assert "A020" in codes(result) and "A002" not in codes(result)
    assert mac.workspace().view.login.keychain is not None
    assert mac.workspace().view.login.keychain.state == "unavailable"  # type: ignore[union-attr]


def test_usage_reads_the_plan_from_the_keychain_too(mac: Mac) -> None:
    """One truth: `usage` shows the plan of the login the auth route found."""
    from claude_health.tools.usage.plan import plan_of

    mac.keychain_login("max")
    mac.file_login("pro")
    plan = plan_of(mac.workspace().view.login)
    assert (plan.subscription_type, plan.rate_limit_tier) == ("max", "default_claude_max_20x")
    assert plan.source is not None and "Keychain" in plan.source
    mac.security.set_mode("locked")  # Claude Code falls back to the file; so does the plan
    assert plan_of(mac.workspace().view.login).subscription_type == "pro"
