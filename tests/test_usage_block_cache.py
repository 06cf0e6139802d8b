"""The block cache in the state database always equals a full walk over the entries."""

from __future__ import annotations

import itertools
import random
import sqlite3
from pathlib import Path
from typing import Any

from claude_health.tools.usage import aggregate, block_cache, store

H = 3_600_000
INSERT = (
    "INSERT INTO usage_entries (msg, req, ts, model, project, session, file, sidechain, speed,"
    " input, output, cc5m, cc1h, cc, cread)"
    " VALUES (?, '', ?, ?, 'p', 's', 1, 0, '', ?, 10, 0, 0, 0, 0)"
)
MODELS = ["claude-sonnet-4-5", "claude-opus-4-1"]
Shape = list[tuple[int, int, int, dict[tuple[str, str, int], list[int]]]]


def _insert(conn: sqlite3.Connection, key: str, ts: int, inp: int, model: str = "claude-sonnet-4-5") -> None:
    conn.execute(INSERT, (key, ts, model, inp))


def _shape(blocks: list[aggregate.RawBlock]) -> Shape:
    return [(b.start_ms, b.first_ms, b.last_ms, b.sums) for b in blocks]


def _full(conn: sqlite3.Connection) -> list[aggregate.RawBlock]:
    return aggregate.segment(
        conn.execute(f"SELECT {aggregate.ENTRY_COLUMNS} FROM usage_entries ORDER BY ts")  # noqa: S608
    )


def test_cache_follows_appends_inserts_in_the_past_updates_and_deletes(tmp_path: Path) -> None:
    conn = store.connect(tmp_path / "state.db")
    rng = random.Random(7)
    keys: list[str] = []
    base = 1_790_000_000_000
    for step in range(60):
        action = rng.random()
        if action < 0.55 or not keys:  # mostly new responses near the end, some far in the past
            recent = rng.random() < 0.8
            ts = base + (step * H // 2 + rng.randrange(H) if recent else rng.randrange(30 * H))
            key = f"k{step}"
            _insert(conn, key, ts, rng.randrange(1, 300_000), rng.choice(MODELS))
            keys.append(key)
        elif action < 0.8:
            conn.execute(
                "UPDATE usage_entries SET input = input + 7, ts = ts + ? WHERE msg = ?",
                (rng.randrange(-6 * H, 6 * H), rng.choice(keys)),
            )
        else:
            key = keys.pop(rng.randrange(len(keys)))
            conn.execute("DELETE FROM usage_entries WHERE msg = ?", (key,))
        if step % 3 == 0:  # reports come now and then, not after every change
            assert _shape(block_cache.cached_blocks(conn)) == _shape(_full(conn))
    assert _shape(block_cache.cached_blocks(conn)) == _shape(_full(conn))
    conn.close()


def test_a_refresh_rewalks_only_from_the_block_holding_the_change(tmp_path: Path) -> None:
    conn = store.connect(tmp_path / "state.db")
    for i in range(4):  # four blocks, 12 hours apart
        _insert(conn, f"k{i}", 1_790_000_000_000 + i * 12 * H, 100)
    first = block_cache.cached_blocks(conn)
    assert len(first) == 4
    _insert(conn, "late", 1_790_000_000_000 + 36 * H + 60_000, 5)
    since = conn.execute("SELECT since FROM usage_blocks_dirty").fetchone()[0]
    assert since == 1_790_000_000_000 + 36 * H + 60_000
    # Poison an older cached block: a refresh that re-walked it would repair it.
    conn.execute("UPDATE usage_blocks SET last = last + 1 WHERE start = ?", (first[0].start_ms,))
    again = block_cache.cached_blocks(conn)
    assert again[0].last_ms == first[0].last_ms + 1
    assert again[-1].sums[("claude-sonnet-4-5", "", 0)][6] == 2
    conn.close()


def test_a_bulk_first_scan_invalidates_the_cache(tmp_path: Path) -> None:
    conn = store.connect(tmp_path / "state.db")
    _insert(conn, "a", 1_790_000_000_000, 1)
    assert len(block_cache.cached_blocks(conn)) == 1
    store.drop_triggers(conn)  # what a first scan does around its bulk insert
    _insert(conn, "b", 1_790_000_000_000 + 20 * H, 1)
    store.create_triggers(conn)
    block_cache.invalidate(conn)
    assert _shape(block_cache.cached_blocks(conn)) == _shape(_full(conn))
    assert len(block_cache.cached_blocks(conn)) == 2
    conn.close()


def test_responses_after_the_last_cached_one_extend_the_final_block_without_walking_it(
    tmp_path: Path,
) -> None:
    conn = store.connect(tmp_path / "state.db")
    base = 1_790_000_000_000
    for i in range(3):
        _insert(conn, f"k{i}", base + i * 60_000, 100)
    (block,) = block_cache.cached_blocks(conn)
    # Poison the cached final block: carrying on from it keeps the poison, a re-walk would not.
    conn.execute("UPDATE usage_block_sums SET input = input + 1000 WHERE start = ?", (block.start_ms,))
    _insert(conn, "next", base + 10 * 60_000, 5)
    _insert(conn, "later", base + 20 * H, 7)  # far later: a new block after a gap
    again = block_cache.cached_blocks(conn)
    assert len(again) == 2
    assert again[0].sums[("claude-sonnet-4-5", "", 0)][0] == 3 * 100 + 1000 + 5
    assert again[0].last_ms == base + 10 * 60_000 and again[1].first_ms == base + 20 * H
    # An insert before the last cached response is not an append: the block is walked again.
    _insert(conn, "early", base + 30_000, 1)
    assert _shape(block_cache.cached_blocks(conn)) == _shape(_full(conn))
    conn.close()


def test_priced_blocks_cost_what_each_key_costs_through_the_price_table() -> None:
    """Blocks are priced in place; each (model, speed, size tier) sum costs exactly what
    ``cost_usd`` says, added in first-seen order, fast mode, long context and unpriced models
    included, and a gap sits wherever more than 5 hours pass between two blocks."""
    from claude_health.tools.usage.pricing import cost_usd, default_lookup

    lookup = default_lookup()
    rng = random.Random(11)
    models = ["claude-sonnet-4-5-20250929", "claude-opus-4-6", "claude-haiku-4-5-20251001", "no-such-model"]
    raw: list[aggregate.RawBlock] = []
    start = 1_790_000_000_000 - 1_790_000_000_000 % H
    for _ in range(40):
        block = aggregate.RawBlock(start, start + rng.randrange(H), start + 4 * H)
        for _ in range(rng.randrange(1, 6)):
            key = (rng.choice(models), rng.choice(["standard", "fast"]), rng.choice([0, 1, 2]))
            block.sums[key] = [rng.randrange(10**7) for _ in range(6)] + [rng.randrange(1, 99)]
        raw.append(block)
        start += rng.choice([5 * H, 6 * H, 30 * H])
    priced = [b for b in aggregate.price_blocks(raw, lookup, 0) if not b.is_gap]
    assert len(priced) == len(raw)
    gaps = sum(1 for a, b in itertools.pairwise(raw) if b.first_ms - a.last_ms > aggregate.BLOCK_MS)
    assert len(aggregate.price_blocks(raw, lookup, 0)) == len(raw) + gaps > len(raw)
    for rb, block in zip(raw, priced, strict=True):
        total, by_model = 0.0, {}
        for (model, speed, tier), (inp, out, c5, c1, _cc, cr, _n) in rb.sums.items():
            prices = lookup(model)
            threshold = prices.long_threshold if prices else None
            cost = cost_usd(
                prices,
                input_tokens=inp,
                output_tokens=out,
                cache_write_5m=c5,
                cache_write_1h=c1,
                cache_read=cr,
                fast=speed == "fast",
                long_context=threshold is not None and tier >= aggregate._TIER_OF.get(threshold, 99),
            )
            total += cost
            by_model[model] = by_model.get(model, 0.0) + cost
        assert block.tokens.cost_usd == total
        assert {m: t.cost_usd for m, t in block.models.items()} == by_model
        assert block.tokens.entries == sum(s[6] for s in rb.sums.values())
        assert block.tokens.input_tokens == sum(s[0] for s in rb.sums.values())
        assert block.tokens.cache_creation_input_tokens == sum(s[4] for s in rb.sums.values())
        assert block.tokens.total_tokens == sum(s[0] + s[1] + s[4] + s[5] for s in rb.sums.values())


def _ordered(blocks: list[aggregate.RawBlock]) -> list[tuple[int, int, int, list[Any]]]:
    """Blocks with their sums in key order (the order costs are added in)."""
    return [(b.start_ms, b.first_ms, b.last_ms, list(b.sums.items())) for b in blocks]


def test_hourly_sums_walk_exactly_as_single_entries_on_the_hour_ties_and_gaps(tmp_path: Path) -> None:
    """Blocks built from per-hour sums equal a walk over single entries, key order included:
    entries stamped exactly 5 hours after a block's start (the last ones it takes) and just
    after, gaps of exactly and just over 5 hours, several keys first seen at one millisecond."""
    conn = store.connect(tmp_path / "state.db")
    rng = random.Random(3)
    base = 1_790_000_000_000 - 1_790_000_000_000 % H
    moments = [
        base + 5 * H,  # closes the block started at base
        base + 5 * H + 1,  # opens the next
        base + 10 * H,
        base + 10 * H + 5 * H,  # exactly 5 hours after the previous entry
        base + 21 * H,  # just over
        base + 21 * H + 1,
    ]
    moments += [base + rng.randrange(40 * H) for _ in range(40)]
    moments += [base + rng.randrange(40) * H for _ in range(15)]  # on the hour
    n = 0
    for at in moments:
        for _ in range(rng.randrange(1, 5)):  # several entries (and keys) at the same millisecond
            model = rng.choice([*MODELS, "claude-haiku-4-5"])
            _insert(conn, f"m{n:03d}{rng.choice('zax')}", at, rng.choice([50, 150_000, 250_000]), model)
            n += 1
    block_cache.invalidate(conn)
    cached = block_cache.cached_blocks(conn)
    assert _ordered(cached) == _ordered(_full(conn))
    assert any(b.last_ms == b.start_ms + aggregate.BLOCK_MS for b in cached)
    # Some cached blocks stay, the rest are walked again from the one holding an old change.
    _insert(conn, "late", base + 12 * H + 7, 120_000, "claude-opus-4-1")
    assert _ordered(block_cache.cached_blocks(conn)) == _ordered(_full(conn))
    conn.close()
