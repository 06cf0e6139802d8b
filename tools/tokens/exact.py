"""Exact counts from ``POST /v1/messages/count_tokens``, cached, optionally through the limiter."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claude_health.tools.anthropic import AnthropicClient, RateLimited, ResponseMalformed
from claude_health.tools.tokens.cache import ExactCache, request_key
from claude_health.tools.tokens.models import pricing_table

COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
# Longest the local limiter may make a count wait before we give up and say so.
LIMITER_MAX_WAIT = 10.0


class ExactUnavailable(Exception):
    """No exact count is possible (no credential); the message says what to set."""


@dataclass(frozen=True)
class ExactResult:
    tokens: int
    cached: bool
    request_id: str | None = None


class ExactCounter:
    """Counts request bodies through the API, with the content-hash cache in front."""

    def __init__(self, client: AnthropicClient, cache: ExactCache | None = None) -> None:
        self.client = client
        self.cache = cache
        self._baselines: dict[str, int] = {}

    def count(self, body: dict[str, Any]) -> ExactResult:
        try:
            key: str | None = request_key(body)
        except (TypeError, ValueError, RecursionError):
            key = None  # not canonicalisable: count without the cache
        if self.cache is not None and key is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return ExactResult(hit, cached=True)
        limit = pricing_table().request_size_limits["count_tokens"]
        resp = self.client.post_json(COUNT_TOKENS_PATH, body, max_body_bytes=limit)
        tokens = resp.body.get("input_tokens") if isinstance(resp.body, dict) else None
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
            raise ResponseMalformed(
                f"{COUNT_TOKENS_PATH} answered without a non-negative integer input_tokens",
                status=resp.status,
                request_id=resp.request_id,
            )
        if self.cache is not None and key is not None:
            self.cache.put(key, str(body.get("model", "")), tokens)
        return ExactResult(tokens, cached=False, request_id=resp.request_id)

    def framing(self, model: str) -> int:
        """Tokens the API adds around one user message (counted once per model, then cached)."""
        if model not in self._baselines:
            probe = {"model": model, "messages": [{"role": "user", "content": "."}]}
            self._baselines[model] = max(0, self.count(probe).tokens - 1)
        return self._baselines[model]

    def count_block(self, block: dict[str, Any], model: str) -> ExactResult:
        """Tokens of one content block (an image or a document) alone: one user message minus framing."""
        body = {"model": model, "messages": [{"role": "user", "content": [block]}]}
        result = self.count(body)
        return ExactResult(max(0, result.tokens - self.framing(model)), result.cached, result.request_id)

    def count_text(self, text: str, model: str) -> ExactResult:
        """Tokens of ``text`` alone: one user message minus the framing."""
        body = {"model": model, "messages": [{"role": "user", "content": text}]}
        result = self.count(body)
        return ExactResult(max(0, result.tokens - self.framing(model)), result.cached, result.request_id)


class LimiterHook:
    """Sends count_tokens calls through the core limiter (its own RPM bucket) and feeds it headers."""

    def __init__(
        self,
        limiter: Any,
        model: str,
        *,
        max_wait: float = LIMITER_MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limiter = limiter
        self.model = model
        self.max_wait = max_wait
        self.sleep = sleep

    def before_request(self, method: str, path: str, body: bytes | None) -> None:
        waited = 0.0
        while True:
            decision = self.limiter.try_acquire(self.model, 0, 0, endpoint="count_tokens")
            if decision.allowed:
                return
            wait = float(decision.retry_after)
            if getattr(decision, "impossible", False) or waited + wait > self.max_wait:
                raise RateLimited(
                    f"the local rate limiter holds token counting for {self.model}: retry after {wait:.1f} s "
                    f"({decision.binding or 'rpm'} bucket)",
                    retry_after=wait,
                )
            self.sleep(wait)
            waited += wait

    def after_response(self, method: str, path: str, status: int, headers: Mapping[str, str]) -> None:
        with contextlib.suppress(Exception):  # bookkeeping must never fail a count
            self.limiter.observe_headers(self.model, headers, status_code=status, endpoint="count_tokens")


def open_limiter(env: Mapping[str, str], home: Path) -> tuple[Any | None, str | None]:
    """The core limiter if it is installed and opens; otherwise None and why."""
    try:
        from claude_health.tools.limiter import Limiter
    except ImportError:
        return None, "the core limiter is not installed: count_tokens calls are not rate-limited locally"
    try:
        return Limiter.open(env=env, home=home, fallback="memory"), None
    except Exception as exc:  # a broken limiter config must not block counting
        return None, f"the core limiter could not open ({type(exc).__name__}): calls not rate-limited locally"
