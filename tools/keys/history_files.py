"""Where shell histories are: bash, zsh and fish, plus ``$HISTFILE``.

Paths only, apart from the check that reads them (:mod:`.shell_history`): the tree scan leaves
these files to it (:mod:`.leaks`) without importing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from claude_health.tools.paths import Workspace


@dataclass(frozen=True)
class HistoryFile:
    """One history file, and the shell that writes it (its format)."""

    path: Path
    shell: str  # bash, zsh or fish


def history_files(ws: Workspace) -> list[HistoryFile]:
    """The usual history files of bash, zsh and fish, plus ``$HISTFILE``, existing ones only."""
    env, home = ws.env, ws.home
    zdot = Path(env["ZDOTDIR"]).expanduser() if env.get("ZDOTDIR") else home
    data = Path(env["XDG_DATA_HOME"]).expanduser() if env.get("XDG_DATA_HOME") else home / ".local" / "share"
    candidates: list[HistoryFile] = []
    if env.get("HISTFILE"):
        hist = Path(env["HISTFILE"]).expanduser()
        candidates.append(HistoryFile(hist, _shell_of(hist)))
    candidates += [
        HistoryFile(home / ".bash_history", "bash"),
        HistoryFile(zdot / ".zsh_history", "zsh"),
        HistoryFile(zdot / ".zhistory", "zsh"),
        HistoryFile(data / "fish" / "fish_history", "fish"),
    ]
    seen: set[str] = set()
    found: list[HistoryFile] = []
    for cand in candidates:
        try:
            real = os.path.realpath(cand.path)
            if not cand.path.is_file():
                continue
        except OSError:
            continue
        if real not in seen:
            seen.add(real)
            found.append(cand)
    return found


def _shell_of(path: Path) -> str:
    name = path.name.lower()
    if "fish" in name:
        return "fish"
    if "zsh" in name or "zhist" in name:
        return "zsh"
    return "bash"
