"""One model of what Claude Code will see: files and their load verdicts, the merged settings,
the environment with the origin of every value, and the credentials.

>>> from claude_health.tools.paths import Workspace
>>> from claude_health.tools.view import view_of
>>> view = view_of(Workspace.discover())  # doctest: +SKIP
>>> view.env.described("ANTHROPIC_API_KEY")  # doctest: +SKIP
'exported in ~/.zshrc:3'
"""

from __future__ import annotations

from claude_health.tools.view.env import ClaudeEnv, EnvValue, UnappliedEnv
from claude_health.tools.view.files import FileVerdict
from claude_health.tools.view.model import Credentials, View, build_view, view_of
from claude_health.tools.view.shell import ShellOrigin, display_path

__all__ = [
    "ClaudeEnv",
    "Credentials",
    "EnvValue",
    "FileVerdict",
    "ShellOrigin",
    "UnappliedEnv",
    "View",
    "build_view",
    "display_path",
    "view_of",
]
