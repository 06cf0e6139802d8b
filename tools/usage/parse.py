"""Turning one transcript line into a usage entry, tolerating everything real files contain."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

try:  # orjson parses 3-5x faster; the stdlib is the always-available fallback.
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
    _DECODE_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError, RecursionError)
except ImportError:  # pragma: no cover - exercised only without orjson
    _loads = json.loads
    _DECODE_ERRORS = (ValueError, RecursionError)

# Cheap byte tests before JSON parsing: tool results make up most bytes and never need parsing.
USAGE_MARKER = b'"usage"'
ASSISTANT_MARKER = b'"assistant"'
SYNTHETIC_MODEL = "<synthetic>"


@dataclass(slots=True)
class Entry:
    """One API response's usage, as recorded by one transcript line."""

    key: str
    msg_id: str
    ts_ms: int
    model: str
    session: str
    sidechain: bool
    speed: str
    input_tokens: int
    output_tokens: int
    cache_creation_5m: int
    cache_creation_1h: int
    cache_creation: int
    cache_read: int
    project: str = ""
    file: str = ""

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation + self.cache_read

    def better_than(self, other: Entry) -> bool:
        """The copy to keep between two records of one response (ccusage v20's rule).

        Main-chain beats a sidechain replay; then the larger token total (the final streaming
        snapshot); then the copy that knows its speed.
        """
        if self.sidechain != other.sidechain:
            return not self.sidechain
        if self.total != other.total:
            return self.total > other.total
        return bool(self.speed) and not other.speed


def _count(usage: dict[str, Any], name: str) -> int:
    value = usage.get(name)
    if type(value) is int:  # the common case, checked first: this runs for every usage line
        return value if value > 0 else 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(0, int(value))


_MINUTES: dict[str, int] = {}


def parse_timestamp_ms(value: object) -> int | None:
    """Epoch milliseconds of an ISO-8601 stamp with a zone; None if there is none to trust."""
    if not isinstance(value, str) or not value:
        return None
    # Fast path for Claude Code's own shape, 2025-09-28T06:17:23.678Z: one cached parse per minute.
    if len(value) == 24 and value[19] == "." and value[23] == "Z" and value[16] == ":":
        minute = _MINUTES.get(value[:16])
        if minute is None and len(_MINUTES) < 1_000_000:
            try:
                minute = int(datetime.fromisoformat(value[:16] + "+00:00").timestamp()) * 1000
            except ValueError:
                return None
            _MINUTES[value[:16]] = minute
        rest = value[17:19] + value[20:23]
        if minute is not None and rest.isdigit():
            return minute + int(rest[:2]) * 1000 + int(rest[2:])
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # Claude Code always writes UTC with Z; a naive stamp is not its record
    return int(moment.timestamp() * 1000)


class LineError(Exception):
    """A line that looks like usage but cannot be used; the scanner counts these."""


def parse_line(line: bytes, fallback_key: str) -> Entry | None:
    """The usage entry in ``line``, None for lines that carry none (most lines).

    Raises :class:`LineError` for a malformed line that mentions usage. ``fallback_key`` keys
    responses without ``message.id``: those are never deduplicated (as in ccusage).
    """
    if USAGE_MARKER not in line or ASSISTANT_MARKER not in line:
        return None
    try:
        record = _loads(line)
    except _DECODE_ERRORS as exc:
        raise LineError(f"not valid JSON ({type(exc).__name__})") from None
    if type(record) is not dict or record.get("type") != "assistant":
        return None
    message = record.get("message")
    if type(message) is not dict:
        return None
    usage = message.get("usage")
    if type(usage) is not dict:
        return None
    model = message.get("model")
    if model == SYNTHETIC_MODEL:
        return None
    ts_ms = parse_timestamp_ms(record.get("timestamp"))
    if ts_ms is None:
        raise LineError("assistant usage line without a valid timestamp")
    msg_id = message.get("id")
    request_id = record.get("requestId")
    if isinstance(msg_id, str) and msg_id:
        key = f"{msg_id}|{request_id}" if isinstance(request_id, str) and request_id else f"{msg_id}|"
    else:
        msg_id = ""
        key = fallback_key
    creation = usage.get("cache_creation")
    if isinstance(creation, dict):
        c5 = _count(creation, "ephemeral_5m_input_tokens")
        c1 = _count(creation, "ephemeral_1h_input_tokens")
        cc = c5 + c1
    else:
        cc = _count(usage, "cache_creation_input_tokens")
        c5, c1 = cc, 0  # before the TTL split every cache write was a 5-minute write
    speed = usage.get("speed")
    session = record.get("sessionId")
    return Entry(
        key=key,
        msg_id=msg_id,
        ts_ms=ts_ms,
        # Interned: a long history repeats a few models and sessions hundreds of thousands of times.
        model=sys.intern(model) if isinstance(model, str) and model else "unknown",
        session=sys.intern(session) if isinstance(session, str) else "",
        sidechain=record.get("isSidechain") is True,
        speed=sys.intern(speed) if isinstance(speed, str) else "",
        input_tokens=_count(usage, "input_tokens"),
        output_tokens=_count(usage, "output_tokens"),
        cache_creation_5m=c5,
        cache_creation_1h=c1,
        cache_creation=cc,
        cache_read=_count(usage, "cache_read_input_tokens"),
    )
