"""The auth route's result, in Claude Code's own vocabulary (``claude auth status --json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AuthMethod = Literal["none", "api_key", "oauth_token", "claude.ai", "api_key_helper", "third_party"]
ApiProvider = Literal[
    "firstParty", "bedrock", "vertex", "foundry", "anthropicAws", "anthropicGoogleCloud", "mantle", "gateway"
]
Billing = Literal["subscription", "api", "cloud", "none"]


class Credential(BaseModel):
    """A credential Claude Code can see, shown only redacted."""

    source: str = Field(description="Where Claude Code would take it from, in its own words.")
    slot: Literal["api_key", "bearer", "subscription", "helper", "cloud"] = Field(
        description="api_key: X-Api-Key; bearer: Authorization header; subscription: claude.ai login; "
        "helper: apiKeyHelper command; cloud: a cloud provider's own credentials."
    )
    location: str = Field(description="Environment variable or file path it was found in.")
    redacted: str | None = Field(default=None, description="Prefix and last 4 characters only.")
    fingerprint: str | None = None
    in_use: bool = Field(description="Whether Claude Code will actually use it.")
    note: str | None = None


class AuthStatus(BaseModel):
    """Which credential Claude Code uses and who pays.

    The camelCase fields mirror ``claude auth status --json``; ``billing`` and the rest are ours.
    """

    model_config = ConfigDict(populate_by_name=True)

    loggedIn: bool
    authMethod: AuthMethod
    apiProvider: ApiProvider
    apiKeySource: str | None = Field(default=None, description="ANTHROPIC_API_KEY, apiKeyHelper, ...")
    tokenSource: str | None = Field(default=None, description="Where the bearer token comes from.")
    subscriptionType: str | None = Field(
        default=None, description="max, pro, team, enterprise ...; only when the claude.ai login is in use."
    )
    planTier: str | None = Field(default=None, description="max_20x, max_5x, pro or other.")
    rateLimitTier: str | None = None
    orgName: str | None = None
    forcedLoginMethod: str | None = Field(default=None, description="forceLoginMethod from settings.")
    configDirectory: str
    projectsDirectory: str
    billing: Billing = Field(
        description="Who pays: subscription (Max/Pro plan), api (API credits), cloud, none."
    )
    billingExplanation: str
    baseUrl: str | None = Field(default=None, description="ANTHROPIC_BASE_URL when set (an LLM gateway).")
    credentials: list[Credential] = Field(default_factory=list)
