"""The Limiter's public surface: any argument of the wrong type or range is a ValueError.

``try_acquire(None, 1, 1)`` used to raise AttributeError from deep inside; the documented
contract is ValueError, for every public method and every argument.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_health.tools.limiter.core import Limiter
from claude_health.tools.limiter.models import Decision

MODEL = "claude-sonnet-4-5"

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just(object()),
    st.just(MODEL),
    st.just("messages"),
)


@pytest.fixture(scope="module")
def lim() -> Iterator[Limiter]:
    limiter = Limiter.open("memory://", env={}, read_config=False, tier="build")
    yield limiter
    limiter.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda lim: lim.try_acquire(None, 1, 1),
        lambda lim: lim.try_acquire(["a"], 1, 1),
        lambda lim: lim.try_acquire(MODEL, 1, 1, endpoint=None),
        lambda lim: lim.try_acquire(MODEL, 1, 1, fast="yes"),
        lambda lim: lim.try_acquire(MODEL, "1", 1),
        lambda lim: lim.try_acquire(MODEL, 1, -1),
        lambda lim: lim.would_admit(42, 1, 1),
        lambda lim: lim.reconcile(None, None),
        lambda lim: lim.observe_headers(MODEL, ["retry-after", "1"]),
        lambda lim: lim.observe_headers(MODEL, {}, status_code="429"),
        lambda lim: lim.observe_headers(MODEL, {}, error_code=["x"]),
        lambda lim: lim.record_response(MODEL, {}, "usage"),
        lambda lim: lim.record_response(MODEL, {}, None, reserved=(1,)),
        lambda lim: lim.status(3),
        lambda lim: lim.recent_events("an hour"),
        lambda lim: lim.plan({}),
    ],
)
def test_known_bad_calls_raise_value_error(lim: Limiter, call: Any) -> None:
    with pytest.raises(ValueError):  # the type is the contract; the messages vary
        call(lim)


def test_try_acquire_none_names_the_argument(lim: Limiter) -> None:
    with pytest.raises(ValueError, match="model must be a model ID string"):
        lim.try_acquire(None, 1, 1)  # type: ignore[arg-type]
    assert lim.try_acquire(MODEL, 1, 1).allowed  # and the limiter still works


def _only_value_errors(call: Any) -> None:
    with contextlib.suppress(ValueError):
        call()


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(model=JUNK, tokens=JUNK, output=JUNK, endpoint=JUNK, fast=JUNK)
def test_try_acquire_and_would_admit(
    lim: Limiter, model: Any, tokens: Any, output: Any, endpoint: Any, fast: Any
) -> None:
    _only_value_errors(lambda: lim.try_acquire(model, tokens, output, endpoint=endpoint, fast=fast))
    _only_value_errors(lambda: lim.would_admit(model, tokens, output, endpoint=endpoint, fast=fast))


# Header names must be hashable: a list drawn as a key made hypothesis itself raise, at random.
HEADER_NAMES = st.one_of(st.text(max_size=5), st.integers(), st.none())
HEADERS = JUNK | st.dictionaries(HEADER_NAMES, JUNK, max_size=3)


@FAST
@given(model=JUNK, headers=HEADERS, status=JUNK, code=JUNK, usage=JUNK)
def test_observe_and_record(
    lim: Limiter, model: Any, headers: Any, status: Any, code: Any, usage: Any
) -> None:
    _only_value_errors(lambda: lim.observe_headers(model, headers, status_code=status, error_code=code))
    _only_value_errors(
        lambda: lim.record_response(model, headers, usage, status_code=status, error_code=code)
    )
    _only_value_errors(lambda: lim.record_response(MODEL, {}, usage, reserved=(1, 2)))


@FAST
@given(decision=JUNK, usage=JUNK, model=JUNK, seconds=JUNK)
def test_reconcile_status_and_events(
    lim: Limiter, decision: Any, usage: Any, model: Any, seconds: Any
) -> None:
    _only_value_errors(lambda: lim.reconcile(decision, usage))
    granted = lim.try_acquire(MODEL, 1, 1)
    assert isinstance(granted, Decision)
    _only_value_errors(lambda: lim.reconcile(granted, usage))
    _only_value_errors(lambda: lim.status(model))
    _only_value_errors(lambda: lim.recent_events(seconds))
