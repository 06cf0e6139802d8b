"""`claude-health auth --json` against the real `claude auth status --json`, case by case.

Each case builds the same throw-away HOME, project and environment for both programs. Claude
Code is run offline with no login and no prompt; only `auth status` is called. Cases that need
the machine-wide managed directory (/etc/claude-code) are covered by unit tests instead, so
this test never writes outside its temp dir.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.external import claude_bin, claude_env
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

pytestmark = pytest.mark.e2e

# Fields both programs report, in Claude Code's vocabulary.
COMPARED = ("loggedIn", "authMethod", "apiProvider", "apiKeySource", "subscriptionType", "planTier")

FUTURE = int((time.time() + 86_400 * 30) * 1000)
PAST = int((time.time() - 86_400) * 1000)


def login(
    plan: str | None = "max", tier: str | None = "default_claude_max_20x", **extra: Any
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "accessToken": fake_key("oauth_access_token"),
        "refreshToken": fake_key("oauth_refresh_token"),
        "expiresAt": FUTURE,
        "scopes": ["user:inference", "user:profile", "user:sessions:claude_code"],
    }
    if plan:
        block["subscriptionType"] = plan
    if tier:
        block["rateLimitTier"] = tier
    block.update(extra)
    return {"claudeAiOauth": block}


@dataclass
class Case:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, Any] | None = None
    user: dict[str, Any] | str | None = None
    project: dict[str, Any] | None = None
    local: dict[str, Any] | None = None
    claude_json: dict[str, Any] | None = None
    trusted: bool = False


def cases() -> list[Case]:
    key = fake_key
    return [
        Case("nothing"),
        Case("api_key", env={"ANTHROPIC_API_KEY": key()}),
        Case("api_key_garbage", env={"ANTHROPIC_API_KEY": "abc"}),
        Case("api_key_empty", env={"ANTHROPIC_API_KEY": ""}),
        Case("auth_token", env={"ANTHROPIC_AUTH_TOKEN": "gw-" + "t" * 40}),
        Case("oauth_token", env={"CLAUDE_CODE_OAUTH_TOKEN": key("oauth_access_token")}),
        Case(
            "api_key+auth_token", env={"ANTHROPIC_API_KEY": key(), "ANTHROPIC_AUTH_TOKEN": "gw-" + "t" * 40}
        ),
        Case(
            "api_key+oauth_token",
            env={"ANTHROPIC_API_KEY": key(), "CLAUDE_CODE_OAUTH_TOKEN": key("oauth_access_token")},
        ),
        Case("max", credentials=login()),
        Case("max_5x", credentials=login(tier="default_claude_max_5x")),
        Case("pro", credentials=login("pro", "default_claude_pro")),
        Case("team", credentials=login("team", None)),
        Case("no_subscription_type", credentials=login(None, None)),
        Case("expired", credentials=login(expiresAt=PAST)),
        Case("no_inference_scope", credentials=login(scopes=["user:profile"])),
        Case("empty_access_token", credentials=login(accessToken="")),
        Case("max+api_key", env={"ANTHROPIC_API_KEY": key()}, credentials=login()),
        Case("max+auth_token", env={"ANTHROPIC_AUTH_TOKEN": "gw-" + "t" * 40}, credentials=login()),
        Case(
            "max+oauth_token", env={"CLAUDE_CODE_OAUTH_TOKEN": key("oauth_access_token")}, credentials=login()
        ),
        Case("helper_user", user={"apiKeyHelper": "echo nothing"}),
        Case("helper_user+api_key", env={"ANTHROPIC_API_KEY": key()}, user={"apiKeyHelper": "echo x"}),
        Case("helper_user+max", user={"apiKeyHelper": "echo x"}, credentials=login()),
        Case("helper_empty", user={"apiKeyHelper": ""}),
        Case("helper_project_untrusted", project={"apiKeyHelper": "./key.sh"}, credentials=login()),
        Case("helper_local_untrusted", local={"apiKeyHelper": "./key.sh"}),
        Case("user_env_api_key+max", user={"env": {"ANTHROPIC_API_KEY": key()}}, credentials=login()),
        Case(
            "user_env_empty_removes_shell",
            env={"ANTHROPIC_API_KEY": key()},
            user={"env": {"ANTHROPIC_API_KEY": ""}},
        ),
        Case("user_env_numeric", user={"env": {"ANTHROPIC_API_KEY": 12345}}),
        Case("user_invalid_json", user='{"env": {"ANTHROPIC_API_KEY": "x"},}'),
        Case("user_invalid_schema", user={"cleanupPeriodDays": 0, "env": {"ANTHROPIC_API_KEY": key()}}),
        Case("user_wrong_type", user={"includeCoAuthoredBy": "yes", "apiKeyHelper": "echo x"}),
        Case("user_broken_pre_hook", user={"hooks": {"PreToolUse": {}}, "env": {"ANTHROPIC_API_KEY": key()}}),
        Case("user_null_pre_hook", user={"hooks": {"PreToolUse": None}, "env": {"ANTHROPIC_API_KEY": key()}}),
        Case("project_env_api_key", project={"env": {"ANTHROPIC_API_KEY": key()}}),
        Case("project_env_api_key_trusted", project={"env": {"ANTHROPIC_API_KEY": key()}}, trusted=True),
        Case(
            "local_env_auth_token_trusted",
            local={"env": {"ANTHROPIC_AUTH_TOKEN": "gw-" + "t" * 40}},
            trusted=True,
        ),
        Case(
            "project_env_bedrock+max", project={"env": {"CLAUDE_CODE_USE_BEDROCK": "1"}}, credentials=login()
        ),
        Case("claude_json_env_api_key", claude_json={"env": {"ANTHROPIC_API_KEY": key()}}),
        Case("primary_api_key", claude_json={"primaryApiKey": key()}),
        Case("primary_api_key+max", claude_json={"primaryApiKey": key()}, credentials=login()),
        Case(
            "primary_api_key+oauth_token",
            env={"CLAUDE_CODE_OAUTH_TOKEN": key("oauth_access_token")},
            claude_json={"primaryApiKey": key()},
        ),
        Case("bedrock", env={"CLAUDE_CODE_USE_BEDROCK": "1", "ANTHROPIC_API_KEY": key()}),
        Case("bedrock_false", env={"CLAUDE_CODE_USE_BEDROCK": "false", "ANTHROPIC_API_KEY": key()}),
        Case("bedrock_yes", env={"CLAUDE_CODE_USE_BEDROCK": "yes"}),
        Case("vertex+max", env={"CLAUDE_CODE_USE_VERTEX": "1"}, credentials=login()),
        Case("foundry", env={"CLAUDE_CODE_USE_FOUNDRY": "1"}),
        Case("bedrock+vertex", env={"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_USE_VERTEX": "1"}),
        Case("foundry+vertex", env={"CLAUDE_CODE_USE_FOUNDRY": "1", "CLAUDE_CODE_USE_VERTEX": "1"}),
        Case(
            "anthropic_aws+google_cloud",
            env={"CLAUDE_CODE_USE_ANTHROPIC_AWS": "1", "CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD": "1"},
        ),
        Case("mantle+vertex", env={"CLAUDE_CODE_USE_MANTLE": "1", "CLAUDE_CODE_USE_VERTEX": "1"}),
        Case("gateway_switch_only", env={"CLAUDE_CODE_USE_GATEWAY": "1", "ANTHROPIC_API_KEY": key()}),
        Case(
            "user_env_bedrock_off",
            env={"CLAUDE_CODE_USE_BEDROCK": "1"},
            user={"env": {"CLAUDE_CODE_USE_BEDROCK": "0"}},
        ),
        Case("base_url+max", env={"ANTHROPIC_BASE_URL": "https://gw.example.test"}, credentials=login()),
        # CLAUDE_CODE_SIMPLE (what `claude --bare` sets): only ANTHROPIC_API_KEY is read.
        Case("bare+max", env={"CLAUDE_CODE_SIMPLE": "1"}, credentials=login()),
        Case("bare_false+max", env={"CLAUDE_CODE_SIMPLE": "false"}, credentials=login()),
        Case(
            "bare+max+api_key",
            env={"CLAUDE_CODE_SIMPLE": "on", "ANTHROPIC_API_KEY": key()},
            credentials=login(),
        ),
        Case(
            "bare+oauth_token",
            env={"CLAUDE_CODE_SIMPLE": "1", "CLAUDE_CODE_OAUTH_TOKEN": key("oauth_access_token")},
        ),
        Case("bare+helper_user", env={"CLAUDE_CODE_SIMPLE": "1"}, user={"apiKeyHelper": "echo x"}),
        Case("user_env_bare+max", user={"env": {"CLAUDE_CODE_SIMPLE": "1"}}, credentials=login()),
        Case("project_env_bare+max", project={"env": {"CLAUDE_CODE_SIMPLE": "1"}}, credentials=login()),
        Case("bare+bedrock", env={"CLAUDE_CODE_SIMPLE": "1", "CLAUDE_CODE_USE_BEDROCK": "1"}),
        Case("config_dir", env={"CLAUDE_CONFIG_DIR": "{root}/cfg"}, credentials=login("pro", None)),
    ]


def build(sandbox: Sandbox, case: Case) -> dict[str, str]:
    env = {k: v.replace("{root}", str(sandbox.root)) for k, v in case.env.items()}
    config_dir = env.get("CLAUDE_CONFIG_DIR")
    cfg = sandbox.root / "cfg" if config_dir else sandbox.home / ".claude"
    claude_json = (sandbox.root / "cfg" if config_dir else sandbox.home) / ".claude.json"
    if case.credentials is not None:
        sandbox.write(cfg / ".credentials.json", case.credentials)
    if case.user is not None:
        sandbox.write(cfg / "settings.json", case.user)
    if case.project is not None:
        sandbox.project_settings(case.project)
    if case.local is not None:
        sandbox.local_settings(case.local)
    global_config = dict(case.claude_json or {})
    if case.trusted:
        global_config["projects"] = {str(sandbox.project): {"hasTrustDialogAccepted": True}}
    if global_config:
        sandbox.write(claude_json, global_config)
    return env


def run_json(argv: list[str], env: dict[str, str], cwd: str) -> dict[str, Any]:
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout.strip(), f"{argv[0]} printed nothing; stderr: {proc.stderr}"
    data: dict[str, Any] = json.loads(proc.stdout)
    data["_exit"] = proc.returncode
    return data


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_same_verdict_as_claude_code(make_sandbox: Any, case: Case) -> None:
    sandbox: Sandbox = make_sandbox()
    env = build(sandbox, case)
    base = claude_env(sandbox.home, **env)
    theirs = run_json([claude_bin(), "auth", "status", "--json"], base, str(sandbox.project))
    # An empty managed directory stands in for /etc/claude-code, which does not exist here.
    ours_env = {**base, "CLAUDE_HEALTH_MANAGED_DIR": str(sandbox.managed)}
    payload = run_json([cli_path(), "auth", "--json"], ours_env, str(sandbox.project))
    ours = payload["auth"]
    for field_name in COMPARED:
        assert ours.get(field_name) == theirs.get(field_name), (
            f"{case.name}: {field_name}: claude-health says {ours.get(field_name)!r}, "
            f"Claude Code says {theirs.get(field_name)!r}"
        )
    assert ours["configDirectory"] == theirs["configDirectory"]
    # Claude Code exits 1 exactly when not logged in.
    assert theirs["_exit"] == (0 if theirs["loggedIn"] else 1)
    for secret in env.values():
        if secret.startswith("sk-ant-"):
            assert secret not in json.dumps(payload)
