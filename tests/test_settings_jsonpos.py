"""The position-aware JSON reader: strict like JSON.parse, with a line and column for everything."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_health.tools.jsonspan import JsonSyntaxError, loads

TEXT = """{
  "permissions": {
    "allow": ["Bash(ls)", "Read(./x)"]
  },
  "model": "opus"
}"""


def test_positions_of_keys_and_values() -> None:
    doc = loads(TEXT)
    assert doc.value == json.loads(TEXT)
    assert doc.key_pos(("permissions",)) == doc.key_pos(("permissions",))
    assert (doc.key_pos(("permissions",)).line, doc.key_pos(("permissions",)).column) == (2, 3)
    assert (
        doc.value_pos(("permissions", "allow", 1)).line,
        doc.value_pos(("permissions", "allow", 1)).column,
    ) == (
        3,
        27,
    )
    assert (doc.key_pos(("model",)).line, doc.value_pos(("model",)).column) == (5, 12)


def test_missing_path_falls_back_to_nearest_ancestor() -> None:
    doc = loads(TEXT)
    assert doc.value_pos(("permissions", "deny", 0)) == doc.value_pos(("permissions",))


def test_bom_is_accepted() -> None:
    doc = loads("\ufeff" + '{"a": 1}')
    assert doc.value == {"a": 1}


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ('{\n  "a": 1,\n}', 3, 1, "trailing commas"),
        ('{\n  // comment\n  "a": 1\n}', 2, 3, "comments"),
        ("[1, 2,]", 1, 7, "trailing commas"),
        ("{'a': 1}", 1, 2, "double quotes"),
        ('{"a": NaN}', 1, 7, "Unexpected token"),
        ('{"a": 1} x', 1, 10, "after JSON"),
        ('{"a": 01}', 1, 8, "expected ','"),
        ("", 1, 1, "end of JSON"),
        ('{"a": "x\ny"}', 1, 9, "Invalid control character"),
        ('{"a" 1}', 1, 6, "expected ':'"),
    ],
)
def test_syntax_errors_carry_line_and_column(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(JsonSyntaxError) as info:
        loads(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert fragment in info.value.reason


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(JsonSyntaxError, match="Nested deeper"):
        loads("[" * 5000 + "]" * 5000)


def test_duplicate_keys_last_wins_like_json_parse() -> None:
    assert loads('{"a": 1, "a": 2}').value == {"a": 2}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([None, 2]))
def test_agrees_with_json_loads_on_valid_json(value: object, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    assert loads(text).value == json.loads(text)


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('{}[],:"\\ /*\n\t0123456789.eE-+truefalsn\ufeffx')), max_size=60)
)
def test_random_text_is_judged_like_a_strict_parser(text: str) -> None:
    plain = text[1:] if text.startswith("\ufeff") else text
    try:
        expected = json.loads(plain)
    except (ValueError, RecursionError):
        expected = ValueError
    try:
        value = loads(text).value
    except JsonSyntaxError as exc:
        assert exc.line >= 1 and exc.column >= 1
        assert expected is ValueError  # json.loads never accepts what we reject (no NaN here)
    else:
        assert value == expected
