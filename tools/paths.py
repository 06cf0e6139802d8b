"""Where Claude Code keeps things, for one user, one project and one operating system.

Everything is derived from an explicit environment mapping and home directory, never from
global state, so checks are reproducible and tests can build a whole fake HOME in a temp dir.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from claude_health.tools.view.model import View

from claude_health.tools.platform import effective_platform

MANAGED_DIR_OVERRIDE = "CLAUDE_HEALTH_MANAGED_DIR"

# Claude Code hard-codes these (settings notes §1.2). The ProgramData location was removed in
# Claude Code 2.1.75; it is listed so that a leftover file there can be reported.
MANAGED_DIRS = {
    "darwin": "/Library/Application Support/ClaudeCode",
    "linux": "/etc/claude-code",
    "win32": "C:\\Program Files\\ClaudeCode",
}
LEGACY_WINDOWS_MANAGED_DIR = "C:\\ProgramData\\ClaudeCode"


def _platform_key(platform: str) -> str:
    if platform.startswith("win") or platform == "cygwin":
        return "win32"
    if platform == "darwin":
        return "darwin"
    return "linux"


@dataclass(frozen=True)
class Workspace:
    """One user's Claude Code world: environment, home, project directory and OS."""

    env: Mapping[str, str]
    home: Path
    project: Path
    platform: str = field(default_factory=lambda: sys.platform)

    @classmethod
    def discover(
        cls,
        project: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        platform: str | None = None,
    ) -> Workspace:
        """The workspace of this process, or of the given environment (tests pass their own).

        The platform is ``platform``, else ``CLAUDE_HEALTH_PLATFORM``, else this machine's.
        """
        environ = dict(os.environ if env is None else env)
        home_value = environ.get("HOME") or environ.get("USERPROFILE")
        home = Path(home_value) if home_value else Path.home()
        project_dir = Path(project) if project is not None else Path.cwd()
        return cls(
            env=environ,
            home=home.expanduser(),
            project=project_dir.expanduser().resolve(),
            platform=platform or effective_platform(environ),
        )

    # -- configuration directory -------------------------------------------------------------

    @property
    def config_dir_override(self) -> Path | None:
        value = self.env.get("CLAUDE_CONFIG_DIR", "").strip()
        if not value:
            return None
        # Claude Code NFC-normalises the directory; a comma-separated list is a usage-monitor
        # convention, and Claude Code itself uses the first entry.
        first = unicodedata.normalize("NFC", value.split(",")[0].strip())
        return Path(first).expanduser()

    @property
    def config_dir(self) -> Path:
        """``$CLAUDE_CONFIG_DIR`` or ``~/.claude``."""
        return self.config_dir_override or self.home / ".claude"

    @property
    def user_settings(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def credentials_file(self) -> Path:
        """Where Claude Code keeps OAuth tokens on Linux and Windows (macOS uses the Keychain)."""
        return self.config_dir / ".credentials.json"

    @property
    def global_config(self) -> Path:
        """``~/.claude.json`` (``$CLAUDE_CONFIG_DIR/.claude.json`` when set).

        A legacy ``.config.json`` in the config directory wins when it exists, as in Claude Code.
        """
        legacy = self.config_dir / ".config.json"
        if legacy.is_file():
            return legacy
        base = self.config_dir_override or self.home
        return base / ".claude.json"

    # -- project -----------------------------------------------------------------------------

    @property
    def project_settings(self) -> Path:
        return self.project / ".claude" / "settings.json"

    @property
    def local_settings(self) -> Path:
        return self.project / ".claude" / "settings.local.json"

    @cached_property
    def git_root(self) -> Path | None:
        """The nearest enclosing directory holding ``.git`` (a directory or a worktree file).

        Cached: several checks ask, and the answer cannot change within one workspace snapshot.
        """
        for candidate in (self.project, *self.project.parents):
            if (candidate / ".git").exists():
                return candidate
        return None

    @cached_property
    def view(self) -> View:
        """What Claude Code will see in this workspace (:mod:`claude_health.tools.view`).

        Cached like ``git_root``: every check of one doctor run, MCP call or watcher event gets the
        same view, so settings are read and validated once. A new snapshot is a new Workspace.
        """
        # Imported here: the view is built from a Workspace (a cycle), and every command imports
        # this module while only checks build a view (it loads the settings validator).
        from claude_health.tools.view.model import View

        return View(self)

    @property
    def project_mcp(self) -> Path:
        return self.project / ".mcp.json"

    # -- managed (policy) settings -----------------------------------------------------------

    @property
    def os_name(self) -> str:
        return _platform_key(self.platform)

    @property
    def managed_dir(self) -> Path:
        override = self.env.get(MANAGED_DIR_OVERRIDE, "").strip()
        if override:
            return Path(override).expanduser()
        return Path(MANAGED_DIRS[self.os_name])

    @property
    def managed_settings(self) -> Path:
        return self.managed_dir / "managed-settings.json"

    @property
    def managed_dropin_dir(self) -> Path:
        return self.managed_dir / "managed-settings.d"

    def managed_dropins(self) -> list[Path]:
        """Drop-ins in the order Claude Code merges them: sorted, ``*.json``, no dotfiles."""
        directory = self.managed_dropin_dir
        try:
            names = sorted(p.name for p in directory.iterdir())
        except OSError:
            return []
        return [
            directory / n
            for n in names
            if n.endswith(".json") and not n.startswith(".") and (directory / n).is_file()
        ]

    @property
    def managed_mcp(self) -> Path:
        return self.managed_dir / "managed-mcp.json"

    def settings_files(self) -> list[tuple[str, Path]]:
        """Settings files by scope, lowest precedence first (user, project, local, managed...)."""
        files: list[tuple[str, Path]] = [
            ("user", self.user_settings),
            ("project", self.project_settings),
            ("local", self.local_settings),
            ("managed", self.managed_settings),
        ]
        files.extend(("managed", p) for p in self.managed_dropins())
        return files
