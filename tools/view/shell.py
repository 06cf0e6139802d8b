"""Where a process environment variable most likely came from: the shell start-up line exporting it.

Claude Code inherits its environment from the shell that started it, so a stray
``ANTHROPIC_API_KEY`` is usually a line in ``~/.zshrc`` or ``~/.bashrc``. The files are the ones
the key-hygiene check scans (:func:`claude_health.tools.keys.locations.shell_startup_files`); a
line counts when it assigns the variable the value the environment has, or a computed value
(``$(cat ~/.key)``) that may produce it. Values are compared in memory and never returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from claude_health.tools.files import read_text
from claude_health.tools.keys.locations import shell_startup_files
from claude_health.tools.paths import Workspace

MAX_SHELL_FILE = 1024 * 1024  # a start-up file larger than this is not one a person wrote
_COMPUTED = ("$", "`")


@dataclass(frozen=True, slots=True)
class ShellOrigin:
    """A start-up file line that sets the variable: ``exact`` when its literal value is the one in
    the environment, false when the value is computed (``$(...)``, ``$OTHER``) and only may be."""

    path: Path
    line: int
    exact: bool

    def shown(self, home: Path) -> str:
        """``~/.zshrc:3``."""
        return f"{display_path(self.path, home)}:{self.line}"


def display_path(path: Path, home: Path) -> str:
    """A path as a person reads it: ``~/...`` under the home folder, else absolute."""
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return str(path)


def _assignment(name: str) -> re.Pattern[str]:
    n = re.escape(name)
    return re.compile(
        rf"^\s*(?:"
        rf"(?:export\s+|declare\s+(?:-\w+\s+)*|typeset\s+(?:-\w+\s+)*|readonly\s+)?{n}=(?P<posix>.*)"
        rf"|set\s+(?:-[-\w]+\s+)*{n}\s+(?P<fish>.*)"
        rf"|setenv\s+{n}\s+(?P<csh>.*)"
        rf"|\$env:{n}\s*=\s*(?P<pwsh>.*)"
        rf")$"
    )


def _literal(text: str) -> str:
    """The value a shell gives a simple assignment's right-hand side (quotes removed)."""
    text = text.strip()
    if text[:1] in ("'", '"'):
        end = text.find(text[0], 1)
        return text[1:end] if end > 0 else text[1:]
    return re.split(r"[\s;#]", text, maxsplit=1)[0]


def _family(ws: Workspace) -> str:
    shell = ws.env.get("SHELL", "").rsplit("/", 1)[-1]
    for family in ("zsh", "bash", "fish"):
        if family in shell:
            return family
    return ""


def _file_family(path: Path) -> str:
    name = path.name
    if name.startswith(".zsh") or name in (".zprofile", ".zlogin"):
        return "zsh"
    if name.startswith(".bash") or name == ".profile":
        return "bash" if name != ".profile" else "sh"
    if name.endswith(".fish"):
        return "fish"
    return "other"


def find_shell_origin(ws: Workspace, name: str, value: str) -> ShellOrigin | None:
    """The start-up line that most likely put ``name=value`` into the environment, if any.

    Later lines win within one file (the last assignment is what the shell keeps), and the files
    of the user's own ``$SHELL`` win over the others; a line with the exact value wins over a
    computed one, and a line with another literal value is not the origin at all.
    """
    pattern = _assignment(name)
    family = _family(ws)
    best: tuple[tuple[int, int, int, int], ShellOrigin] | None = None
    for index, path in enumerate(shell_startup_files(ws)):
        read = read_text(path, limit=MAX_SHELL_FILE)
        if read.text is None or name not in read.text:
            continue
        own = _file_family(path) in (family, "sh") if family else True
        for number, line in enumerate(read.text.splitlines(), start=1):
            match = pattern.match(line)
            if match is None:
                continue
            raw = next(g for g in match.groups() if g is not None)
            literal = _literal(raw)
            computed = any(c in literal for c in _COMPUTED)
            if not computed and literal != value:
                continue
            exact = not computed
            rank = (int(exact), int(own), index, number)
            if best is None or rank > best[0]:
                best = (rank, ShellOrigin(path, number, exact))
    return best[1] if best else None
