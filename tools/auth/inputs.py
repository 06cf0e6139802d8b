"""Everything the auth route depends on, gathered from one workspace in one pass.

Reading is separated from deciding (:mod:`claude_health.tools.auth.route`) so the decision is a
pure function of this snapshot. The credentials file holds OAuth tokens: only metadata
(subscription type, tier, expiry, which tokens exist) is kept; the tokens are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from claude_health.tools.files import JsonRead, read_json_object
from claude_health.tools.paths import Workspace

# Settings `env` keys that Claude Code applies from project and local settings before the folder
# is trusted (settings notes §5.3 and §6). Credentials and ANTHROPIC_BASE_URL are never among them.
PROJECT_SAFE_AUTH_KEYS = frozenset(
    {
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "CLAUDE_CODE_USE_FOUNDRY",
        "CLAUDE_CODE_USE_ANTHROPIC_AWS",
        "CLAUDE_CODE_USE_MANTLE",
        "CLAUDE_CODE_USE_GATEWAY",
    }
)


@dataclass(frozen=True)
class SettingsLayer:
    """One settings file as far as auth cares: its env block and apiKeyHelper."""

    scope: str  # user | project | local | managed | global-config
    path: Path
    exists: bool
    problem: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    api_key_helper: str | None = None
    force_login_method: str | None = None
    unjudged: bool = False
    """Too large to judge (``problem`` says so): what it holds is unknown, not ignored."""

    @property
    def loaded(self) -> bool:
        return self.exists and self.problem is None


@dataclass(frozen=True)
class OAuthLogin:
    """Metadata of a claude.ai login from ``.credentials.json`` (never the tokens)."""

    path: Path
    subscription_type: str | None
    rate_limit_tier: str | None
    expires_at_ms: int | None
    has_access_token: bool
    has_refresh_token: bool
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class AuthInputs:
    env: dict[str, str]
    config_dir: Path
    layers: list[SettingsLayer]
    oauth: OAuthLogin | None
    credentials_problem: str | None
    primary_api_key: str | None
    approved_suffixes: frozenset[str]
    rejected_suffixes: frozenset[str]
    oauth_account: dict[str, Any] | None
    global_config_path: Path
    unjudged: tuple[Path, ...] = ()
    """Files the route depends on that were too large to judge: the verdict may be incomplete."""

    def layer(self, scope: str) -> list[SettingsLayer]:
        return [layer for layer in self.layers if layer.scope == scope]


def _string_env(value: object) -> dict[str, str]:
    """Claude Code coerces env values to strings; non-string scalars are stringified."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, str] = {}
    for key, val in value.items():
        if isinstance(val, str):
            out[str(key)] = val
        elif isinstance(val, bool):
            out[str(key)] = "true" if val else "false"
        elif isinstance(val, int | float):
            out[str(key)] = str(val)
    return out


def _layer(scope: str, read: JsonRead) -> SettingsLayer:
    if read.data is None:
        return SettingsLayer(scope, read.path, read.exists, read.problem, unjudged=read.too_large)
    data = read.data
    helper = data.get("apiKeyHelper")
    force = data.get("forceLoginMethod")
    return SettingsLayer(
        scope=scope,
        path=read.path,
        exists=True,
        env=_string_env(data.get("env")),
        api_key_helper=helper if isinstance(helper, str) and helper.strip() else None,
        force_login_method=force if isinstance(force, str) else None,
    )


def _oauth_login(path: Path) -> tuple[OAuthLogin | None, str | None, bool]:
    """The login, the file's problem, and whether it was too large to judge."""
    read = read_json_object(path)
    if not read.exists:
        return None, None, False
    if read.data is None:
        return None, read.problem, read.too_large
    block = read.data.get("claudeAiOauth")
    if not isinstance(block, dict):
        return None, None, False
    expires = block.get("expiresAt")
    scopes = block.get("scopes")
    sub = block.get("subscriptionType")
    tier = block.get("rateLimitTier")
    login = OAuthLogin(
        path=path,
        subscription_type=sub if isinstance(sub, str) and sub else None,
        rate_limit_tier=tier if isinstance(tier, str) and tier else None,
        expires_at_ms=int(expires)
        if isinstance(expires, int | float) and not isinstance(expires, bool)
        else None,
        has_access_token=isinstance(block.get("accessToken"), str) and bool(block.get("accessToken")),
        has_refresh_token=isinstance(block.get("refreshToken"), str) and bool(block.get("refreshToken")),
        scopes=tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else (),
    )
    return login, None, False


def _suffixes(global_config: dict[str, Any], key: str) -> frozenset[str]:
    responses = global_config.get("customApiKeyResponses")
    if not isinstance(responses, dict):
        return frozenset()
    values = responses.get(key)
    if not isinstance(values, list):
        return frozenset()
    return frozenset(v for v in values if isinstance(v, str))


def _rejected_settings(ws: Workspace) -> dict[Path, str]:
    """User, project and local settings files that Claude Code ignores whole.

    Valid JSON is not enough: one wrong type or value (``cleanupPeriodDays: 0``) makes Claude
    Code drop the entire file, ``env`` and apiKeyHelper included. The settings validator knows
    those rules; managed files are left out because there a bad key drops only that key.
    """
    from claude_health.tools.settings.discovery import SETTINGS
    from claude_health.tools.settings.validate import validate_workspace

    validation = validate_workspace(ws)
    return {
        result.file.path: "is rejected by Claude Code: a setting has a wrong type or value "
        "(`claude-health settings` shows which)"
        for result in validation.files
        if result.file.kind == SETTINGS and result.file.scope != "managed" and result.loaded is False
    }


def _settings_layer(scope: str, path: Path, rejected: dict[Path, str]) -> SettingsLayer:
    read = read_json_object(path)
    if read.data is not None and path in rejected:
        return SettingsLayer(scope, path, True, rejected[path])
    return _layer(scope, read)


def _moved_config_dir(ws: Workspace, layers: list[SettingsLayer]) -> Workspace:
    """The workspace as Claude Code sees it once settings ``env`` has set ``CLAUDE_CONFIG_DIR``.

    Claude Code applies user (and ``~/.claude.json``) ``env`` before it reads credentials, so a
    ``CLAUDE_CONFIG_DIR`` there moves ``.credentials.json`` and ``.claude.json`` too.
    """
    moved = None
    for layer in layers:
        if layer.scope in {"global-config", "user"} and layer.loaded:
            moved = layer.env.get("CLAUDE_CONFIG_DIR", moved)
    if not moved or moved == ws.env.get("CLAUDE_CONFIG_DIR"):
        return ws
    return replace(ws, env={**ws.env, "CLAUDE_CONFIG_DIR": moved})


def gather(ws: Workspace) -> AuthInputs:
    """Read every file the auth route depends on. Never raises on bad files."""
    rejected = _rejected_settings(ws)
    # ~/.claude.json grows to tens of MiB: read it once (twice when settings move it).
    global_read = read_json_object(ws.global_config)
    layers = [_layer("global-config", global_read)]
    layers.append(_settings_layer("user", ws.user_settings, rejected))
    credentials_ws = _moved_config_dir(ws, layers)
    if credentials_ws is not ws:
        global_read = read_json_object(credentials_ws.global_config)
        layers[0] = _layer("global-config", global_read)
    layers.append(_settings_layer("project", ws.project_settings, rejected))
    layers.append(_settings_layer("local", ws.local_settings, rejected))
    layers.append(_layer("managed", read_json_object(ws.managed_settings)))
    layers.extend(_layer("managed", read_json_object(p)) for p in ws.managed_dropins())
    global_config = global_read.data or {}
    oauth, cred_problem, cred_unjudged = _oauth_login(credentials_ws.credentials_file)
    unjudged = [layer.path for layer in layers if layer.unjudged]
    if cred_unjudged:
        unjudged.append(credentials_ws.credentials_file)
    primary = global_config.get("primaryApiKey")
    account = global_config.get("oauthAccount")
    return AuthInputs(
        env=dict(ws.env),
        config_dir=credentials_ws.config_dir,
        layers=layers,
        oauth=oauth,
        credentials_problem=cred_problem,
        primary_api_key=primary if isinstance(primary, str) and primary else None,
        approved_suffixes=_suffixes(global_config, "approved"),
        rejected_suffixes=_suffixes(global_config, "rejected"),
        oauth_account=account if isinstance(account, dict) else None,
        global_config_path=credentials_ws.global_config,
        unjudged=tuple(unjudged),
    )
