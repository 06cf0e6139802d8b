"""Would Claude Code be able to start this stdio command, and if not, what exactly is wrong.

Checked against Claude Code 2.1.332 (`claude mcp list`): a command with a slash is used as it is,
a relative one from the project directory (the server's working directory); `~` is not expanded
(ENOENT); a file without execute permission fails with EACCES; a bare name is looked up on PATH.
The settings check (S306) and the server probe (P001) both read this, so they say the same thing.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CommandCheck:
    """``path`` when the command would start; otherwise ``problem`` (a phrase) and ``fix``."""

    path: str | None
    problem: str | None = None
    fix: str | None = None

    @property
    def found(self) -> bool:
        return self.path is not None


def _has_separator(command: str) -> bool:
    return "/" in command or (os.altsep is not None and os.altsep in command) or os.sep in command


def check_command(command: str, path_var: str | None, cwd: Path, home: Path | None = None) -> CommandCheck:
    """Resolve ``command`` the way Claude Code's spawn does, from ``cwd`` with ``path_var``.

    ``home`` only serves to show what a ``~/...`` command should have been written as.
    """
    if not _has_separator(command):
        import shutil  # it loads bz2, lzma and zlib; the SessionStart hook imports this module

        found = shutil.which(command, path=os.defpath if path_var is None else path_var)
        if found:
            return CommandCheck(found)
        return CommandCheck(
            None,
            f"command {command!r} is not found on PATH here",
            f"Install `{command}`, or set `command` to its absolute path (hosts start servers with a "
            "minimal PATH, so an absolute path or `uvx`/`npx` is the safe choice).",
        )
    absolute = Path(command).is_absolute()
    path = Path(command) if absolute else cwd / command
    try:
        info = path.stat()
    except (OSError, ValueError):
        return _missing(command, absolute, cwd, home)
    if stat.S_ISDIR(info.st_mode):
        return CommandCheck(
            None,
            f"command {command!r} is a directory, not a program",
            "Point `command` at the program itself.",
        )
    if not os.access(path, os.X_OK):
        return CommandCheck(
            None,
            f"command {command!r} exists but is not executable (starting it fails with EACCES)",
            f"Make it executable: `chmod +x {path}`.",
        )
    return CommandCheck(str(path))


def _missing(command: str, absolute: bool, cwd: Path, home: Path | None) -> CommandCheck:
    if command.startswith("~"):
        rest = command[1:].lstrip("/\\")
        example = f" ({home / rest})" if home is not None and command[1:2] in ("/", "\\", "") else ""
        return CommandCheck(
            None,
            f"command {command!r} starts with `~`, which Claude Code does not expand (starting it fails "
            "with ENOENT)",
            f"Write the full path{example}.",
        )
    name = Path(command).name or command
    if absolute:
        return CommandCheck(
            None,
            f"command {command!r} does not exist (the path is absolute, so PATH plays no part)",
            f"Install the program at that path, or change `command` to where `{name}` really is "
            f"(`command -v {name}` shows it).",
        )
    return CommandCheck(
        None,
        f"command {command!r} does not exist relative to {cwd} (the directory Claude Code starts the "
        "server in)",
        f"Fix the path, or use the absolute path of `{name}`.",
    )
