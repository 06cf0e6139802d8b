"""The MCP servers Claude Code would start for a project, and whether each one is approved.

Scopes as Claude Code reads them: ``~/.claude.json`` ``mcpServers`` (user), the project's
``.mcp.json`` (project, needs approval) and ``~/.claude.json`` ``projects[<path>].mcpServers``
(local); on a name clash local wins over project, project over user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from claude_health.tools.files import read_json_object
from claude_health.tools.paths import Workspace

Approval = Literal["approved", "pending", "rejected", "blocked"]


@dataclass(frozen=True)
class ServerEntry:
    name: str
    scope: str  # user | project | local
    source: str  # the file it came from
    config: dict[str, Any]
    approval: Approval = "approved"
    approval_note: str | None = None  # why it is not started, when it is not


@dataclass(frozen=True)
class Launch:
    """A stdio server's expanded command, or a remote server's URL and headers."""

    transport: str  # stdio | http | sse
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class EntryError(ValueError):
    """The entry cannot be turned into a launch (missing command, wrong types, unset ${VAR})."""


def _servers(data: Any) -> dict[str, Any]:
    value = data.get("mcpServers") if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


_APPROVAL_BY_STATUS: dict[str, Approval] = {
    "enabled": "approved",
    "pending": "pending",
    "disabled": "rejected",
    "blocked": "blocked",
    "ignored": "blocked",
}


def _states(ws: Workspace) -> tuple[dict[tuple[str, str, str], str], bool]:
    """``(scope, name, file) -> status`` as the settings validator judges it (approvals, trust,
    managed allow/deny lists, managed-mcp.json's exclusive control), and whether the workspace
    is trusted: one judgement for `settings` and for the probe."""
    from claude_health.tools.settings.validate import validate_workspace

    validation = validate_workspace(ws)
    states = {(s.scope, s.name, s.path): s.status for s in validation.servers if s.valid}
    return states, validation.trusted


def _approval(
    states: dict[tuple[str, str, str], str], scope: str, name: str, source: str
) -> tuple[Approval, str | None]:
    status = states.get((scope, name, source))
    if status is None:
        # Not a valid, loaded entry for the validator: a project server is not started (it could
        # not have been approved); user and local entries fail later with their own finding.
        return ("pending", None) if scope == "project" else ("approved", None)
    return _APPROVAL_BY_STATUS.get(status, "approved"), status


def configured_servers(ws: Workspace) -> list[ServerEntry]:
    """Every configured server for the workspace, one per name, highest-precedence scope first."""
    global_read = read_json_object(ws.global_config)
    global_data = global_read.data or {}
    projects = global_data.get("projects")
    project_state = projects.get(str(ws.project)) if isinstance(projects, dict) else None
    project_state = project_state if isinstance(project_state, dict) else {}
    states, trusted = _states(ws)

    def entry(name: str, scope: str, source: str, config: Any) -> ServerEntry:
        approval, status = _approval(states, scope, name, source)
        note = None
        if approval == "pending" and not trusted:
            note = (
                "the workspace is not trusted (Claude Code's trust dialog was never accepted here), so "
                "approvals in .claude/settings.json, .claude/settings.local.json and the ~/.claude.json "
                "project entry do not count"
            )
        elif approval == "blocked":
            note = (
                "managed-mcp.json takes exclusive control"
                if status == "ignored"
                else "allowedMcpServers/deniedMcpServers exclude it"
            )
        return ServerEntry(name, scope, source, config if isinstance(config, dict) else {}, approval, note)

    by_name: dict[str, ServerEntry] = {}
    for name, config in _servers(global_data).items():
        by_name[name] = entry(name, "user", str(ws.global_config), config)
    for name, config in _servers(read_json_object(ws.project_mcp).data).items():
        by_name[name] = entry(name, "project", str(ws.project_mcp), config)
    for name, config in _servers(project_state).items():
        by_name[name] = entry(name, "local", str(ws.global_config), config)
    return sorted(by_name.values(), key=lambda e: e.name)


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(value: str, env: Mapping[str, str]) -> str:
    """Claude Code's ``${VAR}`` / ``${VAR:-default}`` expansion; an unset VAR without default fails."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise EntryError(f"uses ${{{name}}}, which is not set and has no default")

    return _VAR.sub(replace, value)


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EntryError(f"`{what}` must be a list of strings")
    return list(value)


def _mapping(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise EntryError(f"`{what}` must be an object of strings")
    return {str(k): v for k, v in value.items()}


def launch_of(entry: ServerEntry, env: Mapping[str, str]) -> Launch:
    config = entry.config
    kind = config.get("type", "stdio" if "command" in config else "http")
    if kind in ("http", "sse"):
        url = config.get("url")
        if not isinstance(url, str) or not url:
            raise EntryError(f"a {kind} server needs a `url` string")
        headers = {k: expand(v, env) for k, v in _mapping(config.get("headers"), "headers").items()}
        return Launch(kind, url=expand(url, env), headers=headers)
    if kind != "stdio":
        raise EntryError(f"unknown server type {kind!r}")
    command = config.get("command")
    if not isinstance(command, str) or not command.strip():
        raise EntryError("a stdio server needs a `command` string")
    args = [expand(a, env) for a in _strings(config.get("args"), "args")]
    server_env = {k: expand(v, env) for k, v in _mapping(config.get("env"), "env").items()}
    return Launch("stdio", command=expand(command, env), args=args, env=server_env)
