"""MCP server entries (``.mcp.json``, ``managed-mcp.json``, ``~/.claude.json``) and server filters."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from claude_health.tools import causes
from claude_health.tools.jsonspan import JsonPath as Path
from claude_health.tools.runtime.commands import check_command
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.context import FileContext
from claude_health.tools.settings.keys import json_type
from claude_health.tools.settings.managed import fallback as managed_fallback
from claude_health.tools.settings.permissions import wildcard_matches
from claude_health.tools.settings.scrub import scrub_text
from claude_health.tools.urls import BadUrl, parse_url, shown_url

REMOTE_TYPES = frozenset({"sse", "http", "streamable-http", "ws", "sse-ide", "ws-ide"})
VALID_TYPES = frozenset({"stdio", "sdk", "claudeai-proxy"}) | REMOTE_TYPES
SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_EXPAND = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
_NEVER_EXPANDED = re.compile(r"\$\{(?:input|env|config|workspaceFolder)[:}]|\$[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Server:
    """One MCP server entry, where it is defined, and what Claude Code does with it."""

    name: str
    scope: str  # user | local | project | managed
    path: str
    type: str
    valid: bool
    target: str = ""  # command line or URL, for display
    config: Any = None  # the entry as written
    status: str = "enabled"  # enabled | pending | disabled | blocked | ignored | overridden | invalid
    locate: Callable[[], tuple[int, int]] | None = None  # line and column, computed on demand

    def position(self) -> tuple[int | None, int | None]:
        return self.locate() if self.locate else (None, None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": scrub_text(self.name),
            "scope": self.scope,
            "path": self.path,
            "type": scrub_text(self.type),
            "target": scrub_text(self.target),
            "status": self.status if self.valid else "invalid",
        }


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def expand(text: str, env: dict[str, str] | Any) -> tuple[str, list[str]]:
    """Claude Code's ``${VAR}`` / ``${VAR:-default}`` expansion, and the unset names left literal."""
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return str(env[name])
        if default is not None:
            return default[2:]
        missing.append(name)
        return m.group(0)

    return _EXPAND.sub(sub, text), missing


def _check_variables(ctx: FileContext, name: str, text: str, at: Path) -> str:
    expanded, missing = expand(text, ctx.ws.env)
    for var in missing:
        ctx.emit(
            R.UNSET_VARIABLE,
            f"Server {name!r}: ${{{var}}} is not set here and has no default; "
            "Claude Code leaves it literally.",
            at,
        )
    leftover = _EXPAND.sub("", text)
    for m in _NEVER_EXPANDED.finditer(leftover):
        ctx.emit(R.NOT_EXPANDED, f"Server {name!r}: {m.group(0)!r} is passed through unexpanded.", at)
    return expanded


def _loopback(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_servers(ctx: FileContext, servers: Any, at: Path, scope: str) -> list[Server]:
    """Each entry of an ``mcpServers`` object; invalid ones are reported and marked."""
    if not isinstance(servers, dict):
        ctx.emit(R.INVALID_SERVER, f"`mcpServers` must be an object; received {json_type(servers)}.", at)
        return []
    found = []
    for name, entry in servers.items():
        with ctx.about(causes.mcp_server(name)):
            server = _server(ctx, name, entry, (*at, name), scope)
        server.config = entry
        server.locate = _locator(ctx, (*at, name))
        found.append(server)
    return found


def _locator(ctx: FileContext, at: Path) -> Callable[[], tuple[int, int]]:
    def locate() -> tuple[int, int]:
        pos = ctx.doc.key_pos(at)
        return pos.line, pos.column

    return locate


def _server(ctx: FileContext, name: str, entry: Any, at: Path, scope: str) -> Server:
    path = str(ctx.file.path)
    if not SERVER_NAME.match(name):
        ctx.emit(R.SERVER_NAME, f"Server name {name!r} is outside ^[A-Za-z0-9_-]+$.", at, key=True)
    if not isinstance(entry, dict):
        ctx.emit(R.INVALID_SERVER, f"Server {name!r} must be an object; received {json_type(entry)}.", at)
        return Server(name, scope, path, "?", valid=False)
    kind = entry.get("type", "stdio")
    # A JSON array or object is unhashable: test the type before looking it up.
    if not isinstance(kind, str) or kind not in VALID_TYPES:
        shown = repr(kind) if isinstance(kind, str) else f"({json_type(kind)})"
        ctx.emit(
            R.INVALID_SERVER, f"Server {name!r}: unknown MCP server type {shown}; skipped.", (*at, "type")
        )
        return Server(name, scope, path, kind if isinstance(kind, str) else "?", valid=False)
    problems: list[tuple[str, Path]] = []
    target = ""
    if kind == "stdio":
        command = entry.get("command")
        if "type" not in entry and "command" not in entry and "url" in entry:
            ctx.emit(
                R.URL_ONLY_SERVER,
                f'Server {name!r} has a url but no type, so it is read as stdio and skipped ("command: '
                'expected string, received undefined").',
                at,
                key=True,
            )
            return Server(name, scope, path, "stdio", valid=False, target=str(entry.get("url")))
        if not isinstance(command, str) or not command.strip():
            problems.append((f"`command` must be a non-empty string; received {json_type(command)}", at))
        if "args" in entry and not _is_str_list(entry["args"]):
            problems.append(("`args` must be an array of strings", (*at, "args")))
        if "env" in entry and not _is_str_map(entry["env"]):
            problems.append(
                ("`env` values must be strings (a number makes Claude Code skip the server)", (*at, "env"))
            )
        if not problems:
            assert isinstance(command, str)
            expanded = _check_variables(ctx, name, command, (*at, "command"))
            for i, arg in enumerate(entry.get("args", [])):
                _check_variables(ctx, name, arg, (*at, "args", i))
            for key, val in entry.get("env", {}).items():
                _check_variables(ctx, name, val, (*at, "env", key))
            target = " ".join([command, *entry.get("args", [])])
            if "${" not in expanded:
                lookup = check_command(expanded, ctx.ws.env.get("PATH"), ctx.ws.project, ctx.ws.home)
                if not lookup.found:
                    ctx.emit(
                        R.COMMAND_NOT_FOUND,
                        f"Server {name!r}: {lookup.problem}.",
                        (*at, "command"),
                        hint=lookup.fix,
                    )
    elif kind in REMOTE_TYPES:
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            problems.append((f"`url` must be a string for type {kind}; received {json_type(url)}", at))
        if "headers" in entry and not _is_str_map(entry["headers"]):
            problems.append(("`headers` values must be strings", (*at, "headers")))
        if not problems:
            assert isinstance(url, str)
            expanded = _check_variables(ctx, name, url, (*at, "url"))
            for key, val in entry.get("headers", {}).items():
                _check_variables(ctx, name, val, (*at, "headers", key))
            target = url
            _check_url(ctx, name, expanded, (*at, "url"))
    timeout = entry.get("timeout")
    if "timeout" in entry and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0):
        problems.append(("`timeout` must be a positive integer", (*at, "timeout")))
    for message, where in problems:
        ctx.emit(R.INVALID_SERVER, f"Server {name!r} is skipped: {message}.", where)
    return Server(name, scope, path, str(kind), valid=not problems, target=target)


def _check_url(ctx: FileContext, name: str, url: str, at: Path) -> None:
    if "${" in url:  # an unset variable, reported on its own (S304)
        return
    try:
        parts = parse_url(url)
    except BadUrl as exc:
        ctx.emit(R.INVALID_URL, f"Server {name!r}: url {shown_url(url)!r} is not a valid URL: {exc}.", at)
        return
    if parts.scheme in ("http", "ws") and parts.host and not _loopback(parts.host):
        ctx.emit(
            R.PLAIN_HTTP,
            f"Server {name!r} uses {parts.scheme}:// to {parts.host}; traffic is unencrypted.",
            at,
        )


def validate_filter(ctx: FileContext, value: Any, at: Path) -> list[Any] | None:
    """``allowedMcpServers`` / ``deniedMcpServers``: invalid entries dropped, non-arrays ignored."""
    key = at[-1]
    if not isinstance(value, list):
        substitute = managed_fallback(at) if ctx.managed else None
        consequence = substitute[1] if substitute else "Claude Code ignores the field"
        ctx.emit(
            R.INVALID_FILTER_ENTRY,
            f"`{key}` must be an array; received {json_type(value)}. {consequence}.",
            at,
        )
        return substitute[0] if substitute else None
    kept = []
    for i, item in enumerate(value):
        problem = _filter_problem(item)
        if problem:
            ctx.emit(R.INVALID_FILTER_ENTRY, f"{key}[{i}] is ignored: {problem}.", (*at, i))
        else:
            kept.append(item)
    return kept


def _filter_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return f"entry must be an object; received {json_type(item)}"
    present = [k for k in ("serverName", "serverCommand", "serverUrl") if k in item]
    if len(present) != 1:
        return 'entry must have exactly one of "serverName", "serverCommand", or "serverUrl"'
    field = present[0]
    value = item[field]
    if field == "serverName" and not (isinstance(value, str) and SERVER_NAME.match(value)):
        return "serverName must match ^[a-zA-Z0-9_-]+$"
    if field == "serverCommand" and not (_is_str_list(value) and value):
        return "serverCommand must be a non-empty array of strings"
    if field == "serverUrl" and not isinstance(value, str):
        return "serverUrl must be a string"
    return None


def filter_matches(entry: dict[str, Any], server: Server, raw: Any) -> bool:
    """Does an allowedMcpServers/deniedMcpServers entry select ``server``? ``raw`` is its JSON entry,
    whatever shape the file gave it (an invalid server can still be named by a filter)."""
    if "serverName" in entry:
        return bool(entry["serverName"] == server.name)
    if not isinstance(raw, dict):
        return False
    if "serverCommand" in entry:
        args = raw.get("args", [])
        return isinstance(args, list) and [raw.get("command"), *args] == entry["serverCommand"]
    url, pattern = raw.get("url"), entry.get("serverUrl")
    if isinstance(url, str) and isinstance(pattern, str):
        return url_pattern_matches(pattern, url)
    return False


def url_pattern_matches(pattern: str, url: str) -> bool:
    """``serverUrl`` wildcards: ``*`` matches any run of characters, everything else is literal."""
    return wildcard_matches(pattern, url)
