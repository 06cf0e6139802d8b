"""Decide which credential Claude Code will use, and therefore who pays.

Mirrors Claude Code's resolver (settings notes §5, checked against ``claude auth status --json``
of Claude Code 2.1.332): the environment Claude Code builds from the shell plus settings ``env``
blocks, then the provider switches in their fixed order, then the two first-party credential
slots (bearer token and API key).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from claude_health.tools import causes
from claude_health.tools.auth.inputs import AuthInputs, OAuthLogin, SettingsLayer
from claude_health.tools.auth.keychain_report import (
    keychain_billing_explanation,
    keychain_credentials,
    keychain_findings,
    keychain_unreadable,
)
from claude_health.tools.auth.models import ApiProvider, AuthMethod, AuthStatus, Billing, Credential
from claude_health.tools.auth.rules import (
    API_KEY_OVERRIDES_SUBSCRIPTION,
    API_KEY_REJECTED,
    BARE_MODE,
    BASE_URL_INVALID,
    BOTH_SLOTS,
    CREDENTIALS_UNREADABLE,
    GATEWAY,
    MANAGED_SETTINGS_INVALID,
    NO_CREDENTIALS,
    OAUTH_EXPIRED,
    PROJECT_API_KEY_HELPER,
    PROJECT_CREDENTIAL_IGNORED,
    SETTINGS_IGNORED,
    SEVERAL_PROVIDERS,
    TOO_LARGE_TO_JUDGE,
)
from claude_health.tools.findings import Finding, Severity
from claude_health.tools.redact import fingerprint, redact, redact_text, redact_url, suffix20
from claude_health.tools.urls import BadUrl, parse_url, shown_url, try_url

# First match wins, in this order (observed with Claude Code 2.1.332 `claude auth status`).
# CLAUDE_CODE_USE_GATEWAY is not among them: only managed `forceLoginMethod: "gateway"` selects
# the gateway, and any of these switches still wins over it.
PROVIDER_SWITCHES: tuple[tuple[str, ApiProvider], ...] = (
    ("CLAUDE_CODE_USE_BEDROCK", "bedrock"),
    ("CLAUDE_CODE_USE_FOUNDRY", "foundry"),
    ("CLAUDE_CODE_USE_ANTHROPIC_AWS", "anthropicAws"),
    ("CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD", "anthropicGoogleCloud"),
    ("CLAUDE_CODE_USE_MANTLE", "mantle"),
    ("CLAUDE_CODE_USE_VERTEX", "vertex"),
)
PROJECT_IGNORED_CREDENTIALS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
)
ANTHROPIC_HOSTS = frozenset({"api.anthropic.com"})
# `claude --bare` sets it: only ANTHROPIC_API_KEY (or a --settings apiKeyHelper) is read; the
# claude.ai login, the bearer tokens, settings-file helpers and the /login key are ignored
# (observed with Claude Code 2.1.332 `claude auth status`; third-party providers still apply).
BARE_MODE_VAR = "CLAUDE_CODE_SIMPLE"
SUBSCRIPTION_PLANS_NOTE = "Claude Max/Pro/Team plan"


def is_truthy(value: str | None) -> bool:
    """Claude Code's reading of a boolean environment variable."""
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


def plan_tier(subscription: str | None, rate_limit_tier: str | None) -> str:
    """Claude Code's ``planTier``: max_20x, max_5x, pro or other."""
    if subscription == "max":
        tier = rate_limit_tier or ""
        if "20x" in tier:
            return "max_20x"
        if "5x" in tier:
            return "max_5x"
        return "other"
    return "pro" if subscription == "pro" else "other"


@dataclass(frozen=True)
class EffectiveEnv:
    """The environment Claude Code builds, and where each value came from."""

    values: dict[str, str]
    origin: dict[str, str]

    def get(self, key: str) -> str | None:
        value = self.values.get(key)
        return value if value else None


def build_env(inputs: AuthInputs) -> EffectiveEnv:
    """The environment Claude Code builds (the view's): shell environment, then the ``env`` of
    every loaded settings file in Claude Code's order, project and local files never supplying
    credentials or the base URL."""
    env = inputs.env
    return EffectiveEnv(env.mapping(), {name: env.source(name) for name in env})


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
    for name, provider in PROVIDER_SWITCHES:
        if name in selected:
            return provider, selected
    if _forced_login(inputs, managed_only=True) == "gateway":
        return "gateway", selected
    return "firstParty", selected


def _forced_login(inputs: AuthInputs, *, managed_only: bool = False) -> str | None:
    """``forceLoginMethod`` as Claude Code honours it: managed wins; user only for claudeai/console."""
    for layer in reversed(inputs.layer("managed")):
        if layer.loaded and layer.force_login_method:
            return layer.force_login_method
    if managed_only:
        return None
    for layer in inputs.layer("user"):
        if layer.loaded and layer.force_login_method in {"claudeai", "console"}:
            return layer.force_login_method
    return None


def _oauth_usable(inputs: AuthInputs) -> bool:
    """A stored claude.ai login counts when it has an access token with the inference scope.

    Expiry does not matter here: Claude Code reports such a login and refreshes it when used.
    """
    login = inputs.oauth
    return login is not None and login.has_access_token and "user:inference" in login.scopes


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
    """A base URL that sends requests elsewhere than Anthropic (a malformed one is reported apart)."""
    if not base_url:
        return False
    parsed = try_url(base_url)
    return parsed is not None and parsed.host not in ANTHROPIC_HOSTS


@dataclass(frozen=True)
class AuthResult:
    """The route Claude Code takes, and the findings about it."""

    status: AuthStatus
    findings: list[Finding]


def _method(
    provider: ApiProvider,
    auth_token: str | None,
    api_key: str | None,
    oauth_token: str | None,
    helper: SettingsLayer | None,
    oauth_ok: bool,
    primary_api_key: str | None,
) -> tuple[AuthMethod, str | None]:
    """authMethod and the bearer-token source, in Claude Code's observed order of precedence."""
    if provider not in {"firstParty", "gateway"}:
        return "third_party", None
    if provider == "gateway":
        return "none", None  # a forced gateway login ignores every other credential
    if auth_token:
        return "oauth_token", "ANTHROPIC_AUTH_TOKEN"
    if helper:
        return "api_key_helper", "apiKeyHelper"
    if api_key:
        return "api_key", None
    if oauth_token:
        return "oauth_token", "CLAUDE_CODE_OAUTH_TOKEN"
    if oauth_ok:
        return "claude.ai", "claude.ai"
    if primary_api_key:
        return "api_key", None
    return "none", None


def resolve(inputs: AuthInputs, *, now_ms: int | None = None) -> AuthResult:
    """The auth route for one snapshot of environment and files."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    env = build_env(inputs)
    provider, selected = _provider(env, inputs)
    api_key = env.get("ANTHROPIC_API_KEY")
    bare = is_truthy(env.get(BARE_MODE_VAR))
    present_helper = _api_key_helper(inputs)
    helper = None if bare else present_helper
    oauth_ok = not bare and _oauth_usable(inputs)
    primary_api_key = None if bare else inputs.primary_api_key
    method, token_source = _method(
        provider,
        None if bare else env.get("ANTHROPIC_AUTH_TOKEN"),
        api_key,
        None if bare else env.get("CLAUDE_CODE_OAUTH_TOKEN"),
        helper,
        oauth_ok,
        primary_api_key,
    )
    # The API-key slot is reported whenever it has a source, whichever credential wins.
    api_key_source: str | None = None
    if api_key:
        api_key_source = "ANTHROPIC_API_KEY"
    elif helper:
        api_key_source = "apiKeyHelper"
    elif primary_api_key:
        api_key_source = "/login managed key"

    login = inputs.oauth if method == "claude.ai" else None
    account = inputs.oauth_account or {}
    base_url = env.get("ANTHROPIC_BASE_URL")
    billing, explanation = _billing(method, provider, token_source, base_url, login)
    if method == "none" and provider == "firstParty":
        explanation = keychain_billing_explanation(inputs) or explanation
    if inputs.unjudged:
        # A file Claude Code reads whole was too large to read: what it holds could change the
        # answer, so the answer is not guessed.
        names = ", ".join(str(p) for p in inputs.unjudged)
        billing, explanation = (
            "unknown",
            f"Cannot tell: {names} is too large to judge, and Claude Code may take a credential "
            f"from it. From the other files alone: {explanation}",
        )
    status = AuthStatus(
        loggedIn=method != "none",
        authMethod=method,
        apiProvider=provider,
        apiKeySource=api_key_source,
        tokenSource=token_source,
        subscriptionType=login.subscription_type if login else None,
        planTier=plan_tier(login.subscription_type, login.rate_limit_tier) if login else None,
        rateLimitTier=login.rate_limit_tier if login else None,
        orgName=_text(account.get("organizationName")) if login else None,
        forcedLoginMethod=_forced_login(inputs),
        configDirectory=str(inputs.config_dir),
        projectsDirectory=str(inputs.config_dir / "projects"),
        billing=billing,
        billingExplanation=explanation,
        baseUrl=redact_url(base_url) if base_url else None,
        credentials=_credentials(
            inputs, env, method, api_key_source, token_source, present_helper, oauth_ok, bare
        ),
    )
    facts = _Facts(inputs, env, status, helper, present_helper, tuple(selected), now, bare)
    return AuthResult(status, _findings(facts))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _billing(
    method: AuthMethod,
    provider: ApiProvider,
    token_source: str | None,
    base_url: str | None,
    login: OAuthLogin | None,
) -> tuple[Billing, str]:
    via = f" through the gateway at {redact_url(base_url)}" if base_url and _is_gateway(base_url) else ""
    if method == "third_party":
        return "cloud", f"Requests go to {provider}; your cloud account is billed, not Anthropic."
    if provider == "gateway":
        return "none", "Managed settings force a gateway login; sign in with /login in Claude Code."
    if method == "claude.ai":
        sub = login.subscription_type if login else None
        plan = f"Claude {sub.capitalize()} plan" if sub else "Claude subscription"
        return "subscription", f"Usage counts against your {plan} limits; no per-token charges{via}."
    if token_source == "CLAUDE_CODE_OAUTH_TOKEN":
        return "subscription", f"A long-lived subscription token (claude setup-token) is in use{via}."
    if token_source == "ANTHROPIC_AUTH_TOKEN":
        return "api", f"A bearer token from ANTHROPIC_AUTH_TOKEN is sent{via}; its owner pays per token."
    if method in {"api_key", "api_key_helper"}:
        return "api", f"Every request is billed per token to the API key's Console organisation{via}."
    return "none", "Claude Code has no credential, so nothing can be billed (or sent)."


def _in_use(method: AuthMethod, token_source: str | None, api_key_source: str | None, source: str) -> bool:
    """Whether Claude Code sends this credential (the opposite of auth status's "not in use")."""
    if method in {"none", "third_party"}:
        return False
    if source == token_source:
        return True
    # Both slots are sent with an explicit bearer token or a helper; otherwise only the winner.
    key_slot_sent = method == "api_key" or token_source in {"ANTHROPIC_AUTH_TOKEN", "apiKeyHelper"}
    return key_slot_sent and source == api_key_source


def _credentials(
    inputs: AuthInputs,
    env: EffectiveEnv,
    method: AuthMethod,
    api_key_source: str | None,
    token_source: str | None,
    helper: SettingsLayer | None,
    oauth_ok: bool,
    bare: bool,
) -> list[Credential]:
    def used(source: str) -> bool:
        return _in_use(method, token_source, api_key_source, source)

    creds: list[Credential] = []
    for name, slot in (
        ("ANTHROPIC_API_KEY", "api_key"),
        ("ANTHROPIC_AUTH_TOKEN", "bearer"),
        ("CLAUDE_CODE_OAUTH_TOKEN", "bearer"),
    ):
        value = env.get(name)
        if value:
            creds.append(_credential(name, slot, env.origin.get(name, "environment"), value, used(name)))
    if helper:
        creds.append(
            Credential(
                source="apiKeyHelper", slot="helper", location=str(helper.path), in_use=used("apiKeyHelper")
            )
        )
    if inputs.primary_api_key:
        source = "/login managed key"
        creds.append(
            _credential(
                source, "api_key", str(inputs.global_config_path), inputs.primary_api_key, used(source)
            )
        )
    login = inputs.oauth
    if login is not None:
        note: str | None = None
        if bare:
            note = f"ignored: {BARE_MODE_VAR} (bare mode) is set"
        elif not oauth_ok:
            note = "not usable: no access token with the user:inference scope"
        else:
            note = f"{login.subscription_type} plan" if login.subscription_type else None
        creds.append(
            Credential(
                source="claude.ai",
                slot="subscription",
                location=login.keychain_item or str(login.path),
                in_use=used("claude.ai"),
                note=note,
            )
        )
    creds.extend(keychain_credentials(inputs))
    return creds


@dataclass(frozen=True)
class _Facts:
    """What the auth rules look at: one resolved route and the inputs it came from."""

    inputs: AuthInputs
    env: EffectiveEnv
    status: AuthStatus
    helper: SettingsLayer | None  # the apiKeyHelper Claude Code runs (None in bare mode)
    present_helper: SettingsLayer | None  # the apiKeyHelper configured, run or not
    selected: tuple[str, ...]  # the provider switches that are set
    now_ms: int
    bare: bool


def _api_key_overrides_subscription(f: _Facts) -> Finding | None:
    """A001: a plan login is present, but an API credential wins and API credits are billed."""
    inputs, status, login = f.inputs, f.status, f.inputs.oauth
    has_plan_login = _oauth_usable(inputs) or bool(f.env.get("CLAUDE_CODE_OAUTH_TOKEN"))
    if status.billing != "api" or not has_plan_login:
        return None
    plan = login.subscription_type if login else None
    culprit = status.tokenSource or status.apiKeySource or status.authMethod
    where = inputs.env.described(culprit) if culprit in inputs.env else ""
    plan_name = f"Claude {plan.capitalize()}" if plan else "Claude subscription"
    cause = causes.env(culprit) if culprit in inputs.env else None
    if culprit == "apiKeyHelper" and f.helper is not None:
        cause = causes.setting(f.helper.path, "apiKeyHelper")
    return API_KEY_OVERRIDES_SUBSCRIPTION.finding(
        f"You have a {plan_name} login, but Claude Code will use {culprit}"
        + (f" ({where})" if where else "")
        + " and bill API credits instead of your plan.",
        path=str(login.path) if login else None,
        cause=cause,
    )


def _no_credentials(f: _Facts) -> Finding | None:
    """No credential at all; not said when an unreadable Keychain may hold a login (A020 says so)."""
    unknown = keychain_unreadable(f.inputs) or bool(f.inputs.unjudged)
    if f.status.loggedIn or f.status.apiProvider != "firstParty" or unknown:
        return None
    return NO_CREDENTIALS.finding(
        f"No credential that Claude Code reads in bare mode ({BARE_MODE_VAR}) was found."
        if f.bare
        else "No credential for Claude Code was found in this environment."
    )


def _gateway(f: _Facts) -> Finding | None:
    base_url = f.status.baseUrl
    if not (base_url and _is_gateway(base_url)):
        return None
    return GATEWAY.finding(
        f"ANTHROPIC_BASE_URL={base_url} ({f.inputs.env.described('ANTHROPIC_BASE_URL')}).",
        cause=causes.env("ANTHROPIC_BASE_URL"),
    )


def _base_url_invalid(f: _Facts) -> Finding | None:
    base_url = f.env.get("ANTHROPIC_BASE_URL")
    if not base_url or f.status.apiProvider != "firstParty":
        return None
    try:
        parse_url(base_url)
    except BadUrl as exc:
        where = f.env.origin.get("ANTHROPIC_BASE_URL", "environment")
        return BASE_URL_INVALID.finding(
            f"ANTHROPIC_BASE_URL={shown_url(base_url)} (from {where}) is not a valid URL: {exc}."
        )
    return None


def _project_credentials_ignored(f: _Facts) -> list[Finding]:
    """A credential variable in a project or local settings `env`: Claude Code does not use it."""
    return [
        PROJECT_CREDENTIAL_IGNORED.finding(
            f"{key} in the {scope} settings `env` has no effect on the credential Claude Code uses.",
            path=str(layer.path),
            cause=causes.setting_env(layer.path, key),
        )
        for scope in ("project", "local")
        for layer in f.inputs.layer(scope)
        for key in PROJECT_IGNORED_CREDENTIALS
        if layer.loaded and layer.env.get(key)
    ]


def _several_providers(f: _Facts) -> Finding | None:
    if len(f.selected) <= 1:
        return None
    return SEVERAL_PROVIDERS.finding(
        f"{', '.join(f.selected)} are all set; Claude Code uses {f.status.apiProvider}."
    )


def _project_api_key_helper(f: _Facts) -> Finding | None:
    helper = f.helper
    if not (helper and helper.scope in {"project", "local"} and f.status.apiProvider == "firstParty"):
        return None
    return PROJECT_API_KEY_HELPER.finding(
        f"apiKeyHelper `{_shorten(redact_text(helper.api_key_helper or ''))}` is defined in "
        f"{helper.scope} settings.",
        path=str(helper.path),
        cause=causes.setting(helper.path, "apiKeyHelper"),
    )


def _api_key_rejected(f: _Facts) -> Finding | None:
    api_key = f.env.get("ANTHROPIC_API_KEY")
    if not (api_key and suffix20(api_key) in f.inputs.rejected_suffixes):
        return None
    return API_KEY_REJECTED.finding(
        f"ANTHROPIC_API_KEY {redact(api_key)} was declined for interactive use.",
        path=str(f.inputs.global_config_path),
        cause=causes.env("ANTHROPIC_API_KEY"),
    )


def _oauth_expired(f: _Facts) -> Finding | None:
    """An expired claude.ai token that cannot be refreshed (with a refresh token it renews itself)."""
    login = f.inputs.oauth
    if login is None or login.expires_at_ms is None or login.expires_at_ms > f.now_ms:
        return None
    if not login.has_access_token or login.has_refresh_token:
        return None
    return OAUTH_EXPIRED.finding("The stored claude.ai token has expired.", path=str(login.path))


def _both_slots(f: _Facts) -> Finding | None:
    key_source, token_source = f.status.apiKeySource, f.status.tokenSource
    if (
        f.status.apiProvider != "firstParty"
        or not (key_source and token_source)
        or key_source == token_source
    ):
        return None
    return BOTH_SLOTS.finding(f"API key from {key_source} and bearer token from {token_source}.")


def _credentials_file(f: _Facts) -> Finding | None:
    """.credentials.json too large to judge (A013), or unreadable for another reason."""
    problem = f.inputs.credentials_problem
    if not problem:
        return None
    credentials = f.inputs.config_dir / ".credentials.json"
    rule = TOO_LARGE_TO_JUDGE if credentials in f.inputs.unjudged else CREDENTIALS_UNREADABLE
    return rule.finding(f"{credentials} {problem}.", path=str(credentials))


def _keychain(f: _Facts) -> list[Finding]:
    return keychain_findings(f.inputs, f.status)


def _ignored_layers(f: _Facts) -> list[Finding]:
    return [found for layer in f.inputs.layers if (found := _ignored_layer(layer)) is not None]


def _ignored_layer(layer: SettingsLayer) -> Finding | None:
    """A013 for a file too large to judge; A012 for managed settings Claude Code cannot parse (it
    refuses to start); A004 for another ignored file, only when it holds auth settings (a warning)
    or cannot be read at all, so what it holds is unknown (a note)."""
    if not (layer.exists and layer.problem):
        return None
    cause = causes.ignored_file(layer.path)
    if layer.unjudged:  # too large to judge: unknown, never called ignored
        return TOO_LARGE_TO_JUDGE.finding(
            f"{layer.scope} file {layer.path} {layer.problem}.", path=str(layer.path), cause=cause
        )
    if layer.scope == "managed":
        return MANAGED_SETTINGS_INVALID.finding(
            f"{layer.path} {layer.problem}.", path=str(layer.path), cause=cause
        )
    if not layer.parsed:
        return SETTINGS_IGNORED.finding(
            f"{layer.scope} file {layer.path} {layer.problem}; if it sets credentials (`env`, "
            "apiKeyHelper), they do not apply.",
            path=str(layer.path),
            severity=Severity.INFO,
            cause=cause,
        )
    what = layer.auth_settings()
    if not what:
        return None
    return SETTINGS_IGNORED.finding(
        f"{', '.join(what)} in {layer.path} {'does' if len(what) == 1 else 'do'} not apply: the file "
        f"{layer.problem}",
        path=str(layer.path),
        cause=cause,
    )


def _bare_mode(f: _Facts) -> Finding | None:
    """What CLAUDE_CODE_SIMPLE makes Claude Code ignore, if anything it ignores is configured."""
    if not f.bare or f.status.apiProvider != "firstParty":
        return None
    inputs, env, helper = f.inputs, f.env, f.present_helper
    ignored = [
        name
        for name, present in (
            ("your claude.ai login", _oauth_usable(inputs)),
            ("CLAUDE_CODE_OAUTH_TOKEN", bool(env.get("CLAUDE_CODE_OAUTH_TOKEN"))),
            ("ANTHROPIC_AUTH_TOKEN", bool(env.get("ANTHROPIC_AUTH_TOKEN"))),
            (f"the apiKeyHelper in {helper.path}" if helper else "", helper is not None),
            ("the /login managed key", bool(inputs.primary_api_key)),
        )
        if present
    ]
    if not ignored:
        return None
    origin = env.origin.get(BARE_MODE_VAR, "environment")
    login = inputs.oauth
    return BARE_MODE.finding(
        f"{BARE_MODE_VAR} is set (from {origin}), so Claude Code ignores {', '.join(ignored)}.",
        path=str(login.path) if login and _oauth_usable(inputs) else None,
    )


_Rule = Callable[[_Facts], "Finding | list[Finding] | None"]

# Each rule returns its finding (a list for a rule that applies per file) or None; this order
# is the order of the route's findings.
_RULES: tuple[_Rule, ...] = (
    _api_key_overrides_subscription,
    _no_credentials,
    _gateway,
    _base_url_invalid,
    _ignored_layers,
    _project_credentials_ignored,
    _several_providers,
    _project_api_key_helper,
    _api_key_rejected,
    _oauth_expired,
    _both_slots,
    _credentials_file,
    _keychain,
    _bare_mode,
)


def _findings(facts: _Facts) -> list[Finding]:
    findings: list[Finding] = []
    for rule in _RULES:
        found = rule(facts)
        if isinstance(found, Finding):
            findings.append(found)
        elif found:
            findings.extend(found)
    return findings


def _shorten(command: str, limit: int = 60) -> str:
    return command if len(command) <= limit else command[: limit - 1] + "…"
