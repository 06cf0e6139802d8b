"""The quarter-hour totals of a first load of the ledger, summed in Python.

On an empty ledger the per-row triggers that keep the quarter-hour totals exact would run over
every row. Here each process sums the quarters of the rows it read while the other still works,
and the ledger adds the two and takes out every copy that lost (the same response read by both,
a sidechain replay of a main-chain response; see :mod:`.staging`). The result equals ``GROUP BY``
over the rows kept, which ``tests/test_usage_fork_reader.py`` checks against a single reader's.
"""

from __future__ import annotations

from collections.abc import Iterable

from claude_health.tools.usage.rows import Row

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import Any

QUARTER_MS = 900_000
# (quarter, model, project, speed, price tier) -> [input, output, cc5m, cc1h, cc, cread, n]
Quarters = dict[tuple[int, str, str, str, int], list[int]]


def tier(row: Row | tuple[Any, ...]) -> int:
    """The long-context price tier of a request (see store._TIER: the same thresholds)."""
    whole = row[9] + row[13] + row[14]
    return 2 if whole > 200_000 else 1 if whole > 100_000 else 0


def quarters_of(rows: Iterable[Row], sign: int = 1, into: Quarters | None = None) -> Quarters:
    """Quarter-hour sums of ``rows`` added (``sign`` 1) or taken away (-1) from ``into``.

    It runs over every response of a first load in both processes: the tier is worked out
    inline (as :func:`tier`) and a new quarter starts from the row's own figures.
    """
    out: Quarters = {} if into is None else into
    get = out.get
    q = QUARTER_MS
    for r in rows:
        whole = r[9] + r[13] + r[14]
        key = (r[2] // q, r[3], r[4], r[8], 2 if whole > 200_000 else 1 if whole > 100_000 else 0)
        acc = get(key)
        if acc is None:
            out[key] = [
                sign * r[9],
                sign * r[10],
                sign * r[11],
                sign * r[12],
                sign * r[13],
                sign * r[14],
                sign,
            ]
        elif sign == 1:
            acc[0] += r[9]
            acc[1] += r[10]
            acc[2] += r[11]
            acc[3] += r[12]
            acc[4] += r[13]
            acc[5] += r[14]
            acc[6] += 1
        else:
            acc[0] -= r[9]
            acc[1] -= r[10]
            acc[2] -= r[11]
            acc[3] -= r[12]
            acc[4] -= r[13]
            acc[5] -= r[14]
            acc[6] -= 1
    return out
