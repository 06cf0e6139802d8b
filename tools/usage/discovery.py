"""Where Claude Code writes transcripts: every ``projects/`` tree of every configuration directory."""

from __future__ import annotations

import os
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


def iter_transcripts(roots: list[Path]) -> Iterator[TranscriptFile]:
    """Every ``*.jsonl`` below each root, subagent transcripts included.

    Directory symlinks are not followed (as ``os.walk``), so a symlink loop cannot trap the walk;
    files are visited once per real path even when roots overlap. Only each root and each
    symlinked file are resolved (a ``realpath`` per file costs a ``lstat`` per path component,
    thousands of calls on every run); below a root, real paths are built by joining names.
    """
    seen: set[str] = set()
    for root in roots:
        try:
            real_root = os.path.realpath(root)
        except OSError:
            continue
        yield from _walk(str(root), real_root, root, "", seen)


def _walk(dirpath: str, real_dir: str, root: Path, project: str, seen: set[str]) -> Iterator[TranscriptFile]:
    try:
        with os.scandir(dirpath) as it:
            entries = list(it)
    except OSError:
        return
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
    for name, is_link in sorted(files):
        full = f"{dirpath}{os.sep}{name}"
        if is_link:
            try:
                real = os.path.realpath(full)
            except OSError:
                continue
        else:
            real = f"{real_dir}{os.sep}{name}"
        if real in seen:
            continue
        seen.add(real)
        yield TranscriptFile(full, project or "(root)", root)
    for name in sorted(subdirs):
        # Not a symlink (those are not followed), so its real path is its parent's plus its name.
        yield from _walk(f"{dirpath}{os.sep}{name}", f"{real_dir}{os.sep}{name}", root, project or name, seen)
