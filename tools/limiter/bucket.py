"""Continuous-refill token buckets: the arithmetic every store shares (the Redis Lua mirrors it).

A bucket holds up to ``capacity`` units (the per-minute limit) and refills at ``capacity / 60``
per second. A decision debits several buckets all-or-nothing.

Clock steps (see :mod:`claude_health.tools.limiter.clock`): a bucket dated in the future (the
clock went back) refills nothing until it is re-dated to now, which every decision does -- a
refusal too -- so refill resumes at its normal rate instead of waiting for the clock to catch up;
nothing is minted. A jump forward counts as elapsed time, and refill stops at capacity. A
``retry-after`` hold keeps its length, and never has more than that left (:func:`hold_left`).

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


def hold_left(until: float, length: float, now: float) -> float:
    """Seconds a hold set to end at ``until``, ``length`` seconds after it began, has left at ``now``.

    Never more than ``length``: a clock stepped back must not stretch a hold. The caller writes
    ``now + left`` back as the new end when it is earlier than ``until`` (the hold is re-dated).
    """
    left = until - now
    if left <= 0.0:
        return 0.0
    return length if left > length else left


def redated(caps: Sequence[float], states: Sequence[State | None], now: float) -> list[State | None]:
    """Active buckets dated after ``now``, re-dated to ``now`` at the same level (``None``: as is)."""
    return [
        State(st.tokens, now, st.capacity, st.learned)
        if st is not None and st.ts > now and effective_capacity(caps[i], st) > 0
        else None
        for i, st in enumerate(states)
    ]


def decide(
    caps: Sequence[float],
    amounts: Sequence[float],
    states: Sequence[State | None],
    now: float,
    hold_left: float = 0.0,
) -> tuple[Verdict, list[State | None]]:
    """The verdict, and the states to write back (``None`` = leave untouched).

    An ALLOW writes every debited bucket; a refusal by a bucket writes only the buckets dated in
    the future, re-dated to ``now`` (usually none: the list is then empty). A hold writes nothing.
    """
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
            return (IMPOSSIBLE, 0.0, i), _future(caps, states, now)
        have = level(state, cap, now)
        levels.append((have, cap))
        if have < amount:
            wait = (amount - have) * 60.0 / cap
            if wait > worst:
                worst, worst_index = wait, i
    if worst_index >= 0:
        return (WAIT, worst, worst_index), _future(caps, states, now)
    new: list[State | None] = []
    for i, lv in enumerate(levels):
        if lv is None:
            new.append(None)
        else:
            state = states[i]
            new.append(State(lv[0] - amounts[i], now, lv[1], state is not None and state.learned))
    return ALLOWED, new


def _future(caps: Sequence[float], states: Sequence[State | None], now: float) -> list[State | None]:
    """:func:`redated`, or ``[]`` when no bucket is dated after ``now`` (the common case)."""
    for st in states:
        if st is not None and st.ts > now:
            return redated(caps, states, now)
    return []


def adjusted(state: State | None, cap: float, delta: float, now: float) -> State | None:
    """Charge ``delta`` (negative refunds). Refunds never fill past capacity; charges may go into
    debt, down to one capacity below zero: deeper debt would be a wedge (one absurd ``usage`` --
    a billion tokens -- would block a shared bucket for weeks), and the server's own bucket
    cannot owe more than about one request's worth anyway."""
    cap = effective_capacity(cap, state)
    if cap <= 0:
        return None
    tokens = min(cap, level(state, cap, now) - delta)
    if tokens < -cap:
        tokens = -cap
    return State(tokens, now, cap, state is not None and state.learned)
