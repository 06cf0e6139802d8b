"""Where the dedicated key checks look: committed config, settings with `env` blocks, shell
start-up files, shell histories. Paths only, so the tree scan can leave these files to their
own checks without importing the checks themselves."""

from __future__ import annotations

import contextlib
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
