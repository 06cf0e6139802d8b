"""Finding credentials in bytes, files and streams, with 1-based line and column.

The hot path is a substring pre-filter (``b"sk-ant-" in data``): almost no file contains it, so
the regex runs on a tiny share of the bytes. Large files are read in chunks with an overlap
longer than any credential, so memory stays flat and a key across a chunk border is still
found exactly once.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from claude_health.tools.keys.formats import decodes_escapes, find_all, holds_prefix, may_hide_escaped

# Git's own binary heuristic: a NUL byte in the first 8000 bytes.
BINARY_SNIFF = 8000
STREAM_THRESHOLD = 16 * 1024 * 1024
CHUNK = 8 * 1024 * 1024
# Longer than the longest match, also written with escapes (prefix + 200-char body, 10 bytes a
# character as \U000000XX), plus the boundary look-around.
OVERLAP = 4096


class _Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Hit:
    """One credential occurrence. ``secret`` never leaves this package unredacted."""

    kind: str
    secret: str = field(repr=False)
    line: int
    column: int

    def __reduce__(self) -> tuple[type[Hit], tuple[str, str, int, int]]:
        # Pickled by value (a child's scan goes back to the CLI's process): the generated
        # __getstate__ of a frozen slots dataclass costs several times more, on the serial path.
        return Hit, (self.kind, self.secret, self.line, self.column)

    @property
    def redacted(self) -> str:
        # (Imported here: the process that only scans, the CLI's early child, never redacts.)
        from claude_health.tools.redact import redact

        return redact(self.secret)

    @property
    def fingerprint(self) -> str:
        from claude_health.tools.redact import fingerprint

        return fingerprint(self.secret)


@dataclass(frozen=True, slots=True)
class FileScan:
    """The hits in one file, or why it was skipped."""

    path: str
    hits: tuple[Hit, ...] = ()
    size: int = 0
    skipped: str | None = None  # "binary", "unreadable: ...", "not a regular file"

    def __reduce__(self) -> tuple[type[FileScan], tuple[str, tuple[Hit, ...], int, str | None]]:
        return FileScan, (self.path, self.hits, self.size, self.skipped)  # (as Hit's)


class _LineCounter:
    """Turns increasing byte offsets into (line, column) without rescanning from the start."""

    def __init__(self) -> None:
        self.base = 0  # absolute offset of buf[0]
        self.pos = 0  # absolute offset counted up to
        self.line = 1
        self.carried = 0  # characters of the current line that lie before buf[0]

    def locate(self, buf: bytes, offset: int) -> tuple[int, int]:
        """``offset`` is absolute; ``buf`` must still contain the bytes from ``self.pos``."""
        rel_pos, rel = self.pos - self.base, offset - self.base
        self.line += buf.count(b"\n", rel_pos, rel)
        self.pos = offset
        newline = buf.rfind(b"\n", 0, rel)
        if newline < 0:
            return self.line, self.carried + _chars(buf[:rel]) + 1
        return self.line, _chars(buf[newline + 1 : rel]) + 1

    def drop(self, buf: bytes, keep_from: int) -> None:
        """Forget ``buf[:keep_from]``, remembering its newlines and the current line's length."""
        if self.pos < self.base + keep_from:
            self.line += buf.count(b"\n", self.pos - self.base, keep_from)
            self.pos = self.base + keep_from
        newline = buf.rfind(b"\n", 0, keep_from)
        if newline < 0:
            self.carried += _chars(buf[:keep_from])
        else:
            self.carried = _chars(buf[newline + 1 : keep_from])
        self.base += keep_from


def _chars(raw: bytes) -> int:
    return len(raw.decode("utf-8", "replace"))


def scan_bytes(data: bytes, *, escapes: bool = True) -> list[Hit]:
    """Every credential in ``data`` (a whole file or a whole string); with ``escapes`` also those
    written with ``\\u`` / ``\\x`` / ``\\U`` escapes."""
    if not holds_prefix(data) and not (escapes and may_hide_escaped(data)):
        return []
    counter = _LineCounter()
    hits: list[Hit] = []
    for start, kind, secret in find_all(data, escapes=escapes):
        line, column = counter.locate(data, start)
        hits.append(Hit(kind, secret, line, column))
    return hits


def _scan_stream(fh: _Readable, first: bytes, escapes: bool) -> list[Hit]:
    """Chunked scan of a large file; ``first`` is the chunk already read for the binary sniff."""
    counter = _LineCounter()
    hits: list[Hit] = []
    buf, base = first, 0  # base: absolute offset of buf[0]
    done_until = 0  # absolute offset before which every match start has been handled
    while True:
        more = fh.read(CHUNK)
        at_eof = not more
        buf += more
        # A match starting before `limit` lies wholly inside buf (OVERLAP > longest match).
        limit = len(buf) if at_eof else max(len(buf) - OVERLAP, 0)
        if holds_prefix(buf) or (escapes and may_hide_escaped(buf)):
            for offset, kind, secret in find_all(buf, escapes=escapes):
                start = base + offset
                if offset >= limit:
                    break
                if start < done_until:
                    continue
                line, column = counter.locate(buf, start)
                hits.append(Hit(kind, secret, line, column))
        if at_eof:
            return hits
        done_until = base + limit
        # Keep a few bytes before `limit` for the look-behind, cut on a UTF-8 character boundary.
        keep_from = max(limit - 8, 0)
        while keep_from > 0 and buf[keep_from] & 0xC0 == 0x80:
            keep_from -= 1
        counter.drop(buf, keep_from)
        buf, base = buf[keep_from:], base + keep_from


class _FdReader:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self, n: int, /) -> bytes:
        return os.read(self.fd, n)


# O_NOFOLLOW: a symbolic link fails to open (ELOOP) instead of being followed, so links to
# /dev/zero or out of the project are never read, without a separate lstat per file.
# O_NONBLOCK: opening a FIFO must not wait for a writer.
_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)


def scan_file(path: str | os.PathLike[str], *, escapes: bool | None = None) -> FileScan:
    """Scan one regular file; symbolic links, devices, FIFOs and binary files are skipped.

    Escaped keys are looked for when ``escapes`` says so, by default in the formats whose
    readers decode escapes (JSON, TOML, YAML, notebooks).
    """
    name = os.fspath(path)
    scan = scan_path(name, decodes_escapes(name) if escapes is None else escapes)
    return FileScan(name, size=scan) if isinstance(scan, int) else scan


def scan_path(name: str, escapes: bool) -> int | FileScan:
    """:func:`scan_file` for the tree scan: a file with nothing to report is just its size.

    This runs once per file of the tree, so it uses bare file descriptors (one open, one fstat,
    one read for most files) rather than Python file objects, and builds no object for the
    files (nearly all of them) that hold no credential.
    """
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except FileNotFoundError:
        return FileScan(name, skipped="missing")  # deleted from the work tree since git listed it
    except OSError as exc:
        if exc.errno == errno.ELOOP or Path(name).is_symlink():
            return FileScan(name, skipped="not a regular file")
        return FileScan(name, skipped=f"unreadable: {exc.strerror or type(exc).__name__}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return FileScan(name, skipped="not a regular file")
        if st.st_size <= STREAM_THRESHOLD:
            # For a regular file a short read means end of file: one read call is enough.
            data = os.read(fd, st.st_size + 1)
            if len(data) > st.st_size:  # it grew while we read it
                data += b"".join(iter(lambda: os.read(fd, CHUNK), b""))
            if data.find(b"\0", 0, BINARY_SNIFF) >= 0:
                return FileScan(name, size=len(data), skipped="binary")
            if not holds_prefix(data) and not (escapes and may_hide_escaped(data)):
                return len(data)
            hits = scan_bytes(data, escapes=escapes)
            return FileScan(name, tuple(hits), size=len(data)) if hits else len(data)
        reader = _FdReader(fd)
        first = reader.read(CHUNK)
        if first.find(b"\0", 0, BINARY_SNIFF) >= 0:
            return FileScan(name, size=st.st_size, skipped="binary")
        return FileScan(name, tuple(_scan_stream(reader, first, escapes)), size=st.st_size)
    except OSError as exc:
        return FileScan(name, skipped=f"unreadable: {exc.strerror or type(exc).__name__}")
    finally:
        os.close(fd)
