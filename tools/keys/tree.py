"""The project tree: which files to scan, and scanning them (in parallel for large trees).

Inside a git work tree the file list is git's own: tracked files plus untracked files that are
not ignored (``git ls-files -co --exclude-standard``), so .gitignore, .git/info/exclude and the
global excludes file are honoured exactly as git does. Outside git every regular file is
scanned; symbolic links are never followed, so a link loop or a link to /dev cannot hang us.
Paths are plain strings here: tens of thousands of ``Path`` objects cost more than the scan.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from claude_health.tools import forked
from claude_health.tools.gitsafe import git, is_work_tree, split_z
from claude_health.tools.keys.formats import decodes_escapes
from claude_health.tools.keys.scanner import FileScan, scan_path

Progress = Callable[[int, int], None]

# Forking workers costs a few milliseconds each: below this many files one process is faster.
# On 2 idle CPUs a 6,193-file, 105 MB tree scanned in 0.14 s serially and 0.10 s with 2 workers
# (bench/keys_scan.py); on CPUs that other jobs keep busy the pool gains nothing, and --jobs 1 says so.
PARALLEL_MIN_FILES = 2048
MAX_WORKERS = 8
BATCH_FILES = 256
# Files per batch a worker takes from the queue: small enough that the processes finish together.
BATCH_MIN_FILES = 16
MAX_FILES = 1_000_000
PSEUDO_FILESYSTEMS = frozenset({"/proc", "/sys", "/dev", "/run"})


@dataclass
class FileList:
    root: Path
    files: list[str] = field(default_factory=list)  # absolute paths
    in_git: bool = False
    tracked: set[str] = field(default_factory=set)  # project-relative POSIX paths
    problem: str | None = None
    unreadable_dirs: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), outside git
    truncated: bool = False  # the walk stopped at its limit: more files exist than are listed

    def relative(self) -> list[str]:
        prefix = len(str(self.root)) + 1
        return [f[prefix:].replace(os.sep, "/") for f in self.files]


@dataclass
class TreeScan:
    """Counts for every file, and the scans worth reporting (hits, or unreadable)."""

    notable: list[FileScan] = field(default_factory=list)
    files_scanned: int = 0
    bytes_scanned: int = 0
    binary: int = 0
    unreadable: int = 0

    def add(self, scan: FileScan) -> None:
        if scan.skipped is None:
            self.files_scanned += 1
            self.bytes_scanned += scan.size
            if scan.hits:
                self.notable.append(scan)
        elif scan.skipped == "binary":
            self.binary += 1
        elif scan.skipped.startswith("unreadable"):
            self.unreadable += 1
            self.notable.append(scan)

    def merge(self, other: TreeScan) -> None:
        self.notable.extend(other.notable)
        self.files_scanned += other.files_scanned
        self.bytes_scanned += other.bytes_scanned
        self.binary += other.binary
        self.unreadable += other.unreadable


def list_files(project: Path, *, tracked: bool = True, limit: int = MAX_FILES) -> FileList:
    """The files to scan; ``tracked=False`` leaves :attr:`FileList.tracked` empty (one git run
    fewer: only the ignore check reads it). A walk (no git, or git failed) stops after ``limit``
    files (:attr:`FileList.truncated`); git's list is whole, as git gives it."""
    base = str(project)
    if is_work_tree(project):  # (no git started where no repository can be: see gitsafe)
        # With -t each path comes tagged: "? " untracked, another letter tracked (H, or S
        # skip-worktree, M unmerged). One git run (and one filter-driver check before it) instead
        # of a second `ls-files --cached`: 14 instead of 21 ms on a 6,000-file repository.
        listed = git(["ls-files", "-z", "-co", "--exclude-standard", *(["-t"] if tracked else [])], project)
        if listed.ok:
            entries = split_z(listed.stdout)
            known: set[str] = set()
            if tracked:
                entries, known = _untag(entries)
            rel = sorted(set(entries))
            return FileList(project, [base + os.sep + r for r in rel], in_git=True, tracked=known)
        walked = _walk(project, limit)
        walked.problem = f"git ls-files failed ({listed.error}); every file was scanned"
        return walked
    return _walk(project, limit)


def _untag(tagged: list[str]) -> tuple[list[str], set[str]]:
    """``ls-files -t`` output: every path, and those git tracks (any tag but ``?``)."""
    paths = [entry[2:] for entry in tagged]
    return paths, {entry[2:] for entry in tagged if entry[:1] != "?"}


def _walk(project: Path, limit: int = MAX_FILES) -> FileList:
    """Every regular file under ``project``: scandir's entry types, so no stat per file.

    Symbolic links are not followed nor listed (a link loop or a link to /dev cannot hang the
    scan); a directory that cannot be read is reported, not fatal.
    """
    files: list[str] = []
    unreadable: list[tuple[str, str]] = []
    stack = [str(project)]
    while stack:
        directory = stack.pop()
        try:
            entries = os.scandir(directory)
        except OSError as exc:
            unreadable.append((directory, exc.strerror or type(exc).__name__))
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        # Kernel pseudo-filesystems are not project files (someone may scan "/").
                        if entry.path not in PSEUDO_FILESYSTEMS:
                            stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        files.append(entry.path)
                except OSError:
                    unreadable.append((entry.path, "cannot be examined"))
        if len(files) > limit:
            files.sort()
            listing = FileList(project, files[:limit], unreadable_dirs=unreadable, truncated=True)
            listing.problem = f"more than {limit:,} files: only the first {limit:,} were scanned"
            return listing
    files.sort()
    return FileList(project, files, unreadable_dirs=unreadable)


def _scan_batch(paths: list[str]) -> TreeScan:
    result = TreeScan()
    files = size = 0
    for p in paths:
        scan = scan_path(p, decodes_escapes(p))
        if isinstance(scan, int):  # nothing to report: counted, no object built
            files += 1
            size += scan
        else:
            result.add(scan)
    result.files_scanned += files
    result.bytes_scanned += size
    return result


@dataclass
class _Share:
    """What one process scanned: the batches it took from the queue, and their result."""

    batches: list[int] = field(default_factory=list)
    scan: TreeScan = field(default_factory=TreeScan)


class _BatchQueue:
    """Batch numbers in a pipe, taken by whichever process is free: the parent joins the
    children once its own checks are done, and a slow process just takes fewer batches.

    Every number is written (4 bytes each, at most one page, the smallest capacity a pipe can
    have) and the write end closed before any child is forked, so a read never waits: it
    returns one whole number (a pipe read is atomic for readers) or end of file.
    """

    MAX_BATCHES = 1024  # 4 KiB of numbers

    def __init__(self, files: list[str], read_fd: int | None = None) -> None:
        """``read_fd``: the read end of a pipe another process fills (:meth:`fill`); without
        it, a new pipe filled here."""
        self.files = files
        self.size = max(BATCH_MIN_FILES, -(-len(files) // self.MAX_BATCHES))
        self.count = -(-len(files) // self.size)
        self.fd: int | None = read_fd
        if read_fd is None:
            read_fd, write_fd = os.pipe()
            if self.fill(write_fd):
                self.fd = read_fd
            else:  # a pipe smaller than a page: no queue, the caller scans serially
                os.close(read_fd)

    def fill(self, write_fd: int) -> bool:
        """Write every batch number into the pipe and close its write end."""
        try:
            os.set_blocking(write_fd, False)
            payload = b"".join(i.to_bytes(4, "little") for i in range(self.count))
            return os.write(write_fd, payload) == len(payload)
        except OSError:
            return False
        finally:
            os.close(write_fd)

    def batch(self, number: int) -> list[str]:
        return self.files[number * self.size : (number + 1) * self.size]

    def drain(self, progress: Callable[[int], None] | None = None, first: int | None = None) -> _Share:
        """Scan batches until the queue is empty (``first``: a number already taken from it)."""
        share = _Share()
        number = first if first is not None else self.take()
        while number is not None:
            paths = self.batch(number)
            share.scan.merge(_scan_batch(paths))
            share.batches.append(number)
            if progress:
                progress(len(paths))
            number = self.take()
        return share

    def take(self) -> int | None:
        """One batch number, waiting until one is written; None at end of file."""
        token = os.read(self.fd, 4) if self.fd is not None else b""
        return int.from_bytes(token, "little") if len(token) == 4 else None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class PendingScan:
    """A tree scan under way: forked children take batches of files from a queue while this
    process runs its other checks, then this process takes what is left (or, serial, scans
    everything when the result is asked for).
    """

    def __init__(self, files: list[str], progress: Progress | None, workers: int) -> None:
        self._files = files
        self._progress = progress
        self._queue: _BatchQueue | None = None
        self._children: list[forked.Forked[_Share]] = []
        if workers > 1 and len(files) > BATCH_FILES:
            queue = _BatchQueue(files)
            if queue.fd is not None:
                self._queue = queue
                # This process is one of the workers: it joins once its own checks are done.
                for _ in range(workers - 1):
                    child = forked.start(partial(queue.drain))
                    if child is not None:
                        self._children.append(child)

    def result(self) -> TreeScan:
        total = len(self._files)
        result = TreeScan()
        done = 0

        def advance(files: int) -> None:
            nonlocal done
            done += files
            if self._progress:
                self._progress(done, total)

        if self._queue is None:
            for i in range(0, total, BATCH_FILES):
                batch = self._files[i : i + BATCH_FILES]
                result.merge(_scan_batch(batch))
                advance(len(batch))
            return result
        try:
            return collect(self._queue, self._children, advance)
        finally:
            self.close()

    def close(self) -> None:
        """Stop and reap children still running (after an error or an interrupt)."""
        for child in self._children:
            child.kill()
        if self._queue is not None:
            self._queue.close()

    def __enter__(self) -> PendingScan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def collect(
    queue: _BatchQueue,
    children: list[forked.Forked[_Share]],
    advance: Callable[[int], None],
    first: int | None = None,
) -> TreeScan:
    """This process's part of the queue, then every child's; batches no process returned (a
    child that failed in any way) are scanned here: a child costs time, never findings."""
    result = TreeScan()
    mine = queue.drain(advance, first)
    result.merge(mine.scan)
    seen = set(mine.batches)
    for child in children:
        part = child.result()
        if isinstance(part, _Share) and not seen & set(part.batches):
            result.merge(part.scan)
            seen.update(part.batches)
            advance(sum(len(queue.batch(n)) for n in part.batches))
    for number in range(queue.count):
        if number not in seen:
            paths = queue.batch(number)
            result.merge(_scan_batch(paths))
            advance(len(paths))
    return result


def default_workers(file_count: int) -> int:
    """Every CPU (up to MAX_WORKERS) for large trees, when forking is safe; else 1."""
    cpus = forked.cpus()
    if cpus < 2 or file_count < PARALLEL_MIN_FILES:
        return 1
    return min(cpus, MAX_WORKERS) if forked.can_fork() else 1


def start_scan(
    files: list[str], *, progress: Progress | None = None, workers: int | None = None
) -> PendingScan:
    """Start scanning ``files``; collect with :meth:`PendingScan.result`."""
    return PendingScan(files, progress, default_workers(len(files)) if workers is None else workers)


def scan_files(files: list[str], *, progress: Progress | None = None, workers: int | None = None) -> TreeScan:
    """Scan every file; forked children split large trees across the CPUs."""
    return start_scan(files, progress=progress, workers=workers).result()
