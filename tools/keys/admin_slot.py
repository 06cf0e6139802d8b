"""K014: an Admin API key (``sk-ant-admin01-``) where a regular API key belongs.

The places a key is *used* as an API key: ``ANTHROPIC_API_KEY`` / ``ANTHROPIC_AUTH_TOKEN`` in
the environment Claude Code builds (shell environment, ~/.claude.json, user and managed settings
``env``, as the auth check computes it), the same variables in the project's own files
(``.claude/settings.json`` and ``settings.local.json`` ``env``, an ``.mcp.json`` server's ``env``,
``x-api-key`` / ``Authorization`` headers, and ``.env`` files at the project root). The other key
checks report where a credential sits; this one reports that the wrong kind sits in an API-key
slot, which breaks the client and hands an organisation-wide key to everything that reads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from claude_health.tools.findings import Finding
from claude_health.tools.keys.formats import find_in_text
from claude_health.tools.keys.ignored import is_env_file
from claude_health.tools.keys.places import effective_env
from claude_health.tools.keys.rules import ADMIN_KEY_AS_API_KEY
from claude_health.tools.keys.vault import remember
from claude_health.tools.paths import Workspace
from claude_health.tools.redact import fingerprint, redact

API_KEY_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
API_KEY_HEADERS = ("x-api-key", "authorization")
MAX_ENV_FILE = 1_000_000
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?(ANTHROPIC_API_KEY|ANTHROPIC_AUTH_TOKEN)\s*=\s*(.*)$")


def _admin_keys(value: str) -> list[str]:
    return [secret for kind, secret, _ in find_in_text(value) if kind == "admin_key"]


def _finding(secret: str, where: str, *, path: str | None = None, line: int | None = None) -> Finding:
    remember("admin_key", secret)
    return ADMIN_KEY_AS_API_KEY.finding(
        f"{where} holds an admin API key ({redact(secret)}) where a regular API key belongs.",
        path=path,
        line=line,
        kind="admin_key",
        redacted=redact(secret),
        fingerprint=fingerprint(secret),
    )


def _claude_code_env(ws: Workspace) -> list[Finding]:
    values, origin = effective_env(ws)
    found: list[Finding] = []
    for name in API_KEY_VARS:
        for secret in _admin_keys(values.get(name, "")):
            where = origin.get(name, "environment")
            path = where.rsplit("(", 1)[1].rstrip(")") if where.endswith(")") and "(" in where else None
            found.append(_finding(secret, f"{name} in Claude Code's environment (from {where})", path=path))
    return found


def _json(ws: Workspace, path: Path) -> dict[str, Any] | None:
    """The file as written, from the workspace's view (config files are read once per run); a
    key in a file Claude Code ignores still sits in that file."""
    verdict = ws.view.file(path)
    return verdict.raw if verdict is not None else None


def _settings(ws: Workspace) -> list[Finding]:
    found: list[Finding] = []
    for path in dict.fromkeys((ws.project_settings, ws.local_settings)):
        if path == ws.user_settings:
            continue  # run from the home folder: the user's own file, covered by the environment
        data = _json(ws, path)
        env = data.get("env") if data else None
        if not isinstance(env, dict):
            continue
        for name in API_KEY_VARS:
            value = env.get(name)
            for secret in _admin_keys(value) if isinstance(value, str) else []:
                found.append(_finding(secret, f"env {name} of {path.name}", path=str(path)))
    return found


def _mcp(ws: Workspace) -> list[Finding]:
    data = _json(ws, ws.project_mcp)
    servers = data.get("mcpServers") if data else None
    found: list[Finding] = []
    for server, spec in servers.items() if isinstance(servers, dict) else ():
        if not isinstance(spec, dict):
            continue
        env: dict[str, Any] = spec["env"] if isinstance(spec.get("env"), dict) else {}
        headers: dict[str, Any] = spec["headers"] if isinstance(spec.get("headers"), dict) else {}
        slots = [
            (f"env {n}", v) for n, v in env.items() if str(n).upper().endswith(("API_KEY", "AUTH_TOKEN"))
        ]
        slots += [(f"header {n}", v) for n, v in headers.items() if str(n).lower() in API_KEY_HEADERS]
        for label, value in slots:
            for secret in _admin_keys(value) if isinstance(value, str) else []:
                where = f"{label} of MCP server {str(server)[:80]!r} in .mcp.json"
                found.append(_finding(secret, where, path=str(ws.project_mcp)))
    return found


def _env_files(ws: Workspace) -> list[Finding]:
    found: list[Finding] = []
    try:
        candidates = sorted(p for p in ws.project.iterdir() if is_env_file(p.name))
    except OSError:
        return found
    for path in candidates:
        try:
            if not path.is_file() or path.stat().st_size > MAX_ENV_FILE:
                continue
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            match = _ENV_LINE.match(line)
            if match is None:
                continue
            for secret in _admin_keys(match.group(2)):
                found.append(
                    _finding(secret, f"{match.group(1)} in {path.name}", path=str(path), line=number)
                )
    return found


def admin_key_as_api_key_findings(ws: Workspace) -> list[Finding]:
    """Every API-key slot that holds an admin key (K014)."""
    return [*_claude_code_env(ws), *_settings(ws), *_mcp(ws), *_env_files(ws)]
