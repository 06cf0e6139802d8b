"""Leaked Anthropic keys only: K001 in the project tree, K002 in committed Claude Code config.

The key-hygiene scan (:func:`claude_health.tools.keys.report.scan_keys`) reads the files
:func:`~claude_health.tools.keys.dedicated.tree_files` selects and reports hits with
:func:`tree_finding`, so this subset agrees with it on every file and every finding. The
SessionStart hook (:mod:`claude_health.tools.guard.facts`) needs nothing more, and runs before
a session may start: it imports this module instead of the whole scan (transcripts, shell
histories, permissions, ignore rules, history).
"""

from __future__ import annotations

import os
from pathlib import Path

from claude_health.tools import causes
from claude_health.tools.findings import Finding
from claude_health.tools.keys.config import config_findings
from claude_health.tools.keys.dedicated import tree_files
from claude_health.tools.keys.formats import label
from claude_health.tools.keys.literals import displayable
from claude_health.tools.keys.rules import KEY_IN_COMMITTED_CONFIG, KEY_IN_TREE
from claude_health.tools.keys.scanner import Hit
from claude_health.tools.keys.tree import FileList, start_scan
from claude_health.tools.keys.vault import hit_fields
from claude_health.tools.paths import Workspace

LEAK_CODES = frozenset({KEY_IN_TREE.code, KEY_IN_COMMITTED_CONFIG.code})


def tree_finding(path: str, rel: str, hit: Hit) -> Finding:
    fields = hit_fields(hit)
    return KEY_IN_TREE.finding(
        f"{rel} holds an Anthropic {label(hit.kind)}.",
        path=path,
        cause=causes.key(fields["fingerprint"]),
        **fields,
    )


def relative(path: str, root: Path) -> str:
    """``path`` relative to ``root`` as POSIX (tree paths are ``str(root) + os.sep + rel``), by
    string: thousands of findings or unreadable folders need no ``Path`` each."""
    base = str(root).rstrip(os.sep) + os.sep
    if path.startswith(base):
        return path[len(base) :].replace(os.sep, "/")
    return "." if path == str(root) else path


def leak_findings(ws: Workspace, listing: FileList) -> list[Finding]:
    """K001 and K002 as the full scan (with its default options) reports them, messages made
    displayable the same way; ``listing`` is :func:`~claude_health.tools.keys.tree.list_files`'s."""
    with start_scan(tree_files(ws, listing)) as pending:
        findings = [f for f in config_findings(ws) if f.code in LEAK_CODES]
        scanned = pending.result()
    for scan in sorted(scanned.notable, key=lambda s: s.path):
        rel = relative(scan.path, ws.project)
        findings.extend(tree_finding(scan.path, rel, hit) for hit in scan.hits)
    return [shown(f) for f in findings]


def shown(f: Finding) -> Finding:
    """Every path, name and message made safe to show and to serialise.

    File names and JSON keys come from the user's disk: a key can be part of a file name
    (``notes-sk-ant-….txt``) or of an ``mcpServers`` key, and a name that is not UTF-8 would
    make the JSON, SARIF and MCP encoders fail. Every finding of the scan passes through here.
    """
    update: dict[str, str] = {}
    for name in ("message", "path", "hint"):
        value = getattr(f, name)
        if isinstance(value, str) and (shown := displayable(value)) != value:
            update[name] = shown
    return f.replace(**update) if update else f
