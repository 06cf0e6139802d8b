"""Which command a client should run to start claude-health over stdio.

Clients launch servers from their own working directory with a minimal PATH, so the command
must be absolute, or ``uvx claude-health`` when claude-health itself runs from uv's throw-away
cache (that path disappears when the cache is pruned).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

EXECUTABLE = "claude-health"
SERVE_ARGS = ("serve",)

# Path fragments of ephemeral environments made by `uvx` / `pipx run`.
_EPHEMERAL_MARKERS = ("/uv/archive-v", "/uv/builds-v", "/.cache/uv/", "/uv/cache/", "/pipx/.cache/")


@dataclass(frozen=True)
class Launch:
    command: str
    args: list[str] = field(default_factory=list)
    how: str = "executable"  # executable | uvx | python-module | explicit | path

    @property
    def machine_specific(self) -> bool:
        """An absolute path: right on this machine, wrong in a file other machines read."""
        return Path(self.command).is_absolute() or (len(self.command) > 2 and self.command[1:3] == ":\\")

    def shown(self) -> str:
        return " ".join([self.command, *self.args])


# `python -m` puts the working directory first on sys.path, and hooks and servers run in the
# user's project: a repository's own `claude_health/` or a file named like a standard module would
# be imported instead. `-P` (Python 3.11+) leaves the working directory out.
MODULE_ARGS = ("-P", "-m", "claude_health.server")


def is_module_launch(words: list[str], command: str) -> bool:
    """``words[1:]`` start ``[-P] -m claude_health.server <command>`` (older installs lack -P)."""
    rest = words[2:] if words[1:2] == ["-P"] else words[1:]
    return rest[:3] == ["-m", "claude_health.server", command]


def _is_ephemeral(path: str) -> bool:
    normalized = path.replace("\\", "/")
    return any(marker in normalized for marker in _EPHEMERAL_MARKERS)


def detect_launch(
    argv0: str | None = None,
    python: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Launch:
    """The best stdio launch command for the running claude-health."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    python = sys.executable if python is None else python
    path_var = None if env is None else env.get("PATH", "")
    candidate: str | None = None
    name = Path(argv0).name
    if name in (EXECUTABLE, f"{EXECUTABLE}.exe"):
        if "/" in argv0 or "\\" in argv0:
            candidate = str(Path(argv0).absolute())
        else:
            candidate = shutil.which(argv0, path=path_var)
    if candidate is None:
        candidate = shutil.which(EXECUTABLE, path=path_var)
    if candidate and _is_ephemeral(str(Path(candidate).resolve())):
        return Launch("uvx", [EXECUTABLE, *SERVE_ARGS], "uvx")
    if candidate:
        return Launch(candidate, list(SERVE_ARGS), "executable")
    if _is_ephemeral(python):
        return Launch("uvx", [EXECUTABLE, *SERVE_ARGS], "uvx")
    return Launch(python, [*MODULE_ARGS, *SERVE_ARGS], "python-module")


def portable_launch(env: Mapping[str, str] | None = None) -> Launch:
    """A command that works on every machine with claude-health installed, for files that are shared.

    The bare name when ``claude-health`` is on PATH here (so the entry also works on this
    machine), otherwise ``uvx claude-health`` (uv fetches the release from PyPI on first use).
    """
    path_var = None if env is None else env.get("PATH", "")
    if shutil.which(EXECUTABLE, path=path_var):
        return Launch(EXECUTABLE, list(SERVE_ARGS), "path")
    return Launch("uvx", [EXECUTABLE, *SERVE_ARGS], "uvx")
