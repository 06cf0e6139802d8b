"""A first load's sums from Python equal SQLite's own grouping of the same rows: the quarter-hour
totals as the ledger's quarters rule groups them, and the hour parts as the block walk's query
(``block_cache._hourly``) does; on the hour, at the long-context tier edges, and taken back out."""

from __future__ import annotations

import random
import sqlite3

from claude_health.tools.usage.aggregate import _TIER_SQL
from claude_health.tools.usage.block_cache import _hourly
from claude_health.tools.usage.bulk import HOUR_MS, QUARTER_MS, first_load_sums, quarters_of
from claude_health.tools.usage.rows import Row

# ruff: noqa: S608 - every SQL string here is built from constants.
COLUMNS = (
    "msg, req, ts, model, project, session, file, sidechain, speed, input, output, cc5m, cc1h, cc, cread"
)
START = 1_780_000_000_000 // HOUR_MS * HOUR_MS


def rows(count: int, seed: int) -> list[Row]:
    rng = random.Random(seed)
    out: list[Row] = []
    for i in range(count):
        # Whole hours (an entry on the hour opens a part of its own), quarter edges, and between.
        ts = START + rng.choice((0, HOUR_MS, QUARTER_MS, QUARTER_MS - 1, rng.randrange(6 * HOUR_MS)))
        # Prompts of exactly 100,000 and 200,000 tokens and one more: the tier edges.
        whole = rng.choice((100_000, 100_001, 200_000, 200_001, rng.randrange(1, 300_000)))
        cc = rng.randrange(whole + 1)
        cread = rng.randrange(whole - cc + 1)
        out.append(
            (
                f"msg_{i}",
                f"req_{i}",
                ts,
                rng.choice(("claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5")),
                rng.choice(("-home-a", "-home-b")),
                "session",
                1,
                0,
                rng.choice(("standard", "fast")),
                whole - cc - cread,
                rng.randrange(5000),
                rng.randrange(cc + 1),
                0,
                cc,
                cread,
            )
        )
    return out


def ledger(entries: list[Row]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE usage_entries ({COLUMNS})")
    conn.executemany(f"INSERT INTO usage_entries VALUES ({', '.join('?' * 15)})", entries)
    return conn


def grouped_quarters(conn: sqlite3.Connection) -> dict[tuple[int, str, str, str, int], list[int]]:
    query = (
        f"SELECT ts / {QUARTER_MS}, model, project, speed, {_TIER_SQL}, SUM(input), SUM(output),"
        " SUM(cc5m), SUM(cc1h), SUM(cc), SUM(cread), COUNT(*) FROM usage_entries GROUP BY 1, 2, 3, 4, 5"
    )
    return {tuple(row[:5]): list(row[5:]) for row in conn.execute(query)}


def test_one_pass_sums_equal_sqlites_grouping_of_the_same_rows() -> None:
    entries = rows(3000, seed=15)
    conn = ledger(entries)
    quarters, parts = first_load_sums(entries, parts=True)

    assert quarters == grouped_quarters(conn)
    expected_parts = {
        (hour, later, model, speed, tier): [first, last, *sums]
        for hour, later, first, last, model, speed, tier, *sums in conn.execute(_hourly("ts >= 0"))
    }
    assert parts == expected_parts
    assert any(key[1] == 0 for key in expected_parts)  # some entries fell on the hour
    assert {key[4] for key in quarters} == {0, 1, 2}  # and every tier was met


def test_without_hour_parts_the_quarters_are_the_same_and_no_parts_are_summed() -> None:
    entries = rows(500, seed=16)
    quarters, parts = first_load_sums(entries)
    assert parts is None
    assert quarters == grouped_quarters(ledger(entries))


def test_rows_taken_back_out_leave_the_sums_of_the_rest() -> None:
    entries = rows(800, seed=17)
    kept, lost = entries[:600], entries[600:]
    # The copies that lost, summed negative on their own (as the ledger takes them out) ...
    negative = quarters_of(lost, -1)
    assert negative == {key: [-v for v in acc] for key, acc in grouped_quarters(ledger(lost)).items()}
    # ... and taken out of the sums of every copy: the rest's sums, quarters emptied to zero.
    sums = quarters_of(entries)
    quarters_of(lost, -1, into=sums)
    emptied = {key: acc for key, acc in sums.items() if acc[6] == 0}
    assert emptied  # some quarters held only copies that lost
    assert all(not any(acc) for acc in emptied.values())
    assert {key: acc for key, acc in sums.items() if acc[6]} == grouped_quarters(ledger(kept))
