"""The auth route's result, in Claude Code's own vocabulary (``claude auth status --json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from claude_health.tools.records import describe, to_json

AuthMethod = Literal["none", "api_key", "oauth_token", "claude.ai", "api_key_helper", "third_party"]
ApiProvider = Literal[
    "firstParty", "bedrock", "vertex", "foundry", "anthropicAws", "anthropicGoogleCloud", "mantle", "gateway"
]
Billing = Literal["subscription", "api", "cloud", "none", "unknown"]
Slot = Literal["api_key", "bearer", "subscription", "helper", "cloud"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    """A credential Claude Code can see, shown only redacted."""

    source: str = field(metadata=describe("Where Claude Code would take it from, in its own words."))
    slot: Slot = field(
        metadata=describe(
            "api_key: X-Api-Key; bearer: Authorization header; subscription: claude.ai login; "
            "helper: apiKeyHelper command; cloud: a cloud provider's own credentials."
        )
    )
    location: str = field(metadata=describe("Environment variable or file path it was found in."))
    redacted: str | None = field(default=None, metadata=describe("Prefix and last 4 characters only."))
    fingerprint: str | None = None
    in_use: bool = field(metadata=describe("Whether Claude Code will actually use it."))
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthStatus:
    """Which credential Claude Code uses and who pays.

    The camelCase fields mirror ``claude auth status --json``; ``billing`` and the rest are ours.
    """

    loggedIn: bool
    authMethod: AuthMethod
    apiProvider: ApiProvider
    apiKeySource: str | None = field(default=None, metadata=describe("ANTHROPIC_API_KEY, apiKeyHelper, ..."))
    tokenSource: str | None = field(default=None, metadata=describe("Where the bearer token comes from."))
    subscriptionType: str | None = field(
        default=None,
        metadata=describe("max, pro, team, enterprise ...; only when the claude.ai login is in use."),
    )
    planTier: str | None = field(default=None, metadata=describe("max_20x, max_5x, pro or other."))
    rateLimitTier: str | None = None
    orgName: str | None = None
    forcedLoginMethod: str | None = field(default=None, metadata=describe("forceLoginMethod from settings."))
    configDirectory: str
    projectsDirectory: str
    billing: Billing = field(
        metadata=describe(
            "Who pays: subscription (Max/Pro plan), api (API credits), cloud, none; unknown when a "
            "file it depends on was too large to judge."
        )
    )
    billingExplanation: str
    baseUrl: str | None = field(
        default=None, metadata=describe("ANTHROPIC_BASE_URL when set (an LLM gateway).")
    )
    credentials: list[Credential] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, without the fields that are not set (as ``claude auth status`` prints)."""
        data: dict[str, Any] = to_json(self, exclude_none=True)
        return data
