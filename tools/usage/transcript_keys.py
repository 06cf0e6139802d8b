"""Anthropic credentials in transcript bytes, found while the usage scan reads them.

Only where a block contains ``sk-ant-`` does the key regex run; each credential is stored
redacted and fingerprinted with its line, its session and the time of its line (the key itself
never leaves this function). A warm usage scan searches what it reads; the bytes of a first
scan of a long history (where the search would cost as much as the decoding) are searched by
:func:`catch_up`, which the key check runs: each file's ``keys_offset`` says how far it got.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from functools import cache
from typing import TYPE_CHECKING, Any, BinaryIO

from claude_health.tools.keys.formats import classify, holds_prefix, iter_matches
from claude_health.tools.redact import fingerprint, redact

COUNT_CHUNK = 8 * 1024 * 1024

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


if TYPE_CHECKING:
    import msgspec


@cache
def _where_decoder() -> msgspec.json.Decoder[Any]:
    """The decoder of a line's session and time, built on first use: the key check imports this
    module on every run, and msgspec (a tenth of the CLI key scan's start-up) is needed only for
    a line that holds a credential."""
    import msgspec

    class Where(msgspec.Struct, gc=False):
        sessionId: str | None = None
        timestamp: str | None = None

    return msgspec.json.Decoder(Where)


def _session_and_time(line: bytes) -> tuple[str | None, str | None]:
    import msgspec  # already loaded by the decoder: a dictionary look-up

    try:
        where = _where_decoder().decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None, None
    return where.sessionId, where.timestamp


def hits_in_block(
    fh: BinaryIO, data: bytes, start: int, end: int, base: int, file_id: int, name: str
) -> list[tuple[int, int, int, str, str, str, str, str]]:
    """Key-hit rows for the credentials in ``data[start:end]`` (``base``: file offset of data[0])."""
    rows: list[tuple[int, int, int, str, str, str, str, str]] = []
    counted_to, line = 0, 1  # newlines counted in the file up to this offset
    for m in iter_matches(data):
        pos = m.start()
        if pos < start or pos >= end:
            continue
        found = classify(m)
        if found is None:
            continue
        kind, secret = found
        at = base + pos
        line += _newlines(fh, data, base, counted_to, at)
        counted_to = at
        line_start = data.rfind(b"\n", start, pos) + 1 or start
        line_end = data.find(b"\n", pos, end)
        session, stamp = _where(data[line_start : line_end if line_end >= 0 else end], name)
        rows.append((file_id, at, line, session, stamp, kind, fingerprint(secret), redact(secret)))
    return rows


def _newlines(fh: BinaryIO, data: bytes, base: int, lo: int, hi: int) -> int:
    """Newlines in the file between offsets ``lo`` and ``hi`` (from ``data`` where it holds them)."""
    count = 0
    if lo < base:  # before this block: read the file itself
        fd = fh.fileno()
        pos = lo
        stop = min(hi, base)
        while pos < stop:
            chunk = os.pread(fd, min(COUNT_CHUNK, stop - pos), pos)
            if not chunk:
                break
            count += chunk.count(b"\n")
            pos += len(chunk)
        lo = base
    return count + data.count(b"\n", lo - base, hi - base)


def _where(line: bytes, name: str) -> tuple[str, str]:
    """The session and timestamp of a transcript line (the file's name if the line has none)."""
    session, stamp = _session_and_time(line)
    from claude_health.tools.keys.literals import displayable

    stem = os.path.basename(name).removesuffix(".jsonl")  # noqa: PTH119 - a str path
    # From the user's file, stored and shown: a credential written into these fields is stored
    # redacted like any other.
    return displayable((session or stem)[:100]), displayable((stamp or "")[:40])


def catch_up(conn: sqlite3.Connection) -> int:
    """Search the transcript bytes no scan has searched for keys yet; returns the bytes read.

    Both offsets sit just after a newline (they are offsets the usage scan stopped at), so the
    range holds whole lines.
    """
    from claude_health.tools.usage import store

    read = 0
    for file_id, path, start, end in store.keys_behind(conn):
        rows: list[tuple[int, int, int, str, str, str, str, str]] = []
        try:
            # Non-blocking and checked on the descriptor: a FIFO swapped in must not hang the read.
            fd = os.open(path, _OPEN_FLAGS)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                continue
            with os.fdopen(fd, "rb") as fh:
                pos = start
                while pos < end:
                    chunk = os.pread(fh.fileno(), min(COUNT_CHUNK, end - pos), pos)
                    if not chunk:
                        break
                    cut = chunk.rfind(b"\n") + 1 if pos + len(chunk) < end else len(chunk)
                    if cut <= 0:  # a line longer than a chunk: take it whole
                        cut = len(chunk)
                    data = chunk[:cut]
                    read += len(data)
                    if holds_prefix(data):
                        rows += hits_in_block(fh, data, 0, len(data), pos, file_id, path)
                    pos += len(data)
        except OSError:
            continue  # gone or unreadable since the scan: the next scan says so
        store.keys_caught_up(conn, file_id, end, rows)
    return read
