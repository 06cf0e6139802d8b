"""The key-hygiene report: findings plus what was scanned, as JSON-ready records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from claude_health.tools.findings import Finding
from claude_health.tools.records import describe, to_json


@dataclass(slots=True, kw_only=True)
class ScanStats:
    project: str
    mode: str = field(metadata=describe("`tree` (working tree) or `staged` (the git index, for pre-commit)."))
    in_git: bool = field(metadata=describe("False outside a git work tree: every file was scanned."))
    files_scanned: int = 0
    bytes_scanned: int = 0
    files_skipped_binary: int = 0
    files_unreadable: int = 0
    history_scanned: bool = False
    history_commits: int = field(
        default=0, metadata=describe("Commits whose diff mentions an sk-ant- prefix.")
    )
    keys_found: int = field(
        default=0, metadata=describe("Distinct credentials (by fingerprint) found anywhere.")
    )
    verified: int = field(default=0, metadata=describe("Keys checked against the Anthropic API (--verify)."))
    transcripts_scanned: bool = field(
        default=False, metadata=describe("Claude Code's session transcripts were checked.")
    )
    transcript_files: int = 0
    transcript_bytes_read: int = field(
        default=0, metadata=describe("Transcript bytes read by this run (only what no earlier run read).")
    )
    shell_history_scanned: bool = False
    shell_history_files: int = 0
    shell_history_bytes_read: int = field(
        default=0, metadata=describe("History bytes read by this run (only what no earlier run read).")
    )
    duration_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_json(self)
        return data


@dataclass(slots=True, kw_only=True)
class KeyReport:
    stats: ScanStats
    findings: list[Finding]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_json(self)
        return data
