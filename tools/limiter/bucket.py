"""Continuous-refill token buckets: the arithmetic every store shares (the Redis Lua mirrors it).

A bucket holds up to ``capacity`` units (the per-minute limit) and refills at ``capacity / 60``
per second. A decision debits several buckets all-or-nothing. Elapsed time is clamped at zero,
so a clock that steps backwards never mints tokens.

A decision names its buckets by parallel sequences ``keys``, ``caps`` and ``amounts``.
``caps[i]`` is the configured per-minute limit, or ``0`` when none is known: then a capacity
learned from response headers is used, and without one the bucket is skipped (no invented limit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ALLOW, WAIT, IMPOSSIBLE = 0, 1, 2

Verdict = tuple[int, float, int]
"""(status, seconds to wait, index of the binding bucket or -1 for a ``retry-after`` hold)."""
ALLOWED: Verdict = (ALLOW, 0.0, -1)


@dataclass(slots=True)
class State:
    tokens: float
    ts: float
    capacity: float
    learned: bool = False


def effective_capacity(cap: float, state: State | None) -> float:
    if state is not None and state.learned and state.capacity > 0:
        return state.capacity
    return cap


def level(state: State | None, capacity: float, now: float) -> float:
    """Tokens in the bucket at ``now`` after continuous refill (a new bucket starts full)."""
    if state is None:
        return capacity
    elapsed = now - state.ts
    if elapsed < 0.0:
        elapsed = 0.0
    return min(capacity, state.tokens + elapsed * capacity / 60.0)


def decide(
    caps: Sequence[float],
    amounts: Sequence[float],
    states: Sequence[State | None],
    now: float,
    hold_left: float = 0.0,
) -> tuple[Verdict, list[State | None]]:
    """The verdict, and the states to write back when it is ALLOW (``None`` = leave untouched)."""
    if hold_left > 0:
        return (WAIT, hold_left, -1), []
    levels: list[tuple[float, float] | None] = []
    worst, worst_index = 0.0, -1
    for i, state in enumerate(states):
        cap = effective_capacity(caps[i], state)
        if cap <= 0:
            levels.append(None)
            continue
        amount = amounts[i]
        if amount > cap:
            return (IMPOSSIBLE, 0.0, i), []
        have = level(state, cap, now)
        levels.append((have, cap))
        if have < amount:
            wait = (amount - have) * 60.0 / cap
            if wait > worst:
                worst, worst_index = wait, i
    if worst_index >= 0:
        return (WAIT, worst, worst_index), []
    new: list[State | None] = []
    for i, lv in enumerate(levels):
        if lv is None:
            new.append(None)
        else:
            state = states[i]
            new.append(State(lv[0] - amounts[i], now, lv[1], state is not None and state.learned))
    return ALLOWED, new


def adjusted(state: State | None, cap: float, delta: float, now: float) -> State | None:
    """Charge ``delta`` (negative refunds). Refunds never fill past capacity; charges may go into debt."""
    cap = effective_capacity(cap, state)
    if cap <= 0:
        return None
    tokens = min(cap, level(state, cap, now) - delta)
    return State(tokens, now, cap, state is not None and state.learned)
