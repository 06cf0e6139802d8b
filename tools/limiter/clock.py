"""Where the limiter's stores read the time, and why each reads the clock it does.

A bucket is dated by the time it was last written. That date must mean the same thing to every
reader of the store, for as long as the store lives:

- ``memory://`` lives and dies with one process: it dates buckets with ``monotonic()``, which
  never steps within a process.
- ``sqlite:///`` outlives processes and reboots and is shared by every process of the machine:
  it dates buckets with the wall clock (``time()``, Unix seconds). ``monotonic()`` restarts at
  boot, so dates written before a reboot would lie in the future for hours or days (a drained
  bucket never refilled, a ``retry-after`` hold outlived its server's by the old uptime). A
  per-process "wall clock at start + monotonic since" is no better: two processes started on
  either side of a clock step disagree by the step, and a bucket handed back and forth between
  them would gain the step as refill on every hand-over.
- ``redis://`` uses the Redis server's own ``TIME`` (the wall clock of one machine).

The wall clock can step. The arithmetic in :mod:`claude_health.tools.limiter.bucket` makes a
step harmless in both directions: a date in the future (the clock went back) is re-dated to now,
so refill resumes at once at its normal rate (the bucket keeps its level: nothing is minted,
nothing wedges); a jump forward counts as elapsed time, and refill never fills a bucket past its
capacity. A ``retry-after`` hold is stored with its length and never has more than that length
left, so a step back cannot stretch it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, Protocol


class Clock(Protocol):
    """The two clocks a store may read (tests pass their own to simulate reboots and steps)."""

    def monotonic(self) -> float:
        """Seconds that only move forward, from an origin that restarts at boot."""
        ...

    def time(self) -> float:
        """Unix seconds (the wall clock): survives reboots, may step either way."""
        ...


class SystemClock:
    """The machine's clocks. The attributes are the ``time`` functions themselves (no wrapper
    call on the hot path)."""

    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)


SYSTEM = SystemClock()

ClockLike = Clock | Callable[[], float]
"""A :class:`Clock`, or one function used as both of its readings (a test's fake time)."""


def reader(clock: ClockLike | None, kind: Literal["monotonic", "time"]) -> Callable[[], float]:
    """The function a store calls for the time: ``clock``'s ``kind`` reading."""
    if clock is None:
        clock = SYSTEM
    read: Callable[[], float] | None = getattr(clock, kind, None)
    if read is not None and callable(read):
        return read
    if callable(clock):
        return clock
    raise TypeError(f"a limiter clock must be callable or have .monotonic() and .time(), got {clock!r}")
