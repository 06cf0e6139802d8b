"""Result models of the plan-usage reports (the MCP tools' output schemas)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from claude_health.tools.findings import Finding, Summary

Window = Literal["block", "day", "week"]


class TokenTotals(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = Field(default=0.0, description="API-equivalent USD (not what a Pro/Max plan bills).")
    entries: int = Field(default=0, description="Distinct API responses after deduplication.")


class OfficialWindow(BaseModel):
    used_percentage: float = Field(description="0-100, from Claude Code's status line input.")
    resets_at: str = Field(description="When the window resets (UTC, ISO 8601).")
    captured_at: str
    age_seconds: float


class PlanInfoModel(BaseModel):
    subscription_type: str | None = Field(default=None, description="pro, max, team... from credentials.")
    rate_limit_tier: str | None = Field(default=None, description="e.g. default_claude_max_20x.")


class LocalUsage(BaseModel):
    window: Window
    label: Literal["local_estimate"] = "local_estimate"
    start: str | None = None
    end: str | None = None
    is_active: bool | None = Field(default=None, description="window=block: is a 5-hour block running?")
    totals: TokenTotals = Field(default_factory=lambda: TokenTotals())
    models: dict[str, TokenTotals] = Field(default_factory=dict)
    projects: dict[str, TokenTotals] = Field(default_factory=dict)
    tokens_per_minute: float | None = None
    cost_per_hour_usd: float | None = None


class ProjectionModel(BaseModel):
    window: Literal["five_hour", "seven_day"]
    used_percentage: float | None = None
    estimated_percentage_now: float | None = None
    resets_at: str | None = None
    snapshot_age_seconds: float | None = None
    percent_per_hour: float | None = None
    rate_source: str | None = Field(default=None, description="official_snapshots | local_tokens_calibrated")
    hours_to_limit: float | None = None
    limit_at: str | None = None
    hits_limit_before_reset: bool | None = None
    projected_percentage_at_reset: float | None = None
    confidence: Literal["high", "medium", "low", "none"] = "none"
    reasons: list[str] = Field(default_factory=list)
    limit_hit_at: str | None = Field(
        default=None,
        description="When a session stopped on this window's limit (recorded by claude-health's StopFailure "
        "hook); the window counts as full until it resets.",
    )


class ScanSummary(BaseModel):
    roots: list[str]
    files: int
    files_read: int
    bytes_read: int
    bad_lines: int
    files_missing: int = Field(description="Transcripts gone from disk whose usage is kept in the ledger.")
    entries_from_deleted_transcripts: int = Field(
        default=0, description="Responses in the ledger whose transcript Claude Code has deleted."
    )
    only_existing: bool = Field(
        default=False, description="True: local totals count only transcripts still on disk (ccusage's view)."
    )
    state_db: str | None = None
    history_since: str | None = None
    rebuild_note: str | None = Field(
        default=None, description="Set when this run rebuilt a damaged or missing ledger: what was lost."
    )


class PlanUsage(BaseModel):
    window: Window
    generated_at: str
    timezone: str
    plan: PlanInfoModel
    official: dict[str, OfficialWindow | None]
    local: LocalUsage
    projections: list[ProjectionModel]
    cost_basis: str = "API-equivalent list prices; a Pro/Max plan is not billed per token."
    unpriced_models: list[str] = Field(default_factory=list)
    scan: ScanSummary
    findings: list[Finding]
    summary: Summary
