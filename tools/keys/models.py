"""The key-hygiene report: findings plus what was scanned, as JSON-ready models."""

from __future__ import annotations

from pydantic import BaseModel, Field

from claude_health.tools.findings import Finding


class ScanStats(BaseModel):
    project: str
    mode: str = Field(description="`tree` (working tree) or `staged` (the git index, for pre-commit).")
    in_git: bool = Field(description="False outside a git work tree: every file was scanned.")
    files_scanned: int = 0
    bytes_scanned: int = 0
    files_skipped_binary: int = 0
    files_unreadable: int = 0
    history_scanned: bool = False
    history_commits: int = Field(default=0, description="Commits whose diff mentions an sk-ant- prefix.")
    keys_found: int = Field(default=0, description="Distinct credentials (by fingerprint) found anywhere.")
    verified: int = Field(default=0, description="Keys checked against the Anthropic API (--verify).")
    duration_ms: float = 0.0


class KeyReport(BaseModel):
    stats: ScanStats
    findings: list[Finding]
