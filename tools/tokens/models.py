"""The shipped, dated model table: tokenizer family, context window, output cap, prices.

The one price table: token counting (:mod:`.cost`) and plan usage
(:mod:`claude_health.tools.usage.pricing`) both read it. Everything comes from
``claude_health.tools.data/pricing.json`` so that a price change is a data change. Model IDs are
resolved the way people write them: dated snapshots (``claude-sonnet-4-5-20250929``), ``-latest``
aliases, Bedrock/Vertex spellings (``anthropic.claude-opus-4-7-v1:0``,
``claude-opus-4-7@20260416``) and Claude Code's ``[1m]`` marker.
"""

from __future__ import annotations

import json
import os
import re
from collections import namedtuple
from functools import lru_cache

# Named tuples and no typing at run time: a warm plan usage report (a new process) prices its
# models from this table, and importing dataclasses (with inspect) and typing cost it more than
# its reading. Type checkers read the typed declarations.
TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import Any, Literal, NamedTuple

    from claude_health.tools.findings import Finding

    Family = Literal["legacy", "v2"]

    class LongContext(NamedTuple):
        """A price step: the whole request is billed at a higher card above ``threshold`` input tokens."""

        threshold: int
        input_multiplier: float
        output_multiplier: float
        note: str = ""

    class ModelInfo(NamedTuple):
        """One model's row of the shipped table (prices in USD per million tokens)."""

        id: str
        family: Family
        context: int
        max_output: int
        input: float
        output: float
        cache_write_5m: float
        cache_write_1h: float
        cache_read: float
        tool_prompt: tuple[int, int] | None = None  # hidden tool-use system prompt: (auto/none, any/tool)
        bash_tool: int | None = None
        long_context: LongContext | None = None
        known: bool = True  # False when the ID was not in the table and defaults were assumed
        note: str = ""

    class PricingTable(NamedTuple):
        updated: str
        default_model: str
        multipliers: dict[str, float]
        request_size_limits: dict[str, int]
        image_patch_px: int
        image_wrapper_tokens: int
        image_caps: dict[str, tuple[int, int]]
        models: dict[str, ModelInfo]
        aliases: dict[str, str]

else:
    Family = str
    LongContext = namedtuple(
        "LongContext", ["threshold", "input_multiplier", "output_multiplier", "note"], defaults=("",)
    )
    ModelInfo = namedtuple(
        "ModelInfo",
        [
            "id",
            "family",
            "context",
            "max_output",
            "input",
            "output",
            "cache_write_5m",
            "cache_write_1h",
            "cache_read",
            "tool_prompt",
            "bash_tool",
            "long_context",
            "known",
            "note",
        ],
        defaults=(None, None, None, True, ""),
    )
    PricingTable = namedtuple(
        "PricingTable",
        [
            "updated",
            "default_model",
            "multipliers",
            "request_size_limits",
            "image_patch_px",
            "image_wrapper_tokens",
            "image_caps",
            "models",
            "aliases",
        ],
    )

PRICING_RESOURCE = "pricing.json"

_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic\.")
# Snapshot dates (-20250929, @20260416), -latest, Bedrock versions (-v1:0) and Claude Code's 1M
# context marker ([1m]), in any order at the end.
_SUFFIXES = re.compile(r"(?:[-@](?:\d{8}|latest)|-v\d+(?::\d+)?|\[1m\])+$")


def _model(model_id: str, raw: dict[str, Any], mult: dict[str, float]) -> ModelInfo:
    base = float(raw["input"])
    tool = raw.get("tool_prompt")
    lc = raw.get("long_context")
    return ModelInfo(
        id=model_id,
        family="v2" if raw["family"] == "v2" else "legacy",
        context=int(raw["context"]),
        max_output=int(raw["max_output"]),
        input=base,
        output=float(raw["output"]),
        cache_write_5m=float(raw.get("cache_write_5m", base * mult["cache_write_5m"])),
        cache_write_1h=float(raw.get("cache_write_1h", base * mult["cache_write_1h"])),
        cache_read=float(raw.get("cache_read", base * mult["cache_read"])),
        tool_prompt=(int(tool[0]), int(tool[1])) if tool else None,
        bash_tool=int(raw["bash_tool"]) if "bash_tool" in raw else None,
        long_context=LongContext(
            threshold=int(lc["threshold"]),
            input_multiplier=float(lc["input_multiplier"]),
            output_multiplier=float(lc["output_multiplier"]),
            note=str(lc.get("note", "")),
        )
        if lc
        else None,
        note=str(raw.get("note", "")),
    )


def _pricing_text() -> str:
    # Read beside this package when it is installed as files (importlib.resources costs a usage
    # report's new process a few milliseconds to import); through resources when zipped.
    here = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", PRICING_RESOURCE)  # noqa: PTH118, PTH120
    try:
        with open(here, encoding="utf-8") as fh:  # noqa: PTH123
            return fh.read()
    except OSError:
        from importlib import resources

        return resources.files("claude_health.tools.data").joinpath(PRICING_RESOURCE).read_text("utf-8")


@lru_cache(maxsize=1)
def pricing_table() -> PricingTable:
    """The shipped table, parsed once per process."""
    data = json.loads(_pricing_text())
    mult = {k: float(v) for k, v in data["multipliers"].items()}
    image = data["image"]
    return PricingTable(
        updated=str(data["updated"]),
        default_model=str(data["default_model"]),
        multipliers=mult,
        request_size_limits={k: int(v) for k, v in data["request_size_limits_bytes"].items()},
        image_patch_px=int(image["patch_px"]),
        image_wrapper_tokens=int(image["wrapper_tokens"]),
        image_caps={k: (int(v["long_edge_px"]), int(v["max_tokens"])) for k, v in image["caps"].items()},
        models={k: _model(k, v, mult) for k, v in data["models"].items()},
        aliases={str(k): str(v) for k, v in data.get("aliases", {}).items()},
    )


def default_model() -> str:
    return pricing_table().default_model


def canonical_id(model: str) -> str:
    """Strip provider prefixes, snapshot dates and ``-latest`` so the table key can be found.

    ``us.anthropic.claude-sonnet-4-5-20250929-v1:0`` -> ``claude-sonnet-4-5``. Everything before
    ``claude-`` is a provider's prefix (Bedrock regions, gateway paths such as ``anthropic/``).
    """
    name = model.strip().lower()
    at = name.find("claude-")
    name = name[at:] if at >= 0 else _BEDROCK_PREFIX.sub("", name)
    return _SUFFIXES.sub("", name)


def resolve_model(model: str | None) -> ModelInfo:
    """The table row for ``model``; an unknown ID gets the newest family and no price.

    Unknown models are assumed to be new (every model released since Opus 4.7 uses the newer
    tokenizer), which errs towards counting more tokens rather than fewer.
    """
    table = pricing_table()
    wanted = model or table.default_model
    key = canonical_id(wanted)
    key = table.aliases.get(key, key)
    info = table.models.get(key)
    if info is not None:
        return info
    return ModelInfo(
        id=wanted,
        family="v2",
        context=1_000_000,
        max_output=128_000,
        input=0.0,
        output=0.0,
        cache_write_5m=0.0,
        cache_write_1h=0.0,
        cache_read=0.0,
        known=False,
        note="model not in the shipped table (updated "
        + table.updated
        + "): newer tokenizer assumed; context window and price unknown",
    )


def known_models() -> list[str]:
    return sorted(pricing_table().models)


def closest_models(model: str, n: int = 3) -> list[str]:
    """The known IDs that look most like ``model`` (for "did you mean")."""
    import difflib  # only for a model nobody knows

    return difflib.get_close_matches(canonical_id(model), known_models(), n=n, cutoff=0.6)


def model_findings(info: ModelInfo) -> list[Finding]:
    """T006 when ``info`` was not in the table: the model is called unknown, not given a window."""
    if info.known:
        return []
    from claude_health.tools.tokens.rules import UNKNOWN_MODEL  # findings only for an unknown model

    close = closest_models(info.id)
    options = ", ".join(close[:-1]) + f" or {close[-1]}" if len(close) > 1 else "".join(close)
    guess = f" Did you mean {options}?" if close else ""
    return [
        UNKNOWN_MODEL.finding(
            f"{info.id!r} is not in claude-health's model table (updated {pricing_table().updated}): its "
            f"context window and prices are unknown.{guess}",
            hint=f"Known models: {', '.join(known_models())}.",
        )
    ]
