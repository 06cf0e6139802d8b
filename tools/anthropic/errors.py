"""Errors of the Anthropic HTTP client, each with a message a user can act on.

Messages never contain the credential: only the status, the API's error type and message, the
request id and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping


class AnthropicError(Exception):
    """Base class. ``status`` is None for errors that never got an HTTP response."""

    status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        retries_taken: int = 0,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.error_type = error_type
        self.error_code = error_code
        self.request_id = request_id
        self.headers: dict[str, str] = dict(headers or {})
        self.retries_taken = retries_taken
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class ConnectionFailed(AnthropicError):
    """The server could not be reached or dropped the connection (after the retries)."""


class RequestTimedOut(ConnectionFailed):
    """No response within the timeout (after the retries)."""


class ResponseMalformed(AnthropicError):
    """A response whose body is not the documented JSON."""


class RequestTooLarge(AnthropicError):
    """413: the body is over the endpoint's size limit (also raised locally before sending)."""

    status = 413


class APIStatusError(AnthropicError):
    """Any other non-success status."""


class AuthenticationFailed(APIStatusError):
    """401: the key or token was rejected."""

    status = 401


class PermissionDenied(APIStatusError):
    """403: the credential is valid but not allowed to do this."""

    status = 403


class RateLimited(APIStatusError):
    """429 (or a local limiter refusal): retry after ``retry_after`` seconds."""

    status = 429


class LimiterRefused(RateLimited):
    """The local (shared) rate limiter refused the request before it was sent."""


class SpendLimitReached(RateLimited):
    """429 with ``enforced_spend_limit_reached``/``contract_spend_limit_reached``: retrying cannot help."""


class Overloaded(APIStatusError):
    """529: the API is overloaded (after the retries)."""

    status = 529


class ServerError(APIStatusError):
    """5xx other than 529 (after the retries)."""
