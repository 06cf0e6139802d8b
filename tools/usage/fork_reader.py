"""When a usage scan hands part of its files to a second, forked reader.

Parsing JSON lines is what a first scan of a long history spends its time on, and it splits
cleanly by file (see :mod:`claude_health.tools.forked` for the child itself).
"""

from __future__ import annotations

from collections.abc import Sequence

# Below this many bytes to read, a fork costs more than it saves (warm runs read ~1 MiB).
MIN_BYTES = 16 * 1024 * 1024
# The child's share of the bytes, from phase traces of both processes. On 200 MiB the child does
# a little more per byte before the merge (it also sorts and serialises its rows) and an even
# split left this process waiting 18-30 ms for it: 0.47 balanced them. On 1 GiB this process's
# writes into the ledger (a deeper tree, more quarter-hour rows) cost more per byte, and 0.47
# left the child idle for 90-170 ms: about 0.49 would balance them. 0.48 serves both.
CHILD_SHARE = 0.48


def split_point(sizes: Sequence[int]) -> int:
    """How many leading items (of these byte sizes) to hand to the child; 0 for no fork."""
    total = sum(sizes)
    if total < MIN_BYTES or len(sizes) < 2:
        return 0
    from claude_health.tools.forked import can_fork  # pickle and threads: only for a long read

    if not can_fork():
        return 0
    running = 0
    for i, size in enumerate(sizes):
        running += size
        if running >= total * (1 - CHILD_SHARE):
            return max(1, min(i + 1, len(sizes) - 1))
    return len(sizes) - 1
