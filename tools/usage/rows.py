"""Ledger rows from transcript lines, one line at a time, and the rule for which copy to keep.

The dict-based :func:`~claude_health.tools.usage.parse.parse_line` judges every line here, with
the standard library's JSON decoder. A warm run reads about a megabyte: this reader takes it in
a few milliseconds, where importing the typed decoder of :mod:`.lines` (msgspec, and the
``typing`` machinery it loads) costs more than the read itself. :class:`~.lines.BlockReader`
extends this class with the typed block decode that a long read pays for.
"""

from __future__ import annotations

from claude_health.tools.usage.parse import (
    ASSISTANT_MARKER,
    USAGE_MARKER,
    LineError,
    TimestampParser,
    parse_line,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import Any

# A ledger row: (msg, req, ts, model, project, session, file, sidechain, speed,
#                input, output, cc5m, cc1h, cc, cread)
Row = tuple[str, str, int, str, str, str, int, int, str, int, int, int, int, int, int]
Key = tuple[str, str]


class NeedsLines(Exception):
    """The block must be read line by line (a typed decode failed, or a line needs its offset)."""


def total(row: Row | tuple[Any, ...]) -> int:
    return int(row[9] + row[10] + row[13] + row[14])


def better(new: Row, old: Row) -> bool:
    """The copy to keep between two records of one response (ccusage v20's rule).

    Main-chain beats a sidechain replay; then the larger token total (the final streaming
    snapshot); then the copy that knows its speed. Equal copies keep the first seen.
    """
    if new[7] != old[7]:
        return not new[7]
    tn, to = new[9] + new[10] + new[13] + new[14], old[9] + old[10] + old[13] + old[14]
    if tn != to:
        return tn > to
    return bool(new[8]) and not old[8]


def parsed_row(
    line: bytes, fallback_req: str, project: str, file_id: int, parse_ts: TimestampParser
) -> Row | None:
    """The row of one line as the dict-based parser judges it (None: no usage in it)."""
    entry = parse_line(line, fallback_req, parse_ts)
    if entry is None:
        return None
    msg = entry.msg_id
    req = entry.key[len(msg) + 1 :] if msg else entry.key
    return (
        msg,
        req,
        entry.ts_ms,
        entry.model,
        project,
        entry.session,
        file_id,
        int(entry.sidechain),
        entry.speed,
        entry.input_tokens,
        entry.output_tokens,
        entry.cache_creation_5m,
        entry.cache_creation_1h,
        entry.cache_creation,
        entry.cache_read,
    )


class LineReader:
    """Turns the lines of one scan into deduplicated rows (``batch``), counting usage and bad lines."""

    def __init__(self, parse_ts: TimestampParser, now_ms: int) -> None:
        self.parse_ts = parse_ts
        self.now_ms = now_ms
        self.rows: dict[Key, Row] = {}

    def block(self, data: bytes | memoryview, project: str, file_id: int) -> tuple[int, int]:
        """Blocks are read line by line here (see :class:`~.lines.BlockReader` for the typed pass)."""
        raise NeedsLines

    @property
    def batch(self) -> dict[Key, Row]:
        """Every response's best row so far."""
        return self.rows

    def lines(self, data: bytes, base: int, name: str, project: str, file_id: int) -> tuple[int, int]:
        """``(usage lines, bad lines)`` of complete lines, folded into the batch; ``base`` is the
        file offset of data[0] (a response without ``message.id`` is keyed by where it sits)."""
        found: list[Row] = []
        bad = 0
        pos = 0
        end = len(data)
        find = data.find
        while pos < end:
            nl = find(b"\n", pos)
            stop = end if nl < 0 else nl
            line = data[pos:stop]
            at = base + pos
            pos = stop + 1
            if USAGE_MARKER not in line or ASSISTANT_MARKER not in line:
                continue
            try:
                row = self._line(line, f"{name}@{at}", project, file_id)
            except LineError:
                bad += 1
                continue
            if row is not None:
                found.append(row)
        self.fold(found)
        return len(found), bad

    def _line(self, line: bytes, fallback_req: str, project: str, file_id: int) -> Row | None:
        return parsed_row(line, fallback_req, project, file_id, self.parse_ts)

    def fold(self, found: list[Row]) -> None:
        """Rows into the batch, keeping the better copy of each response (the first of equals)."""
        rows = self.rows
        get = rows.get
        for row in found:
            key = (row[0], row[1])
            kept = get(key)
            if kept is None or better(row, kept):
                rows[key] = row
