"""The MCP clients claude-health can register with: their templates and where their files live.

Entry shapes come from ``config_templates/<client>.json|toml`` (data); the file locations depend
on the operating system, the environment (``CODEX_HOME``, ``XDG_CONFIG_HOME``, ``APPDATA``,
``CLAUDE_CONFIG_DIR``) and the scope, so they are computed here.
"""

from __future__ import annotations

import importlib
import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from claude_health.tools.paths import Workspace

SERVER_NAME = "claude-health"

CLIENTS: tuple[str, ...] = (
    "claude-code",
    "claude-desktop",
    "vscode",
    "cursor",
    "windsurf",
    "zed",
    "codex",
    "gemini",
    "jetbrains",
)

Format = Literal["json", "jsonc", "toml", "snippet"]
# "local" (.claude/settings.local.json) exists only for Claude Code hooks (`install --hooks`).
Scope = Literal["project", "user", "local"]
Transport = Literal["stdio", "http"]


class RegistrationError(ValueError):
    """A registration request that cannot be carried out; the message says why and what to do."""


@dataclass(frozen=True)
class ClientTemplate:
    client: str
    title: str
    format: Format
    key: tuple[str, ...]
    scopes: tuple[Scope, ...]
    stdio: dict[str, Any]
    http: dict[str, Any] | None
    notes: tuple[str, ...]

    @property
    def default_scope(self) -> Scope:
        return "project" if "project" in self.scopes else self.scopes[0]

    def entry(self, transport: Transport, command: str, args: list[str], url: str) -> dict[str, Any]:
        """The server entry for this client, placeholders filled in."""
        shape = self.stdio if transport == "stdio" else self.http
        if shape is None:
            raise RegistrationError(
                f"{self.title} cannot be given an HTTP server in its config file; add it in the app's "
                "settings instead, or use --transport stdio"
            )
        values: dict[str, Any] = {"{{command}}": command, "{{args}}": list(args), "{{url}}": url}
        filled: dict[str, Any] = _fill(shape, values)
        return filled


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return values.get(value, value)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def _templates_dir() -> Path:
    """The config_templates folder (its ``__path__``: works for wheels and editable installs)."""
    package = importlib.import_module("claude_health.config_templates")
    for entry in package.__path__:
        if Path(entry, "claude-code.json").is_file():
            return Path(entry)
    raise RegistrationError("claude-health's config_templates are missing; reinstall claude-health")


@cache
def load_template(client: str) -> ClientTemplate:
    if client not in CLIENTS:
        raise RegistrationError(f"unknown client {client!r}; choose one of: {', '.join(CLIENTS)}")
    directory = _templates_dir()
    json_file = directory / f"{client}.json"
    if json_file.is_file():
        raw: dict[str, Any] = json.loads(json_file.read_text(encoding="utf-8"))
    else:
        raw = tomllib.loads((directory / f"{client}.toml").read_text(encoding="utf-8"))
    return ClientTemplate(
        client=raw["client"],
        title=raw["title"],
        format=raw["format"],
        key=tuple(raw["key"]),
        scopes=tuple(raw["scopes"]),
        stdio=raw["stdio"],
        http=raw.get("http"),
        notes=tuple(raw.get("notes", ())),
    )


def _xdg_config(ws: Workspace) -> Path:
    value = ws.env.get("XDG_CONFIG_HOME", "").strip()
    return Path(value) if value else ws.home / ".config"


def _appdata(ws: Workspace) -> Path:
    value = ws.env.get("APPDATA", "").strip()
    return Path(value) if value else ws.home / "AppData" / "Roaming"


def codex_home(ws: Workspace) -> Path:
    value = ws.env.get("CODEX_HOME", "").strip()
    return Path(value).expanduser() if value else ws.home / ".codex"


def config_path(client: str, scope: Scope, ws: Workspace) -> Path | None:
    """The file to edit for ``client`` at ``scope``; None for clients configured in their UI."""
    template = load_template(client)
    if scope not in template.scopes:
        raise RegistrationError(
            f"{template.title} has no {scope} scope; use --scope {' or --scope '.join(template.scopes)}"
        )
    os_name = ws.os_name
    project, home = ws.project, ws.home
    if client == "claude-code":
        return project / ".mcp.json" if scope == "project" else ws.global_config
    if client == "claude-desktop":
        if os_name == "darwin":
            return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
        if os_name == "win32":
            return _appdata(ws) / "Claude" / "claude_desktop_config.json"
        return _xdg_config(ws) / "Claude" / "claude_desktop_config.json"
    if client == "vscode":
        if scope == "project":
            return project / ".vscode" / "mcp.json"
        if os_name == "darwin":
            return home / "Library" / "Application Support" / "Code" / "User" / "mcp.json"
        if os_name == "win32":
            return _appdata(ws) / "Code" / "User" / "mcp.json"
        return _xdg_config(ws) / "Code" / "User" / "mcp.json"
    if client == "cursor":
        return (project if scope == "project" else home) / ".cursor" / "mcp.json"
    if client == "windsurf":
        return home / ".codeium" / "windsurf" / "mcp_config.json"
    if client == "zed":
        if scope == "project":
            return project / ".zed" / "settings.json"
        if os_name == "win32":
            return _appdata(ws) / "Zed" / "settings.json"
        return (_xdg_config(ws) if os_name == "linux" else home / ".config") / "zed" / "settings.json"
    if client == "codex":
        return project / ".codex" / "config.toml" if scope == "project" else codex_home(ws) / "config.toml"
    if client == "gemini":
        return (project if scope == "project" else home) / ".gemini" / "settings.json"
    return None  # jetbrains: a snippet to import
