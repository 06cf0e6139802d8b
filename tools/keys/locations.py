"""Where the dedicated key checks look: committed config, settings with `env` blocks, shell
start-up files, shell histories. Paths only, so the tree scan can leave these files to their
own checks without importing the checks themselves."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from claude_health.tools.paths import Workspace


def committed_config_files(ws: Workspace) -> list[Path]:
    # Run from the home folder, the "project" settings file is the user's own settings file.
    shared = [] if ws.project_settings == ws.user_settings else [ws.project_settings]
    return [*shared, ws.project_mcp]


def settings_files(ws: Workspace) -> list[tuple[str, Path]]:
    """Files whose `env` blocks Claude Code applies, other than the shared project settings."""
    files = [("~/.claude.json", ws.global_config), ("user settings", ws.user_settings)]
    files.append(("local settings", ws.local_settings))
    files.append(("managed settings", ws.managed_settings))
    files.extend(("managed settings", p) for p in ws.managed_dropins())
    return files


def shell_startup_files(ws: Workspace) -> list[Path]:
    home = ws.home
    zdot = Path(ws.env["ZDOTDIR"]).expanduser() if ws.env.get("ZDOTDIR") else home
    xdg = Path(ws.env["XDG_CONFIG_HOME"]).expanduser() if ws.env.get("XDG_CONFIG_HOME") else home / ".config"
    files = [home / n for n in (".bashrc", ".bash_profile", ".bash_login", ".profile", ".bash_aliases")]
    files += [zdot / n for n in (".zshenv", ".zprofile", ".zshrc", ".zlogin")]
    files += [xdg / "fish" / "config.fish"]
    with contextlib.suppress(OSError):
        files += sorted((xdg / "fish" / "conf.d").glob("*.fish"))
    files += [xdg / "powershell" / n for n in ("Microsoft.PowerShell_profile.ps1", "profile.ps1")]
    seen: set[Path] = set()
    unique: list[Path] = []
    for f in files:
        if f not in seen:
            seen.add(f)
            unique.append(f)
    return unique


@dataclass(frozen=True)
class HistoryFile:
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
