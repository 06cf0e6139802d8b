"""Decide which credential Claude Code will use, and therefore who pays.

Mirrors Claude Code's resolver (settings notes §5, checked against ``claude auth status --json``
of Claude Code 2.1.330): the environment Claude Code builds from the shell plus settings ``env``
blocks, then the provider switches in their fixed order, then the two first-party credential
slots (bearer token and API key).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from claude_health.tools.auth.inputs import PROJECT_SAFE_AUTH_KEYS, AuthInputs, SettingsLayer
from claude_health.tools.auth.models import ApiProvider, AuthMethod, AuthStatus, Billing, Credential
from claude_health.tools.auth.rules import (
    API_KEY_OVERRIDES_SUBSCRIPTION,
    API_KEY_REJECTED,
    BOTH_SLOTS,
    CREDENTIALS_UNREADABLE,
    GATEWAY,
    NO_CREDENTIALS,
    OAUTH_EXPIRED,
    PROJECT_API_KEY_HELPER,
    PROJECT_CREDENTIAL_IGNORED,
    SETTINGS_IGNORED,
    SEVERAL_PROVIDERS,
)
from claude_health.tools.findings import Finding
from claude_health.tools.redact import fingerprint, redact, suffix20

# First match wins, in this order (settings notes §5.1).
PROVIDER_SWITCHES: tuple[tuple[str, ApiProvider], ...] = (
    ("CLAUDE_CODE_USE_GATEWAY", "gateway"),
    ("CLAUDE_CODE_USE_BEDROCK", "bedrock"),
    ("CLAUDE_CODE_USE_FOUNDRY", "foundry"),
    ("CLAUDE_CODE_USE_ANTHROPIC_AWS", "anthropicAws"),
    ("CLAUDE_CODE_USE_MANTLE", "mantle"),
    ("CLAUDE_CODE_USE_VERTEX", "vertex"),
)
PROJECT_IGNORED_CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")
ANTHROPIC_HOSTS = frozenset({"api.anthropic.com"})
SUBSCRIPTION_PLANS_NOTE = "Claude Max/Pro/Team plan"


def is_truthy(value: str | None) -> bool:
    """Claude Code's reading of a boolean environment variable."""
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class EffectiveEnv:
    """The environment Claude Code builds, and where each value came from."""

    values: dict[str, str]
    origin: dict[str, str]

    def get(self, key: str) -> str | None:
        value = self.values.get(key)
        return value if value else None


def build_env(inputs: AuthInputs) -> EffectiveEnv:
    """Shell environment overlaid with settings ``env`` in Claude Code's order.

    ``~/.claude.json``, user and managed ``env`` apply in full; project and local ``env`` only
    contribute the provider switches, never credentials or the base URL.
    """
    values = dict(inputs.env)
    origin = dict.fromkeys(values, "environment")

    def apply(layer: SettingsLayer, keys: frozenset[str] | None) -> None:
        if not layer.loaded:
            return
        for key, value in layer.env.items():
            if keys is None or key in keys:
                values[key] = value
                origin[key] = f"{layer.scope} settings env ({layer.path})"

    for scope, keys in (
        ("global-config", None),
        ("user", None),
        ("project", PROJECT_SAFE_AUTH_KEYS),
        ("local", PROJECT_SAFE_AUTH_KEYS),
        ("managed", None),
    ):
        for layer in inputs.layer(scope):
            apply(layer, keys)
    return EffectiveEnv(values, origin)


def _api_key_helper(inputs: AuthInputs) -> SettingsLayer | None:
    """The apiKeyHelper that wins: the highest-precedence loaded settings file that sets one."""
    winner: SettingsLayer | None = None
    for scope in ("user", "project", "local", "managed"):
        for layer in inputs.layer(scope):
            if layer.loaded and layer.api_key_helper:
                winner = layer
    return winner


def _provider(env: EffectiveEnv, inputs: AuthInputs) -> tuple[ApiProvider, list[str]]:
    selected = [name for name, _ in PROVIDER_SWITCHES if is_truthy(env.get(name))]
    if any(layer.loaded and layer.force_login_method == "gateway" for layer in inputs.layer("managed")):
        return "gateway", selected
    for name, provider in PROVIDER_SWITCHES:
        if name in selected:
            return provider, selected
    return "firstParty", selected


def _oauth_usable(inputs: AuthInputs, now_ms: int) -> bool:
    login = inputs.oauth
    if login is None or not login.has_access_token:
        return False
    expired = login.expires_at_ms is not None and login.expires_at_ms <= now_ms
    return not expired or login.has_refresh_token


def _credential(source: str, slot: str, location: str, secret: str | None, in_use: bool) -> Credential:
    return Credential(
        source=source,
        slot=slot,  # type: ignore[arg-type]
        location=location,
        redacted=redact(secret) if secret else None,
        fingerprint=fingerprint(secret) if secret else None,
        in_use=in_use,
    )


def _is_gateway(base_url: str | None) -> bool:
    if not base_url:
        return False
    host = urlsplit(base_url).hostname or ""
    return host not in ANTHROPIC_HOSTS


@dataclass(frozen=True)
class AuthResult:
    status: AuthStatus
    findings: list[Finding]


def resolve(inputs: AuthInputs, *, now_ms: int | None = None) -> AuthResult:
    """The auth route for one snapshot of environment and files."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    env = build_env(inputs)
    provider, selected = _provider(env, inputs)
    api_key = env.get("ANTHROPIC_API_KEY")
    auth_token = env.get("ANTHROPIC_AUTH_TOKEN")
    oauth_token = env.get("CLAUDE_CODE_OAUTH_TOKEN")
    helper = _api_key_helper(inputs)
    oauth_ok = _oauth_usable(inputs, now)
    base_url = env.get("ANTHROPIC_BASE_URL")

    method: AuthMethod
    api_key_source: str | None = None
    token_source: str | None = None
    if provider != "firstParty":
        method = "third_party"
    elif auth_token or oauth_token:
        method = "oauth_token"
        token_source = "ANTHROPIC_AUTH_TOKEN" if auth_token else "CLAUDE_CODE_OAUTH_TOKEN"
    elif api_key:
        method = "api_key"
    elif helper:
        method = "api_key_helper"
        token_source = "apiKeyHelper"
    elif oauth_ok:
        method = "claude.ai"
    elif inputs.primary_api_key:
        method = "api_key"
    else:
        method = "none"

    # The API-key slot is reported alongside whatever else is in use.
    if api_key:
        api_key_source = "ANTHROPIC_API_KEY"
    elif helper and method in {"api_key_helper", "oauth_token"}:
        api_key_source = "apiKeyHelper"
    elif inputs.primary_api_key and method in {"api_key", "oauth_token"}:
        api_key_source = "/login managed key"

    subscription = inputs.oauth.subscription_type if inputs.oauth else None
    billing, explanation = _billing(method, provider, token_source, base_url, subscription)
    status = AuthStatus(
        loggedIn=method != "none",
        authMethod=method,
        apiProvider=provider,
        apiKeySource=api_key_source,
        tokenSource=token_source,
        subscriptionType=subscription
        if method == "claude.ai" or token_source == "CLAUDE_CODE_OAUTH_TOKEN"
        else None,
        rateLimitTier=inputs.oauth.rate_limit_tier if inputs.oauth and method == "claude.ai" else None,
        configDirectory=str(inputs.config_dir),
        billing=billing,
        billingExplanation=explanation,
        baseUrl=base_url,
        credentials=_credentials(inputs, env, method, api_key_source, token_source, helper, oauth_ok),
    )
    findings = _findings(inputs, env, status, helper, selected, now)
    return AuthResult(status, findings)


def _billing(
    method: AuthMethod,
    provider: ApiProvider,
    token_source: str | None,
    base_url: str | None,
    subscription: str | None,
) -> tuple[Billing, str]:
    via = f" through the gateway at {base_url}" if _is_gateway(base_url) else ""
    if method == "third_party":
        if provider == "gateway":
            return "cloud", "Requests go through your organisation's LLM gateway, which bills them."
        return "cloud", f"Requests go to {provider}; your cloud account is billed, not Anthropic."
    if method == "claude.ai":
        plan = f"Claude {subscription.capitalize()} plan" if subscription else "Claude subscription"
        return "subscription", f"Usage counts against your {plan} limits; no per-token charges{via}."
    if method == "oauth_token" and token_source == "CLAUDE_CODE_OAUTH_TOKEN":
        return "subscription", f"A long-lived subscription token (claude setup-token) is in use{via}."
    if method == "oauth_token":
        return "api", f"A bearer token from ANTHROPIC_AUTH_TOKEN is sent{via}; its owner pays per token."
    if method in {"api_key", "api_key_helper"}:
        return "api", f"Every request is billed per token to the API key's Console organisation{via}."
    return "none", "Claude Code has no credential, so nothing can be billed (or sent)."


def _credentials(
    inputs: AuthInputs,
    env: EffectiveEnv,
    method: AuthMethod,
    api_key_source: str | None,
    token_source: str | None,
    helper: SettingsLayer | None,
    oauth_ok: bool,
) -> list[Credential]:
    creds: list[Credential] = []
    for name, slot in (
        ("ANTHROPIC_API_KEY", "api_key"),
        ("ANTHROPIC_AUTH_TOKEN", "bearer"),
        ("CLAUDE_CODE_OAUTH_TOKEN", "bearer"),
    ):
        value = env.get(name)
        if value:
            in_use = method != "third_party" and (api_key_source == name or token_source == name)
            creds.append(_credential(name, slot, env.origin.get(name, "environment"), value, in_use))
    if helper:
        in_use = method != "third_party" and "apiKeyHelper" in {api_key_source, token_source}
        creds.append(
            Credential(source="apiKeyHelper", slot="helper", location=str(helper.path), in_use=in_use)
        )
    if inputs.primary_api_key:
        creds.append(
            _credential(
                "/login managed key",
                "api_key",
                str(inputs.global_config_path),
                inputs.primary_api_key,
                api_key_source == "/login managed key" and method != "third_party",
            )
        )
    if inputs.oauth is not None:
        creds.append(
            Credential(
                source="claude.ai",
                slot="subscription",
                location=str(inputs.oauth.path),
                in_use=method == "claude.ai",
                note=(f"{inputs.oauth.subscription_type} plan" if inputs.oauth.subscription_type else None)
                if oauth_ok
                else "expired, no refresh token",
            )
        )
    return creds


def _findings(
    inputs: AuthInputs,
    env: EffectiveEnv,
    status: AuthStatus,
    helper: SettingsLayer | None,
    selected: list[str],
    now_ms: int,
) -> list[Finding]:
    findings: list[Finding] = []
    login = inputs.oauth
    plan = login.subscription_type if login else None
    has_plan_login = bool(login and login.has_access_token) or inputs.oauth_account is not None
    if status.billing == "api" and has_plan_login:
        culprit = status.tokenSource or status.apiKeySource or status.authMethod
        where = env.origin.get(culprit, "")
        plan_name = f"Claude {plan.capitalize()}" if plan else "Claude subscription"
        findings.append(
            API_KEY_OVERRIDES_SUBSCRIPTION.finding(
                f"You have a {plan_name} login, but Claude Code will use {culprit}"
                + (f" (from {where})" if where else "")
                + " and bill API credits instead of your plan.",
                path=str(login.path) if login else None,
            )
        )
    if not status.loggedIn and status.apiProvider == "firstParty":
        findings.append(
            NO_CREDENTIALS.finding("No credential for Claude Code was found in this environment.")
        )
    if status.baseUrl and _is_gateway(status.baseUrl):
        findings.append(
            GATEWAY.finding(
                f"ANTHROPIC_BASE_URL={status.baseUrl} "
                f"(from {env.origin.get('ANTHROPIC_BASE_URL', 'environment')})."
            )
        )
    for layer in inputs.layers:
        if layer.exists and layer.problem:
            findings.append(
                SETTINGS_IGNORED.finding(
                    f"{layer.scope} file {layer.path} {layer.problem}.", path=str(layer.path)
                )
            )
    for scope in ("project", "local"):
        for layer in inputs.layer(scope):
            for key in PROJECT_IGNORED_CREDENTIALS:
                if layer.loaded and layer.env.get(key):
                    findings.append(
                        PROJECT_CREDENTIAL_IGNORED.finding(
                            f"{key} in the {scope} settings `env` has no effect on the credential "
                            "Claude Code uses.",
                            path=str(layer.path),
                        )
                    )
    if len(selected) > 1:
        findings.append(
            SEVERAL_PROVIDERS.finding(
                f"{', '.join(selected)} are all set; Claude Code uses {status.apiProvider}."
            )
        )
    if helper and helper.scope in {"project", "local"} and status.apiProvider == "firstParty":
        findings.append(
            PROJECT_API_KEY_HELPER.finding(
                f"apiKeyHelper `{_shorten(helper.api_key_helper or '')}` is defined in "
                f"{helper.scope} settings.",
                path=str(helper.path),
            )
        )
    api_key = env.get("ANTHROPIC_API_KEY")
    if api_key and suffix20(api_key) in inputs.rejected_suffixes:
        findings.append(
            API_KEY_REJECTED.finding(
                f"ANTHROPIC_API_KEY {redact(api_key)} was declined for interactive use.",
                path=str(inputs.global_config_path),
            )
        )
    expired = login is not None and login.expires_at_ms is not None and login.expires_at_ms <= now_ms
    if login and expired and login.has_access_token and not login.has_refresh_token:
        findings.append(
            OAUTH_EXPIRED.finding("The stored claude.ai token has expired.", path=str(login.path))
        )
    key_source, token_source = status.apiKeySource, status.tokenSource
    if status.apiProvider == "firstParty" and key_source and token_source and key_source != token_source:
        findings.append(
            BOTH_SLOTS.finding(f"API key from {key_source} and bearer token from {token_source}.")
        )
    if inputs.credentials_problem:
        findings.append(
            CREDENTIALS_UNREADABLE.finding(
                f"{inputs.config_dir / '.credentials.json'} {inputs.credentials_problem}.",
                path=str(inputs.config_dir / ".credentials.json"),
            )
        )
    return findings


def _shorten(command: str, limit: int = 60) -> str:
    return command if len(command) <= limit else command[: limit - 1] + "…"
