"""Everything the auth route depends on, taken from the view of one workspace.

Reading is separated from deciding (:mod:`claude_health.tools.auth.route`) so the decision is a
pure function of this snapshot. The files, their load verdicts, Claude Code's environment and the
stored login all come from :mod:`claude_health.tools.view`, so the auth route agrees with every
other check about which file Claude Code ignores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_health.tools.auth.login import OAuthLogin
from claude_health.tools.paths import Workspace
from claude_health.tools.settings.discovery import SETTINGS
from claude_health.tools.settings.envblock import coerce
from claude_health.tools.view import ClaudeEnv, FileVerdict, view_of

if TYPE_CHECKING:
    from claude_health.tools.auth.keychain import KeychainRead

__all__ = ["AUTH_ENV", "PROJECT_SAFE_AUTH_KEYS", "AuthInputs", "OAuthLogin", "SettingsLayer", "gather"]

# Settings `env` keys that Claude Code applies from project and local settings before the folder
# is trusted (settings notes §5.3 and §6). Credentials and ANTHROPIC_BASE_URL are never among them.
PROJECT_SAFE_AUTH_KEYS = frozenset(
    {
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "CLAUDE_CODE_USE_FOUNDRY",
        "CLAUDE_CODE_USE_ANTHROPIC_AWS",
        "CLAUDE_CODE_USE_MANTLE",
        "CLAUDE_CODE_USE_GATEWAY",
    }
)
# Environment variables that decide the credential or the provider: a file that sets one of these
# (or apiKeyHelper, forceLoginMethod) configures auth.
AUTH_ENV = PROJECT_SAFE_AUTH_KEYS | {
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD",
    "CLAUDE_CONFIG_DIR",
}


@dataclass(frozen=True)
class SettingsLayer:
    """One settings file as far as auth cares: its env block and apiKeyHelper.

    For a file Claude Code ignores, ``problem`` says why and the fields hold what the file says
    (``parsed``) although none of it applies.
    """

    scope: str  # user | project | local | managed | global-config
    path: Path
    exists: bool
    problem: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    api_key_helper: str | None = None
    force_login_method: str | None = None
    parsed: bool = True  # False when the file could not be read or parsed: its content is unknown
    unjudged: bool = False
    """Too large to judge (``problem`` says so): what it holds is unknown, not ignored."""

    @property
    def loaded(self) -> bool:
        return self.exists and self.problem is None

    def auth_settings(self) -> list[str]:
        """What in the file configures auth: env names, apiKeyHelper, forceLoginMethod."""
        found = sorted(name for name in self.env if name in AUTH_ENV)
        if self.api_key_helper:
            found.append("apiKeyHelper")
        if self.force_login_method:
            found.append("forceLoginMethod")
        return found


@dataclass(frozen=True)
class AuthInputs:
    """Everything the auth route reads: the environment, settings layers and stored logins."""

    env: ClaudeEnv
    config_dir: Path
    layers: list[SettingsLayer]
    oauth: OAuthLogin | None
    credentials_problem: str | None
    primary_api_key: str | None
    approved_suffixes: frozenset[str]
    rejected_suffixes: frozenset[str]
    oauth_account: dict[str, Any] | None
    global_config_path: Path
    # macOS only: what the Keychain said, and a file login its item shadows (not used).
    keychain: KeychainRead | None = None
    unused_file_login: OAuthLogin | None = None
    unjudged: tuple[Path, ...] = ()
    """Files the route depends on that were too large to judge: the verdict may be incomplete."""

    def layer(self, scope: str) -> list[SettingsLayer]:
        return [layer for layer in self.layers if layer.scope == scope]


def _env(data: dict[str, Any]) -> dict[str, str]:
    block = data.get("env")
    return {str(k): coerce(v) for k, v in block.items()} if isinstance(block, dict) else {}


def _layer(
    scope: str,
    path: Path,
    exists: bool,
    data: dict[str, Any] | None,
    problem: str | None,
    unjudged: bool = False,
) -> SettingsLayer:
    if data is None:
        return SettingsLayer(scope, path, exists, problem, parsed=problem is None, unjudged=unjudged)
    helper = data.get("apiKeyHelper")
    force = data.get("forceLoginMethod")
    return SettingsLayer(
        scope=scope,
        path=path,
        exists=exists,
        problem=problem,
        env=_env(data),
        api_key_helper=helper if isinstance(helper, str) and helper.strip() else None,
        force_login_method=force if isinstance(force, str) else None,
    )


def _file_layer(scope: str, f: FileVerdict) -> SettingsLayer:
    """A file's layer; for an ignored file, what it says (none of which applies) and why."""
    problem = None
    if f.verdict == "unjudged":  # too large to judge: what it holds is unknown, not ignored
        return _layer(scope, f.path, True, None, f.findings[0].message if f.findings else None, True)
    if f.verdict == "ignored":
        why = f.reasons()
        problem = "is ignored by Claude Code" + (f": {why[0]}" if why else "")
    return _layer(scope, f.path, f.exists, f.data if f.loaded else f.raw, problem)


def gather(ws: Workspace) -> AuthInputs:
    """The auth route's inputs, from the workspace's view. Never raises on bad files."""
    view = view_of(ws)
    creds = view.credentials
    global_path, global_data, global_loaded = view.global_config
    global_file = view.file(global_path)
    if global_file is not None:
        layers = [_file_layer("global-config", global_file)]
    else:  # moved by CLAUDE_CONFIG_DIR: read by the view, not validated
        problem = None if global_loaded or not global_path.exists() else "cannot be used"
        layers = [_layer("global-config", global_path, global_path.exists(), global_data, problem)]
    order = {"user": 0, "project": 1, "local": 2, "managed": 3}
    # A managed source that another one shadows (first source wins) is no layer at all: Claude
    # Code never reads it, so it neither applies nor stops Claude Code from starting.
    files = [
        f for f in view.files if f.kind == SETTINGS and f.exists and f.scope in order and not f.not_applied
    ]
    layers.extend(_file_layer(f.scope, f) for f in sorted(files, key=lambda f: order[f.scope]))
    return AuthInputs(
        env=view.env,
        config_dir=creds.config_dir,
        layers=layers,
        oauth=creds.login,
        credentials_problem=creds.login_problem,
        primary_api_key=creds.primary_api_key,
        approved_suffixes=creds.approved_suffixes,
        rejected_suffixes=creds.rejected_suffixes,
        oauth_account=creds.oauth_account,
        global_config_path=creds.global_config_path,
        keychain=creds.keychain,
        unused_file_login=creds.unused_file_login,
        unjudged=tuple(
            [layer.path for layer in layers if layer.unjudged]
            + ([view.login.path] if view.login.unjudged else [])
        ),
    )
