"""Talking to the Admin API: the shared client, pagination, and errors a person can act on.

Requests go to ``https://api.anthropic.com`` or to ``$CLAUDE_HEALTH_ADMIN_BASE_URL`` (an http(s)
URL: a company proxy, or the tests' local server), never to ``ANTHROPIC_BASE_URL``: that is the
inference gateway Claude Code talks to, and an organisation-wide key has no business there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from claude_health.tools.admin.credential import AdminKey
from claude_health.tools.anthropic.client import DEFAULT_BASE_URL, AnthropicClient, Credential, RequestHook
from claude_health.tools.anthropic.errors import AnthropicError, LimiterRefused
from claude_health.tools.redact import redact_text

BASE_URL_ENV = "CLAUDE_HEALTH_ADMIN_BASE_URL"
MAX_PAGES = 200
"""A server that keeps answering ``has_more`` is cut off here rather than looped on forever."""
TIMEOUT = 30.0
MAX_RETRY_WAIT = 30.0


class AdminApiError(RuntimeError):
    """One Admin API call failed; ``message`` is safe to show (no key, no secret-looking text)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def fatal(self) -> bool:
        """401: the key itself is refused, so every other call would be refused too."""
        return self.status == 401


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: hostile or odd answers never raise."""
    return value if isinstance(value, dict) else {}


def admin_base_url(env: Mapping[str, str]) -> str:
    configured = env.get(BASE_URL_ENV, "").strip().rstrip("/")
    if configured:
        parts = urlsplit(configured)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AdminApiError(
                f"{BASE_URL_ENV} must be an http(s) URL, got {redact_text(configured)[:100]!r}"
            )
        return configured
    return DEFAULT_BASE_URL


def open_client(
    key: AdminKey,
    env: Mapping[str, str],
    home: Path,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> AnthropicClient:
    """The shared Anthropic client for ``key``: SDK retries, the core limiter's ``other`` bucket
    (one namespace per admin key, so every process pacing this organisation's Admin API agrees)."""
    from claude_health.tools.limiter.hook import LimiterHook, open_limiter

    limiter, _why = open_limiter(env, home, namespace=f"admin:{key.fingerprint}")
    hooks: list[RequestHook] = (
        [LimiterHook(limiter, "", endpoint="other", max_wait=MAX_RETRY_WAIT)] if limiter else []
    )
    extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    return AnthropicClient(
        credential=Credential(api_key=key.secret),
        base_url=admin_base_url(env),
        max_retries=2,
        max_retry_wait=MAX_RETRY_WAIT,
        timeout=httpx.Timeout(TIMEOUT, connect=5.0),
        hooks=hooks,
        transport=transport,
        **extra,
    )


def close_client(client: AnthropicClient) -> None:
    for hook in client.hooks:
        limiter = getattr(hook, "limiter", None)
        if limiter is not None:
            limiter.close()
    client.close()


def explain(exc: AnthropicError, what: str) -> AdminApiError:
    """An API error as one sentence about ``what`` failed and what to do (no credential in it)."""
    status = exc.status
    said = redact_text(exc.message)
    if isinstance(exc, LimiterRefused):
        text = f"{what}: not sent, {said}"
    elif status == 401:
        text = (
            f"{what}: the admin key was rejected (401): it is revoked, mistyped or not an Admin API key. "
            "Create a new one in the Claude Console (Settings > Admin keys)."
        )
    elif status == 403:
        text = (
            f"{what}: not allowed for this key or organisation (403). Admin API endpoints need an "
            "organisation admin key; some reports are not offered to every organisation."
        )
    elif status == 404:
        text = f"{what}: not found (404): this organisation or account does not offer it."
    elif status == 429:
        wait = f" Retry in {exc.retry_after:g} s." if exc.retry_after else ""
        text = f"{what}: rate limited by the Admin API (429) after {exc.retries_taken} retries.{wait}"
    elif status is None:
        text = f"{what}: no answer from the Admin API ({said})"
    else:
        text = f"{what}: the Admin API answered {status} ({said})"
    return AdminApiError(text, status=status, retry_after=exc.retry_after)


@dataclass(frozen=True)
class Pager:
    """How an endpoint pages: the cursor's field in the response and its query parameter."""

    cursor_field: str
    """``next_page`` (reports, rate limits) or ``last_id`` (lists: workspaces)."""
    param: str
    """``page`` or ``after_id``."""
    needs_has_more: bool
    """Lists and reports say ``has_more``; the rate-limits endpoints only send ``next_page``."""


NEXT_PAGE = Pager("next_page", "page", needs_has_more=True)
RATE_LIMITS = Pager("next_page", "page", needs_has_more=False)
AFTER_ID = Pager("last_id", "after_id", needs_has_more=True)


def pages(
    client: AnthropicClient, path: str, params: Mapping[str, str | list[str]], pager: Pager, what: str
) -> Iterator[dict[str, Any]]:
    """Every page of ``path`` (a JSON object with ``data``), following the cursor."""
    query: dict[str, str | list[str]] = dict(params)
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        try:
            response = client.get(path + _query(query))
        except AnthropicError as exc:
            raise explain(exc, what) from None
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise AdminApiError(f"{what}: the answer is not the documented shape (no data list)")
        yield body
        cursor = body.get(pager.cursor_field)
        more = bool(body.get("has_more")) if pager.needs_has_more else cursor is not None
        if not more:
            return
        if not isinstance(cursor, str) or not cursor or cursor in seen:
            raise AdminApiError(f"{what}: the API said there is more but gave no new {pager.cursor_field}")
        seen.add(cursor)
        query[pager.param] = cursor
    raise AdminApiError(f"{what}: more than {MAX_PAGES} pages; stopped")


def _query(params: Mapping[str, str | list[str]]) -> str:
    """``?a=1&group_by[]=x&group_by[]=y`` (lists repeat their name, as the API expects)."""
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in params.items():
        if isinstance(value, list):
            pairs.extend((name, v) for v in value)
        else:
            pairs.append((name, value))
    return f"?{httpx.QueryParams(pairs)}" if pairs else ""
