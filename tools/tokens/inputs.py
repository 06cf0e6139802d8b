"""Gathering what to count: files, directories and globs, read defensively.

Directories are walked without following symlinks (no loops) and skip VCS and cache folders.
With ``confine`` (the MCP tool: the model chooses the paths) nothing outside the project is read.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

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
        data = path.read_bytes()
    except OSError as exc:
        return SourceFile(
            display, path, size, skipped=f"cannot be read: {exc.strerror or type(exc).__name__}"
        )
    return SourceFile(display, path, len(data), data=data)


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=None):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        found.extend(Path(dirpath) / name for name in sorted(filenames))
    return found


def _glob(base: Path) -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(base), recursive=True))  # noqa: PTH207 - absolute patterns too


def unmatched(arg: str, project: Path) -> str | None:
    """Why ``arg`` (relative to ``project``) names nothing at all, or None when it names something.

    What the CLI turns into a usage error before counting: a typo must not print "0 tokens".
    """
    if "\x00" in arg:
        return "a path contains a NUL character"
    expanded = Path(arg).expanduser()
    base = expanded if expanded.is_absolute() else project / expanded
    if _GLOB_CHARS & set(arg):
        return None if _glob(base) else f"{arg}: no file matches"
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
    candidates: list[Path] = []
    for arg in args:
        if "\x00" in arg:
            out.problems.append("a path contains a NUL character")
            continue
        expanded = Path(arg).expanduser()
        base = expanded if expanded.is_absolute() else project / expanded
        if _GLOB_CHARS & set(arg):
            if confine and not _inside(_static_prefix(base), project):
                out.problems.append(f"{arg}: outside the project directory, not read")
                continue
            matches = _glob(base)
            if not matches:
                out.problems.append(f"{arg}: no file matches")
            for m in matches:
                candidates.extend(_walk(m) if m.is_dir() and not m.is_symlink() else [m])
            continue
        if confine and not _inside(base, project):
            out.problems.append(f"{arg}: outside the project directory, not read")
            continue
        if base.is_dir():
            candidates.extend(_walk(base))
        elif base.exists() or base.is_symlink():
            candidates.append(base)
        else:
            out.problems.append(f"{arg}: no such file or directory")
    for path in candidates:
        if confine and not _inside(path, project):
            out.problems.append(f"{_display(path, project)}: outside the project directory, not read")
            continue
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
        out.files.append(_read(path, display, max_file_bytes))
    return out
