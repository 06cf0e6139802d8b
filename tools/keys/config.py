"""Committed Claude Code configuration: `.claude/settings.json` and `.mcp.json`.

Anthropic credentials anywhere in these files are K002. Other literal secrets are K003: bearer
tokens and key headers in `headers`, passwords in connection URLs, and secret-named variables in
`env` whose value is a literal rather than a `${VAR}` reference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from claude_health.tools import causes
from claude_health.tools.findings import Finding
from claude_health.tools.keys.formats import PREFILTER, label
from claude_health.tools.keys.literals import (
    NOT_SECRET_NAME,
    SECRET_NAME,
    is_reference,
    looks_secret,
)
from claude_health.tools.keys.locations import committed_config_files
from claude_health.tools.keys.rules import KEY_IN_COMMITTED_CONFIG, LITERAL_SECRET_IN_CONFIG
from claude_health.tools.keys.scanner import Hit, scan_file
from claude_health.tools.keys.vault import hit_fields
from claude_health.tools.paths import Workspace
from claude_health.tools.redact import fingerprint, redact

SECRET_HEADER = re.compile(
    r"^(authorization|proxy-authorization|x-api-key|api-key|x-auth-token|cookie)$", re.I
)
URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:(?P<password>[^@/\s]+)@", re.IGNORECASE)


def _literal_secrets(data: dict[str, Any], is_mcp: bool) -> Iterator[tuple[str, str, str]]:
    """``(json path, what, secret)`` for every literal secret in the committed config."""
    blocks: list[tuple[str, dict[str, Any]]] = []
    if is_mcp:
        servers = data.get("mcpServers")
        if isinstance(servers, dict):
            blocks.extend((f"mcpServers.{n}", s) for n, s in servers.items() if isinstance(s, dict))
    else:
        blocks.append(("", data))
    for where, block in blocks:
        prefix = f"{where}." if where else ""
        env = block.get("env")
        if isinstance(env, dict):
            for name, value in env.items():
                if not isinstance(value, str) or PREFILTER.decode() in value:
                    continue
                name = str(name)
                if SECRET_NAME.search(name) and not NOT_SECRET_NAME.search(name) and looks_secret(value):
                    yield f"{prefix}env.{name}", f"variable {name}", value
        headers = block.get("headers") if is_mcp else None
        if isinstance(headers, dict):
            for name, value in headers.items():
                if not isinstance(value, str) or PREFILTER.decode() in value:
                    continue
                token = value.split(None, 1)[1] if value.lower().startswith(("bearer ", "basic ")) else value
                if SECRET_HEADER.match(str(name)) and looks_secret(token):
                    yield f"{prefix}headers.{name}", f"header {name}", token
        for path, text in _strings(block, prefix.rstrip(".")):
            for m in URL_PASSWORD.finditer(text):
                password = m.group("password")
                if not is_reference(password) and password not in {"password", "pass", "****"}:
                    yield path, "password in a connection URL", password


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]")


def _locate(text: str, secret: str) -> tuple[int | None, int | None]:
    """Line and column of ``secret`` as it appears (JSON-escaped) in the file text."""
    needle = json.dumps(secret, ensure_ascii=False)[1:-1]
    index = text.find(needle)
    if index < 0:
        return None, None
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def key_findings(path: Path, hits: tuple[Hit, ...] | list[Hit]) -> list[Finding]:
    return [
        KEY_IN_COMMITTED_CONFIG.finding(
            f"{path.name} holds an Anthropic {label(hit.kind)} as a literal value.",
            path=str(path),
            cause=causes.key(hit.fingerprint),
            **hit_fields(hit),
        )
        for hit in hits
    ]


def config_findings(ws: Workspace) -> list[Finding]:
    findings: list[Finding] = []
    for path in committed_config_files(ws):
        scan = scan_file(path, escapes=True)
        findings.extend(key_findings(path, scan.hits))
        seen = ws.view.file(path)  # parsed once, by the settings validation
        if seen is None or seen.raw is None or seen.result is None or seen.result.doc is None:
            continue  # absent or malformed: the settings check reports malformed files
        text = seen.result.doc.text
        for where, what, secret in _literal_secrets(seen.raw, is_mcp=path.name == ".mcp.json"):
            line, column = _locate(text, secret)
            findings.append(
                LITERAL_SECRET_IN_CONFIG.finding(
                    f"{path.name} `{where}`: {what} is a literal secret ({redact(secret)}).",
                    path=str(path),
                    line=line,
                    column=column,
                    redacted=redact(secret),
                    fingerprint=fingerprint(secret),
                )
            )
    return findings
