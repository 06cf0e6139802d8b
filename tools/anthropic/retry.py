"""The official SDK's retry policy, as pure functions (anthropic 2.12.0 ``_base_client.py``).

Which responses retry: ``x-should-retry: true``/``false`` overrides everything; otherwise 408,
409, 429 and every status >= 500. How long to wait: ``retry-after-ms``, then ``retry-after`` as
seconds, then as an HTTP date; without a header ``min(0.5 * 2**n, 8) * (1 - 0.25 * random())``.

One deliberate difference: the SDK retries a spend-cap 429 twice although it can never succeed
before the 1st of next month; here it is not retried and reported as such.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
RETRYABLE_STATUSES = frozenset({408, 409, 429})
SPEND_LIMIT_CODES = frozenset({"enforced_spend_limit_reached", "contract_spend_limit_reached"})


def error_details(body: Any) -> tuple[str | None, str | None, str | None]:
    """``(type, message, details.error_code)`` of an API error body, each None when absent."""
    if not isinstance(body, dict):
        return None, None, None
    err = body.get("error")
    if not isinstance(err, dict):
        return None, None, None
    etype = err.get("type") if isinstance(err.get("type"), str) else None
    message = err.get("message") if isinstance(err.get("message"), str) else None
    details = err.get("details")
    code = details.get("error_code") if isinstance(details, dict) else None
    return etype, message, code if isinstance(code, str) else None


def is_spend_limit(status: int, body: Any) -> bool:
    return status == 429 and error_details(body)[2] in SPEND_LIMIT_CODES


def should_retry(status: int, headers: Mapping[str, str], body: Any = None) -> bool:
    """Whether the SDK would retry this response (minus the hopeless spend-cap 429)."""
    if is_spend_limit(status, body):
        return False
    hint = headers.get("x-should-retry", "").strip().lower()
    if hint == "true":
        return True
    if hint == "false":
        return False
    return status in RETRYABLE_STATUSES or status >= 500


def retry_after_header(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asked us to wait, or None when it did not say (or said nonsense)."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000
        except ValueError:
            value = -1.0
        if value > 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        value = email.utils.mktime_tz(parsed) - now()
    return value if value > 0 else None


def backoff_delay(retries_taken: int, rand: Callable[[], float] = random.random) -> float:
    """The SDK's jittered exponential backoff for the ``retries_taken``-th retry (0-based)."""
    delay = min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * rand())
