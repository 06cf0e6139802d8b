"""What the Admin API reports become: rate-limit groups, month-to-date usage and cost, headroom."""

from __future__ import annotations

from pydantic import BaseModel, Field

from claude_health.tools.findings import Finding, Summary


class MissingPart(BaseModel):
    part: str = Field(description="Which report or list is missing.")
    reason: str = Field(description="Why, and what to do.")
    status: int | None = Field(default=None, description="HTTP status, when there was one.")


class RateLimitGroup(BaseModel):
    group_id: str | None = Field(default=None, description="Stable group ID (rlg_...).")
    group_type: str = Field(description="model_group, batch, token_count, files, skills or web_search.")
    display_name: str | None = None
    models: list[str] = Field(default_factory=list, description="Model IDs and aliases of a model_group.")
    limits: dict[str, int] = Field(default_factory=dict, description="rpm, itpm, otpm the limiter mirrors.")
    other_limits: dict[str, float] = Field(
        default_factory=dict, description="Other limiter types, shown only."
    )


class WorkspaceOverrides(BaseModel):
    workspace_id: str
    name: str | None = None
    overrides: list[RateLimitGroup] = Field(
        default_factory=list, description="Only what the workspace overrides; the rest is the organisation's."
    )


class RateLimitSync(BaseModel):
    fetched_at: str = Field(description="UTC time the limits were fetched (ISO 8601).")
    base_url: str
    workspace_id: str | None = Field(
        default=None, description="Seeded with this workspace's effective limits."
    )
    groups: list[RateLimitGroup] = Field(description="The limits now seeding the limiter.")
    organisation: list[RateLimitGroup] = Field(default_factory=list)
    workspaces: list[WorkspaceOverrides] = Field(default_factory=list)
    seeded: list[str] = Field(
        default_factory=list, description="Limiter classes, models and endpoints seeded."
    )
    notes: list[str] = Field(default_factory=list)
    missing: list[MissingPart] = Field(default_factory=list)
    saved_to: str | None = None


class TokenRow(BaseModel):
    name: str = Field(description="Model, workspace or API key ID.")
    uncached_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    web_search_requests: int = 0
    cache_read_rate: float | None = Field(
        None, description="cache reads / all input tokens (uncached + cache writes + cache reads)."
    )


class UsageMonth(BaseModel):
    totals: TokenRow
    by_model: list[TokenRow] = Field(default_factory=list)
    by_workspace: list[TokenRow] = Field(default_factory=list)
    by_api_key: list[TokenRow] = Field(default_factory=list)
    ignored_values: int = Field(
        default=0, description="Fields that were not non-negative whole numbers (skipped)."
    )


class CostRow(BaseModel):
    name: str
    usd: float


class CostMonth(BaseModel):
    total_usd: float
    currency: str = "USD"
    by_workspace: list[CostRow] = Field(default_factory=list)
    by_model: list[CostRow] = Field(default_factory=list)
    by_cost_type: list[CostRow] = Field(default_factory=list)


class SpendHeadroom(BaseModel):
    limit_usd: float
    limit_source: str = Field(
        description="Where the limit comes from (config file or the tier's monthly cap)."
    )
    spent_usd: float
    headroom_usd: float
    used_fraction: float
    projected_month_usd: float = Field(description="This month's spend if the pace so far continues.")


class ClaudeCodeActor(BaseModel):
    actor: str = Field(description="User e-mail, or 'api key: NAME'.")
    sessions: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    commits: int = 0
    pull_requests: int = 0
    estimated_cost_usd: float = 0.0


class ClaudeCodeMonth(BaseModel):
    days: int = Field(description="Days reported (the 1st of the month to today, UTC).")
    totals: ClaudeCodeActor
    by_actor: list[ClaudeCodeActor] = Field(default_factory=list, description="Top spenders first.")
    by_model: list[CostRow] = Field(default_factory=list)


class OrgUsageReport(BaseModel):
    generated_at: str
    period_start: str
    period_end: str
    base_url: str
    usage: UsageMonth | None = None
    cost: CostMonth | None = None
    spend: SpendHeadroom | None = None
    claude_code: ClaudeCodeMonth | None = None
    missing: list[MissingPart] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    summary: Summary | None = None
