"""Cost and fit of a token count, from the shipped, dated price table."""

from __future__ import annotations

from claude_health.tools.tokens.models import ModelInfo, pricing_table
from claude_health.tools.tokens.results import CostReport, FitReport

_MTOK = 1_000_000


def cost_of(model: ModelInfo, input_tokens: int) -> CostReport:
    """What ``input_tokens`` of prompt cost on ``model`` in each billing mode.

    A long-context step (Haiku 5.5 above 100K, Sonnet 4/4.5 1M beta above 200K) bills the whole
    request at the higher card, so it is applied to every line when the count crosses it.
    """
    table = pricing_table()
    batch = table.multipliers["batch"]
    in_mult = out_mult = 1.0
    lc = model.long_context
    applied = lc is not None and input_tokens > lc.threshold
    if applied and lc is not None:
        in_mult, out_mult = lc.input_multiplier, lc.output_multiplier
    prices = {
        "input": model.input * in_mult,
        "output": model.output * out_mult,
        "cache_write_5m": model.cache_write_5m * in_mult,
        "cache_write_1h": model.cache_write_1h * in_mult,
        "cache_read": model.cache_read * in_mult,
        "batch_input": model.input * in_mult * batch,
        "batch_output": model.output * out_mult * batch,
    }
    n = input_tokens / _MTOK
    return CostReport(
        model=model.id,
        pricing_updated=table.updated,
        known=model.known,
        prices_per_mtok={k: round(v, 6) for k, v in prices.items()},
        input_usd=round(n * prices["input"], 6),
        cache_write_5m_usd=round(n * prices["cache_write_5m"], 6),
        cache_write_1h_usd=round(n * prices["cache_write_1h"], 6),
        cache_read_usd=round(n * prices["cache_read"], 6),
        batch_input_usd=round(n * prices["batch_input"], 6),
        max_output_usd=round(model.max_output / _MTOK * prices["output"], 6),
        long_context_applied=applied,
        long_context_note=lc.note if lc is not None else None,
    )


def fit_of(model: ModelInfo, input_tokens: int, request_bytes: int | None = None) -> FitReport:
    """Whether the input leaves room for a reply in the context window, and fits the size limits."""
    limits = pricing_table().request_size_limits
    over = [name for name, limit in limits.items() if request_bytes is not None and request_bytes > limit]
    return FitReport(
        context_window=model.context,
        max_output=model.max_output,
        fits_context=input_tokens < model.context,
        room_for_output=model.context - input_tokens,
        request_bytes=request_bytes,
        size_limits_bytes=dict(limits),
        over_size_limit=over,
    )
