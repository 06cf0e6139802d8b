"""Cost of usage: a small price interface (model -> USD per million tokens) over the one table.

The usage code depends only on :data:`PriceLookup`. :func:`default_lookup` reads the shipped,
dated model table of :mod:`claude_health.tools.tokens.models` (tools/data/pricing.json), the one
place prices live; token counting reads the same rows. Cost for Pro/Max users is API-equivalent:
what the same tokens would cost on the API.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable

from claude_health.tools.tokens.models import ModelInfo, pricing_table, resolve_model

# A named tuple, not a dataclass: a warm usage report prices in a new process, where importing
# dataclasses (and inspect with it) costs more than its reading. Type checkers read the
# declaration below.
TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import NamedTuple

    class _PriceFields(NamedTuple):
        input: float
        output: float
        cache_write_5m: float
        cache_write_1h: float
        cache_read: float
        fast_multiplier: float = 2.0
        long_threshold: int | None = None
        long_input_multiplier: float = 1.0
        long_output_multiplier: float = 1.0

else:
    _PriceFields = namedtuple(
        "_PriceFields",
        [
            "input",
            "output",
            "cache_write_5m",
            "cache_write_1h",
            "cache_read",
            "fast_multiplier",
            "long_threshold",
            "long_input_multiplier",
            "long_output_multiplier",
        ],
        defaults=(2.0, None, 1.0, 1.0),
    )


class ModelPrices(_PriceFields):
    """USD per million tokens.

    Fast mode (usage.speed == "fast") multiplies every category (``fast_multiplier``, 2x on the
    pricing page). Long context: a request whose whole input (incl. cache) exceeds
    ``long_threshold`` is billed entirely at the higher card (Sonnet 4/4.5 1M beta above 200K,
    Haiku 5.5 above 100K).
    """

    __slots__ = ()

    @classmethod
    def standard(cls, input_price: float, output_price: float, read_ratio: float = 0.1) -> ModelPrices:
        # Rounded so that 3 * 0.1 is 0.3 dollars, as on the pricing page.
        return cls(
            input_price,
            output_price,
            round(input_price * 1.25, 6),
            round(input_price * 2, 6),
            round(input_price * read_ratio, 6),
        )


PriceLookup = Callable[[str], "ModelPrices | None"]


def prices_of(info: ModelInfo) -> ModelPrices | None:
    """A row of the model table as :class:`ModelPrices`; None for a model the table does not know."""
    if not info.known:
        return None
    lc = info.long_context
    return ModelPrices(
        input=info.input,
        output=info.output,
        # Rounded so that 3 * 0.1 is 0.3 dollars, as on the pricing page.
        cache_write_5m=round(info.cache_write_5m, 6),
        cache_write_1h=round(info.cache_write_1h, 6),
        cache_read=round(info.cache_read, 6),
        fast_multiplier=pricing_table().multipliers["fast"],
        long_threshold=lc.threshold if lc is not None else None,
        long_input_multiplier=lc.input_multiplier if lc is not None else 1.0,
        long_output_multiplier=lc.output_multiplier if lc is not None else 1.0,
    )


def table_lookup(model: str) -> ModelPrices | None:
    """The prices of ``model`` (any spelling :func:`~claude_health.tools.tokens.models.canonical_id`
    knows), or None when the table has no row for it: such usage is listed as unpriced."""
    if not model.strip():  # resolve_model reads "no model" as the default model: not a price here
        return None
    return prices_of(resolve_model(model))


def default_lookup() -> PriceLookup:
    """The lookup every report uses unless a test passes its own."""
    return table_lookup


def cost_usd(
    prices: ModelPrices | None,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_write_5m: int,
    cache_write_1h: int,
    cache_read: int,
    fast: bool = False,
    long_context: bool = False,
) -> float:
    """API-equivalent cost; unknown models cost 0 (reported separately as unpriced).

    ``long_context`` says the tokens come from requests above the model's long-context threshold.
    """
    if prices is None:
        return 0.0
    in_mult = prices.long_input_multiplier if long_context and prices.long_threshold else 1.0
    out_mult = prices.long_output_multiplier if long_context and prices.long_threshold else 1.0
    total = (
        (
            input_tokens * prices.input
            + cache_write_5m * prices.cache_write_5m
            + cache_write_1h * prices.cache_write_1h
            + cache_read * prices.cache_read
        )
        * in_mult
        + output_tokens * prices.output * out_mult
    ) / 1_000_000
    return total * prices.fast_multiplier if fast else total
