"""Turning one transcript line into a usage entry, tolerating everything real files contain."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import datetime

from claude_health.tools.usage.record import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import Any

# This parser only judges lines that the typed decoder of :mod:`.lines` could not take (fields
# of unexpected types): rare, so the stdlib's json serves, and costs no import of its own.
_loads: Callable[[bytes], Any] = json.loads
_DECODE_ERRORS: tuple[type[Exception], ...] = (ValueError, RecursionError)

# Cheap byte tests before JSON parsing: tool results make up most bytes and never need parsing.
USAGE_MARKER = b'"usage"'
ASSISTANT_MARKER = b'"assistant"'
SYNTHETIC_MODEL = "<synthetic>"


class Entry(Record):
    """One API response's usage, as recorded by one transcript line."""

    __slots__ = (  # noqa: RUF023 - in the order of the fields
        "key",
        "msg_id",
        "ts_ms",
        "model",
        "session",
        "sidechain",
        "speed",
        "input_tokens",
        "output_tokens",
        "cache_creation_5m",
        "cache_creation_1h",
        "cache_creation",
        "cache_read",
        "project",
        "file",
    )

    def __init__(
        self,
        key: str,
        msg_id: str,
        ts_ms: int,
        model: str,
        session: str,
        sidechain: bool,
        speed: str,
        input_tokens: int,
        output_tokens: int,
        cache_creation_5m: int,
        cache_creation_1h: int,
        cache_creation: int,
        cache_read: int,
        project: str = "",
        file: str = "",
    ) -> None:
        self.key = key
        self.msg_id = msg_id
        self.ts_ms = ts_ms
        self.model = model
        self.session = session
        self.sidechain = sidechain
        self.speed = speed
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_creation_5m = cache_creation_5m
        self.cache_creation_1h = cache_creation_1h
        self.cache_creation = cache_creation
        self.cache_read = cache_read
        self.project = project
        self.file = file

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


# No real response comes near this; anything larger would overflow SQLite's 64-bit sums.
MAX_TOKENS = 10**12


def _count(usage: dict[str, Any], name: str) -> int:
    """A token count from ``usage``; absent is 0, an impossible value makes the line an error."""
    value = usage.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LineError(f"{name} is not a number")
    if value != value or value < 0 or value > MAX_TOKENS:  # NaN, negative, or impossibly large
        raise LineError(f"{name} out of range")
    return int(value)


_MINUTES: dict[str, int] = {}

# Stamps outside this range are corrupt: they cannot be turned back into dates everywhere
# (year 0/10000 after a zone shift) and a far-future one would pose as the active block.
MIN_TS_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
FUTURE_SLACK_MS = 86_400_000  # one day of clock skew


def _timestamp_ms(value: object) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    # Fast path for Claude Code's own shape, 2025-09-28T06:17:23.678Z: one cached parse per minute.
    if len(value) == 24 and value[19] == "." and value[23] == "Z" and value[16] == ":":
        minute = _MINUTES.get(value[:16])
        if minute is None and len(_MINUTES) < 1_000_000:
            try:
                minute = int(datetime.fromisoformat(value[:16] + "+00:00").timestamp()) * 1000
            except (ValueError, OverflowError):
                return None
            _MINUTES[value[:16]] = minute
        rest = value[17:19] + value[20:23]  # "SSmmm" is the milliseconds into the minute
        if minute is not None and rest.isdigit() and rest.isascii():
            return minute + int(rest)
    try:
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is None:
        return None  # Claude Code always writes UTC with Z; a naive stamp is not its record
    return datetime_ms(moment)


def datetime_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime: exact for whole milliseconds (a float product
    such as 1759040243.678 * 1000 can land just below), truncated below a millisecond."""
    ms = moment.timestamp() * 1000
    return round(ms) if moment.microsecond % 1000 == 0 else int(ms)


def parse_timestamp_ms(value: object) -> int | None:
    """Epoch milliseconds of an ISO-8601 stamp with a zone; None if there is none to trust."""
    ms = _timestamp_ms(value)
    if ms is None or ms < MIN_TS_MS or ms > time.time() * 1000 + FUTURE_SLACK_MS:
        return None
    return ms


TimestampParser = Callable[[object], "int | None"]


def timestamp_parser(now_ms: int) -> TimestampParser:
    """:func:`parse_timestamp_ms` with "now" fixed once per scan (it runs once per usage line).

    Takes the string of a line or the aware ``datetime`` the typed decoder already parsed.
    """
    latest = now_ms + FUTURE_SLACK_MS
    convert = _timestamp_ms

    def parse(value: object) -> int | None:
        if type(value) is datetime:
            if value.tzinfo is None:
                return None
            ms: int | None = datetime_ms(value)
        else:
            ms = convert(value)
        if ms is None or ms < MIN_TS_MS or ms > latest:
            return None
        return ms

    return parse


class LineError(Exception):
    """A line that looks like usage but cannot be used; the scanner counts these."""


_intern = sys.intern


def parse_line(line: bytes, fallback_key: str, parse_ts: TimestampParser | None = None) -> Entry | None:
    """The usage entry in ``line``, None for lines that carry none (most lines).

    Raises :class:`LineError` for a malformed line that mentions usage. ``fallback_key`` keys
    responses without ``message.id``: those are never deduplicated (as in ccusage). ``parse_ts``:
    a scan's :func:`timestamp_parser` ("now" fixed once), else :func:`parse_timestamp_ms`.
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
    ts_ms = (parse_ts or parse_timestamp_ms)(record.get("timestamp"))
    if ts_ms is None:
        raise LineError("assistant usage line without a valid timestamp")
    msg_id = message.get("id")
    if type(msg_id) is str and msg_id:
        request_id = record.get("requestId")
        key = f"{msg_id}|{request_id}" if type(request_id) is str and request_id else f"{msg_id}|"
    else:
        msg_id = ""
        key = fallback_key
    # This runs for every usage line of a history: read the counts directly, and fall back to
    # the careful conversion only for a value that is not a plain non-negative int.
    inp = usage.get("input_tokens", 0)
    if type(inp) is not int or inp < 0 or inp > MAX_TOKENS:
        inp = _count(usage, "input_tokens")
    out = usage.get("output_tokens", 0)
    if type(out) is not int or out < 0 or out > MAX_TOKENS:
        out = _count(usage, "output_tokens")
    cr = usage.get("cache_read_input_tokens", 0)
    if type(cr) is not int or cr < 0 or cr > MAX_TOKENS:
        cr = _count(usage, "cache_read_input_tokens")
    creation = usage.get("cache_creation")
    if type(creation) is dict:
        c5 = creation.get("ephemeral_5m_input_tokens", 0)
        if type(c5) is not int or c5 < 0 or c5 > MAX_TOKENS:
            c5 = _count(creation, "ephemeral_5m_input_tokens")
        c1 = creation.get("ephemeral_1h_input_tokens", 0)
        if type(c1) is not int or c1 < 0 or c1 > MAX_TOKENS:
            c1 = _count(creation, "ephemeral_1h_input_tokens")
        cc = c5 + c1
    else:
        cc = usage.get("cache_creation_input_tokens", 0)
        if type(cc) is not int or cc < 0 or cc > MAX_TOKENS:
            cc = _count(usage, "cache_creation_input_tokens")
        c5, c1 = cc, 0  # before the TTL split every cache write was a 5-minute write
    speed = usage.get("speed")
    session = record.get("sessionId")
    # Interned: a long history repeats a few models and sessions hundreds of thousands of times.
    return Entry(
        key,
        msg_id,
        ts_ms,
        _intern(model) if type(model) is str and model else "unknown",
        _intern(session) if type(session) is str else "",
        record.get("isSidechain") is True,
        _intern(speed) if type(speed) is str else "",
        inp,
        out,
        c5,
        c1,
        cc,
        cr,
    )
