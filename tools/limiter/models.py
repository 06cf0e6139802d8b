"""What the limiter answers: decisions (hot path, plain slotted classes) and status (pydantic)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field


@dataclass(slots=True)
class Decision:
    """The answer to ``try_acquire``.

    ``allowed``: the request may go now (its tokens are debited). Otherwise ``retry_after``
    seconds until it would fit, naming the ``binding`` bucket (``rpm``, ``itpm``, ``otpm``,
    ``tpm`` or ``retry-after``); or ``impossible``: the request alone exceeds a bucket's
    capacity and will never fit -- ``message`` says which and what to change.
    """

    allowed: bool
    retry_after: float
    binding: str | None
    model: str
    bucket: str
    """The model class whose buckets were consulted (``opus-4``, ``model:<id>`` ...)."""
    reserved_input: float = 0.0
    reserved_output: float = 0.0
    impossible: bool = False
    message: str = ""
    fast: bool = False
    endpoint: str = "messages"


class BucketStatus(BaseModel):
    dimension: str = Field(description="rpm, itpm, otpm or tpm (combined tokens).")
    limit: float | None = Field(
        default=None, description="Per-minute capacity; null when unknown (no invented limit)."
    )
    available: float | None = Field(default=None, description="Units that could be spent right now.")
    used_fraction: float | None = Field(default=None, description="1 - available/limit.")
    full_in_seconds: float | None = Field(default=None, description="Seconds until the bucket is full again.")
    source: str = Field(
        description="Where the limit comes from: tier table, admin api (fetched ...), override or "
        "server headers."
    )


class ClassStatus(BaseModel):
    bucket: str = Field(description="Model class (shared bucket) or endpoint.")
    label: str
    models: list[str] = Field(default_factory=list, description="Model IDs or patterns that share it.")
    buckets: list[BucketStatus]
    retry_after: float = Field(0.0, description="Seconds left on a server retry-after hold.")
    cache_reads_count: bool = Field(False, description="Cache reads count toward ITPM for this class.")


class EventInfo(BaseModel):
    kind: str
    model: str
    at: str = Field(description="UTC time, ISO 8601.")
    detail: str = ""


class LimiterStatus(BaseModel):
    store: str = Field(description="Where the buckets live (password removed).")
    tier: str
    tier_label: str
    tier_source: str = Field(description="argument, config file or default.")
    table_as_of: str = Field(description="Date of the published tables in use.")
    output_reservation: bool = Field(description="max_tokens is reserved against OTPM until reconciled.")
    classes: list[ClassStatus]
    count_tokens_rpm: int | None = None
    batches_rpm: int | None = None
    batch_queue: int | None = None
    monthly_spend_cap_usd: int | None = None
    recent_events: list[EventInfo] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    org_limits: str | None = Field(
        None, description="The organisation's own limits from the Admin API in use, and when fetched."
    )
