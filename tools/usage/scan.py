"""Incremental scan: read only the bytes appended to each transcript since the last run.

A file's offset always sits just after a newline, so a half-written last line is read again,
whole, next time. Bytes appended while a file is being read are left for the next run (the read
stops at the size seen when the file was opened). Deleted transcripts keep their entries.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

from claude_health.tools import forked
from claude_health.tools.files import NotRegularFile
from claude_health.tools.usage import block_cache, fork_reader, store
from claude_health.tools.usage.discovery import TranscriptFile, iter_transcripts, transcript_roots
from claude_health.tools.usage.parse import USAGE_MARKER, Entry, LineError, parse_line

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
CHUNK_BYTES = 4 * 1024 * 1024
# A single line longer than this is a file-history snapshot or garbage, never a usage record.
MAX_LINE_BYTES = 64 * 1024 * 1024


@dataclass
class FileProblem:
    path: str
    message: str


@dataclass
class ScanStats:
    roots: list[str] = field(default_factory=list)
    files_seen: int = 0
    files_read: int = 0
    bytes_read: int = 0
    usage_lines: int = 0
    bad_lines: int = 0
    entries_written: int = 0
    files_missing: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    bad_line_files: dict[str, int] = field(default_factory=dict)


@dataclass
class _FileState:
    project: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    offset: int
    usage_lines: int
    bad_lines: int


@dataclass
class _ReadResult:
    entries: list[Entry]
    offset: int
    usage_lines: int
    bad_lines: int
    bytes_read: int


def read_appended(path: str | Path, start: int, end: int, project: str) -> _ReadResult:
    """Usage entries in ``path`` between ``start`` and ``end`` (complete lines only).

    Lines are not split out one by one: tool results make up most bytes and never carry usage,
    so the reader jumps from one ``"usage"`` marker to the next and slices out only those lines.
    """
    entries: list[Entry] = []
    usage_lines = bad = 0
    offset = start  # file offset of data[0]
    name = os.fspath(path)
    find = bytes.find
    rfind = bytes.rfind
    append = entries.append
    # Opened without blocking and checked on the descriptor: a transcript swapped for a FIFO
    # after the scan's stat must not hang the read.
    fd = os.open(path, _OPEN_FLAGS)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegularFile(errno.EINVAL, "is not a regular file")
    with os.fdopen(fd, "rb") as fh:
        fh.seek(start)
        remaining = end - start
        pending = b""
        skipping = False  # inside an over-long line: drop bytes until its newline
        while remaining > 0:
            chunk = fh.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            data = pending + chunk if pending else chunk
            last_nl = rfind(data, b"\n")
            pos = 0
            if last_nl >= 0:
                if skipping:
                    pos = find(data, b"\n") + 1
                    skipping = False
                while True:
                    mark = find(data, USAGE_MARKER, pos, last_nl)
                    if mark < 0:
                        break
                    line_start = rfind(data, b"\n", pos, mark) + 1 or pos
                    line_end = find(data, b"\n", mark, last_nl + 1)
                    pos = line_end + 1
                    try:  # inlined _take: this runs once per response line of the history
                        entry = parse_line(data[line_start:line_end], "")
                    except LineError:
                        bad += 1
                        continue
                    if entry is not None:
                        if not entry.key:  # no message.id: keyed by where the line sits
                            entry.key = f"{name}@{offset + line_start}"
                        entry.project = project
                        entry.file = name
                        append(entry)
                        usage_lines += 1
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
            found: list[Entry] = []
            _, torn = _take(pending, offset, name, project, found, 0, 0)
            if found and not torn:
                entries.extend(found)
                usage_lines += 1
                offset += len(pending)
    return _ReadResult(entries, offset, usage_lines, bad, end - start)


def _take(
    line: bytes, at: int, name: str, project: str, out: list[Entry], usage_lines: int, bad: int
) -> tuple[int, int]:
    try:
        entry = parse_line(line, f"{name}@{at}")
    except LineError:
        return usage_lines, bad + 1
    if entry is not None:
        entry.project = project
        entry.file = name
        out.append(entry)
        usage_lines += 1
    return usage_lines, bad


def _load_files(conn: sqlite3.Connection) -> dict[str, _FileState]:
    rows = conn.execute(
        "SELECT path, project, dev, ino, size, mtime_ns, offset, usage_lines, bad_lines FROM usage_files"
    )
    return {r[0]: _FileState(*r[1:]) for r in rows}


@dataclass
class _Job:
    name: str
    start: int
    end: int
    tf: TranscriptFile
    st: os.stat_result
    state: _FileState | None


_Outcome = _ReadResult | str


def _read_one(job: _Job) -> _Outcome:
    """One file's new entries; a problem becomes its message ("" for a file that vanished)."""
    try:
        return read_appended(job.tf.path, job.start, job.end, job.tf.project)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"


_PACK = attrgetter(*Entry.__slots__)


def _read_jobs(jobs: list[_Job], *, packed: bool = False) -> tuple[list[_Outcome], Any]:
    """Per-file outcomes (entries taken out) and the deduplicated entries, in file order.

    ``packed`` (in the forked reader) gives the entries as tuples: they pickle several times
    faster than dataclass instances.
    """
    batch: dict[str, Entry] = {}
    summaries: list[_Outcome] = []
    for job in jobs:
        outcome = _read_one(job)
        if isinstance(outcome, _ReadResult):
            fold(batch, outcome.entries)
            outcome.entries = []
        summaries.append(outcome)
    if packed:
        return summaries, [_PACK(e) for e in batch.values()]
    return summaries, batch


def _unpack(rows: list[tuple[Any, ...]]) -> dict[str, Entry]:
    return {row[0]: Entry(*row) for row in rows}


def _account(
    stats: ScanStats,
    jobs: list[_Job],
    summaries: list[_Outcome],
    rewritten: list[str],
    file_updates: list[tuple[object, ...]],
) -> None:
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
        file_updates.append(
            _file_row(
                job.name,
                job.tf,
                job.st,
                outcome.offset,
                job.state,
                outcome.usage_lines,
                outcome.bad_lines,
                rewritten,
            )
        )


def fold(batch: dict[str, Entry], entries: Iterable[Entry]) -> None:
    """Keep the best copy of each response (the first of equals, so order matters)."""
    get = batch.get
    for entry in entries:
        kept = get(entry.key)
        if kept is None or entry.better_than(kept):
            batch[entry.key] = entry


def scan(
    conn: sqlite3.Connection,
    env: Mapping[str, str],
    home: Path,
    *,
    roots: Iterable[Path] | None = None,
) -> ScanStats:
    """Bring the ``usage_*`` tables up to date with every transcript on disk."""
    root_list = list(roots) if roots is not None else transcript_roots(env, home)
    stats = ScanStats(roots=[str(r) for r in root_list])
    known = _load_files(conn)
    seen: set[str] = set()
    file_updates: list[tuple[object, ...]] = []
    rewritten: list[str] = []
    jobs: list[_Job] = []
    for tf in iter_transcripts(root_list):
        name = tf.path
        seen.add(name)
        stats.files_seen += 1
        try:
            st = os.stat(name)  # noqa: PTH116 - see TranscriptFile: str paths on the hot path
        except OSError as exc:
            stats.problems.append(FileProblem(name, f"cannot be read: {exc.strerror}"))
            continue
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            stats.problems.append(FileProblem(name, "is not a regular file"))
            continue
        state = known.get(name)
        start = 0
        if state is not None:
            same_file = state.ino == st.st_ino and state.dev == st.st_dev and st.st_size >= state.offset
            if same_file and st.st_size == state.size and st.st_mtime_ns == state.mtime_ns:
                continue  # unchanged since the last run
            if same_file:
                start = state.offset
            else:
                rewritten.append(name)  # replaced or truncated: its old entries are re-derived
        if st.st_size <= start:
            file_updates.append(_file_row(name, tf, st, start, state, 0, 0, rewritten))
            continue
        jobs.append(_Job(name, start, st.st_size, tf, st, state))
    gone = [p for p in known if p not in seen and not Path(p).exists()]
    stats.files_missing = len(gone)
    # Files are read one at a time and folded into a batch straight away, so memory holds one
    # file's lines plus the deduplicated entries.
    # A large first scan hands the second half of the files (by bytes) to a forked reader:
    # parsing is what costs, and it splits across cores. Meanwhile this process stores its own
    # half; the reader's entries are upserted after them, so the copy kept of a response seen by
    # both is the one a single reader would keep (the first of equals).
    split = fork_reader.split_point([job.end - job.start for job in jobs])
    child = forked.start(lambda: _read_jobs(jobs[split:], packed=True)) if split else None
    mine = jobs[:split] if child else jobs
    own_summaries, own = _read_jobs(mine)

    def rest() -> tuple[list[Entry], list[tuple[object, ...]]]:
        summaries = own_summaries
        theirs: dict[str, Entry] = {}
        if child is not None:
            result = child.result()
            their_summaries, theirs = (
                _read_jobs(jobs[split:]) if result is None else (result[0], _unpack(result[1]))
            )
            summaries = summaries + their_summaries
        _account(stats, jobs, summaries, rewritten, file_updates)
        stats.entries_written = len(own.keys() | theirs.keys()) if theirs else len(own)
        return list(theirs.values()), file_updates

    if child is None:
        later = rest()
        if not own and not later[1] and not gone:
            return stats
        _write(conn, own.values(), lambda: later, rewritten, gone)
    else:
        _write(conn, own.values(), rest, rewritten, gone)
    return stats


def _file_row(
    name: str,
    tf: TranscriptFile,
    st: os.stat_result,
    offset: int,
    state: _FileState | None,
    usage_lines: int,
    bad_lines: int,
    rewritten: list[str],
) -> tuple[object, ...]:
    carry = state is not None and name not in rewritten
    prev_usage = state.usage_lines if carry and state else 0
    prev_bad = state.bad_lines if carry and state else 0
    return (
        name,
        tf.project,
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        offset,
        prev_usage + usage_lines,
        prev_bad + bad_lines,
    )


_UPSERT = """
INSERT INTO usage_entries
    (key, msg_id, ts, model, project, session, file, sidechain, speed,
     input, output, cc5m, cc1h, cc, cread, total)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET
    ts = excluded.ts, model = excluded.model, project = excluded.project,
    session = excluded.session, file = excluded.file, sidechain = excluded.sidechain,
    speed = excluded.speed, input = excluded.input, output = excluded.output,
    cc5m = excluded.cc5m, cc1h = excluded.cc1h, cc = excluded.cc, cread = excluded.cread,
    total = excluded.total
WHERE excluded.sidechain < usage_entries.sidechain
   OR (excluded.sidechain = usage_entries.sidechain AND (
        excluded.total > usage_entries.total
        OR (excluded.total = usage_entries.total AND excluded.speed != '' AND usage_entries.speed = '')))
"""

# A sidechain copy of a response (same message.id, another requestId) loses to the main chain,
# and among sidechain copies only the largest survives (ccusage v20's message-id index).
_DROP_REPLAYS = """
DELETE FROM usage_entries
WHERE sidechain = 1 AND msg_id IN (SELECT msg_id FROM temp.usage_touched) AND (
    EXISTS (SELECT 1 FROM usage_entries m WHERE m.msg_id = usage_entries.msg_id AND m.sidechain = 0)
    OR EXISTS (SELECT 1 FROM usage_entries o WHERE o.msg_id = usage_entries.msg_id AND o.sidechain = 1
               AND o.key != usage_entries.key
               AND (o.total > usage_entries.total
                    OR (o.total = usage_entries.total AND o.key < usage_entries.key))))
"""


def _rows(entries: Iterable[Entry]) -> Iterator[tuple[object, ...]]:
    # In key order: the primary-key B-tree then grows at its right edge instead of splitting
    # pages all over (and the msg_id index, which the key starts with, too). A generator, not a
    # list: on a first scan of a large history the rows would double memory.
    for e in sorted(entries, key=_KEY):
        yield (
            e.key,
            e.msg_id,
            e.ts_ms,
            e.model,
            e.project,
            e.session,
            e.file,
            int(e.sidechain),
            e.speed,
            e.input_tokens,
            e.output_tokens,
            e.cache_creation_5m,
            e.cache_creation_1h,
            e.cache_creation,
            e.cache_read,
            e.total,
        )


_KEY = attrgetter("key")


def _write(
    conn: sqlite3.Connection,
    first: Iterable[Entry],
    later: Callable[[], tuple[list[Entry], list[tuple[object, ...]]]],
    rewritten: list[str],
    gone: list[str],
) -> None:
    """Store ``first``, then what ``later`` returns (the forked reader's entries, file rows).

    Entries are upserted keeping the better copy, ties going to the one stored first.
    """
    first = list(first)
    conn.execute("BEGIN IMMEDIATE")
    try:
        had_rows = conn.execute("SELECT 1 FROM usage_entries LIMIT 1").fetchone() is not None
        for name in rewritten:
            conn.execute("DELETE FROM usage_entries WHERE file = ?", (name,))
        if not had_rows:  # first scan: bulk insert, then derive the quarter-hour totals in one pass
            store.drop_triggers(conn)
            # Secondary indexes are built once after the load (a sort) rather than row by row.
            conn.execute("DROP INDEX IF EXISTS usage_entries_ts")
            conn.execute("DROP INDEX IF EXISTS usage_entries_msg")
        conn.executemany(_UPSERT, _rows(first))
        second, file_updates = later()
        conn.executemany(_UPSERT, _rows(second))
        if not had_rows:
            store.create_indexes(conn)
            store.rebuild_quarters(conn)
            store.create_triggers(conn)
            block_cache.invalidate(conn)
        # Replays can only collide through a sidechain copy: in this batch, or (for a main-chain
        # entry) one already stored by an earlier run.
        touched = {(e.msg_id,) for e in (*first, *second) if e.msg_id and (e.sidechain or had_rows)}
        if touched:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS usage_touched (msg_id TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM temp.usage_touched")
            conn.executemany("INSERT OR IGNORE INTO temp.usage_touched (msg_id) VALUES (?)", touched)
            conn.execute(_DROP_REPLAYS)
        conn.executemany(
            "INSERT OR REPLACE INTO usage_files (path, project, dev, ino, size, mtime_ns, offset,"
            " usage_lines, bad_lines, missing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            file_updates,
        )
        conn.executemany("UPDATE usage_files SET missing = 1 WHERE path = ?", [(p,) for p in gone])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
