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
from claude_health.tools.keys.scanner import FileScan, scan_file

Progress = Callable[[int, int], None]

# Forking workers costs a few milliseconds each: below this many files one process is faster.
# On 2 idle CPUs a 6,193-file, 105 MB tree scanned in 0.14 s serially and 0.10 s with 2 workers
# (bench/keys_scan.py); on CPUs that other jobs keep busy the pool gains nothing, and --jobs 1 says so.
PARALLEL_MIN_FILES = 2048
MAX_WORKERS = 8
BATCH_FILES = 256
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


def list_files(project: Path, *, tracked: bool = True) -> FileList:
    """The files to scan; ``tracked=False`` leaves :attr:`FileList.tracked` empty (one git run
    fewer: only the ignore check reads it)."""
    base = str(project)
    if may_be_in_git(project) and is_work_tree(project):
        listed = git(["ls-files", "-z", "-co", "--exclude-standard"], project)
        cached = git(["ls-files", "-z", "--cached"], project) if tracked else None
        if listed.ok:
            rel = sorted(set(split_z(listed.stdout)))
            return FileList(
                project,
                [base + os.sep + r for r in rel],
                in_git=True,
                tracked=set(split_z(cached.stdout)) if cached is not None and cached.ok else set(),
            )
        walked = _walk(project)
        walked.problem = f"git ls-files failed ({listed.error}); every file was scanned"
        return walked
    return _walk(project)


def may_be_in_git(project: Path) -> bool:
    """False only when git cannot see a work tree here: no ``.git`` in ``project`` or above, and
    no ``GIT_DIR`` naming one. Stats a few paths instead of starting git (the SessionStart hook
    lists small trees before every session)."""
    if os.environ.get("GIT_DIR"):
        return True
    try:
        starts = {project.absolute(), project.resolve()}  # git sees the real path
    except (OSError, RuntimeError):
        return True
    return any(os.path.lexists(d / ".git") for here in starts for d in (here, *here.parents))


def _walk(project: Path) -> FileList:
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
        if len(files) > MAX_FILES:
            files.sort()
            listing = FileList(project, files[:MAX_FILES], unreadable_dirs=unreadable)
            listing.problem = f"more than {MAX_FILES:,} files: only the first {MAX_FILES:,} were scanned"
            return listing
    files.sort()
    return FileList(project, files, unreadable_dirs=unreadable)


def _scan_batch(paths: list[str]) -> TreeScan:
    result = TreeScan()
    for p in paths:
        result.add(scan_file(p))
    return result


class PendingScan:
    """A tree scan under way: in forked children, or (serial) done when the result is asked for.

    Starting the children first lets the caller run its other checks while they read the tree.
    """

    def __init__(self, files: list[str], progress: Progress | None, workers: int) -> None:
        self._files = files
        self._progress = progress
        self._children: list[tuple[list[str], forked.Forked[TreeScan] | None]] = []
        if workers > 1 and len(files) > BATCH_FILES:
            # Every n-th file of the sorted list: sizes and directories spread evenly.
            for share in (files[i::workers] for i in range(workers)):
                # None (the system could not fork): this process scans that share itself.
                self._children.append((share, forked.start(partial(_scan_batch, share))))

    def result(self) -> TreeScan:
        total = len(self._files)
        result = TreeScan()
        done = 0
        if not self._children:
            for i in range(0, total, BATCH_FILES):
                batch = self._files[i : i + BATCH_FILES]
                result.merge(_scan_batch(batch))
                done += len(batch)
                if self._progress:
                    self._progress(done, total)
            return result
        try:
            for share, child in self._children:
                part = child.result() if child is not None else None
                # A child that failed in any way costs time, never findings: rescan its share.
                result.merge(part if isinstance(part, TreeScan) else _scan_batch(share))
                done += len(share)
                if self._progress:
                    self._progress(done, total)
        finally:
            self.close()
        return result

    def close(self) -> None:
        """Stop and reap children still running (after an error or an interrupt)."""
        for _, child in self._children:
            if child is not None:
                child.kill()

    def __enter__(self) -> PendingScan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
