"""Exact counts from ``POST /v1/messages/count_tokens``, cached, optionally through the limiter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claude_health.tools.anthropic import AnthropicClient, ResponseMalformed
from claude_health.tools.limiter.hook import LimiterHook, open_limiter
from claude_health.tools.tokens.cache import ExactCache, request_key
from claude_health.tools.tokens.models import pricing_table

COUNT_TOKENS_PATH = "/v1/messages/count_tokens"


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


__all__ = ["ExactCounter", "ExactResult", "ExactUnavailable", "LimiterHook", "open_limiter"]
