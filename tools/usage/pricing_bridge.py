"""Adapter to the shared price table of :mod:`claude_health.tools.tokens` (tools/data/pricing.json).

Kept apart so the usage code never depends on that module's shape: anything unexpected here
simply means "use the built-in table".
"""

from __future__ import annotations

import importlib
from typing import Any

from claude_health.tools.usage.pricing import ModelPrices, PriceLookup


def shared_lookup() -> PriceLookup | None:
    try:
        module: Any = importlib.import_module("claude_health.tools.tokens.models")
    except ImportError:
        return None
    resolve = getattr(module, "resolve_model", None)
    if not callable(resolve):
        return None

    def lookup(model: str) -> ModelPrices | None:
        try:
            info = resolve(model)
        except Exception:  # a data problem in the shared table: fall back to the built-in table
            return None
        return convert(info)

    return lookup


def convert(info: Any) -> ModelPrices | None:
    """A ``ModelInfo`` row as :class:`ModelPrices`; None for a model the table does not know."""
    if info is None or getattr(info, "known", True) is False:
        return None
    try:
        long_context = getattr(info, "long_context", None)
        return ModelPrices(
            input=float(info.input),
            output=float(info.output),
            cache_write_5m=round(float(info.cache_write_5m), 6),
            cache_write_1h=round(float(info.cache_write_1h), 6),
            cache_read=round(float(info.cache_read), 6),
            long_threshold=int(long_context.threshold) if long_context is not None else None,
            long_input_multiplier=float(long_context.input_multiplier) if long_context is not None else 1.0,
            long_output_multiplier=float(long_context.output_multiplier) if long_context is not None else 1.0,
        )
    except (AttributeError, TypeError, ValueError):
        return None
