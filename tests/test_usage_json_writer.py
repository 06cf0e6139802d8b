"""The JSON reports' indented writer: the standard library's document, byte for byte."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_health.server.commands.usage_json import indented
from tests.conftest import Sandbox
from tests.test_usage_cli import seed, usage


def stdlib(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_any_document_is_written_as_the_standard_library_writes_it(value: Any) -> None:
    assert indented(value) == stdlib(value)


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": {}, "b": [], "c": [[]], "d": [{}]},
        # Scalars, then a container, then scalars again: each run keeps its place.
        {"a": 1, "b": {"x": 1e-05}, "c": "two", "d": [1, None], "e": True},
        {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "zero": -0.0},
        {"text": 'é "quoted" \\ back\nline \u2028 \x00 😀'},
        {"keys": {'a "key"\n': 1, "é": 2}},
        [1, [2, [3, {"deep": [4]}]]],
        "just a string",
        12,
        None,
    ],
)
def test_edge_shapes(value: Any) -> None:
    assert indented(value) == stdlib(value)


def test_what_the_c_encoder_does_not_take_goes_to_the_standard_library() -> None:
    # Keys that are not strings are converted by the standard library; the writer leaves them to it.
    for value in ({1: "one", "two": 2}, {"a": {2.5: [1], None: True, False: "x"}}):
        assert indented(value) == stdlib(value)
    with pytest.raises(TypeError, match="not JSON serializable"):
        indented({"a": {"b": object()}})


def test_reports_are_the_standard_librarys_document(sandbox: Sandbox) -> None:
    """A warm JSON report (no msgspec loaded) prints what ``json.dumps(indent=2)`` would."""
    seed(sandbox)
    usage(sandbox, "daily", "--json", "--timezone", "UTC")  # the first load
    for args in (("blocks", "--json"), ("daily", "--json", "--timezone", "UTC"), ("weekly", "--json")):
        done = usage(sandbox, *args)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        assert data["blocks" if args[0] == "blocks" else "days"]
        assert done.stdout == stdlib(data) + "\n"
