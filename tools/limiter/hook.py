"""Sending Anthropic API calls through the core limiter: a hook for the shared HTTP client.

Every claude-health call to the API goes through :class:`LimiterHook`: it waits for (or refuses)
a slot in the shared buckets before each attempt, and feeds every response's rate-limit headers
and ``retry-after`` back, so all processes on the machine (or the team, on Redis) agree.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from claude_health.tools.anthropic import LimiterRefused
from claude_health.tools.limiter.core import Limiter

# Longest the local limiter may make a call wait before we give up and say so.
LIMITER_MAX_WAIT = 10.0

_WHAT = {
    "count_tokens": "token counting",
    "other": "key checks and Admin API calls",
    "batches": "batch calls",
    "messages": "requests",
}


class LimiterHook:
    """Takes a slot in ``endpoint``'s buckets before each attempt and feeds the limiter headers."""

    def __init__(
        self,
        limiter: Any,
        model: str,
        *,
        endpoint: str = "count_tokens",
        max_wait: float = LIMITER_MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limiter = limiter
        self.model = model
        self.endpoint = endpoint
        self.max_wait = max_wait
        self.sleep = sleep

    def before_request(self, method: str, path: str, body: bytes | None) -> None:
        waited = 0.0
        while True:
            try:
                decision = self.limiter.try_acquire(self.model, 0, 0, endpoint=self.endpoint)
            except RuntimeError as exc:  # StoreError: the shared store failed (e.g. a cluster failover)
                raise LimiterRefused(
                    f"the shared rate limiter's store failed, so the call was not sent (fails closed): {exc}"
                ) from None
            if decision.allowed:
                return
            wait = float(decision.retry_after)
            if getattr(decision, "impossible", False) or waited + wait > self.max_wait:
                what = _WHAT.get(self.endpoint, self.endpoint)
                subject = f" for {self.model}" if self.model else ""
                raise LimiterRefused(
                    f"the local rate limiter holds {what}{subject}: retry after {wait:.1f} s "
                    f"({decision.binding or 'rpm'} bucket)",
                    retry_after=wait,
                )
            self.sleep(wait)
            waited += wait

    def after_response(self, method: str, path: str, status: int, headers: Mapping[str, str]) -> None:
        with contextlib.suppress(Exception):  # bookkeeping must never fail a call
            self.limiter.observe_headers(self.model, headers, status_code=status, endpoint=self.endpoint)


def open_limiter(
    env: Mapping[str, str], home: Path, *, namespace: str = "org"
) -> tuple[Limiter | None, str | None]:
    """The core limiter if it opens; otherwise None and why (calls then go unlimited locally)."""
    try:
        return Limiter.open(env=env, home=home, namespace=namespace, fallback="memory"), None
    except Exception as exc:  # a broken limiter config must not block the call
        return None, f"the core limiter could not open ({type(exc).__name__}): calls not rate-limited locally"
