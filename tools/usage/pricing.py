"""Cost of usage: a small price interface (model -> USD per million tokens) and its default.

The usage code depends only on :data:`PriceLookup`. :func:`default_lookup` prefers the shared
pricing data of :mod:`claude_health.tools.tokens` when that module offers it, and otherwise uses
the built-in table below (Anthropic pricing page of 2026-09-24, read from the reference notes).
Cost for Pro/Max users is API-equivalent: what the same tokens would cost on the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

PRICES_AS_OF = "2026-09-24"


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """USD per million tokens."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float
    # Fast mode (usage.speed == "fast") multiplies every category (2x on the pricing page).
    fast_multiplier: float = 2.0
    # Long context: a request whose whole input (incl. cache) exceeds the threshold is billed
    # entirely at the higher card (Sonnet 4/4.5 1M beta above 200K, Haiku 5.5 above 100K).
    long_threshold: int | None = None
    long_input_multiplier: float = 1.0
    long_output_multiplier: float = 1.0

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

# (pattern on the normalised model name, prices); first match wins, so specific before general.
_TABLE: tuple[tuple[re.Pattern[str], ModelPrices], ...] = tuple(
    (re.compile(pattern), prices)
    for pattern, prices in (
        (r"^(fable|mythos)-5-1", ModelPrices.standard(10, 50, 0.025)),
        (r"^(fable|mythos)-5", ModelPrices.standard(10, 50)),
        (r"^opus-5-5", ModelPrices.standard(4, 20, 0.05)),
        (r"^opus-5", ModelPrices.standard(5, 25)),
        (r"^opus-4-[5-9]", ModelPrices.standard(5, 25)),
        (r"^opus-4", ModelPrices.standard(15, 75)),  # Opus 4 and 4.1
        (r"^(3-opus|opus-3)", ModelPrices.standard(15, 75)),
        (r"^sonnet-5", ModelPrices.standard(2, 10)),
        (
            r"^sonnet-4-[5-9]|^sonnet-4$",
            ModelPrices(
                3,
                15,
                3.75,
                6,
                0.3,
                long_threshold=200_000,
                long_input_multiplier=2,
                long_output_multiplier=1.5,
            ),
        ),
        (r"^(sonnet-4|3-7-sonnet|sonnet-3-7|3-5-sonnet|sonnet-3-5)", ModelPrices.standard(3, 15)),
        (
            r"^haiku-5-5",
            ModelPrices(
                0.10,
                0.50,
                0.125,
                0.20,
                0.01,
                long_threshold=100_000,
                long_input_multiplier=5,
                long_output_multiplier=5,
            ),
        ),
        (r"^haiku-4", ModelPrices.standard(1, 5)),
        (r"^(3-5-haiku|haiku-3-5)", ModelPrices.standard(0.80, 4)),
        (r"^(3-haiku|haiku-3)", ModelPrices(0.25, 1.25, 0.30, 0.50, 0.03)),
    )
)

_DATE_SUFFIX = re.compile(r"(-\d{8}|-v\d+(:\d+)?|@\d{8}|\[1m\])+$")


def normalise_model(model: str) -> str:
    """``us.anthropic.claude-sonnet-4-5-20250929-v1:0`` -> ``sonnet-4-5``."""
    name = model.strip().lower()
    at = name.find("claude-")
    if at >= 0:
        name = name[at + len("claude-") :]
    return _DATE_SUFFIX.sub("", name)


def builtin_lookup(model: str) -> ModelPrices | None:
    name = normalise_model(model)
    for pattern, prices in _TABLE:
        if pattern.search(name):
            return prices
    return None


@cache
def default_lookup() -> PriceLookup:
    """The shared pricing module's lookup when it exists, else the built-in table."""
    try:
        from claude_health.tools.usage.pricing_bridge import shared_lookup

        shared = shared_lookup()
    except Exception:  # the shared module is optional here; any failure means "not available"
        shared = None
    if shared is None:
        return builtin_lookup

    def lookup(model: str) -> ModelPrices | None:
        return shared(model) or builtin_lookup(model)

    return lookup


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
