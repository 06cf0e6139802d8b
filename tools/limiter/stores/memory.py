"""``memory://``: buckets in this process only (one lock; fastest; nothing shared)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from claude_health.tools.limiter.bucket import ALLOW, IMPOSSIBLE, WAIT, State, Verdict, adjusted
from claude_health.tools.limiter.stores.base import Event, Sync

MAX_EVENTS = 1000
_ALLOWED: Verdict = (ALLOW, 0.0, -1)


class _Group:
    __slots__ = ("caps", "haves", "index", "keys", "states")

    def __init__(self, keys: Sequence[str], caps: Sequence[float]) -> None:
        self.keys = keys
        self.caps = caps
        self.index: list[int] = []
        self.states: list[State] = []
        self.haves: list[float] = []


class MemoryStore:
    def __init__(self, url: str = "memory://", clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.warnings: list[str] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, State] = {}
        self._groups: dict[str, _Group] = {}
        self._holds: dict[str, float] = {}
        self._events: deque[Event] = deque(maxlen=MAX_EVENTS)

    def _group(self, keys: Sequence[str], caps: Sequence[float], hold_key: str, now: float) -> _Group:
        """The active buckets of a decision shape, cached by ``hold_key`` (unique per class).

        A bucket is active when it has a configured or a learned capacity. States are created
        full on first use and only mutated in place afterwards; ``sync`` clears the cache because
        learning a capacity can activate a bucket.
        """
        group = _Group(keys, caps)
        for i, (key, cap) in enumerate(zip(keys, caps, strict=True)):
            st = self._states.get(key)
            if st is None and cap > 0:
                st = self._states[key] = State(cap, now, cap)
            if st is not None and (cap > 0 or (st.learned and st.capacity > 0)):
                group.index.append(i)
                group.states.append(st)
                group.haves.append(0.0)
        self._groups[hold_key] = group
        return group

    def acquire(
        self, keys: Sequence[str], caps: Sequence[float], amounts: Sequence[float], hold_key: str
    ) -> Verdict:
        # bucket.decide, inlined over cached State objects: the hot path of in-process decisions.
        with self._lock:
            now = self._clock()
            if self._holds:
                until = self._holds.get(hold_key)
                if until is not None and until > now:
                    return (WAIT, until - now, -1)
            group = self._groups.get(hold_key)
            if group is None or group.caps is not caps or group.keys is not keys:
                group = self._group(keys, caps, hold_key, now)
            haves = group.haves
            worst, worst_i = 0.0, -1
            states = group.states
            for j, i in enumerate(group.index):
                st = states[j]
                cap = st.capacity if st.learned else caps[i]
                amount = amounts[i]
                if amount > cap:
                    return (IMPOSSIBLE, 0.0, i)
                elapsed = now - st.ts
                have = st.tokens + elapsed * cap / 60.0 if elapsed > 0.0 else st.tokens
                if have > cap:
                    have = cap
                if have < amount:
                    wait = (amount - have) * 60.0 / cap
                    if wait > worst:
                        worst, worst_i = wait, i
                haves[j] = have - amount
            if worst_i >= 0:
                return (WAIT, worst, worst_i)
            for st, left in zip(states, haves):  # noqa: B905 (same length by construction; hot path)
                st.tokens = left
                st.ts = now
            return _ALLOWED

    def adjust(self, keys: Sequence[str], caps: Sequence[float], deltas: Sequence[float]) -> None:
        with self._lock:
            now = self._clock()
            for key, cap, delta in zip(keys, caps, deltas, strict=True):
                self._put(key, adjusted(self._states.get(key), cap, delta, now))

    def _put(self, key: str, new: State | None) -> None:
        """Write ``new`` into the existing State object (cached groups hold references to it)."""
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
            self._groups.clear()
            if hold is not None:
                self._holds[hold[0]] = max(self._holds.get(hold[0], now), now + hold[1])

    def snapshot(self, keys: Sequence[str], hold_key: str) -> tuple[list[State | None], float, float]:
        with self._lock:
            now = self._clock()
            until = self._holds.get(hold_key)
            left = max(0.0, until - now) if until is not None else 0.0
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
