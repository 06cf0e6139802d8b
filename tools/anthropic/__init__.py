"""The shared Anthropic HTTP client: base URL, auth headers, SDK-style retries, error mapping."""

from __future__ import annotations

from claude_health.tools.anthropic.client import (
    API_VERSION,
    DEFAULT_BASE_URL,
    MAX_BODY_BYTES,
    AnthropicClient,
    ApiResponse,
    Credential,
    RequestHook,
    base_url_from_env,
)
from claude_health.tools.anthropic.errors import (
    AnthropicError,
    APIStatusError,
    AuthenticationFailed,
    ConnectionFailed,
    LimiterRefused,
    Overloaded,
    PermissionDenied,
    RateLimited,
    RequestTimedOut,
    RequestTooLarge,
    ResponseMalformed,
    ServerError,
    SpendLimitReached,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "MAX_BODY_BYTES",
    "APIStatusError",
    "AnthropicClient",
    "AnthropicError",
    "ApiResponse",
    "AuthenticationFailed",
    "ConnectionFailed",
    "Credential",
    "LimiterRefused",
    "Overloaded",
    "PermissionDenied",
    "RateLimited",
    "RequestHook",
    "RequestTimedOut",
    "RequestTooLarge",
    "ResponseMalformed",
    "ServerError",
    "SpendLimitReached",
    "base_url_from_env",
]
