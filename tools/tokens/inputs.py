"""Gathering what to count: files, directories and globs, read defensively.

Directories and globs are walked without following directory symlinks (a link to ``/`` in a
project must not make ``**/*.py`` walk the whole disk) and without recursion (a tree nested
thousands deep is walked like any other); directory walks skip VCS and cache folders. The walk
stops after :data:`MAX_ENTRIES` directory entries, and reading stops after :data:`MAX_FILES`
files or :data:`MAX_TOTAL_BYTES`, each time saying so. With ``confine`` (the MCP tool: the
model chooses the paths) nothing outside the project is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from claude_health.tools.files import read_capped
from claude_health.tools.redact import scrub

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
    }
)
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_FILES = 20_000
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # what one count may hold in memory
MAX_ENTRIES = 200_000  # directory entries one walk may look at (a large monorepo has ~100k)
_GLOB_CHARS = frozenset("*?[")


@dataclass
class SourceFile:
    display: str
    path: Path
    size: int = 0
    data: bytes | None = None
    skipped: str | None = None


@dataclass
class Collected:
    files: list[SourceFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    truncated: bool = False


def _display(path: Path, project: Path) -> str:
    """The path as shown: relative to the project, a credential in a file name redacted."""
    try:
        shown = str(path.relative_to(project))
    except ValueError:
        shown = str(path)
    return scrub(shown)


def _inside(path: Path, project: Path) -> bool:
    try:
        path.resolve().relative_to(project.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _static_prefix(pattern: Path) -> Path:
    """The directory part of a glob before its first wildcard (where the walk would start)."""
    parts: list[str] = []
    for part in pattern.parts:
        if _GLOB_CHARS & set(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path()


def _read(path: Path, display: str, max_bytes: int) -> SourceFile:
    try:
        size = path.stat().st_size
    except RuntimeError:
        return SourceFile(display, path, skipped="symbolic link loop")
    except OSError as exc:
        return SourceFile(display, path, skipped=f"cannot be read: {exc.strerror or type(exc).__name__}")
    if size > max_bytes:
        return SourceFile(display, path, size, skipped=f"{size:,} bytes, over the {max_bytes:,}-byte limit")
    try:
        data = read_capped(path, max_bytes)  # a regular file when opened, not only when looked at
    except OSError as exc:
        return SourceFile(
            display, path, size, skipped=f"cannot be read: {exc.strerror or type(exc).__name__}"
        )
    if len(data) > max_bytes:  # grew while we read it
        return SourceFile(display, path, len(data), skipped=f"over the {max_bytes:,}-byte limit")
    return SourceFile(display, path, len(data), data=data)


@dataclass
class _Walk:
    """What every walk of one :func:`collect` call may still look at."""

    entries_left: int
    stopped: str | None = None

    def scan(self, directory: str) -> list[os.DirEntry[str]]:
        """The entries of ``directory`` sorted by name; [] when it cannot be listed or the budget is spent."""
        if self.stopped is not None:
            return []
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return []
        self.entries_left -= len(entries)
        if self.entries_left < 0:
            self.stopped = directory
        return entries


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _walk(root: Path, budget: _Walk) -> list[Path]:
    """Every file under ``root`` (depth first, by name), never entering a symlinked directory."""
    found: list[Path] = []
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        subdirs: list[str] = []
        for entry in budget.scan(directory):
            if _is_dir(entry):
                if entry.name not in SKIP_DIRS:
                    subdirs.append(entry.path)
            else:
                found.append(Path(entry.path))
        stack.extend(reversed(subdirs))
    return found


def _glob(pattern: Path, budget: _Walk) -> list[Path]:
    """Paths matching the absolute glob ``pattern`` (``**`` spans directories).

    As :mod:`glob` does, wildcards do not match names starting with a dot unless the pattern's
    segment does; unlike it, a symlink to a directory is never walked into.
    """
    start = _static_prefix(pattern)
    segments = pattern.parts[len(start.parts) :]
    found: list[Path] = []
    seen: set[tuple[str, int]] = set()
    stack = [(str(start), 0)]
    while stack:
        directory, i = stack.pop()
        if (directory, i) in seen:
            continue
        seen.add((directory, i))
        if i == len(segments):
            found.append(Path(directory))
            continue
        segment, last = segments[i], i == len(segments) - 1
        hidden_ok = segment.startswith(".")
        if segment == "**":
            stack.append((directory, i + 1))  # zero directories
            for entry in budget.scan(directory):
                if _is_dir(entry) and (hidden_ok or not entry.name.startswith(".")):
                    stack.append((entry.path, i))
            continue
        if not _GLOB_CHARS & set(segment):
            path = Path(directory, segment)
            if last:
                if path.exists() or path.is_symlink():
                    found.append(path)
            elif path.is_dir() and not path.is_symlink():
                stack.append((str(path), i + 1))
            continue
        for entry in budget.scan(directory):
            if not fnmatchcase(entry.name, segment) or (entry.name.startswith(".") and not hidden_ok):
                continue
            if last:
                found.append(Path(entry.path))
            elif _is_dir(entry):
                stack.append((entry.path, i + 1))
    return sorted(set(found))


def unmatched(arg: str, project: Path) -> str | None:
    """Why ``arg`` (relative to ``project``) names nothing at all, or None when it names something.

    What the CLI turns into a usage error before counting: a typo must not print "0 tokens".
    """
    if "\x00" in arg:
        return "a path contains a NUL character"
    expanded = Path(arg).expanduser()
    base = expanded if expanded.is_absolute() else project / expanded
    if _GLOB_CHARS & set(arg):
        return None if _glob(base, _Walk(MAX_ENTRIES)) else f"{arg}: no file matches"
    if base.exists() or base.is_symlink():
        return None
    return f"{arg}: no such file or directory"


def collect(
    args: list[str],
    project: Path,
    *,
    confine: bool = False,
    max_files: int = MAX_FILES,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Collected:
    """Expand ``args`` (files, directories, globs; relative to ``project``) and read each file once."""
    out = Collected()
    seen: set[Path] = set()
    # (path, its real path if known cheaply, inside the project if known) -- resolving every path
    # costs one lstat per component, which a tree thousands deep turns into millions.
    candidates: list[tuple[Path, Path | None, bool | None]] = []
    budget = _Walk(MAX_ENTRIES)
    named: set[Path] = set()  # files named one by one (not found by a walk or a glob)

    def found_under(root: Path, paths: list[Path]) -> None:
        """Paths a walk or glob found below ``root``: only symlinks among them need resolving."""
        try:
            real_root = root.resolve()
        except (OSError, RuntimeError):
            real_root = None
        # Walks never enter a symlinked directory: below an inside root, only a symlink can lead out.
        root_inside = _inside(root, project) if confine else True
        for path in paths:
            if real_root is None or path.is_symlink():
                candidates.append((path, None, None))
            else:
                candidates.append((path, real_root / path.relative_to(root), root_inside))

    for arg in args:
        if "\x00" in arg:
            out.problems.append("a path contains a NUL character")
            continue
        expanded = Path(arg).expanduser()
        base = expanded if expanded.is_absolute() else project / expanded
        if _GLOB_CHARS & set(arg):
            prefix = _static_prefix(base)
            if confine and not _inside(prefix, project):
                out.problems.append(f"{arg}: outside the project directory, not read")
                continue
            matches = _glob(base, budget)
            if not matches and budget.stopped is None:
                out.problems.append(f"{arg}: no file matches")
            walked: list[str] = []  # matched directories already walked (sorted: ancestors first)
            for m in matches:
                text = str(m)
                while walked and not text.startswith(walked[-1] + os.sep):
                    walked.pop()
                if walked:
                    continue  # inside a directory that is walked whole already
                if m.is_dir() and not m.is_symlink():
                    walked.append(text)
                    found_under(prefix, _walk(m, budget))
                else:
                    found_under(prefix, [m])
            continue
        if confine and not _inside(base, project):
            out.problems.append(f"{arg}: outside the project directory, not read")
            continue
        if base.is_dir():
            found_under(base, _walk(base, budget))
        elif base.exists() or base.is_symlink():
            candidates.append((base, None, None))
            named.add(base)
        else:
            out.problems.append(f"{arg}: no such file or directory")
    if budget.stopped is not None:
        out.truncated = True
        out.problems.append(
            f"stopped looking after {MAX_ENTRIES:,} directory entries (in "
            f"{_display(Path(budget.stopped), project)}): name fewer or narrower paths; only what was "
            "found before is counted"
        )
    total, full = 0, False
    for path, real, inside in candidates:
        if inside is None:
            inside = _inside(path, project) if confine or path not in named else True
        if confine and not inside:
            out.problems.append(f"{_display(path, project)}: outside the project directory, not read")
            continue
        if path not in named and not inside:
            # A walk or glob found it: a link planted in a repository must not read files elsewhere.
            out.problems.append(f"{_display(path, project)}: a link to outside the project, not read")
            continue
        key = real
        if key is None:
            try:
                key = path.resolve()
            except (OSError, RuntimeError):
                key = path
        if key in seen:
            continue
        seen.add(key)
        if len(out.files) >= max_files:
            out.truncated = True
            out.problems.append(f"more than {max_files:,} files: the rest were not counted")
            break
        display = _display(path, project)
        if path.is_symlink() and not path.exists():
            out.files.append(SourceFile(display, path, skipped="symbolic link that does not resolve"))
            continue
        if not path.is_file():
            continue
        try:
            size = path.stat().st_size
        except (OSError, RuntimeError):
            size = 0  # _read says why
        if size <= max_file_bytes and total + size > MAX_TOTAL_BYTES:
            full = True
            out.files.append(
                SourceFile(
                    display,
                    path,
                    size,
                    skipped=f"not read: one count reads at most {MAX_TOTAL_BYTES:,} bytes",
                )
            )
            continue
        source = _read(path, display, max_file_bytes)
        total += source.size if source.data is not None else 0
        out.files.append(source)
    if full:
        out.truncated = True
        out.problems.append(
            f"stopped reading at {MAX_TOTAL_BYTES:,} bytes: the remaining files were not counted"
        )
    return out
