"""A first load of the ledger, settled in Python: which rows stay, and the quarter-hour totals.

On an empty ledger the SQL that keeps it exact (per-row triggers for the quarter-hour totals, the
replay check) would run over every row after the parse. Here each process sums the quarters of
the rows it read while the other still parses, and the parent merges: the totals of both halves,
minus every copy that lost (the same response read by both, a sidechain replay of a main-chain
response). The result equals ``GROUP BY`` over the rows kept, which
``tests/test_usage_fork_reader.py`` checks against a single reader's ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from claude_health.tools.usage.rows import Key, Row, better, total

QUARTER_MS = 900_000
# (quarter, model, project, speed, price tier) -> [input, output, cc5m, cc1h, cc, cread, n]
Quarters = dict[tuple[int, str, str, str, int], list[int]]


def tier(row: Row | tuple[Any, ...]) -> int:
    """The long-context price tier of a request (see store._TIER: the same thresholds)."""
    whole = row[9] + row[13] + row[14]
    return 2 if whole > 200_000 else 1 if whole > 100_000 else 0


def quarters_of(rows: Iterable[Row], sign: int = 1, into: Quarters | None = None) -> Quarters:
    """Quarter-hour sums of ``rows`` added (``sign`` 1) or taken away (-1) from ``into``."""
    out: Quarters = {} if into is None else into
    get = out.get
    for r in rows:
        key = (r[2] // QUARTER_MS, r[3], r[4], r[8], tier(r))
        acc = get(key)
        if acc is None:
            acc = out[key] = [0, 0, 0, 0, 0, 0, 0]
        acc[0] += sign * r[9]
        acc[1] += sign * r[10]
        acc[2] += sign * r[11]
        acc[3] += sign * r[12]
        acc[4] += sign * r[13]
        acc[5] += sign * r[14]
        acc[6] += sign
    return out


def settle(own: dict[Key, Row], theirs: list[Row]) -> tuple[list[Row], list[Key], list[Row]]:
    """Merge the forked reader's rows into this process's, which are already stored.

    Returns the rows to upsert (theirs that are new or better), the stored keys to delete
    (replays that lose), and every row that is not kept (to take out of the quarter sums).
    Ties keep this process's copy, as a single reader keeps the first of equals.
    """
    final = dict(own)
    upsert: dict[Key, Row] = {}
    removed: list[Row] = []
    for row in theirs:
        key = (row[0], row[1])
        old = final.get(key)
        if old is None:
            final[key] = upsert[key] = row
        elif better(row, old):
            final[key] = upsert[key] = row
            removed.append(old)
        else:
            removed.append(row)
    # A sidechain copy of a response (same message.id, another requestId) loses to the main
    # chain; among sidechain copies only the largest survives (ties: the smaller requestId).
    side_msgs = {r[0] for r in final.values() if r[7] and r[0]}
    groups: dict[str, list[Row]] = {m: [] for m in side_msgs}
    for r in final.values():
        group = groups.get(r[0])
        if group is not None:
            group.append(r)
    delete: list[Key] = []
    for rows in groups.values():
        sides = [r for r in rows if r[7]]
        if any(not r[7] for r in rows):
            losers = sides
        else:
            keep = min(sides, key=lambda r: (-total(r), r[1]))
            losers = [r for r in sides if r is not keep]
        for r in losers:
            key = (r[0], r[1])
            del final[key]
            removed.append(r)
            upsert.pop(key, None)
            if key in own:  # stored already (this copy, or the one it replaced)
                delete.append(key)
    return sorted(upsert.values()), delete, removed
