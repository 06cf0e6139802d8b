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
    """One ``*.jsonl`` file and the project folder (encoded cwd) it belongs to."""

    path: Path
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

    ``os.walk`` does not follow directory symlinks, so a symlink loop cannot trap it; files are
    visited once per real path even when roots overlap.
    """
    seen: set[str] = set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, onerror=lambda _e: None):
            dirnames.sort()
            rel = os.path.relpath(dirpath, root)
            project = rel.split(os.sep, 1)[0] if rel != "." else ""
            for name in sorted(filenames):
                if not name.endswith(".jsonl"):
                    continue
                full = f"{dirpath}{os.sep}{name}"
                try:
                    real = os.path.realpath(full)
                except OSError:
                    continue
                if real in seen:
                    continue
                seen.add(real)
                yield TranscriptFile(Path(full), project or "(root)", root)
