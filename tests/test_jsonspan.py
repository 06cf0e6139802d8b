"""The one JSON reader: spans that slice back to their values, JSONC, and documents past the depth
limit (settings validation and registration both read through it; their own suites cover how each
uses it: tests/test_settings_jsonpos.py, tests/test_registration*.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_health.tools.jsonspan import MAX_DEPTH, JsonPath, JsonSyntaxError, Node, loads, parse
from claude_health.tools.registration import jsonc
from claude_health.tools.settings.validate import validate_workspace
from tests.conftest import Sandbox

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=25,
)


def paths_of(value: Any, path: JsonPath = ()) -> list[JsonPath]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_of(child, (*path, index))
    return found


def at(value: Any, path: JsonPath) -> Any:
    for step in path:
        value = value[step]
    return value


@settings(max_examples=200, deadline=None)
@given(json_values, st.sampled_from([None, 2]))
def test_every_span_slices_back_to_its_value(value: object, indent: int | None) -> None:
    """Checked against the C decoder, not against the walk: each span, decoded alone, is its value;
    a position asked of the fast path (subtrees opened on demand) is the full walk's position."""
    text = json.dumps(value, indent=indent)
    lazy, walked = loads(text), parse(text)
    for path in paths_of(value):
        node = walked.node(path)
        assert node is not None
        assert json.loads(text[node.start : node.end]) == at(value, path)
        assert lazy.value_pos(path) == walked.value_pos(path)
        assert lazy.key_pos(path) == walked.key_pos(path)
        if path and isinstance(path[-1], str):
            parent = walked.node(path[:-1])
            member = parent.member(path[-1]) if parent else None
            assert member is not None
            assert json.JSONDecoder().raw_decode(text, member.start)[0] == path[-1]


def test_jsonc_comments_and_trailing_commas_are_read_and_reported() -> None:
    text = '// a client\n{"a": [1, 2,], /* b */ "b": {"c": "//not a comment"},}\n'
    doc = parse(text, comments=True)
    assert doc.value == {"a": [1, 2], "b": {"c": "//not a comment"}}
    assert doc.has_comments and doc.has_trailing_commas
    assert doc.key_pos(("b",)).column == text.splitlines()[1].index('"b"') + 1
    with pytest.raises(JsonSyntaxError) as strict:
        parse(text)
    assert (strict.value.line, strict.value.column) == (1, 1)
    assert "comments are not allowed" in strict.value.reason


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"a": 1 /* open', "Unterminated"),
        ('{"a": -Infinity}', "Unexpected token"),  # json's raw_decode would take it
        ('{"a": NaN}', "Unexpected token"),
        ('{"a": 1}\ufeff', "after JSON"),  # a BOM is accepted at the start only
        ("{,}", "expected a double-quoted property name"),
    ],
)
def test_jsonc_is_still_json(text: str, fragment: str) -> None:
    with pytest.raises(JsonSyntaxError, match=fragment):
        parse(text, comments=True)


def test_duplicate_keys_are_recorded_and_the_last_one_counts() -> None:
    doc = parse('{"a": 1, "b": 0, "a": {"c": 2}}')
    assert doc.root.duplicate_keys == ["a"]
    assert doc.value == {"a": {"c": 2}, "b": 0}
    assert doc.value_pos(("a", "c")).column == 29
    assert doc.key_pos(("a",)).column == 18


def test_expand_decodes_deep_parts_whole_and_opens_them_on_demand() -> None:
    value = {"projects": {"/p": {"history": [{"display": "x"}] * 3}}, "mcpServers": {}}
    text = json.dumps(value, indent=2)
    doc = parse(text, expand=1)
    projects = doc.root.get("projects")
    assert isinstance(projects, Node) and projects.opaque and not projects.members
    assert doc.value == value
    assert doc.value_pos(("projects", "/p", "history", 2, "display")) == parse(text).value_pos(
        ("projects", "/p", "history", 2, "display")
    )
    assert not projects.opaque  # opened on the way


def test_a_valid_file_past_the_depth_limit_keeps_its_value_and_positions() -> None:
    """json.loads reads ~990 levels; the walk stops at MAX_DEPTH and decodes the rest whole, so a
    position is never what breaks (it used to raise out of value_pos, a traceback in `settings`)."""
    deep = "[" * (MAX_DEPTH + 50) + "]" * (MAX_DEPTH + 50)
    text = '{"x": ' + deep + ', "model": 5}'
    for doc in (loads(text), parse(text)):
        assert doc.value["model"] == 5
        assert doc.value_pos(("model",)).column == text.index("5}") + 1
        assert doc.value_pos(("x", *[0] * (MAX_DEPTH + 10))).line == 1
    with pytest.raises(JsonSyntaxError, match="Nested deeper"):
        loads('{"x": ' + "[" * 5000 + "]" * 5000 + "}")


def test_settings_past_the_depth_limit_are_findings_not_a_traceback(sandbox: Sandbox) -> None:
    deep = "[" * (MAX_DEPTH + 50) + "]" * (MAX_DEPTH + 50)
    path = sandbox.project_settings('{\n  "someUnknownKey": ' + deep + ',\n  "model": 5\n}\n')
    validation = validate_workspace(sandbox.workspace())
    mine = [f for f in validation.findings if f.path == str(path)]
    model = [f for f in mine if "model" in f.message]
    assert model and model[0].line == 3, [(f.code, f.message, f.line) for f in mine]


def test_registration_reads_through_the_same_parser() -> None:
    text = '{\n  // mine\n  "servers": {"a": {"command": "x"},},\n}\n'
    doc = jsonc.parse(text, allow_comments=True)
    assert doc.value == {"servers": {"a": {"command": "x"}}}
    edited = jsonc.set_path(doc, ["servers", "b"], {"command": "y"})
    assert "// mine" in edited and jsonc.parse(edited, allow_comments=True).value["servers"]["b"] == {
        "command": "y"
    }
    with pytest.raises(jsonc.JsoncError) as refused:
        jsonc.parse(text, allow_comments=False)
    assert (refused.value.line, refused.value.column) == (2, 3)
