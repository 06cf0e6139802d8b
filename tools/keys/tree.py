"""The project tree: which files to scan, and scanning them (in parallel for large trees).

Inside a git work tree the file list is git's own: tracked files plus untracked files that are
not ignored (``git ls-files -co --exclude-standard``), so .gitignore, .git/info/exclude and the
global excludes file are honoured exactly as git does. Outside git every regular file is
scanned; symbolic links are never followed, so a link loop or a link to /dev cannot hang us.
Paths are plain strings here: tens of thousands of ``Path`` objects cost more than the scan.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from claude_health.tools.keys.git import git, is_work_tree, split_z
from claude_health.tools.keys.scanner import FileScan, scan_file

Progress = Callable[[int, int], None]

# A process pool only pays off on big trees with spare cores: on 2 loaded CPUs a 105 MB tree took
# 0.65 s with 2 workers and 0.46 s serial (bench/keys_scan.py), so the default stays serial there.
PARALLEL_MIN_BYTES = 256 * 1024 * 1024
PARALLEL_MIN_CPUS = 4
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


def list_files(project: Path) -> FileList:
    base = str(project)
    if is_work_tree(project):
        listed = git(["ls-files", "-z", "-co", "--exclude-standard"], project)
        tracked = git(["ls-files", "-z", "--cached"], project)
        if listed.ok:
            rel = sorted(set(split_z(listed.stdout)))
            return FileList(
                project,
                [base + os.sep + r for r in rel],
                in_git=True,
                tracked=set(split_z(tracked.stdout)) if tracked.ok else set(),
            )
        walked = _walk(project)
        walked.problem = f"git ls-files failed ({listed.error}); every file was scanned"
        return walked
    return _walk(project)


def _walk(project: Path) -> FileList:
    files: list[str] = []
    join = os.path.join
    for dirpath, dirnames, filenames in os.walk(str(project), followlinks=False):
        # Kernel pseudo-filesystems are not project files (someone may scan "/").
        dirnames[:] = sorted(d for d in dirnames if join(dirpath, d) not in PSEUDO_FILESYSTEMS)
        files.extend(join(dirpath, name) for name in sorted(filenames))
        if len(files) > MAX_FILES:
            listing = FileList(project, files[:MAX_FILES])
            listing.problem = f"more than {MAX_FILES:,} files: only the first {MAX_FILES:,} were scanned"
            return listing
    return FileList(project, files)


def _scan_batch(paths: list[str]) -> TreeScan:
    result = TreeScan()
    for p in paths:
        result.add(scan_file(p))
    return result


def _total_size(paths: list[str]) -> int:
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += os.lstat(p).st_size
    return total


def scan_files(files: list[str], *, progress: Progress | None = None, workers: int | None = None) -> TreeScan:
    """Scan every file; a process pool splits large trees across the CPUs."""
    total = len(files)
    cpus = os.cpu_count() or 1
    if workers is None:
        big = cpus >= PARALLEL_MIN_CPUS and total > 4 * BATCH_FILES
        big = big and _total_size(files) >= PARALLEL_MIN_BYTES
        # Forking a process that runs other threads (the MCP server's worker threads) can
        # deadlock a child on a lock held by a thread that does not exist there: stay serial.
        workers = cpus if big and _fork_is_safe() else 1
    result = TreeScan()
    batches = [files[i : i + BATCH_FILES] for i in range(0, total, BATCH_FILES)]
    done = 0
    if workers <= 1:
        for batch in batches:
            result.merge(_scan_batch(batch))
            done += len(batch)
            if progress:
                progress(done, total)
        return result
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # fork: workers inherit the imported scanner instead of importing it again.
    context = get_context("fork" if _fork_is_safe() else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for batch, part in zip(batches, pool.map(_scan_batch, batches), strict=True):
            result.merge(part)
            done += len(batch)
            if progress:
                progress(done, total)
    return result


def _fork_is_safe() -> bool:
    from multiprocessing import get_all_start_methods

    return "fork" in get_all_start_methods() and threading.active_count() == 1
