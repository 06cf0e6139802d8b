"""The published rate-limit tables (dated data in ``tools/data/limits.json``) and model classes.

Anthropic limits each organization per *model class*: several model IDs can share one bucket
(Opus 4.5-4.8 pool their traffic). A model with no class in the data gets no invented limit;
its own per-model buckets are learned from response headers instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

DIMENSIONS = ("rpm", "itpm", "otpm", "tpm")
"""Requests, input tokens, output tokens, and the combined ``tokens`` limit headers report."""

MAX_MODEL_CHARS = 200
_MODEL_CHARS = re.compile(r"^[A-Za-z0-9._:@/+-]+$")


class LimitsDataError(ValueError):
    """The shipped or user-provided limits are not usable; the message says what and where."""


@dataclass(frozen=True, slots=True)
class BucketLimits:
    """Per-minute limits of one model class; ``None`` means not published (headers may teach it)."""

    rpm: int | None = None
    itpm: int | None = None
    otpm: int | None = None
    tpm: int | None = None

    def get(self, dim: str) -> int | None:
        value: int | None = getattr(self, dim)
        return value

    def merged(self, other: BucketLimits) -> BucketLimits:
        """``other``'s values where set, ours elsewhere."""
        return BucketLimits(*(other.get(d) if other.get(d) is not None else self.get(d) for d in DIMENSIONS))


@dataclass(frozen=True, slots=True)
class ModelClass:
    id: str
    label: str
    patterns: tuple[re.Pattern[str], ...]
    members: tuple[str, ...]
    cache_read_counts: bool = False
    fast_mode: bool = False


@dataclass(frozen=True, slots=True)
class Tier:
    id: str
    label: str
    current: bool
    as_of: str
    source: str
    classes: Mapping[str, BucketLimits]
    count_tokens_rpm: int | None
    batches_rpm: int | None
    batch_queue: int | None
    batch_size: int | None
    monthly_spend_cap_usd: int | None


@dataclass(frozen=True, slots=True)
class LimitTable:
    as_of: str
    default_tier: str
    classes: Mapping[str, ModelClass]
    tiers: Mapping[str, Tier]
    unpublished: tuple[str, ...] = field(default=())

    def tier(self, name: str) -> Tier:
        key = normalise_tier(name)
        if key not in self.tiers:
            raise LimitsDataError(f"unknown tier {name!r}; choose one of: {', '.join(self.tiers)}")
        return self.tiers[key]


def normalise_tier(name: str) -> str:
    """``Build``, ``tier 2``, ``tier2`` and ``Tier-2`` all name a tier in the data."""
    text = name.strip().lower().replace("_", "-").replace(" ", "-")
    match = re.fullmatch(r"tier-?([1-4])", text)
    return f"tier-{match.group(1)}" if match else text


def clean_model(model: str) -> str:
    """A model ID fit to be a key: trimmed, provider prefix and Claude Code's ``[1m]`` suffix removed.

    Raises ``ValueError`` for empty, huge or strange IDs, so hostile input never becomes a key.
    """
    text = model.strip()
    if not text or len(text) > MAX_MODEL_CHARS:
        raise ValueError(f"model must be 1-{MAX_MODEL_CHARS} characters")
    text = re.sub(r"\[[^\]]*\]$", "", text)
    # Bedrock / Vertex spellings: anthropic.claude-opus-4-8-v1:0, claude-opus-4-8@20251101
    text = re.sub(r"^(?:[a-z]{2}\.)?anthropic\.", "", text)
    text = re.sub(r"(?:-v\d+(?::\d+)?|@\d{8})$", "", text)
    if not _MODEL_CHARS.match(text):
        raise ValueError("model may contain only letters, digits and . _ : @ / + -")
    return text.lower()


def _limits(raw: Any, where: str) -> BucketLimits:
    if not isinstance(raw, Mapping):
        raise LimitsDataError(f"{where}: expected a table of rpm/itpm/otpm, got {type(raw).__name__}")
    values: dict[str, int | None] = {}
    for key, value in raw.items():
        if key not in DIMENSIONS:
            raise LimitsDataError(f"{where}: unknown limit {key!r} (use {', '.join(DIMENSIONS)})")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**12:
            raise LimitsDataError(f"{where}.{key}: must be a positive whole number, got {value!r}")
        values[key] = value
    return BucketLimits(**values)


def parse_limits(raw: Any, where: str = "limits") -> BucketLimits:
    """Validate one ``{"rpm": .., "itpm": .., "otpm": ..}`` mapping (from TOML, JSON or Python)."""
    return _limits(raw, where)


def _opt_int(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_table(data: Mapping[str, Any]) -> LimitTable:
    classes: dict[str, ModelClass] = {}
    for cid, raw in data["classes"].items():
        if not raw.get("members"):
            raise LimitsDataError(f"limits.json classes.{cid}: needs at least one member model ID")
        classes[cid] = ModelClass(
            id=cid,
            label=str(raw["label"]),
            patterns=tuple(re.compile(p) for p in raw["patterns"]),
            members=tuple(str(m) for m in raw["members"]),
            cache_read_counts=bool(raw.get("cache_read_counts", False)),
            fast_mode=bool(raw.get("fast_mode", False)),
        )
    tiers: dict[str, Tier] = {}
    for tid, raw in data["tiers"].items():
        per_class = {
            cid: _limits(v, f"limits.json tiers.{tid}.classes.{cid}") for cid, v in raw["classes"].items()
        }
        unknown = set(per_class) - set(classes)
        if unknown:
            raise LimitsDataError(f"limits.json tier {tid}: unknown classes {sorted(unknown)}")
        batches = raw.get("batches") or {}
        tiers[tid] = Tier(
            id=tid,
            label=str(raw["label"]),
            current=bool(raw.get("current", False)),
            as_of=str(raw["as_of"]),
            source=str(raw["source"]),
            classes=per_class,
            count_tokens_rpm=_opt_int(raw, "count_tokens_rpm"),
            batches_rpm=_opt_int(batches, "rpm"),
            batch_queue=_opt_int(batches, "queue"),
            batch_size=_opt_int(batches, "per_batch"),
            monthly_spend_cap_usd=_opt_int(raw, "monthly_spend_cap_usd"),
        )
    default = str(data["default_tier"])
    if default not in tiers:
        raise LimitsDataError(f"limits.json default_tier {default!r} is not a tier")
    return LimitTable(
        as_of=str(data["as_of"]),
        default_tier=default,
        classes=classes,
        tiers=tiers,
        unpublished=tuple(str(x) for x in data.get("unpublished", ())),
    )


@cache
def load_table() -> LimitTable:
    """The shipped table (read once per process)."""
    text = resources.files("claude_health.tools.data").joinpath("limits.json").read_text("utf-8")
    return parse_table(json.loads(text))


def class_of(model: str, table: LimitTable | None = None) -> ModelClass | None:
    """The published class a (cleaned) model ID belongs to, or ``None`` if the data has none."""
    table = table or load_table()
    for mc in table.classes.values():
        if any(p.match(model) for p in mc.patterns):
            return mc
    return None
