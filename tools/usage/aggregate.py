"""Aggregates over the deduplicated entries: days, months, a rolling window, 5-hour blocks."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import time as dt_time

from claude_health.tools.usage.pricing import ModelPrices, PriceLookup, cost_usd
from claude_health.tools.usage.record import Record

# Plain records (see record.py): a warm report is a new process that runs this module.
TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import Any

HOUR_MS = 3_600_000
BLOCK_MS = 5 * HOUR_MS
QUARTER_MS = 900_000  # every real UTC offset is a multiple of 15 minutes


class Tokens(Record):
    """Token counts under the API's own usage field names, with API-equivalent cost."""

    __slots__ = (  # noqa: RUF023 - in the order of the fields
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "cost_usd",
        "entries",
    )

    def __init__(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_creation_input_tokens: int = 0,
        cache_read_input_tokens: int = 0,
        cost_usd: float = 0.0,
        entries: int = 0,
    ) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cache_creation_input_tokens = cache_creation_input_tokens
        self.cache_read_input_tokens = cache_read_input_tokens
        self.cost_usd = cost_usd
        self.entries = entries

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


class Bucket(Record):
    """A period's totals, broken down by model and by project."""

    __slots__ = ("totals", "models", "projects")  # noqa: RUF023 - in the order of the fields

    def __init__(
        self,
        totals: Tokens | None = None,
        models: dict[str, Tokens] | None = None,
        projects: dict[str, Tokens] | None = None,
    ) -> None:
        self.totals = Tokens() if totals is None else totals
        self.models: dict[str, Tokens] = {} if models is None else models
        self.projects: dict[str, Tokens] = {} if projects is None else projects

    def add(self, model: str, project: str, tokens: Tokens) -> None:
        # get-then-create, not setdefault: this runs once per report row, and setdefault would
        # build a throwaway Tokens each time.
        self.totals.add(tokens)
        by_model = self.models.get(model)
        if by_model is None:
            by_model = self.models[model] = Tokens()
        by_model.add(tokens)
        by_project = self.projects.get(project)
        if by_project is None:
            by_project = self.projects[project] = Tokens()
        by_project.add(tokens)

    def to_json(self) -> dict[str, Any]:
        out = self.totals.to_json()
        out["models"] = {m: t.to_json() for m, t in sorted(self.models.items())}
        out["projects"] = {p: t.to_json() for p, t in sorted(self.projects.items())}
        return out


class _Sums:
    """A bucket's raw sums (input, output, cache writes, cache reads, cost, entries) by model and
    project, added in row order so costs add up exactly as through :class:`Bucket`."""

    __slots__ = ("models", "projects", "totals")

    def __init__(self) -> None:
        self.totals = [0, 0, 0, 0, 0.0, 0]
        self.models: dict[str, list[Any]] = {}
        self.projects: dict[str, list[Any]] = {}

    def add(self, model: str, project: str, row: tuple[int, int, int, int, float, int]) -> None:
        inp, out, cc, cr, cost, n = row
        for acc in (
            self.totals,
            self.models.get(model) or self.models.setdefault(model, [0, 0, 0, 0, 0.0, 0]),
            self.projects.get(project) or self.projects.setdefault(project, [0, 0, 0, 0, 0.0, 0]),
        ):
            acc[0] += inp
            acc[1] += out
            acc[2] += cc
            acc[3] += cr
            acc[4] += cost
            acc[5] += n

    def bucket(self) -> Bucket:
        return Bucket(
            _tokens(self.totals),
            {m: _tokens(v) for m, v in self.models.items()},
            {p: _tokens(v) for p, v in self.projects.items()},
        )


def _tokens(acc: list[Any]) -> Tokens:
    inp, out, cc, cr, cost, n = acc
    return Tokens(inp, out, cc, cr, cost, n)


class _Pricer:
    """Per-model price lookups, cached, remembering models without a price."""

    def __init__(self, lookup: PriceLookup) -> None:
        self._lookup = lookup
        self._cache: dict[str, ModelPrices | None] = {}
        self._factors: dict[tuple[str, str, int], tuple[float, ...]] = {}
        self.unpriced: set[str] = set()

    def prices(self, model: str) -> ModelPrices | None:
        if model not in self._cache:
            found = self._lookup(model)
            self._cache[model] = found
            if found is None:
                self.unpriced.add(model)
        return self._cache[model]

    def cost(self, model: str, speed: str, tier: int, inp: int, out: int, c5: int, c1: int, cr: int) -> float:
        """:func:`cost_usd` of one grouped row, with the per-model factors worked out once."""
        key = (model, speed, tier)
        factors = self._factors.get(key)
        if factors is None:
            prices = self.prices(model)
            if prices is None:
                factors = self._factors[key] = (0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0)
            else:
                threshold = prices.long_threshold
                long = threshold is not None and tier >= _TIER_OF.get(threshold, 99)
                in_mult = prices.long_input_multiplier if long and threshold else 1.0
                out_mult = prices.long_output_multiplier if long and threshold else 1.0
                factors = self._factors[key] = (
                    prices.input,
                    prices.cache_write_5m,
                    prices.cache_write_1h,
                    prices.cache_read,
                    prices.output,
                    in_mult,
                    out_mult,
                    prices.fast_multiplier if speed == "fast" else 1.0,
                )
        p_in, p_c5, p_c1, p_cr, p_out, in_mult, out_mult, fast = factors
        # The expression of cost_usd, term for term, so the floats come out the same.
        total = (
            (inp * p_in + c5 * p_c5 + c1 * p_c1 + cr * p_cr) * in_mult + out * p_out * out_mult
        ) / 1_000_000
        return total * fast if fast != 1.0 else total

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


ENTRIES = "usage_entries"

_GROUPED = f"""
SELECT ts / ? AS q, model, project, speed, {_TIER_SQL} AS tier,
       SUM(input), SUM(output), SUM(cc5m), SUM(cc1h), SUM(cc), SUM(cread), COUNT(*)
FROM {{source}} WHERE ts >= ? AND ts < ? GROUP BY q, model, project, speed, tier
"""  # noqa: S608 - a constant expression, no user input


class PeriodReport(Record):
    __slots__ = ("periods", "totals", "unpriced_models")

    def __init__(self, periods: dict[str, Bucket], totals: Bucket, unpriced_models: list[str]) -> None:
        self.periods = periods
        self.totals = totals
        self.unpriced_models = unpriced_models


def by_period(
    conn: sqlite3.Connection,
    lookup: PriceLookup,
    tz: tzinfo,
    fmt: str = "%Y-%m-%d",
    *,
    since_ms: int = 0,
    until_ms: int = 2**62,
    source: str = ENTRIES,
) -> PeriodReport:
    """Totals per local calendar period (``fmt`` ``%Y-%m-%d`` for days, ``%Y-%m`` for months).

    Local days are labelled in Python (time zone rules, DST) into a temporary table of
    quarter-hour ranges, and SQLite sums the quarter-hour totals per label (one range scan per
    day: the CROSS JOIN keeps the days as the outer loop), so Python handles one row per period,
    model, project and price tier. ``source`` (a table expression over the entries, see
    :func:`claude_health.tools.usage.store.existing_only_source`) narrows the entries counted;
    the quarter-hour totals cover every entry, so a narrowed report labels the entries instead.
    """
    pricer = _Pricer(lookup)
    periods: dict[str, Bucket] = {}
    sums = "SUM(s.input), SUM(s.output), SUM(s.cc5m), SUM(s.cc1h), SUM(s.cc), SUM(s.cread), SUM(s.n)"
    group = "GROUP BY l.label, s.model, s.project, s.speed, s.tier"
    aligned = since_ms % QUARTER_MS == 0 and (until_ms >= 2**62 or until_ms % QUARTER_MS == 0)
    cached = (
        _from_day_cache(conn, tz, fmt) if since_ms == 0 and until_ms >= 2**62 and source == ENTRIES else None
    )
    rows: Iterable[tuple[Any, ...]]
    if cached is not None:
        rows = cached
    elif aligned and source == ENTRIES:
        lo_q, hi_q = since_ms // QUARTER_MS, until_ms // QUARTER_MS
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS usage_days"
            " (lo INTEGER PRIMARY KEY, hi INTEGER NOT NULL, label TEXT NOT NULL)"
        )
        conn.execute("DELETE FROM temp.usage_days")
        conn.executemany(
            "INSERT INTO temp.usage_days VALUES (?, ?, ?)",
            [
                (lo, min(hi, hi_q), label)
                for lo, hi, label in _local_days(_used_quarters(conn, lo_q, hi_q), tz, fmt)
            ],
        )
        # The bounds live in the day table only: a WHERE on s.q would make SQLite scan that
        # constant range once per day instead of each day's own range.
        rows = conn.execute(
            f"""SELECT l.label, s.model, s.project, s.speed, s.tier, {sums}
                FROM temp.usage_days AS l CROSS JOIN usage_quarters AS s ON s.q >= l.lo AND s.q < l.hi
                WHERE s.n > 0 {group}"""  # noqa: S608 - constant SQL
        )
    else:  # a window not on quarter-hours (a rolling week): label each quarter of its entries
        source = (
            f"SELECT ts / {QUARTER_MS} AS q, model, project, speed, {_TIER_SQL} AS tier, input, output,"  # noqa: S608
            f" cc5m, cc1h, cc, cread, 1 AS n FROM {source} WHERE ts >= ? AND ts < ?"
        )
        params = (since_ms, until_ms)
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS usage_labels (q INTEGER PRIMARY KEY, label TEXT NOT NULL)"
        )
        conn.execute("DELETE FROM temp.usage_labels")
        found = [row[0] for row in conn.execute(f"SELECT DISTINCT q FROM ({source})", params)]  # noqa: S608
        conn.executemany(
            "INSERT INTO temp.usage_labels VALUES (?, ?)",
            [
                (q, datetime.fromtimestamp(q * QUARTER_MS / 1000, UTC).astimezone(tz).strftime(fmt))
                for q in found
            ],
        )
        rows = conn.execute(
            f"""SELECT l.label, s.model, s.project, s.speed, s.tier, {sums}
                FROM ({source}) AS s JOIN temp.usage_labels AS l ON l.q = s.q {group}""",  # noqa: S608
            params,
        )
    # Raw sums first, Tokens objects once per bucket at the end: a year's daily report has
    # tens of thousands of rows here, each counted in its day and in the totals.
    cost = pricer.cost
    per_day: dict[str, _Sums] = {}
    every = _Sums()
    for label, model, project, speed, tier, inp, out, c5, c1, cc, cr, n in rows:
        row = (inp, out, cc, cr, cost(model, speed, tier, inp, out, c5, c1, cr), n)
        day = per_day.get(label)
        if day is None:
            day = per_day[label] = _Sums()
        day.add(model, project, row)
        every.add(model, project, row)
    for label, day in per_day.items():
        periods[label] = day.bucket()
    return PeriodReport(dict(sorted(periods.items())), every.bucket(), sorted(pricer.unpriced))


def _used_quarters(conn: sqlite3.Connection, lo_q: int, hi_q: int) -> Generator[int, int, None]:
    """The first quarter holding usage at or after each quarter sent in (one index seek each).

    Started with ``next()``, it yields the first used quarter from ``lo_q``; ``send(q)`` asks for
    the first one at or after ``q``. So a year of history costs a seek per active day, not a
    fetch of its 35,000 quarter-hours.
    """
    at = lo_q
    while True:
        row = conn.execute(
            "SELECT MIN(q) FROM usage_quarters WHERE q >= ? AND q < ? AND n > 0", (at, hi_q)
        ).fetchone()
        if row is None or row[0] is None:
            return
        at = yield int(row[0])


def _from_day_cache(conn: sqlite3.Connection, tz: tzinfo, fmt: str) -> list[tuple[Any, ...]] | None:
    """The rows of a whole-history daily or monthly report, from the per-day cache (see
    :mod:`.period_cache`); None when the cache cannot serve (another format, a zone without a
    stable name, a database that cannot be written)."""
    from claude_health.tools.usage import period_cache

    zone = period_cache.zone_key(tz)
    if zone is None or fmt not in ("%Y-%m-%d", "%Y-%m"):
        return None
    try:
        days = period_cache.day_rows(conn, tz, zone)
    except sqlite3.Error:
        return None
    if fmt == "%Y-%m-%d":
        return days
    # Months: integer sums per month first, then priced, as the grouped query would do.
    months: dict[tuple[Any, ...], list[int]] = {}
    for day, model, project, speed, tier, *sums in days:
        key = (day[:7], model, project, speed, tier)
        acc = months.get(key)
        if acc is None:
            months[key] = list(sums)
        else:
            for i, v in enumerate(sums):
                acc[i] += v
    return [(*key, *sums) for key, sums in sorted(months.items())]


def local_day_ranges(
    conn: sqlite3.Connection, tz: tzinfo, lo_q: int, hi_q: int
) -> list[tuple[int, int, str]]:
    """``(first used quarter, end quarter, date)`` of each local day with usage in ``[lo_q, hi_q)``."""
    return [
        (lo, min(hi, hi_q), label)
        for lo, hi, label in _local_days(_used_quarters(conn, lo_q, hi_q), tz, "%Y-%m-%d")
    ]


def _local_days(quarters: Generator[int, int, None], tz: tzinfo, fmt: str) -> list[tuple[int, int, str]]:
    """``(first quarter, end quarter, label)`` of each local day holding a used quarter.

    A day or month label is constant from one local midnight to the next, so a label is worked
    out once per day instead of once per quarter-hour (a year has 35,000 of those).
    """
    days: list[tuple[int, int, str]] = []
    try:
        q = next(quarters)
        while True:
            local = datetime.fromtimestamp(q * QUARTER_MS / 1000, UTC).astimezone(tz)
            midnight = datetime.combine(local.date() + timedelta(days=1), dt_time(0), tzinfo=tz)
            end = max(q + 1, -(-int(midnight.timestamp() * 1000) // QUARTER_MS))
            days.append((q, end, local.strftime(fmt)))
            q = quarters.send(end)
    except StopIteration:
        pass
    return days


def window(
    conn: sqlite3.Connection, lookup: PriceLookup, since_ms: int, until_ms: int, *, source: str = ENTRIES
) -> tuple[Bucket, list[str]]:
    """One bucket for ``[since_ms, until_ms)`` (the rolling 7 days, an official window...)."""
    pricer = _Pricer(lookup)
    bucket = Bucket()
    for _q, model, project, speed, tier, inp, out, c5, c1, cc, cr, n in conn.execute(
        _GROUPED.format(source=source), (BLOCK_MS * 1000, since_ms, until_ms)
    ):
        bucket.add(model, project, pricer.tokens(model, speed, inp, out, c5, c1, cc, cr, n, tier))
    return bucket, sorted(pricer.unpriced)


# -- 5-hour blocks -------------------------------------------------------------------------------


class Block(Record):
    __slots__ = (  # noqa: RUF023 - in the order of the fields
        "start_ms",
        "end_ms",
        "first_ms",
        "last_ms",
        "is_gap",
        "is_active",
        "tokens",
        "models",
    )

    def __init__(
        self,
        start_ms: int,
        end_ms: int,
        first_ms: int,
        last_ms: int,
        is_gap: bool = False,
        is_active: bool = False,
        tokens: Tokens | None = None,
        models: dict[str, Tokens] | None = None,
    ) -> None:
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.first_ms = first_ms
        self.last_ms = last_ms
        self.is_gap = is_gap
        self.is_active = is_active
        self.tokens = Tokens() if tokens is None else tokens
        self.models: dict[str, Tokens] = {} if models is None else models

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


# Raw sums of one (model, speed, price tier) in a block: input, output, cc5m, cc1h, cc, cread, n.
SumKey = tuple[str, str, int]


class RawBlock(Record):
    """A block's extent and unpriced sums, in first-seen key order (so costs add up identically)."""

    __slots__ = ("start_ms", "first_ms", "last_ms", "sums")  # noqa: RUF023 - in the order of the fields

    def __init__(
        self, start_ms: int, first_ms: int, last_ms: int, sums: dict[SumKey, list[int]] | None = None
    ) -> None:
        self.start_ms = start_ms
        self.first_ms = first_ms
        self.last_ms = last_ms
        self.sums: dict[SumKey, list[int]] = {} if sums is None else sums


def segment(rows: Iterable[tuple[Any, ...]], seed: RawBlock | None = None) -> list[RawBlock]:
    """Group entries (sorted by time) into 5-hour blocks of raw sums.

    A block starts at its first entry floored to the UTC hour and lasts 5 hours; an entry more
    than 5 hours after the block start or after the previous entry opens a new block. ``seed``
    is a block already walked up to its last entry: the walk goes on from it (entries appended
    after a cached history), and it is the first block returned.
    """
    out: list[RawBlock] = [] if seed is None else [seed]
    cur: RawBlock | None = seed
    sums: dict[SumKey, list[int]] = {} if seed is None else seed.sums
    low, high = _TIERS
    for ts, model, speed, inp, out_t, c5, c1, cc, cr in rows:
        if cur is None or ts - cur.start_ms > BLOCK_MS or ts - cur.last_ms > BLOCK_MS:
            sums = {}
            cur = RawBlock(ts - ts % HOUR_MS, ts, ts, sums)
            out.append(cur)
        cur.last_ms = ts
        whole = inp + cc + cr
        key = (model, speed, 2 if whole > high else 1 if whole > low else 0)
        acc = sums.get(key)
        if acc is None:
            sums[key] = [inp, out_t, c5, c1, cc, cr, 1]
        else:
            acc[0] += inp
            acc[1] += out_t
            acc[2] += c5
            acc[3] += c1
            acc[4] += cc
            acc[5] += cr
            acc[6] += 1
    return out


def segment_hours(groups: Iterable[tuple[Any, ...]]) -> list[RawBlock]:
    """:func:`segment` over entries summed per clock hour, with the same result.

    ``groups``: ``(hour, not_on_the_hour, first_ts, last_ts, model, speed, tier, input, output,
    cc5m, cc1h, cc, cread, n)``, sorted by hour, then ``not_on_the_hour``, then the order in which
    the walk over single entries first meets each key. Every entry of such a part of an hour
    falls in one block: a block starts on a clock hour and takes entries up to exactly 5 hours
    later, so only an entry stamped exactly on the hour can close the block before it, and it is
    kept apart (``not_on_the_hour`` 0); entries of one hour are less than 5 hours apart. So a
    part opens a new block exactly when its first entry would.
    """
    out: list[RawBlock] = []
    cur = RawBlock(-(2**62), -(2**62), -(2**62))  # long before any entry: the first opens a block
    sums: dict[SumKey, list[int]] = {}
    part = None
    for hour, later, first, last, model, speed, tier, inp, out_t, c5, c1, cc, cr, n in groups:
        if (hour, later) != part:
            part = (hour, later)
            if first - cur.start_ms > BLOCK_MS or first - cur.last_ms > BLOCK_MS:
                sums = {}
                cur = RawBlock(first - first % HOUR_MS, first, first, sums)
                out.append(cur)
        if last > cur.last_ms:
            cur.last_ms = last
        key = (model, speed, tier)
        acc = sums.get(key)
        if acc is None:
            sums[key] = [inp, out_t, c5, c1, cc, cr, n]
        else:
            acc[0] += inp
            acc[1] += out_t
            acc[2] += c5
            acc[3] += c1
            acc[4] += cc
            acc[5] += cr
            acc[6] += n
    return out


def price_blocks(raw: Iterable[RawBlock], lookup: PriceLookup, now_ms: int) -> list[Block]:
    """Priced blocks, with a gap block wherever more than 5 hours pass between two blocks."""
    pricer = _Pricer(lookup)
    blocks: list[Block] = []
    prev: RawBlock | None = None
    for rb in raw:
        if prev is not None and rb.first_ms - prev.last_ms > BLOCK_MS:
            blocks.append(Block(prev.last_ms + BLOCK_MS, rb.first_ms, rb.first_ms, rb.first_ms, is_gap=True))
        block = Block(rb.start_ms, rb.start_ms + BLOCK_MS, rb.first_ms, rb.last_ms)
        models = block.models
        # Added in place, not through a Tokens per row (a warm report prices every cached block).
        for (model, speed, tier), (inp, out, c5, c1, cc, cr, n) in rb.sums.items():
            cost = pricer.cost(model, speed, tier, inp, out, c5, c1, cr)
            by_model = models.get(model)
            if by_model is None:
                by_model = models[model] = Tokens()
            for acc in (block.tokens, by_model):
                acc.input_tokens += inp
                acc.output_tokens += out
                acc.cache_creation_input_tokens += cc
                acc.cache_read_input_tokens += cr
                acc.cost_usd += cost
                acc.entries += n
        # Both bounds matter: an entry stamped in the future must not make its block look
        # active (a negative distance would pass a one-sided test) and hide the real one.
        block.is_active = block.start_ms <= now_ms < block.end_ms and 0 <= now_ms - block.last_ms < BLOCK_MS
        blocks.append(block)
        prev = rb
    return blocks


def build_blocks(rows: Iterable[tuple[Any, ...]], lookup: PriceLookup, now_ms: int) -> list[Block]:
    """Priced 5-hour blocks (and gaps) of entries sorted by time."""
    return price_blocks(segment(rows), lookup, now_ms)


ENTRY_COLUMNS = "ts, model, speed, input, output, cc5m, cc1h, cc, cread"


def load_blocks(
    conn: sqlite3.Connection, lookup: PriceLookup, now_ms: int, *, since_ms: int = 0, source: str = ENTRIES
) -> list[Block]:
    """Blocks over the whole history (from the block cache), or segmented afresh from ``since_ms``
    (or over a narrowed ``source``, which the cache does not cover)."""
    if since_ms <= 0 and source == ENTRIES:
        from claude_health.tools.usage.block_cache import cached_blocks  # a cycle: it builds on this module

        return price_blocks(cached_blocks(conn), lookup, now_ms)
    rows = conn.execute(
        f"SELECT {ENTRY_COLUMNS} FROM {source} WHERE ts >= ? ORDER BY ts",  # noqa: S608 - constant
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
