"""Helpers every command shares: the workspace from ``--project``, output style, errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from claude_health.tools.paths import Workspace

if TYPE_CHECKING:  # output imports the findings model (pydantic): only commands that print need it
    import argparse  # (annotations only: `keys` runs without the parser)

    from claude_health.server.output import Style


class UsageError(Exception):
    """A bad argument the user can fix; the CLI prints it and exits 2."""


def workspace(args: argparse.Namespace) -> Workspace:
    project = getattr(args, "project", None)
    if project is not None:
        try:
            path = Path(project).expanduser()
        except RuntimeError:  # ~name of a user that does not exist: a usage error, no traceback
            raise UsageError(f"--project {project}: not a directory (no such user's home)") from None
        if not path.is_dir():
            raise UsageError(f"--project {project}: not a directory")
    return Workspace.discover(project=project)


def style(args: argparse.Namespace) -> Style:
    from claude_health.server.output import Style

    choice = getattr(args, "color", "auto")
    return Style(sys.stdout, None if choice == "auto" else choice == "always")
