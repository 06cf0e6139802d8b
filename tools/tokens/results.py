"""Result models of token counting, cost and context budget (the CLI's JSON and the MCP schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from claude_health.tools.findings import Finding

Method = Literal["estimate", "exact"]


class FileCount(BaseModel):
    path: str = Field(description="Path as given or found (relative to the project when under it).")
    tokens: int | None = Field(default=None, description="Tokens of the file's text; None when skipped.")
    error_band: tuple[int, int] | None = None
    bytes: int = 0
    method: Method | None = None
    skipped: str | None = Field(
        default=None, description="Why the file was not counted (binary, too large, ...)."
    )


class CostReport(BaseModel):
    """What the counted tokens cost as input, by billing mode (USD)."""

    model: str
    pricing_updated: str = Field(description="Date of the shipped price table.")
    known: bool = Field(description="False when the model is not in the price table (costs are 0).")
    prices_per_mtok: dict[str, float] = Field(
        description="input, output, cache_write_5m, cache_write_1h, cache_read, batch_input, batch_output."
    )
    input_usd: float
    cache_write_5m_usd: float
    cache_write_1h_usd: float
    cache_read_usd: float
    batch_input_usd: float
    max_output_usd: float = Field(description="Cost of a reply of max_output tokens at the output price.")
    long_context_applied: bool = False
    long_context_note: str | None = None


class FitReport(BaseModel):
    """Whether the input fits the model's context window and the endpoints' size limits."""

    context_window: int
    max_output: int
    fits_context: bool
    room_for_output: int = Field(description="Context left for the reply (can be negative).")
    request_bytes: int | None = None
    size_limits_bytes: dict[str, int]
    over_size_limit: list[str] = Field(default_factory=list, description="Endpoints that would answer 413.")


class TokenCount(BaseModel):
    tokens: int = Field(description="The total (the sum of the files, or the whole request).")
    method: Method
    model: str
    family: str = Field(description="Tokenizer family: legacy (before Opus 4.7) or v2 (Opus 4.7 and later).")
    error_band: tuple[int, int] = Field(description="[low, high]; equal to tokens for an exact count.")
    files: list[FileCount] | None = None
    parts: dict[str, int] | None = Field(
        None, description="Per part of a request (system, messages, tools...)."
    )
    cached: bool | None = Field(default=None, description="Exact count served from the local cache.")
    notes: list[str] = Field(default_factory=list)
    cost: CostReport | None = None
    fit: FitReport | None = None


class BudgetItem(BaseModel):
    kind: Literal["managed", "user", "project", "local", "rules", "import", "auto_memory"]
    path: str
    tokens: int
    error_band: tuple[int, int]
    bytes: int
    imported_from: str | None = None
    depth: int = 0


class McpServerBudget(BaseModel):
    name: str
    scope: Literal["project", "user", "local"]
    transport: str
    tools_listed: bool = Field(description="False: the server was not launched, its tools are not counted.")
    tokens: int | None = None


class ContextBudget(BaseModel):
    """The fixed context a project pays on every turn before the user types anything."""

    model: str
    tokens: int = Field(
        description="Memory files and imports, estimated (excludes Claude Code's own prompt)."
    )
    error_band: tuple[int, int]
    context_window: int
    share_of_context: float = Field(description="tokens / context_window.")
    items: list[BudgetItem]
    mcp_servers: list[McpServerBudget]
    notes: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
