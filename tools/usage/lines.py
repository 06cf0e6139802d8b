"""Usage entries from a block of complete transcript lines, decoded by type.

msgspec decodes a whole block of JSON lines in one call into Structs that declare only the
fields a usage entry needs (timestamp, session, request id, sidechain flag, message id, model,
usage): the rest of each line (tool results, text, thinking: most of the bytes) is skipped in C
without building a Python object. On the generated 200 MiB tree that pass takes a third of
``orjson.loads`` on the usage lines alone, which then still had to be walked as dicts.

A block that does not decode as typed (a malformed line, a field of an unexpected type, a
response without ``message.id``, which is keyed by where its line sits) is read again line by
line with the same rules; a line of an unexpected shape falls back to the dict-based
:func:`~claude_health.tools.usage.parse.parse_line`, so every line is judged the same way
whichever path reads it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

if (
    "typing_extensions" not in sys.modules
    and "msgspec" not in sys.modules
    and ("threading" not in sys.modules or sys.modules["threading"].active_count() == 1)
):
    # msgspec's type helpers import typing_extensions whenever it is installed (the MCP SDK's
    # dependencies install it), and inspect with it: 8 ms of every first load's start, in each
    # reader, for back-ports of what Python 3.11's typing has itself. A process that has not
    # loaded it (the CLI; the server already has) lets msgspec take typing's own. The entry
    # lasts only for this import, in a process running no other thread that could import it
    # (none can run where threading is not even loaded).
    try:
        sys.modules["typing_extensions"] = None  # type: ignore[assignment]  # "not installed"
        import msgspec
    finally:
        sys.modules.pop("typing_extensions", None)
import msgspec

from claude_health.tools.usage.parse import (
    FUTURE_SLACK_MS,
    MAX_TOKENS,
    MIN_TS_MS,
    SYNTHETIC_MODEL,
    LineError,
    TimestampParser,
    datetime_ms,
)
from claude_health.tools.usage.rows import Key, LineReader, NeedsLines, Row, better, parsed_row, total

__all__ = ["BlockReader", "Key", "NeedsLines", "Row", "better", "total"]

Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKENS)]


class _Creation(msgspec.Struct, gc=False):
    ephemeral_5m_input_tokens: Count | None = None
    ephemeral_1h_input_tokens: Count | None = None


class _Usage(msgspec.Struct, gc=False):
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    cache_creation_input_tokens: Count | None = None
    cache_read_input_tokens: Count | None = None
    cache_creation: _Creation | None = None
    speed: str | None = None


class _Message(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    usage: _Usage | None = None


class _Line(msgspec.Struct, gc=False):
    type: str | None = None
    # Parsed in C; a stamp msgspec does not take goes through the line reader's careful parser.
    timestamp: datetime | None = None
    sessionId: str | None = None
    requestId: str | None = None
    isSidechain: bool | None = None
    message: _Message | None = None
    # Where the line came from, set by the reader after decoding (under names Claude Code never
    # writes; a line that has them anyway gets them overwritten).
    file_id: int = msgspec.field(default=0, name="claude-health file id")
    project: str = msgspec.field(default="", name="claude-health project")


_DECODER = msgspec.json.Decoder(_Line)
_TYPED_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)

_intern = sys.intern


def _row(ln: _Line, ts: int, msg: str, req: str) -> Row:
    m = ln.message
    u = m.usage if m is not None else None
    assert m is not None and u is not None
    creation = u.cache_creation
    if creation is not None:
        c5 = creation.ephemeral_5m_input_tokens or 0
        c1 = creation.ephemeral_1h_input_tokens or 0
        cc = c5 + c1
    else:
        cc = u.cache_creation_input_tokens or 0
        c5, c1 = cc, 0  # before the TTL split every cache write was a 5-minute write
    model = m.model
    session = ln.sessionId
    speed = u.speed
    return (
        msg,
        req,
        ts,
        _intern(model) if model else "unknown",
        ln.project,
        _intern(session) if session else "",
        ln.file_id,
        1 if ln.isSidechain is True else 0,
        _intern(speed) if speed else "",
        u.input_tokens or 0,
        u.output_tokens or 0,
        c5,
        c1,
        cc,
        u.cache_read_input_tokens or 0,
    )


def _total(ln: _Line) -> int:
    u = ln.message.usage  # type: ignore[union-attr]
    assert u is not None
    creation = u.cache_creation
    if creation is not None:
        cc = (creation.ephemeral_5m_input_tokens or 0) + (creation.ephemeral_1h_input_tokens or 0)
    else:
        cc = u.cache_creation_input_tokens or 0
    return (u.input_tokens or 0) + (u.output_tokens or 0) + cc + (u.cache_read_input_tokens or 0)


def _line_better(new: _Line, old: _Line) -> bool:
    """:func:`better` on decoded lines, before any row is built."""
    ns, os_ = new.isSidechain is True, old.isSidechain is True
    if ns != os_:
        return not ns
    tn, to = _total(new), _total(old)
    if tn != to:
        return tn > to
    return bool(new.message.usage.speed) and not old.message.usage.speed  # type: ignore[union-attr]


class BlockReader(LineReader):
    """Turns blocks of one scan into deduplicated rows (``batch``), counting usage and bad lines."""

    def __init__(self, parse_ts: TimestampParser, now_ms: int) -> None:
        super().__init__(parse_ts, now_ms)
        # Decoded lines of the block path, folded before any row is built: most usage lines are
        # streaming snapshots that lose to a later copy of the same response.
        self.pending: dict[Key, _Line] = {}
        # self.rows: from the line path, and the pending lines once built
        self._lo = datetime.fromtimestamp(MIN_TS_MS / 1000, UTC)
        self._hi = datetime.fromtimestamp((now_ms + FUTURE_SLACK_MS) / 1000, UTC)

    def block(self, data: bytes | memoryview, project: str, file_id: int) -> tuple[int, int]:
        """``(usage lines, bad lines)`` of a block of complete lines, folded into the batch.

        Raises :class:`NeedsLines` when the block must go through :meth:`lines` instead; the
        batch is unchanged then.
        """
        try:
            decoded = _DECODER.decode_lines(data)
        except _TYPED_ERRORS:
            raise NeedsLines from None
        found: list[tuple[Key, _Line]] = []
        append = found.append
        bad = 0
        lo, hi = self._lo, self._hi
        for ln in decoded:  # (the loop every line goes through: kept lean)
            m = ln.message
            if m is None or m.usage is None or ln.type != "assistant" or m.model == SYNTHETIC_MODEL:
                continue
            ts = ln.timestamp
            if ts is None or ts.tzinfo is None or not lo <= ts <= hi:
                bad += 1
                continue
            msg = m.id
            if not msg:
                raise NeedsLines  # keyed by its line's offset, which only the line reader knows
            append(((msg, ln.requestId or ""), ln))
        pending = self.pending
        setdefault = pending.setdefault
        rows = self.rows
        better = _line_better
        for key, ln in found:
            kept = setdefault(key, ln)
            if kept is ln or better(ln, kept):
                ln.file_id = file_id  # only on the copies kept: most lines lose to a later one
                ln.project = project
                if kept is not ln:
                    pending[key] = ln
            if rows and key in rows:  # the line path saw this response first: compare once built
                self._settle(key)
        return len(found), bad

    def _settle(self, key: Key) -> None:
        ln = self.pending.pop(key)
        row = self._build(key, ln)
        kept = self.rows.get(key)
        if kept is None or better(row, kept):
            self.rows[key] = row

    @staticmethod
    def _build(key: Key, ln: _Line) -> Row:
        assert ln.timestamp is not None
        return _row(ln, datetime_ms(ln.timestamp), key[0], key[1])

    @property
    def batch(self) -> dict[Key, Row]:
        """Every response's best row so far (building the rows of pending lines)."""
        if self.pending:
            rows = self.rows
            row_of = _row
            ms_of = datetime_ms
            if not rows:  # the usual case: nothing came through the line path
                self.rows = rows = {
                    key: row_of(ln, ms_of(ln.timestamp), key[0], key[1])  # type: ignore[arg-type]
                    for key, ln in self.pending.items()
                }
            else:
                for key, ln in self.pending.items():
                    row = row_of(ln, ms_of(ln.timestamp), key[0], key[1])  # type: ignore[arg-type]
                    kept = rows.get(key)
                    if kept is None or better(row, kept):
                        rows[key] = row
            self.pending = {}
        return self.rows

    def _line(self, line: bytes, fallback_req: str, project: str, file_id: int) -> Row | None:
        try:
            ln = _DECODER.decode(line)
        except msgspec.ValidationError:
            return self._careful(line, fallback_req, project, file_id)
        except (msgspec.DecodeError, RecursionError):
            raise LineError("not valid JSON") from None
        m = ln.message
        if m is None or m.usage is None or ln.type != "assistant" or m.model == SYNTHETIC_MODEL:
            return None
        ts = self.parse_ts(ln.timestamp)
        if ts is None:
            raise LineError("assistant usage line without a valid timestamp")
        ln.file_id = file_id
        ln.project = project
        if m.id:
            return _row(ln, ts, m.id, ln.requestId or "")
        return _row(ln, ts, "", fallback_req)

    def _careful(self, line: bytes, fallback_req: str, project: str, file_id: int) -> Row | None:
        """A line whose fields have unexpected types: the dict-based parser's judgement."""
        return parsed_row(line, fallback_req, project, file_id, self.parse_ts)

    def fold(self, found: list[Row]) -> None:
        """Rows into the batch, keeping the better copy of each response (the first of equals)."""
        rows = self.rows
        get = rows.get
        for row in found:
            key = (row[0], row[1])
            if key in self.pending:
                self._settle(key)
            kept = get(key)
            if kept is None or better(row, kept):
                rows[key] = row
