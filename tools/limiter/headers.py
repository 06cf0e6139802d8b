"""Reading Anthropic's rate-limit response headers into bucket truths.

``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}``,
the Priority Tier (``anthropic-priority-{input,output}-tokens-*``) and fast-mode
(``anthropic-fast-{input,output}-tokens-*``) variants, and ``retry-after`` (the SDKs read
``retry-after-ms`` first). Remaining token counts are rounded to the nearest thousand by the
server; ``reset`` (RFC 3339: when the bucket is full again) refines them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_VALUE = 10**12
MAX_RETRY_AFTER = 86400.0
ROUNDING = 1000

_PATTERN = re.compile(
    r"^anthropic-(?:(ratelimit)|(priority)|(fast))-(requests|tokens|input-tokens|output-tokens)-(limit|remaining|reset)$"
)
_DIM = {"requests": "rpm", "tokens": "tpm", "input-tokens": "itpm", "output-tokens": "otpm"}


@dataclass(frozen=True, slots=True)
class Reading:
    """What the server said about one bucket."""

    limit: int
    remaining: float
    reset_in: float | None = None

    def level(self) -> float:
        """Best estimate of tokens left now (``reset`` refines the rounded ``remaining``)."""
        remaining = min(float(self.limit), self.remaining)
        if self.reset_in is None:
            return remaining
        from_reset = self.limit - self.limit / 60.0 * max(0.0, self.reset_in)
        return from_reset if abs(from_reset - remaining) <= ROUNDING else remaining


@dataclass(slots=True)
class HeaderInfo:
    buckets: dict[tuple[str, str], Reading] = field(default_factory=dict)
    """(variant, dimension) -> reading; variant is ``""``, ``"priority"`` or ``"fast"``."""
    retry_after: float | None = None
    ignored: list[str] = field(default_factory=list)
    """Rate-limit headers present but unreadable (bad numbers, dates)."""


def _number(value: str) -> float | None:
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number != number or not 0 <= number <= MAX_VALUE:  # NaN or out of range
        return None
    return number


def _reset_in(value: str, now: datetime) -> float | None:
    text = value.strip()
    if not text or len(text) > 64:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    ms = headers.get("retry-after-ms")
    if ms is not None:
        number = _number(ms)
        if number is not None:
            return min(number / 1000.0, MAX_RETRY_AFTER)
    value = headers.get("retry-after")
    if value is None:
        return None
    number = _number(value)
    if number is not None:
        return min(number, MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


def parse(headers: Mapping[str, str] | None, now: datetime | None = None) -> HeaderInfo:
    """Every rate-limit fact in ``headers`` (any capitalisation); junk is listed, never raised."""
    now = now or datetime.now(UTC)
    lower = {str(k).strip().lower(): str(v) for k, v in (headers or {}).items()}
    raw: dict[tuple[str, str], dict[str, str]] = {}
    for name, value in lower.items():
        m = _PATTERN.match(name)
        if m:
            variant = "priority" if m.group(2) else "fast" if m.group(3) else ""
            raw.setdefault((variant, _DIM[m.group(4)]), {})[m.group(5)] = value
    info = HeaderInfo(retry_after=retry_after(lower, now))
    for key, parts in raw.items():
        limit = _number(parts.get("limit", ""))
        remaining = _number(parts.get("remaining", ""))
        if limit is None or remaining is None or limit <= 0:
            if "limit" in parts or "remaining" in parts:
                info.ignored.append("-".join(filter(None, (key[0] or "ratelimit", key[1]))))
            continue
        reset = _reset_in(parts["reset"], now) if "reset" in parts else None
        info.buckets[key] = Reading(int(limit), remaining, reset)
    return info
