"""A small, generic Anthropic API client over httpx with the official SDK's retry rules.

Shared by token counting (``POST /v1/messages/count_tokens``) and key verification: it knows
base URLs, auth headers, retries, error mapping and size limits, and nothing about endpoints'
bodies. A limiter plugs in through :class:`RequestHook` (``before_request``/``after_response``).

Why not the ``anthropic`` SDK: it is a large import (cold start), it retries the monthly
spend-cap 429 that can never succeed, and it does not expose rate-limit headers on success
without a second API (``with_raw_response``); here every response carries its headers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from claude_health.tools.anthropic.errors import (
    AnthropicError,
    APIStatusError,
    AuthenticationFailed,
    ConnectionFailed,
    Overloaded,
    PermissionDenied,
    RateLimited,
    RequestTimedOut,
    RequestTooLarge,
    ResponseMalformed,
    ServerError,
    SpendLimitReached,
)
from claude_health.tools.anthropic.retry import (
    backoff_delay,
    error_details,
    is_spend_limit,
    retry_after_header,
    should_retry,
)
from claude_health.tools.redact import redact_text, redact_url, register_secret, scrub
from claude_health.tools.urls import BadUrl, parse_url, shown_url

DEFAULT_BASE_URL = "https://api.anthropic.com"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
API_VERSION = "2023-06-01"
DEFAULT_MAX_RETRIES = 2
# Longest server-requested wait we sit through; beyond it we report "retry after N s" instead.
DEFAULT_MAX_RETRY_WAIT = 60.0
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
# Request size limits per endpoint (rate-limits page, 2026-08-22); larger bodies get 413.
MAX_BODY_BYTES = 32 * 1024 * 1024
USER_AGENT = "claude-health"


class RequestHook(Protocol):
    """Called around every HTTP attempt (retries included): the place for a client-side limiter.

    ``before_request`` may block until the request is allowed, or raise :class:`RateLimited` to
    refuse it; ``after_response`` sees every response's status and headers (rate-limit headers).
    """

    def before_request(self, method: str, path: str, body: bytes | None) -> None: ...

    def after_response(self, method: str, path: str, status: int, headers: Mapping[str, str]) -> None: ...


@dataclass(frozen=True)
class ApiResponse:
    """A successful response: the parsed JSON body and the (lower-cased) headers."""

    status: int
    body: Any
    headers: dict[str, str]
    retries_taken: int = 0

    @property
    def request_id(self) -> str | None:
        return self.headers.get("request-id")


@dataclass(frozen=True)
class Credential:
    """An API key (``x-api-key``) or a bearer token (``Authorization``). Never printed."""

    api_key: str | None = None
    auth_token: str | None = None

    def headers(self) -> dict[str, str]:
        if self.api_key:
            return {"x-api-key": self.api_key}
        if self.auth_token:
            return {"authorization": f"Bearer {self.auth_token}"}
        return {}

    def __repr__(self) -> str:
        kind = "api_key" if self.api_key else "auth_token" if self.auth_token else "none"
        return f"Credential({kind})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credential | None:
        key = env.get("ANTHROPIC_API_KEY", "").strip()
        token = env.get("ANTHROPIC_AUTH_TOKEN", "").strip()
        if key:
            return cls(api_key=key)
        if token:
            return cls(auth_token=token)
        return None


def base_url_from_env(env: Mapping[str, str]) -> str:
    return (env.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL).rstrip("/")


@dataclass
class AnthropicClient:
    """Synchronous client. Use as a context manager, or call :meth:`close`."""

    credential: Credential
    base_url: str = DEFAULT_BASE_URL
    max_retries: int = DEFAULT_MAX_RETRIES
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    hooks: list[RequestHook] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] | None = None
    transport: httpx.BaseTransport | None = None
    _http: httpx.Client | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # Whatever echoes the credential back (a gateway's error body, a header, a debug log),
        # the output boundary removes it exactly.
        for secret in (self.credential.api_key, self.credential.auth_token):
            if secret:
                register_secret(secret)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> AnthropicClient | None:
        """A client for ``ANTHROPIC_API_KEY``/``ANTHROPIC_AUTH_TOKEN`` at ``ANTHROPIC_BASE_URL``."""
        cred = Credential.from_env(env)
        if cred is None:
            return None
        return cls(credential=cred, base_url=base_url_from_env(env), **kwargs)

    def __enter__(self) -> AnthropicClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            try:
                parse_url(self.base_url)
                self._http = httpx.Client(
                    base_url=self.base_url.rstrip("/"),
                    timeout=self.timeout,
                    transport=self.transport,
                    follow_redirects=False,
                    trust_env=True,
                )
            except (BadUrl, httpx.InvalidURL) as exc:
                where = f" ({BASE_URL_ENV})" if self.base_url != DEFAULT_BASE_URL else ""
                raise AnthropicError(
                    f"the API base URL {shown_url(self.base_url)!r}{where} is not a valid URL: {exc}; "
                    "nothing was sent"
                ) from None
        return self._http

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {
            "anthropic-version": API_VERSION,
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": USER_AGENT,
        }
        headers.update(self.extra_headers)
        if extra:
            headers.update(extra)
        headers.update(self.credential.headers())
        return headers

    # -- public API ---------------------------------------------------------------------------

    def post_json(
        self,
        path: str,
        body: Any,
        *,
        headers: Mapping[str, str] | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> ApiResponse:
        """POST ``body`` as JSON; 413 is raised locally when the body is over ``max_body_bytes``."""
        try:
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:
            raise AnthropicError(f"the request body cannot be sent as JSON: {exc}") from None
        if len(payload) > max_body_bytes:
            raise RequestTooLarge(
                f"the request is {len(payload):,} bytes, over the {max_body_bytes:,}-byte limit of "
                f"{path} (the API would answer 413 request_too_large); not sent"
            )
        return self._send("POST", path, payload, headers)

    def get(
        self, path: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> ApiResponse:
        if params:
            path = f"{path}?{httpx.QueryParams(dict(params))}"
        return self._send("GET", path, None, headers)

    # -- the retry loop ---------------------------------------------------------------------------

    def _send(
        self, method: str, path: str, payload: bytes | None, extra: Mapping[str, str] | None
    ) -> ApiResponse:
        headers = self._headers(extra)
        retries = 0
        rand = self.rand
        while True:
            for hook in self.hooks:
                hook.before_request(method, path, payload)
            headers["x-stainless-retry-count"] = str(retries)
            client = self._client()
            try:
                response = client.request(method, path, content=payload, headers=headers)
            except httpx.InvalidURL as exc:
                raise AnthropicError(f"{method} {path}: not a valid URL ({exc}); nothing was sent") from None
            except httpx.TimeoutException:
                if retries < self.max_retries:
                    self.sleep(backoff_delay(retries, rand) if rand else backoff_delay(retries))
                    retries += 1
                    continue
                raise RequestTimedOut(
                    f"no response from {redact_url(self.base_url)} within the timeout after "
                    f"{retries + 1} attempt(s)",
                    retries_taken=retries,
                ) from None
            except httpx.TransportError as exc:
                if retries < self.max_retries:
                    self.sleep(backoff_delay(retries, rand) if rand else backoff_delay(retries))
                    retries += 1
                    continue
                raise ConnectionFailed(
                    f"cannot reach {redact_url(self.base_url)}: {type(exc).__name__} after "
                    f"{retries + 1} attempt(s)"
                    + (f" ({BASE_URL_ENV} is set)" if self.base_url != DEFAULT_BASE_URL else ""),
                    retries_taken=retries,
                ) from None
            resp_headers = {k.lower(): v for k, v in response.headers.items()}
            for hook in self.hooks:
                hook.after_response(method, path, response.status_code, resp_headers)
            body = _parse(response)
            status = response.status_code
            if 200 <= status < 300:
                if body is _MALFORMED:
                    raise ResponseMalformed(
                        f"{method} {path} answered {status} with a body that is not JSON",
                        status=status,
                        request_id=resp_headers.get("request-id"),
                        headers=resp_headers,
                        retries_taken=retries,
                    )
                return ApiResponse(status, body, resp_headers, retries)
            if retries < self.max_retries and should_retry(status, resp_headers, body):
                asked = retry_after_header(resp_headers)
                if asked is not None and asked > self.max_retry_wait:
                    raise _status_error(method, path, status, body, resp_headers, retries, asked)
                delay = (
                    asked
                    if asked is not None
                    else (backoff_delay(retries, rand) if rand else backoff_delay(retries))
                )
                self.sleep(delay)
                retries += 1
                continue
            raise _status_error(
                method, path, status, body, resp_headers, retries, retry_after_header(resp_headers)
            )


_MALFORMED = object()
_MAX_SHOWN_MESSAGE = 500


def _outside_text(value: str | None) -> str | None:
    """Text from a response, safe to show: credentials of every known shape (the one this client
    sends included, whatever its shape) and long key-like tokens redacted, cut to a readable length."""
    if value is None:
        return None
    shown = redact_text(value)
    return shown if len(shown) <= _MAX_SHOWN_MESSAGE else shown[:_MAX_SHOWN_MESSAGE] + "…"


def _parse(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return _MALFORMED


def _status_error(
    method: str,
    path: str,
    status: int,
    body: Any,
    headers: dict[str, str],
    retries: int,
    retry_after: float | None,
) -> AnthropicError:
    etype, api_message, code = error_details(body)
    # The body and headers come from whatever answers at the base URL: a gateway may echo the
    # request, credential included. Nothing from them is shown unscrubbed or at length.
    etype, api_message, code = (_outside_text(v) for v in (etype, api_message, code))
    headers = {k: scrub(v) for k, v in headers.items()}
    request_id = headers.get("request-id")
    said = f": {api_message}" if api_message else ""
    kind = f" {etype}" if etype else ""
    tail = f" (request-id {request_id})" if request_id else ""
    tried = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
    common: dict[str, Any] = {
        "status": status,
        "error_type": etype,
        "error_code": code,
        "request_id": request_id,
        "headers": headers,
        "retries_taken": retries,
        "retry_after": retry_after,
    }
    base = f"{method} {path} failed with {status}{kind}{said}{tried}{tail}"
    if status == 401:
        return AuthenticationFailed(
            f"{base}. The API key was rejected: check ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) is "
            "current and belongs to this base URL's service; a revoked or mistyped key gives 401.",
            **common,
        )
    if status == 403:
        return PermissionDenied(
            f"{base}. The key is valid but not allowed to do this: the workspace or organisation may "
            "lack access to the model, or the key's role is too narrow.",
            **common,
        )
    if status == 413:
        return RequestTooLarge(f"{base}. The request body is over the endpoint's size limit.", **common)
    if is_spend_limit(status, body):
        return SpendLimitReached(
            f"{base}. The organisation's monthly spend limit is reached: retrying cannot succeed (not "
            "retried) until the limit resets at 00:00 UTC on the 1st, or the limit is raised in the Console.",
            **common,
        )
    if status == 429:
        wait = f" Retry after {retry_after:g} s." if retry_after is not None else ""
        return RateLimited(f"{base}. Rate limited.{wait}", **common)
    if status == 529:
        return Overloaded(f"{base}. The API is overloaded; try again shortly.", **common)
    if status >= 500:
        if body is _MALFORMED:
            base = f"{method} {path} failed with {status}{tried}{tail}"
        return ServerError(f"{base}. Server error.", **common)
    if body is _MALFORMED:
        return ResponseMalformed(
            f"{method} {path} answered {status} with a body that is not JSON{tail}", **common
        )
    return APIStatusError(base + ".", **common)
