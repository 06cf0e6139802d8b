"""``memory://``: buckets in this process only (one lock; fastest; nothing shared)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import cast

from claude_health.tools.limiter.bucket import (
    ALLOWED,
    IMPOSSIBLE,
    WAIT,
    State,
    Verdict,
    adjusted,
    effective_capacity,
    hold_left,
)
from claude_health.tools.limiter.clock import ClockLike, reader
from claude_health.tools.limiter.stores.base import Event, Sync

MAX_EVENTS = 1000


Bound = Callable[[Sequence[float]], Verdict | None]
"""``amounts -> verdict`` for one decision shape; ``None`` when a learned capacity made it stale."""

# A decision shape compiled into one function: the lock, the clock, the retry-after hold, then
# bucket.decide unrolled over the cached State objects of its buckets (as dataclasses and
# namedtuple build their methods). A loop over three or four buckets spends more on iteration,
# tuple unpacking and list building than on the arithmetic. Only the allow path is unrolled; a
# refusal is worked out by ``_refusal`` in decide's order. A bucket dated in the future (an
# injected clock stepped back) is re-dated to now in place, as decide does: one branch taken
# only when no time has passed. A hold is ``[until, length]`` (bucket.hold_left), removed once
# seen over, so that a later step back cannot bring it back.
_FACTORY = """
def factory(lock, clock, holds, hold_key, version, built, {params}):
    def acquire(amounts):
        with lock:
            now = clock()
            if holds:
                hold = holds.get(hold_key)
                if hold is not None:
                    if hold[0] > now:
                        return (WAIT, held(hold, now), -1)
                    del holds[hold_key]
            if version[0] != built:
                return None
{levels}
            if {short}:
                return refusal({refused})
{writes}
            return ALLOWED
    return acquire
"""
_LEVEL = """
            a{j} = amounts[i{j}]
            h{j} = s{j}.tokens
            e = now - s{j}.ts
            if e > 0.0:
                h{j} += e * c{j} / 60.0
            elif e < 0.0:
                s{j}.ts = now
            if h{j} > c{j}:
                h{j} = c{j}"""
_WRITE = """
            s{j}.tokens = h{j} - a{j}
            s{j}.ts = now"""
_compiled: dict[int, Callable[..., Bound]] = {}


def _refusal(levels: Sequence[tuple[float, float, float, int]]) -> Verdict:
    """The refusal of bucket.decide from (level, capacity, amount, index) in the caller's order."""
    worst, worst_i = 0.0, -1
    for have, cap, amount, i in levels:
        if amount > cap:
            return (IMPOSSIBLE, 0.0, i)
        if have < amount:
            wait = (amount - have) * 60.0 / cap
            if wait > worst:
                worst, worst_i = wait, i
    return (WAIT, worst, worst_i)


def _held(hold: list[float], now: float) -> float:
    """Seconds left on a live hold ``[until, length]``, re-dating one a clock step stretched."""
    left = hold_left(hold[0], hold[1], now)
    if now + left < hold[0]:
        hold[0] = now + left
    return left


def _factory(n: int) -> Callable[..., Bound]:
    """The compiled decision of ``n`` buckets (compiled once per ``n``)."""
    if n not in _compiled:
        j = range(n)
        source = _FACTORY.format(
            params=", ".join([f"s{k}, c{k}, i{k}" for k in j]),
            levels="".join(_LEVEL.format(j=k) for k in j),
            short=" or ".join(f"h{k} < a{k}" for k in j) or "False",
            refused="(" + "".join(f"(h{k}, c{k}, a{k}, i{k}), " for k in j) + ")",
            writes="".join(_WRITE.format(j=k) for k in j),
        )
        namespace: dict[str, object] = {
            "refusal": _refusal,
            "held": _held,
            "ALLOWED": ALLOWED,
            "WAIT": WAIT,
        }
        exec(compile(source, f"<limiter decision of {n} buckets>", "exec"), namespace)  # noqa: S102
        _compiled[n] = cast("Callable[..., Bound]", namespace["factory"])
    return _compiled[n]


class MemoryStore:
    def __init__(self, url: str = "memory://", clock: ClockLike | None = None) -> None:
        self.url = url
        self.warnings: list[str] = []
        # One process's buckets: monotonic time, which never steps (see limiter.clock).
        self._clock = reader(clock, "monotonic")
        self._lock = threading.Lock()
        self._states: dict[str, State] = {}
        self._holds: dict[str, list[float]] = {}
        self._events: deque[Event] = deque(maxlen=MAX_EVENTS)
        # Bumped by ``sync``, the only call that changes a bucket's effective capacity: every
        # bound decision built before it answers ``None`` and is built again.
        self._version = [0]
        self._bound: dict[str, tuple[Sequence[str], Sequence[float], Bound]] = {}

    def bind(self, keys: Sequence[str], caps: Sequence[float], hold_key: str) -> Bound:
        """The decision over these buckets as one function (see :data:`Bound`).

        A bucket is active when it has a configured or a learned capacity. States are created
        full on first use and only mutated in place afterwards, so the function keeps them.
        """
        with self._lock:
            now = self._clock()
            params: list[object] = []
            for i, (key, cap) in enumerate(zip(keys, caps, strict=True)):
                st = self._states.get(key)
                if st is None and cap > 0:
                    st = self._states[key] = State(cap, now, cap)
                if st is not None and effective_capacity(cap, st) > 0:
                    params += [st, effective_capacity(cap, st), i]
            factory = _factory(len(params) // 3)
            return factory(
                self._lock, self._clock, self._holds, hold_key, self._version, self._version[0], *params
            )

    def acquire(
        self, keys: Sequence[str], caps: Sequence[float], amounts: Sequence[float], hold_key: str
    ) -> Verdict:
        while True:
            cached = self._bound.get(hold_key)
            if cached is not None and cached[0] is keys and cached[1] is caps:
                bound = cached[2]
            else:
                bound = self.bind(keys, caps, hold_key)
                self._bound[hold_key] = (keys, caps, bound)
            verdict = bound(amounts)
            if verdict is not None:
                return verdict
            self._bound.pop(hold_key, None)

    def adjust(self, keys: Sequence[str], caps: Sequence[float], deltas: Sequence[float]) -> None:
        with self._lock:
            now = self._clock()
            for key, cap, delta in zip(keys, caps, deltas, strict=True):
                self._put(key, adjusted(self._states.get(key), cap, delta, now))

    def _put(self, key: str, new: State | None) -> None:
        """Write ``new`` into the existing State object (bound decisions hold references to it)."""
        if new is None:
            return
        st = self._states.get(key)
        if st is None:
            self._states[key] = new
        else:
            st.tokens, st.ts, st.capacity, st.learned = new.tokens, new.ts, new.capacity, new.learned

    def sync(self, items: Sequence[Sync], hold: tuple[str, float] | None = None) -> None:
        with self._lock:
            now = self._clock()
            for item in items:
                self._put(item.key, State(min(item.tokens, item.capacity), now, item.capacity, True))
            self._version[0] += 1
            if hold is not None and hold[1] > 0:
                current = self._holds.get(hold[0])
                if current is None or current[0] < now + hold[1]:
                    self._holds[hold[0]] = [now + hold[1], hold[1]]

    def snapshot(self, keys: Sequence[str], hold_key: str) -> tuple[list[State | None], float, float]:
        with self._lock:
            now = self._clock()
            hold = self._holds.get(hold_key)
            left = hold_left(hold[0], hold[1], now) if hold is not None else 0.0
            copies = [
                State(s.tokens, s.ts, s.capacity, s.learned) if s else None
                for s in map(self._states.get, keys)
            ]
            return copies, left, now

    def record_event(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def events(self, since: float) -> list[Event]:
        with self._lock:
            return [e for e in self._events if e.at >= since]

    def close(self) -> None:
        pass
