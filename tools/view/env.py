"""The environment Claude Code's process will have, and where each value came from.

Claude Code starts from the environment of the shell that launched it, then applies the ``env``
blocks of the settings files it loaded, lowest precedence first (notes §5.3): ``~/.claude.json``,
user, project, local, then managed settings (``managed-settings.json``, then its drop-ins), so
policy wins. Values are strings as Claude Code coerces them (``String(value)``). A file Claude Code
ignores contributes nothing, and project and local files cannot set the credentials or the base
URL (observed with Claude Code 2.1.330 ``claude auth status``, trusted folder or not).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from claude_health.tools.paths import Workspace
from claude_health.tools.view.shell import ShellOrigin, display_path, find_shell_origin

# Never applied from project or local settings `env`, whether or not the folder is trusted.
# CLAUDE_CODE_SIMPLE (bare mode) is read at start-up, before project settings apply: set there, it
# changes nothing (observed with Claude Code 2.1.332, tests/test_auth_bare_mode.py).
PROJECT_IGNORED_ENV = frozenset(
    {
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "CLAUDE_CODE_SIMPLE",
    }
)
PROCESS = "process"
# Scopes in the order Claude Code applies them; "global-config" is ~/.claude.json.
ENV_SCOPES = ("global-config", "user", "project", "local", "managed")
_SCOPE_WORDS = {
    "global-config": "~/.claude.json",
    "user": "user settings",
    "project": "project settings",
    "local": "local settings",
    "managed": "managed settings",
}

Unapplied = Literal["file-ignored", "project-scope"]


@dataclass(frozen=True, slots=True)
class EnvValue:
    """One variable of Claude Code's environment: its value and the layer that set it last."""

    name: str
    value: str = field(repr=False)
    scope: str  # process | global-config | user | project | local | managed
    path: Path | None = None  # the settings file, for a value from an `env` block

    @property
    def from_process(self) -> bool:
        return self.scope == PROCESS


@dataclass(frozen=True, slots=True)
class UnappliedEnv:
    """An ``env`` entry Claude Code does not apply: its file is ignored, or its scope may not."""

    name: str
    scope: str
    path: Path
    reason: Unapplied


@dataclass(frozen=True, slots=True)
class EnvLayer:
    """One settings file's ``env`` block as Claude Code coerces it, and whether it applies."""

    scope: str
    path: Path
    values: Mapping[str, str]
    loaded: bool


class ClaudeEnv:
    """Claude Code's environment: values with their origin, plus the entries that never apply."""

    def __init__(self, ws: Workspace, values: dict[str, EnvValue], unapplied: list[UnappliedEnv]) -> None:
        self.home = ws.home
        self.values = values
        self.unapplied = unapplied
        self._ws = ws
        self._shell: dict[str, ShellOrigin | None] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def get(self, name: str) -> str | None:
        """The value, or None when unset or empty (Claude Code treats both alike)."""
        item = self.values.get(name)
        return item.value if item is not None and item.value else None

    def origin(self, name: str) -> EnvValue | None:
        return self.values.get(name)

    def mapping(self) -> dict[str, str]:
        return {name: item.value for name, item in self.values.items()}

    def shell_origin(self, name: str) -> ShellOrigin | None:
        """For a value Claude Code inherits from the shell: the start-up line that exports it."""
        if name not in self._shell:
            item = self.values.get(name)
            found = None
            if item is not None and item.from_process and item.value:
                found = find_shell_origin(self._ws, name, item.value)
            self._shell[name] = found
        return self._shell[name]

    def source(self, name: str) -> str:
        """Where the value comes from, in a few words: ``environment`` or ``user settings env (PATH)``."""
        item = self.values.get(name)
        if item is None:
            return "unset"
        if item.from_process:
            return "environment"
        return f"{_SCOPE_WORDS.get(item.scope, item.scope)} env ({item.path})"

    def described(self, name: str) -> str:
        """Where the value comes from, as a person would say it: ``exported in ~/.zshrc:3``,
        ``set in the environment``, ``set in the env block of user settings (~/.claude/settings.json)``."""
        item = self.values.get(name)
        if item is None:
            return "not set"
        if item.from_process:
            shell = self.shell_origin(name)
            if shell is None:
                return "set in the environment"
            verb = "exported in" if shell.exact else "probably exported in"
            return f"{verb} {shell.shown(self.home)}"
        words = _SCOPE_WORDS.get(item.scope, item.scope)
        if item.path is None or item.scope == "global-config":
            return f"set in the env block of {words}"
        return f"set in the env block of {words} ({display_path(item.path, self.home)})"


def build_env(ws: Workspace, layers: list[EnvLayer]) -> ClaudeEnv:
    """The workspace's process environment, then each loaded layer's ``env`` in the order given."""
    values = {k: EnvValue(k, v, PROCESS) for k, v in ws.env.items() if isinstance(v, str)}
    unapplied: list[UnappliedEnv] = []
    for layer in layers:
        for name, value in layer.values.items():
            if not layer.loaded:
                unapplied.append(UnappliedEnv(name, layer.scope, layer.path, "file-ignored"))
            elif layer.scope in ("project", "local") and name in PROJECT_IGNORED_ENV:
                unapplied.append(UnappliedEnv(name, layer.scope, layer.path, "project-scope"))
            else:
                values[name] = EnvValue(name, value, layer.scope, layer.path)
    return ClaudeEnv(ws, values, unapplied)
