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

from claude_health.tools.paths import Workspace

Approval = Literal["approved", "pending", "rejected", "blocked"]


@dataclass(frozen=True)
class ServerEntry:
    name: str
    scope: str  # user | project | local | managed
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


# Claude Code's server states (the view's) as the probe needs them: only approved ones are started.
_APPROVAL: dict[str, Approval] = {
    "enabled": "approved",
    "pending": "pending",
    "disabled": "rejected",
    "blocked": "blocked",
    "ignored": "blocked",
}


def _approval_note(approval: Approval, status: str, trusted: bool) -> str | None:
    """Why a server is not started, in the words the probe reports."""
    if approval == "pending" and not trusted:
        return (
            "the workspace is not trusted (Claude Code's trust dialog was never accepted here), so "
            "approvals in .claude/settings.json, .claude/settings.local.json and the ~/.claude.json "
            "project entry do not count"
        )
    if approval == "blocked":
        if status == "ignored":
            return "managed-mcp.json takes exclusive control"
        return "allowedMcpServers/deniedMcpServers exclude it"
    return None


def configured_servers(ws: Workspace) -> list[ServerEntry]:
    """Every configured server for the workspace, one per name (the entry Claude Code uses).

    Read from the view: the settings validation decided each entry's scope, precedence and
    approval (local > project > user; approvals from settings outside the repository and from
    ``~/.claude.json``, from the repository only once trusted; policy filters). An entry Claude
    Code skips as invalid is kept when no valid one has its name, so the probe can say why.
    """
    by_name: dict[str, ServerEntry] = {}
    trusted = ws.view.trusted
    for server in ws.view.servers:
        if server.status == "overridden":
            continue
        if server.name in by_name and not server.valid:
            continue
        config = server.config if isinstance(server.config, dict) else {}
        approval = _APPROVAL.get(server.status, "approved")
        note = _approval_note(approval, server.status, trusted)
        by_name[server.name] = ServerEntry(server.name, server.scope, server.path, config, approval, note)
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
