"""The memory store's compiled debit against the reference arithmetic in ``bucket``.

``MemoryStore.acquire`` unrolls ``bucket.decide`` per decision shape for speed; here random
sequences of decisions, refunds, learned capacities and clock steps (backwards too) run on the
store and on a plain model built from ``bucket.decide`` / ``bucket.adjusted``, and must agree.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_health.tools.limiter.bucket import State, adjusted, decide
from claude_health.tools.limiter.stores.base import Sync
from claude_health.tools.limiter.stores.memory import MemoryStore

KEYS = ("org|c|rpm", "org|c|itpm", "org|c|otpm", "org|c|tpm")
HOLD = "org|c|hold"

caps_strategy = st.tuples(*[st.sampled_from([0.0, 5.0, 100.0, 1000.0])] * 4)
step = st.one_of(
    st.tuples(st.just("acquire"), st.tuples(*[st.integers(0, 1200)] * 4)),
    st.tuples(st.just("adjust"), st.tuples(*[st.integers(-300, 300)] * 3)),
    st.tuples(st.just("clock"), st.floats(-5.0, 30.0)),
    st.tuples(st.just("learn"), st.tuples(st.integers(0, 3), st.sampled_from([0.0, 50.0, 500.0]))),
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@settings(max_examples=300, deadline=None)
@given(caps=caps_strategy, steps=st.lists(step, max_size=40))
def test_compiled_debit_matches_bucket_decide(
    caps: tuple[float, ...], steps: list[tuple[str, object]]
) -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    model: dict[str, State] = {}
    for kind, arg in steps:
        now = clock.now
        if kind == "clock":
            assert isinstance(arg, float)
            clock.now += arg
        elif kind == "acquire":
            assert isinstance(arg, tuple)
            amounts = [float(a) for a in arg]
            states = [model.get(k) for k in KEYS]
            # A bucket never used yet starts full (the store creates it on first use).
            verdict, new = decide(caps, amounts, states, now)
            got = store.acquire(KEYS, caps, amounts, HOLD)
            assert got[0] == verdict[0] and got[2] == verdict[2]
            assert got[1] == pytest.approx(verdict[1], rel=1e-9, abs=1e-9)
            # An ALLOW writes the debited buckets; a refusal writes re-dated future buckets.
            for key, state in zip(KEYS, new, strict=False):  # empty: nothing to write
                if state is not None:
                    model[key] = state
        elif kind == "adjust":
            assert isinstance(arg, tuple)
            for key, cap, delta in zip(KEYS[1:], caps[1:], arg, strict=True):
                fresh = adjusted(model.get(key), cap, float(delta), now)
                if fresh is not None:
                    model[key] = fresh
            store.adjust(KEYS[1:], caps[1:], [float(d) for d in arg])
        else:
            assert isinstance(arg, tuple)
            index, capacity = arg
            model[KEYS[index]] = State(capacity, now, capacity, True)
            store.sync([Sync(KEYS[index], capacity, capacity)])
        snap, _, _ = store.snapshot(KEYS, HOLD)
        for key, got_state in zip(KEYS, snap, strict=True):
            want = model.get(key)
            if want is None:
                continue
            assert got_state is not None
            assert got_state.tokens == pytest.approx(want.tokens, rel=1e-9, abs=1e-6)
            assert got_state.ts == want.ts  # both re-date a bucket the clock left in the future
            assert got_state.learned == want.learned
