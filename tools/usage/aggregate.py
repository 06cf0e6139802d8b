"""Aggregates over the deduplicated entries: days, months, a rolling window, 5-hour blocks."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from claude_health.tools.usage.pricing import ModelPrices, PriceLookup, cost_usd

HOUR_MS = 3_600_000
BLOCK_MS = 5 * HOUR_MS
QUARTER_MS = 900_000  # every real UTC offset is a multiple of 15 minutes


@dataclass
class Tokens:
    """Token counts under the API's own usage field names, with API-equivalent cost."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0
    entries: int = 0

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
        )

    def add(self, other: Tokens) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_creation_input_tokens += other.cache_creation_input_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.cost_usd += other.cost_usd
        self.entries += other.entries

    def to_json(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "entries": self.entries,
        }


@dataclass
class Bucket:
    """A period's totals, broken down by model and by project."""

    totals: Tokens = field(default_factory=Tokens)
    models: dict[str, Tokens] = field(default_factory=dict)
    projects: dict[str, Tokens] = field(default_factory=dict)

    def add(self, model: str, project: str, tokens: Tokens) -> None:
        self.totals.add(tokens)
        self.models.setdefault(model, Tokens()).add(tokens)
        self.projects.setdefault(project, Tokens()).add(tokens)

    def to_json(self) -> dict[str, Any]:
        out = self.totals.to_json()
        out["models"] = {m: t.to_json() for m, t in sorted(self.models.items())}
        out["projects"] = {p: t.to_json() for p, t in sorted(self.projects.items())}
        return out


class _Pricer:
    """Per-model price lookups, cached, remembering models without a price."""

    def __init__(self, lookup: PriceLookup) -> None:
        self._lookup = lookup
        self._cache: dict[str, ModelPrices | None] = {}
        self.unpriced: set[str] = set()

    def prices(self, model: str) -> ModelPrices | None:
        if model not in self._cache:
            found = self._lookup(model)
            self._cache[model] = found
            if found is None:
                self.unpriced.add(model)
        return self._cache[model]

    def tokens(
        self,
        model: str,
        speed: str,
        inp: int,
        out: int,
        c5: int,
        c1: int,
        cc: int,
        cr: int,
        n: int,
        size_tier: int = 0,
    ) -> Tokens:
        prices = self.prices(model)
        threshold = prices.long_threshold if prices else None
        cost = cost_usd(
            prices,
            input_tokens=inp,
            output_tokens=out,
            cache_write_5m=c5,
            cache_write_1h=c1,
            cache_read=cr,
            fast=speed == "fast",
            long_context=threshold is not None and size_tier >= _TIER_OF.get(threshold, 99),
        )
        return Tokens(inp, out, cc, cr, cost, n)


# Requests are grouped by whole-input size against every long-context threshold in use, so a
# model's step can be applied exactly from grouped rows.
_TIERS = (100_000, 200_000)
_TIER_OF = {threshold: i + 1 for i, threshold in enumerate(_TIERS)}
_TIER_SQL = (
    "(CASE WHEN input + cc + cread > 200000 THEN 2 WHEN input + cc + cread > 100000 THEN 1 ELSE 0 END)"
)


_GROUPED = f"""
SELECT ts / ? AS q, model, project, speed, {_TIER_SQL} AS tier,
       SUM(input), SUM(output), SUM(cc5m), SUM(cc1h), SUM(cc), SUM(cread), COUNT(*)
FROM usage_entries WHERE ts >= ? AND ts < ? GROUP BY q, model, project, speed, tier
"""  # noqa: S608 - a constant expression, no user input


@dataclass
class PeriodReport:
    periods: dict[str, Bucket]
    totals: Bucket
    unpriced_models: list[str]


def by_period(
    conn: sqlite3.Connection,
    lookup: PriceLookup,
    tz: tzinfo,
    fmt: str = "%Y-%m-%d",
    *,
    since_ms: int = 0,
    until_ms: int = 2**62,
) -> PeriodReport:
    """Totals per local calendar period (``fmt`` ``%Y-%m-%d`` for days, ``%Y-%m`` for months).

    Quarter-hours are labelled in Python (time zone rules, DST) through a temporary table, and
    SQLite sums per label, so Python handles one row per period, model, project and price tier.
    """
    pricer = _Pricer(lookup)
    periods: dict[str, Bucket] = {}
    totals = Bucket()
    whole_quarters = since_ms % QUARTER_MS == 0 and (until_ms >= 2**62 or until_ms % QUARTER_MS == 0)
    if whole_quarters:
        source = "SELECT * FROM usage_quarters WHERE q >= ? AND q < ? AND n > 0"
        params: tuple[int, ...] = (since_ms // QUARTER_MS, until_ms // QUARTER_MS)
    else:
        source = (
            f"SELECT ts / {QUARTER_MS} AS q, model, project, speed, {_TIER_SQL} AS tier, input, output,"  # noqa: S608
            " cc5m, cc1h, cc, cread, 1 AS n FROM usage_entries WHERE ts >= ? AND ts < ?"
        )
        params = (since_ms, until_ms)
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS usage_labels (q INTEGER PRIMARY KEY, label TEXT NOT NULL)")
    conn.execute("DELETE FROM temp.usage_labels")
    quarters = [row[0] for row in conn.execute(f"SELECT DISTINCT q FROM ({source})", params)]  # noqa: S608
    conn.executemany(
        "INSERT INTO temp.usage_labels VALUES (?, ?)",
        [
            (q, datetime.fromtimestamp(q * QUARTER_MS / 1000, UTC).astimezone(tz).strftime(fmt))
            for q in quarters
        ],
    )
    rows = conn.execute(
        f"""SELECT l.label, s.model, s.project, s.speed, s.tier, SUM(s.input), SUM(s.output), SUM(s.cc5m),
                   SUM(s.cc1h), SUM(s.cc), SUM(s.cread), SUM(s.n)
            FROM ({source}) AS s JOIN temp.usage_labels AS l ON l.q = s.q
            GROUP BY l.label, s.model, s.project, s.speed, s.tier""",  # noqa: S608 - constant SQL
        params,
    )
    for label, model, project, speed, tier, inp, out, c5, c1, cc, cr, n in rows:
        tokens = pricer.tokens(model, speed, inp, out, c5, c1, cc, cr, n, tier)
        periods.setdefault(label, Bucket()).add(model, project, tokens)
        totals.add(model, project, tokens)
    return PeriodReport(dict(sorted(periods.items())), totals, sorted(pricer.unpriced))


def window(
    conn: sqlite3.Connection, lookup: PriceLookup, since_ms: int, until_ms: int
) -> tuple[Bucket, list[str]]:
    """One bucket for ``[since_ms, until_ms)`` (the rolling 7 days, an official window...)."""
    pricer = _Pricer(lookup)
    bucket = Bucket()
    for _q, model, project, speed, tier, inp, out, c5, c1, cc, cr, n in conn.execute(
        _GROUPED, (BLOCK_MS * 1000, since_ms, until_ms)
    ):
        bucket.add(model, project, pricer.tokens(model, speed, inp, out, c5, c1, cc, cr, n, tier))
    return bucket, sorted(pricer.unpriced)


# -- 5-hour blocks -------------------------------------------------------------------------------


@dataclass
class Block:
    start_ms: int
    end_ms: int
    first_ms: int
    last_ms: int
    is_gap: bool = False
    is_active: bool = False
    tokens: Tokens = field(default_factory=Tokens)
    models: dict[str, Tokens] = field(default_factory=dict)

    def burn_rate(self) -> dict[str, float] | None:
        """Tokens per minute over first-to-last entry (ccusage's definition), and $ per hour."""
        minutes = (self.last_ms - self.first_ms) / 60_000
        if self.is_gap or minutes <= 0:
            return None
        return {
            "tokens_per_minute": round(self.tokens.total_tokens / minutes, 3),
            "cost_per_hour": round(self.tokens.cost_usd / minutes * 60, 6),
        }

    def to_json(self, now_ms: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": _iso(self.start_ms),
            "end": _iso(self.end_ms),
            "actual_end": None if self.is_gap else _iso(self.last_ms),
            "is_active": self.is_active,
            "is_gap": self.is_gap,
        }
        out.update(self.tokens.to_json())
        out["models"] = {m: t.to_json() for m, t in sorted(self.models.items())}
        rate = self.burn_rate()
        out["burn_rate"] = rate
        if self.is_active and rate is not None:
            remaining_min = max(0.0, (self.end_ms - now_ms) / 60_000)
            out["projection"] = {
                "total_tokens": round(self.tokens.total_tokens + rate["tokens_per_minute"] * remaining_min),
                "cost_usd": round(self.tokens.cost_usd + rate["cost_per_hour"] * remaining_min / 60, 6),
                "remaining_minutes": round(remaining_min, 1),
            }
        else:
            out["projection"] = None
        return out


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def floor_hour(ms: int) -> int:
    return ms - ms % HOUR_MS


def build_blocks(rows: Iterable[tuple[Any, ...]], lookup: PriceLookup, now_ms: int) -> list[Block]:
    """Group entries (sorted by time) into 5-hour blocks, with gap blocks between idle spells.

    A block starts at its first entry floored to the UTC hour and lasts 5 hours; an entry more
    than 5 hours after the block start or after the previous entry opens a new block.
    """
    pricer = _Pricer(lookup)
    blocks: list[Block] = []
    cur: Block | None = None
    # Raw sums per (model, speed, price tier) of the open block; priced once when it closes.
    sums: dict[tuple[str, str, int], list[int]] = {}

    def close(block: Block) -> None:
        for (model, speed, tier), (inp, out, c5, c1, cc, cr, n) in sums.items():
            tokens = pricer.tokens(model, speed, inp, out, c5, c1, cc, cr, n, tier)
            block.tokens.add(tokens)
            block.models.setdefault(model, Tokens()).add(tokens)
        sums.clear()
        blocks.append(block)

    low, high = _TIERS
    for ts, model, speed, inp, out, c5, c1, cc, cr in rows:
        if cur is not None and (ts - cur.start_ms > BLOCK_MS or ts - cur.last_ms > BLOCK_MS):
            close(cur)
            if ts - cur.last_ms > BLOCK_MS:
                blocks.append(Block(cur.last_ms + BLOCK_MS, ts, ts, ts, is_gap=True))
            cur = None
        if cur is None:
            start = ts - ts % HOUR_MS
            cur = Block(start, start + BLOCK_MS, ts, ts)
        cur.last_ms = ts
        whole = inp + cc + cr
        key = (model, speed, 2 if whole > high else 1 if whole > low else 0)
        acc = sums.get(key)
        if acc is None:
            sums[key] = [inp, out, c5, c1, cc, cr, 1]
        else:
            acc[0] += inp
            acc[1] += out
            acc[2] += c5
            acc[3] += c1
            acc[4] += cc
            acc[5] += cr
            acc[6] += 1
    if cur is not None:
        close(cur)
    for block in blocks:
        block.is_active = not block.is_gap and now_ms - block.last_ms < BLOCK_MS and now_ms < block.end_ms
    return blocks


def load_blocks(
    conn: sqlite3.Connection, lookup: PriceLookup, now_ms: int, *, since_ms: int = 0
) -> list[Block]:
    rows = conn.execute(
        "SELECT ts, model, speed, input, output, cc5m, cc1h, cc, cread FROM usage_entries"
        " WHERE ts >= ? ORDER BY ts",
        (since_ms,),
    )
    return build_blocks(rows, lookup, now_ms)


def week_ago(now: datetime) -> datetime:
    return now - timedelta(days=7)


def unpriced_models(conn: sqlite3.Connection, lookup: PriceLookup) -> list[str]:
    """Models in the whole history that the price table does not know."""
    pricer = _Pricer(lookup)
    for (model,) in conn.execute("SELECT DISTINCT model FROM usage_quarters WHERE n > 0"):
        pricer.prices(model)
    return sorted(pricer.unpriced)
