"""Where Claude Code writes transcripts: every ``projects/`` tree of every configuration directory."""

from __future__ import annotations

import os
import time
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECTS = "projects"


@dataclass(frozen=True, slots=True)
class TranscriptFile:
    """One ``*.jsonl`` file and the project folder (encoded cwd) it belongs to.

    ``path`` is a plain string: a warm run visits thousands of files to read a few of them, and
    building a ``Path`` for each cost a third of an MCP server's warm report on 1 GiB.
    """

    path: str
    project: str
    root: Path


def transcript_roots(env: Mapping[str, str], home: Path) -> list[Path]:
    """``projects`` directories to scan, existing ones only, each real directory once.

    Unlike ccusage (which ignores the defaults once ``CLAUDE_CONFIG_DIR`` is set) the defaults
    are always read too: deduplication makes overlap harmless, and a user who once ran with a
    different config dir still wants that history counted.
    """
    candidates: list[Path] = []
    for raw in env.get("CLAUDE_CONFIG_DIR", "").split(","):
        value = unicodedata.normalize("NFC", raw.strip())
        if value:
            base = Path(value).expanduser()
            # Monitors accept either the config dir or its projects/ folder.
            candidates.append(base if base.name == PROJECTS else base / PROJECTS)
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    candidates.append((Path(xdg).expanduser() if xdg else home / ".config") / "claude" / PROJECTS)
    candidates.append(home / ".claude" / PROJECTS)
    roots: list[Path] = []
    seen: set[str] = set()
    for cand in candidates:
        try:
            if not cand.is_dir():
                continue
            real = os.path.realpath(cand)
        except OSError:
            continue
        if real not in seen:
            seen.add(real)
            roots.append(cand)
    return roots


# dirpath -> (mtime_ns when listed, when listed, files (name, is_link), subdirectory names)
DirCache = dict[str, tuple[int, int, list[tuple[str, bool]], list[str]]]
# A listing is reused only if the directory was last changed this long before it was taken:
# a file created in the same clock tick as the listing could otherwise go unseen.
RACY_NS = 2_000_000_000


def iter_transcripts(roots: list[Path], dir_cache: DirCache | None = None) -> Iterator[TranscriptFile]:
    """Every ``*.jsonl`` below each root, subagent transcripts included.

    Directory symlinks are not followed (as ``os.walk``), so a symlink loop cannot trap the walk;
    files are visited once per real path even when roots overlap. Only each root and each
    symlinked file are resolved (a ``realpath`` per file costs a ``lstat`` per path component,
    thousands of calls on every run); below a root, real paths are built by joining names.
    ``dir_cache`` (kept by a long-running process) lets a directory whose modification time has
    not changed be reused instead of listed again.
    """
    seen: set[str] = set()
    for root in roots:
        try:
            real_root = os.path.realpath(root)
        except OSError:
            continue
        for path, project, real in _listing(str(root), real_root, len(roots) > 1, dir_cache):
            if real is not None:  # a symlinked file, or several roots: visit each real file once
                if real in seen:
                    continue
                seen.add(real)
            yield TranscriptFile(path, project, root)


def _entries(dirpath: str, dir_cache: DirCache | None) -> tuple[list[tuple[str, bool]], list[str]] | None:
    """``(files, subdirectories)`` of one directory, sorted; None if it cannot be listed."""
    if dir_cache is not None:
        try:
            mtime = os.stat(dirpath).st_mtime_ns  # noqa: PTH116 - str paths on the hot path
        except OSError:
            return None
        kept = dir_cache.get(dirpath)
        if kept is not None and kept[0] == mtime and mtime < kept[1] - RACY_NS:
            return kept[2], kept[3]
    listed_at = time.time_ns()
    try:
        with os.scandir(dirpath) as it:
            entries = list(it)
    except OSError:
        return None
    subdirs: list[str] = []
    files: list[tuple[str, bool]] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
            is_link = entry.is_symlink()
        except OSError:
            is_dir = is_link = False
        if is_dir:
            if not is_link:
                subdirs.append(entry.name)
        elif entry.name.endswith(".jsonl"):
            files.append((entry.name, is_link))
    files.sort()
    subdirs.sort(reverse=True)
    if dir_cache is not None:
        dir_cache[dirpath] = (mtime, listed_at, files, subdirs)
    return files, subdirs


def _listing(
    top: str, real_top: str, overlap: bool, dir_cache: DirCache | None
) -> list[tuple[str, str, str | None]]:
    """``(path, project, real path or None)`` of every transcript below ``top``, depth first.

    A warm report lists thousands of files to read a few: a loop over ``os.scandir`` with plain
    tuples, no generator per directory. The real path is only worked out when it can matter.
    """
    out: list[tuple[str, str, str | None]] = []
    sep = os.sep
    stack: list[tuple[str, str, str]] = [(top, real_top, "")]
    while stack:
        dirpath, real_dir, project = stack.pop()
        listed = _entries(dirpath, dir_cache)
        if listed is None:
            continue
        files, subdirs = listed
        for name, is_link in files:
            full = f"{dirpath}{sep}{name}"
            if is_link:
                try:
                    real: str | None = os.path.realpath(full)
                except OSError:
                    continue
            else:
                real = f"{real_dir}{sep}{name}" if overlap else None
            out.append((full, project or "(root)", real))
        # Reversed onto the stack (sorted so), so directories are visited in name order.
        for name in subdirs:
            # Not a symlink (those are not followed), so its real path is its parent's plus its name.
            stack.append((f"{dirpath}{sep}{name}", f"{real_dir}{sep}{name}", project or name))
    return out
