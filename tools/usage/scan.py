"""Incremental scan: read only the bytes appended to each transcript since the last run.

A file's offset always sits just after a newline, so a half-written last line is read again,
whole, next time. Bytes appended while a file is being read are left for the next run (the read
stops at the size seen when the file was opened). A file replaced, truncated or rewritten in
place (the bytes just before the stored offset changed) is read again from the start and its
entries re-derived. Deleted transcripts keep their entries: the ledger outlives Claude Code's
cleanup.

The same read also looks for Anthropic credentials pasted into a session (a substring test per
block, the regex only where ``sk-ant-`` occurs), so the key scan never reads a transcript byte
the usage scan has read: the two share one offset per file.
"""

from __future__ import annotations

import errno
import gc
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Mapping

from claude_health.tools.usage import fork_reader, store
from claude_health.tools.usage.discovery import DirCache, iter_transcripts, transcript_roots
from claude_health.tools.usage.parse import timestamp_parser
from claude_health.tools.usage.record import Record

# The typed decoder (msgspec), the forked reader and the first-load merge are imported where a
# long read needs them: a warm run (a megabyte or so) or one with nothing new does not pay for them.
# Records here are plain classes with slots, not dataclasses: a warm report is a new process, and
# importing dataclasses (which loads inspect) and building its classes cost it about a tenth.
TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from pickle import PickleBuffer
    from typing import Any

    from claude_health.tools.usage.bulk import HourParts
    from claude_health.tools.usage.rows import Key, LineReader, Row

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
CHUNK_BYTES = 8 * 1024 * 1024
# A single line longer than this is a file-history snapshot or garbage, never a usage record.
MAX_LINE_BYTES = 64 * 1024 * 1024
# Bytes kept from just before a file's offset, to notice a file rewritten in place.
TAIL_BYTES = 64
KEY_PREFIX = b"sk-ant-"
KEYS_INLINE_BYTES = 16 * 1024 * 1024
# Up to this many bytes to read, lines are judged one by one with the standard library's JSON
# (about 10 ms a MiB here); above it the typed block decode pays for importing msgspec (~25 ms).
TYPED_DECODE_BYTES = 2 * 1024 * 1024


# Set by a process that will exit without the interpreter's teardown (the CLI's JSON reports,
# see cli.console): a first load's rows are then kept to the end instead of freed one by one when
# the scan returns (13 ms of a 200 MiB load, 60 ms of 1 GiB), as the exit frees them all at once.
_kept: list[object] | None = None


def keep_rows_until_exit() -> None:
    """This process exits without the teardown: do not free the rows of a long read one by one."""
    global _kept
    _kept = []


class _CollectorPaused:
    """``with`` this, no cyclic garbage collection (if ``pause`` and it was on); restored after."""

    __slots__ = ("pause",)

    def __init__(self, pause: bool) -> None:
        self.pause = pause and gc.isenabled()

    def __enter__(self) -> None:
        if self.pause:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.pause:
            gc.enable()


class FileProblem(Record):
    """A transcript that could not be read, and why."""

    __slots__ = ("message", "path")

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message


class ScanStats(Record):
    """What one scan saw and did."""

    __slots__ = (  # noqa: RUF023 - in the order of the fields (the repr's)
        "roots",
        "files_seen",
        "files_read",
        "bytes_read",
        "usage_lines",
        "bad_lines",
        "entries_written",
        "files_missing",
        "files_gone_now",
        "key_hits",
        "problems",
        "bad_line_files",
    )

    def __init__(self, roots: list[str] | None = None) -> None:
        self.roots: list[str] = [] if roots is None else roots
        self.files_seen = 0
        self.files_read = 0
        self.bytes_read = 0
        self.usage_lines = 0
        self.bad_lines = 0
        self.entries_written = 0
        self.files_missing = 0
        self.files_gone_now = 0
        self.key_hits = 0
        self.problems: list[FileProblem] = []
        self.bad_line_files: dict[str, int] = {}


class _Job(Record):
    __slots__ = ("file_id", "name", "project", "start", "end", "st", "carry", "keys_from", "search_keys")  # noqa: RUF023

    def __init__(
        self,
        file_id: int,
        name: str,
        project: str,
        start: int,
        end: int,
        st: os.stat_result,
        carry: tuple[int, int],  # usage and bad lines counted by earlier runs
        keys_from: int,  # how far earlier runs searched this file for credentials
        search_keys: bool = False,
    ) -> None:
        self.file_id = file_id
        self.name = name
        self.project = project
        self.start = start
        self.end = end
        self.st = st
        self.carry = carry
        self.keys_from = keys_from
        self.search_keys = search_keys


class _Read(Record):
    __slots__ = ("offset", "tail", "usage_lines", "bad_lines", "bytes_read", "hits")  # noqa: RUF023

    def __init__(
        self,
        offset: int,
        tail: bytes,
        usage_lines: int,
        bad_lines: int,
        bytes_read: int,
        hits: list[store.KeyHitRow],
    ) -> None:
        self.offset = offset
        self.tail = tail
        self.usage_lines = usage_lines
        self.bad_lines = bad_lines
        self.bytes_read = bytes_read
        self.hits = hits


_Outcome = _Read | str


def _read_job(job: _Job, reader: LineReader) -> _Outcome:
    """One file's new lines into ``reader``; a problem becomes its message ("" if it vanished)."""
    try:
        return _read(job, reader)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"


def _read(job: _Job, reader: LineReader) -> _Read:
    usage = bad = 0
    offset = job.start  # file offset of data[0]
    hits: list[store.KeyHitRow] = []
    # Opened without blocking and checked on the descriptor: a transcript swapped for a FIFO
    # after the scan's stat must not hang the read.
    fd = os.open(job.name, _OPEN_FLAGS)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        from claude_health.tools.files import NotRegularFile  # rare: not on a warm run's imports

        raise NotRegularFile(errno.EINVAL, "is not a regular file")
    with os.fdopen(fd, "rb") as fh:
        fh.seek(job.start)
        remaining = job.end - job.start
        pending = b""
        skipping = False  # inside an over-long line: drop bytes until its newline
        while remaining > 0:
            chunk = fh.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            data = pending + chunk if pending else chunk
            last_nl = data.rfind(b"\n")
            if last_nl >= 0:
                pos = 0
                if skipping:
                    pos = data.find(b"\n") + 1
                    skipping = False
                if pos <= last_nl:
                    u, b = _block(reader, data, pos, last_nl + 1, offset, job)
                    usage += u
                    bad += b
                    if job.search_keys and KEY_PREFIX in data:  # rarely true: the regex runs only then
                        hits += _key_hits(fh, data, pos, last_nl + 1, offset, job)
                offset += last_nl + 1
                pending = data[last_nl + 1 :]
            else:
                pending = data
            if len(pending) > MAX_LINE_BYTES:
                offset += len(pending)
                pending = b""
                if not skipping:  # count the over-long line once, however many chunks it spans
                    bad += 1
                skipping = True
        if pending and not skipping:
            # No newline yet. A line that already parses into an entry is complete (Claude Code
            # writes the newline right after); anything else is a torn write, re-read next run.
            trial = type(reader)(reader.parse_ts, reader.now_ms)
            u, b = trial.lines(pending, offset, job.name, job.project, job.file_id)
            if u and not b:
                reader.fold(list(trial.rows.values()))
                usage += u
                offset += len(pending)
        tail = os.pread(fh.fileno(), min(TAIL_BYTES, offset), offset - min(TAIL_BYTES, offset))
    return _Read(offset, tail, usage, bad, job.end - job.start, hits)


def _block(reader: LineReader, data: bytes, start: int, end: int, base: int, job: _Job) -> tuple[int, int]:
    from claude_health.tools.usage.rows import NeedsLines

    view = memoryview(data)[start:end] if start or end != len(data) else data
    try:
        return reader.block(view, job.project, job.file_id)
    except NeedsLines:
        return reader.lines(bytes(view), base + start, job.name, job.project, job.file_id)


def _key_hits(fh: Any, data: bytes, start: int, end: int, base: int, job: _Job) -> list[store.KeyHitRow]:
    from claude_health.tools.usage.transcript_keys import hits_in_block

    return hits_in_block(fh, data, start, end, base, job.file_id, job.name)


def _read_jobs(jobs: list[_Job], now_ms: int) -> tuple[list[_Outcome], dict[Key, Row]]:
    """Per-file outcomes and the deduplicated rows of these files, in file order.

    Files are read one at a time and folded into one batch straight away, so memory holds one
    file's bytes plus the deduplicated rows.
    """
    if not jobs:
        return [], {}
    reader: LineReader
    if sum(job.end - job.start for job in jobs) > TYPED_DECODE_BYTES:
        from claude_health.tools.usage.lines import BlockReader

        reader = BlockReader(timestamp_parser(now_ms), now_ms)
    else:
        from claude_health.tools.usage.rows import LineReader

        reader = LineReader(timestamp_parser(now_ms), now_ms)
    return [_read_job(job, reader) for job in jobs], reader.batch


def _child_work(
    jobs: list[_Job], now_ms: int, blocks: bool = False
) -> tuple[list[_Outcome], PickleBuffer, int, HourParts | None]:
    """The forked reader's share: its files' outcomes, its rows and quarter sums as a SQLite image
    (stored here while the parent stores its own half, see staging.py; wrapped to cross the
    pipe uncopied, see forked.py), how many rows, and (``blocks``) their hour parts for the
    block cache."""
    from pickle import PickleBuffer

    from claude_health.tools.usage import staging
    from claude_health.tools.usage.bulk import first_load_sums

    summaries, batch = _read_jobs(jobs, now_ms)
    rows = sorted(batch.values())
    quarters, parts = first_load_sums(rows, blocks)
    return summaries, PickleBuffer(staging.image(rows, quarters)), len(rows), parts


class ScanMemo(Record):
    """What a long-running process remembers between scans of one ledger.

    The known files are reused while no other connection has committed (SQLite's
    ``data_version`` is unchanged), and directory listings while their modification time is.
    """

    __slots__ = ("data_version", "known", "dirs")  # noqa: RUF023

    def __init__(self) -> None:
        self.data_version: int | None = None
        self.known: dict[str, store.FileState] = {}
        self.dirs: DirCache = {}


def _known_files(
    conn: sqlite3.Connection, memo: ScanMemo | None
) -> tuple[dict[str, store.FileState], list[int]]:
    if memo is None:
        return store.load_files(conn)
    version = int(conn.execute("PRAGMA data_version").fetchone()[0])
    if memo.data_version != version:
        memo.known, broken = store.load_files(conn)
        memo.data_version = version
        return dict(memo.known), broken
    return dict(memo.known), []


def _remember(memo: ScanMemo | None, rows: list[store.FileRow], gone: list[int], now_ms: int) -> None:
    """Keep the memo equal to the rows this scan wrote (other writers bump data_version)."""
    if memo is None:
        return
    for fid, name, project, dev, ino, size, mtime, offset, tail, keys, usage, bad in rows:
        memo.known[name] = store.FileState(
            fid, project, dev, ino, size, mtime, offset, tail, keys, usage, bad, 0
        )
    if gone:
        ids = set(gone)
        for name, state in list(memo.known.items()):
            if state.id in ids and not state.missing:
                memo.known[name] = state._replace(missing=now_ms)


def scan(
    conn: sqlite3.Connection,
    env: Mapping[str, str],
    home: str | os.PathLike[str],
    *,
    roots: Iterable[str | os.PathLike[str]] | None = None,
    now_ms: int | None = None,
    memo: ScanMemo | None = None,
    blocks: bool = False,
) -> ScanStats:
    """Bring the ``usage_*`` tables up to date with every transcript on disk.

    ``blocks``: a blocks report follows; a first load then also stores the block cache, from
    hour parts its readers sum from the rows they hold (see bulk.first_load_sums).
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    root_list = [os.fspath(r) for r in roots] if roots is not None else transcript_roots(env, home)
    stats = ScanStats(roots=list(root_list))
    known, broken = _known_files(conn, memo)
    next_id = store.next_file_id(conn)
    seen: set[str] = set()
    forget: list[int] = list(broken)
    file_rows: list[store.FileRow] = []
    jobs: list[_Job] = []
    for tf in iter_transcripts(root_list, memo.dirs if memo is not None else None):
        name = tf.path
        seen.add(name)
        stats.files_seen += 1
        try:
            st = os.stat(name)
        except OSError as exc:
            stats.problems.append(FileProblem(name, f"cannot be read: {exc.strerror}"))
            continue
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            stats.problems.append(FileProblem(name, "is not a regular file"))
            continue
        state = known.get(name)
        start = keys_from = 0
        carry = (0, 0)
        if state is None:
            file_id, next_id = next_id, next_id + 1
        else:
            file_id = state.id
            same = state.ino == st.st_ino and state.dev == st.st_dev and st.st_size >= state.offset
            if same and st.st_size == state.size and st.st_mtime_ns == state.mtime_ns:
                if state.missing:  # back on disk, unchanged
                    file_rows.append(
                        _file_row(
                            file_id, name, tf.project, st, state.offset, state.tail, state.keys_offset, state
                        )
                    )
                continue  # unchanged since the last run
            if same and _tail_matches(name, state):
                start, keys_from = state.offset, state.keys_offset
                carry = (state.usage_lines, state.bad_lines)
            else:
                forget.append(file_id)  # replaced or rewritten: its old entries are re-derived
        if st.st_size <= start:
            tail = state.tail if state is not None and start else b""
            file_rows.append(_file_row(file_id, name, tf.project, st, start, tail, keys_from, None, carry))
            continue
        jobs.append(_Job(file_id, name, tf.project, start, st.st_size, st, carry, keys_from))
    # A read as small as a warm run's also searches its bytes for credentials (a substring test
    # per block), so the key check has nothing left to read. A first scan of a long history
    # leaves that to the key check: the search costs as much as the typed decode itself.
    if sum(job.end - job.start for job in jobs) <= KEYS_INLINE_BYTES:
        for job in jobs:
            job.search_keys = job.keys_from == job.start
    exists = os.path.exists  # str paths, as everywhere on this path
    gone = [s.id for p, s in known.items() if not s.missing and p not in seen and not exists(p)]
    stats.files_gone_now = len(gone)
    # A long read pauses the cyclic collector: every row and decoded line is acyclic (freed by
    # reference counting as it goes), yet hundreds of thousands of new tuples set off full
    # passes over the heap, about a twentieth of a first load's time. The forked reader
    # inherits the pause; a small warm read keeps the collector as it is.
    with _CollectorPaused(sum(job.end - job.start for job in jobs) > TYPED_DECODE_BYTES):
        # A large first scan hands the last files, 48% of the bytes, to a forked reader:
        # parsing and storing rows is what costs, and both split across cores. Meanwhile this
        # process stores its own half; the reader's rows, stored in a SQLite image by the child,
        # are merged after them, so the copy kept of a response seen by both is the one a single
        # reader would keep (the first of equals).
        split = fork_reader.split_point([job.end - job.start for job in jobs])
        child = None
        if split and hasattr(conn, "deserialize"):  # the image needs SQLite's deserialize (3.36+)
            from claude_health.tools import forked
            from claude_health.tools.usage import lines  # noqa: F401 - imported once, for both readers

            child = forked.start(lambda: _child_work(jobs[split:], now_ms, blocks))
        mine = jobs[:split] if child else jobs
        own_summaries, own = _read_jobs(mine, now_ms)
        if child is None and not own and not forget and not gone and not jobs and not file_rows:
            stats.files_missing = sum(1 for s in known.values() if s.missing)
            return stats
        written: list[store.FileRow] = []
        try:
            with store.Writer(conn, staged=child is not None) as writer:
                writer.forget_files(forget)
                own_rows = sorted(own.values())
                writer.entries(own_rows)
                if writer.bulk:  # a first load: its quarter sums from Python, see bulk.py
                    from claude_health.tools.usage.bulk import first_load_sums

                    quarters, parts = first_load_sums(own_rows, blocks)
                    writer.quarters(quarters)
                    if parts is not None:
                        writer.hour_parts(parts)
                summaries = own_summaries
                theirs = 0
                if child is not None:
                    result = child.result()
                    child = None
                    if result is None:  # the child failed: read its share here
                        result = _child_work(jobs[split:], now_ms, blocks)
                    their_summaries, image, theirs, their_parts = result
                    writer.staged(image)
                    if writer.bulk and their_parts is not None:
                        writer.hour_parts(their_parts)
                    summaries = summaries + their_summaries
                hits = _account(stats, jobs, summaries, file_rows)
                writer.files(file_rows)
                writer.key_hits(hits)
                writer.mark_missing(gone, now_ms)
                stats.entries_written = len(own) + theirs
                written = file_rows
                if _kept is not None and writer.bulk:
                    _kept.append((own, own_rows))
        except BaseException:
            if memo is not None:
                memo.data_version = None  # the transaction rolled back: read the files again next time
            raise
        finally:
            if child is not None:
                child.kill()
        _remember(memo, written, gone, now_ms)
        stats.files_missing = sum(1 for s in known.values() if s.missing) + len(gone)
        return stats


def _tail_matches(name: str, state: store.FileState) -> bool:
    """Are the bytes just before the stored offset still the ones read? (Not: rewritten in place.)"""
    if not state.tail:  # nothing to compare (read from the start, or a ledger from before tails)
        return True
    try:
        fd = os.open(name, _OPEN_FLAGS)  # no blocking on a FIFO swapped in after the stat
    except OSError:
        return False
    try:
        got = os.pread(fd, len(state.tail), state.offset - len(state.tail))
    except OSError:
        return False
    finally:
        os.close(fd)
    return got == state.tail


def _account(
    stats: ScanStats, jobs: list[_Job], summaries: list[_Outcome], file_rows: list[store.FileRow]
) -> list[store.KeyHitRow]:
    hits: list[store.KeyHitRow] = []
    for job, outcome in zip(jobs, summaries, strict=True):
        if isinstance(outcome, str):
            if outcome:  # "" means the file vanished (Claude Code's cleanup) between stat and read
                stats.problems.append(FileProblem(job.name, outcome))
            continue
        stats.files_read += 1
        stats.bytes_read += outcome.bytes_read
        stats.usage_lines += outcome.usage_lines
        stats.bad_lines += outcome.bad_lines
        if outcome.bad_lines:
            stats.bad_line_files[job.name] = outcome.bad_lines
        hits += outcome.hits
        usage, bad = job.carry
        file_rows.append(
            (
                job.file_id,
                job.name,
                job.project,
                job.st.st_dev,
                job.st.st_ino,
                job.st.st_size,
                job.st.st_mtime_ns,
                outcome.offset,
                outcome.tail,
                outcome.offset if job.search_keys else job.keys_from,
                usage + outcome.usage_lines,
                bad + outcome.bad_lines,
            )
        )
    stats.key_hits = len(hits)
    return hits


def _file_row(
    file_id: int,
    name: str,
    project: str,
    st: os.stat_result,
    offset: int,
    tail: bytes,
    keys_offset: int,
    state: store.FileState | None,
    carry: tuple[int, int] = (0, 0),
) -> store.FileRow:
    usage, bad = (state.usage_lines, state.bad_lines) if state is not None else carry
    return (
        file_id,
        name,
        project,
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        offset,
        tail,
        keys_offset,
        usage,
        bad,
    )
