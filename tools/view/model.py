"""The view: one model of what Claude Code will see for a workspace, built once and shared.

Every check that needs a fact about the user's Claude Code setup (which files load, the merged
settings, the environment, the credentials) reads it here, so the facts agree: a file Claude Code
ignores is ignored for the auth route, the limits and the runtime alike, and settings are parsed
and validated once per doctor run, MCP call or watcher event.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_health.tools.auth.login import LoginRead, OAuthLogin, read_login
from claude_health.tools.files import read_json_object
from claude_health.tools.paths import Workspace
from claude_health.tools.settings.discovery import GLOBAL, SETTINGS
from claude_health.tools.settings.effective import Effective, effective_settings
from claude_health.tools.settings.envblock import coerce
from claude_health.tools.settings.mcp import Server
from claude_health.tools.settings.validate import Validation, validate_workspace
from claude_health.tools.view.env import ClaudeEnv, EnvLayer, build_env
from claude_health.tools.view.files import FileVerdict, verdicts

if TYPE_CHECKING:
    from claude_health.tools.auth.keychain import KeychainRead


@dataclass(frozen=True)
class Credentials:
    """The credentials Claude Code can find besides its environment, and where they are."""

    config_dir: Path  # after a CLAUDE_CONFIG_DIR set in ~/.claude.json or user settings `env`
    login: OAuthLogin | None  # the stored claude.ai login (metadata only)
    login_problem: str | None  # why the credential store could not be read
    login_source: Path
    global_config_path: Path
    primary_api_key: str | None = field(default=None, repr=False)  # the Console /login key
    approved_suffixes: frozenset[str] = frozenset()
    rejected_suffixes: frozenset[str] = frozenset()
    oauth_account: dict[str, Any] | None = None
    # macOS: what the Keychain said, and a .credentials.json login its item shadows (not used).
    keychain: KeychainRead | None = None
    unused_file_login: OAuthLogin | None = None


def _env_block(data: dict[str, Any] | None) -> dict[str, str]:
    block = data.get("env") if data else None
    if not isinstance(block, dict):
        return {}
    return {str(k): coerce(v) for k, v in block.items()}


def _suffixes(global_config: dict[str, Any], key: str) -> frozenset[str]:
    responses = global_config.get("customApiKeyResponses")
    values = responses.get(key) if isinstance(responses, dict) else None
    return frozenset(v for v in values if isinstance(v, str)) if isinstance(values, list) else frozenset()


class View:
    """What Claude Code will see in one workspace snapshot. Parts are computed on first use."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    # -- files and settings ------------------------------------------------------------------

    @cached_property
    def validation(self) -> Validation:
        """The one settings validation: every file judged as Claude Code judges it."""
        return validate_workspace(self.workspace)

    @cached_property
    def files(self) -> tuple[FileVerdict, ...]:
        """Every config file Claude Code reads, existing or not, with its load verdict."""
        return verdicts(self.validation)

    def file(self, path: str | Path) -> FileVerdict | None:
        wanted = str(path)
        return next((f for f in self.files if str(f.path) == wanted), None)

    def ignored_files(self) -> list[FileVerdict]:
        return [f for f in self.files if f.verdict == "ignored"]

    @cached_property
    def settings(self) -> Effective:
        """The merged settings of the loaded files, with the file behind every value."""
        return effective_settings(self.validation)

    @property
    def trusted(self) -> bool:
        return self.validation.trusted

    @property
    def servers(self) -> list[Server]:
        """Every MCP server entry, with the status Claude Code gives it (enabled, pending, ...)."""
        return self.validation.servers

    def managed(self, key: str) -> tuple[Any, str] | None:
        """A managed-only setting's value and the managed file that set it, or None."""
        settings = self.settings
        if key not in settings.settings:
            return None
        return settings.settings[key], settings.provenance.get(key, "")

    # -- environment -------------------------------------------------------------------------

    def _layers(self, global_env: dict[str, str], global_path: Path, global_loaded: bool) -> list[EnvLayer]:
        layers = [EnvLayer("global-config", global_path, global_env, global_loaded)]
        order = {"user": 0, "project": 1, "local": 2, "managed": 3}
        settings = [f for f in self.files if f.kind == SETTINGS and f.exists and f.scope in order]
        for f in sorted(settings, key=lambda f: order[f.scope]):  # stable: managed drop-ins stay sorted
            data = f.data if f.loaded else f.raw
            layers.append(EnvLayer(f.scope, f.path, _env_block(data), f.loaded))
        return layers

    @cached_property
    def global_config(self) -> tuple[Path, dict[str, Any] | None, bool]:
        """``~/.claude.json`` as Claude Code reads it: ``(path, data, loaded)``. A CLAUDE_CONFIG_DIR
        set in its own or the user settings' ``env`` moves it (and the credentials) elsewhere."""
        ws = self._credentials_workspace
        if ws is not self.workspace:
            read = read_json_object(ws.global_config)
            return ws.global_config, read.data, read.data is not None
        found = next((f for f in self.files if f.kind == GLOBAL), None)
        if found is None:
            return ws.global_config, None, False
        return found.path, found.data, found.loaded

    @cached_property
    def _credentials_workspace(self) -> Workspace:
        ws = self.workspace
        global_file = next((f for f in self.files if f.kind == GLOBAL), None)
        moved: str | None = None
        if global_file is not None and global_file.loaded:
            moved = _env_block(global_file.data).get("CLAUDE_CONFIG_DIR", moved)
        for f in self.files:
            if f.kind == SETTINGS and f.scope == "user" and f.loaded:
                moved = _env_block(f.data).get("CLAUDE_CONFIG_DIR", moved)
        if not moved or moved == ws.env.get("CLAUDE_CONFIG_DIR"):
            return ws
        return dataclasses.replace(ws, env={**ws.env, "CLAUDE_CONFIG_DIR": moved})

    @cached_property
    def env(self) -> ClaudeEnv:
        """Claude Code's environment: the process's, then the ``env`` of every loaded file."""
        path, data, loaded = self.global_config
        return build_env(self.workspace, self._layers(_env_block(data), path, loaded))

    def model(self) -> tuple[str | None, str]:
        """The model Claude Code starts with and where it was set (a file path or ``environment``):
        ANTHROPIC_MODEL from a settings ``env`` wins over the ``model`` setting, which wins over
        ANTHROPIC_MODEL in the process environment."""
        env = self.env.origin("ANTHROPIC_MODEL")
        if env is not None and env.value.strip() and not env.from_process:
            return env.value.strip(), str(env.path)
        value = self.settings.settings.get("model")
        if isinstance(value, str) and value.strip():
            return value.strip(), self.settings.provenance.get("model", "")
        if env is not None and env.value.strip():
            return env.value.strip(), "environment"
        return None, ""

    # -- credentials -------------------------------------------------------------------------

    @cached_property
    def login(self) -> LoginRead:
        """The stored claude.ai login, from the one reader of Claude Code's credential store (on
        macOS the Keychain first: ``security`` runs here, once per view)."""
        return read_login(self._credentials_workspace)

    @cached_property
    def credentials(self) -> Credentials:
        path, data, _ = self.global_config
        data = data or {}
        primary = data.get("primaryApiKey")
        account = data.get("oauthAccount")
        login = self.login
        return Credentials(
            config_dir=self._credentials_workspace.config_dir,
            login=login.login,
            login_problem=login.problem,
            login_source=login.source,
            global_config_path=path,
            primary_api_key=primary if isinstance(primary, str) and primary else None,
            approved_suffixes=_suffixes(data, "approved"),
            rejected_suffixes=_suffixes(data, "rejected"),
            oauth_account=account if isinstance(account, dict) else None,
            keychain=login.keychain,
            unused_file_login=login.unused_file_login,
        )


def build_view(workspace: Workspace) -> View:
    """A fresh view of ``workspace`` (nothing cached from an earlier one)."""
    return View(workspace)


def view_of(workspace: Workspace) -> View:
    """The view of this workspace snapshot, built on first use and shared by every check after."""
    return workspace.view
