"""JSON / JSONC config files edited in place: every byte outside the edited member survives.

Client configuration files are edited by hand and by other programs; rewriting them through
``json.dumps`` would reformat everything and drop JSONC comments. Instead the file is parsed by
:mod:`claude_health.tools.jsonspan` (the one JSON reader, shared with settings validation) into
nodes carrying their character spans, and an edit splices new text into exactly one place.
"""

from __future__ import annotations

import json
from typing import Any

from claude_health.tools.jsonspan import Document, JsonSyntaxError, Member, Node
from claude_health.tools.jsonspan import parse as parse_json

__all__ = [
    "Document",
    "JsoncError",
    "Member",
    "Node",
    "detect_indent_unit",
    "parse",
    "remove_path",
    "render_value",
    "set_path",
]

JsoncError = JsonSyntaxError
"""Not a JSON(C) document; carries ``reason`` and a 1-based ``line`` and ``column``."""


def parse(text: str, *, allow_comments: bool, expand: int | None = None) -> Document:
    """Parse a whole document; JSONC (comments, trailing commas) only when allowed.

    ``expand``: objects and arrays nested that deep or deeper are decoded whole, without spans
    for their insides (:attr:`Node.opaque`) -- an edit of ``a.b.c`` needs ``expand=3`` at most.
    None walks everything (up to :data:`~claude_health.tools.jsonspan.MAX_DEPTH`).
    """
    return parse_json(text, comments=allow_comments, expand=expand)


# -- editing -------------------------------------------------------------------------------------


def _line_indent(text: str, pos: int) -> str:
    """The leading whitespace of the line containing ``pos``."""
    line_start = text.rfind("\n", 0, pos) + 1
    i = line_start
    while i < len(text) and text[i] in " \t":
        i += 1
    return text[line_start:i]


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def detect_indent_unit(doc: Document) -> str:
    """The file's indentation step (two spaces when it cannot be told)."""
    root = doc.root
    if root.kind == "object" and root.members:
        first = root.members[0]
        root_indent = _line_indent(doc.text, root.start)
        member_indent = _line_indent(doc.text, first.start)
        if doc.text.rfind("\n", 0, first.start) > root.start and len(member_indent) > len(root_indent):
            return member_indent[len(root_indent) :]
    return "  "


def render_value(value: Any, unit: str, base_indent: str, newline: str) -> str:
    """``value`` as JSON laid out like the file: its indent unit, nested under ``base_indent``."""
    dumped = json.dumps(value, indent=unit, ensure_ascii=False)
    return dumped.replace("\n", newline + base_indent)


def set_path(doc: Document, path: list[str], value: Any) -> str:
    """The document's text with ``path`` set to ``value``; everything else kept byte for byte."""
    text = doc.text
    nl = _newline(text)
    unit = detect_indent_unit(doc)
    node = doc.root
    for depth, key in enumerate(path):
        _require_expanded(node, path[:depth])
        if node.kind != "object":
            where = ".".join(path[:depth]) or "the top level"
            raise ValueError(f"{where} is a JSON {node.kind}, not an object")
        if key in node.duplicate_keys:
            raise ValueError(f"key {'.'.join(path[: depth + 1])!r} appears more than once")
        child = node.get(key)
        if child is None:
            rest: Any = value
            for k in reversed(path[depth + 1 :]):
                rest = {k: rest}
            return _insert_member(text, node, key, rest, unit, nl)
        node = child
    member_indent = _line_indent(text, node.start)
    rendered = render_value(value, unit, member_indent, nl)
    return text[: node.start] + rendered + text[node.end :]


def _insert_member(text: str, obj: Node, key: str, value: Any, unit: str, nl: str) -> str:
    key_json = json.dumps(key, ensure_ascii=False)
    if obj.members:
        last = obj.members[-1]
        multiline = text.rfind("\n", 0, last.start) > obj.start
        if multiline:
            indent = _line_indent(text, last.start)
            rendered = render_value(value, unit, indent, nl)
            insertion = f",{nl}{indent}{key_json}: {rendered}"
        else:
            insertion = f", {key_json}: {json.dumps(value, ensure_ascii=False)}"
        at = last.value.end
        return text[:at] + insertion + text[at:]
    # An empty object: lay it out as a block under the line that opens it.
    outer = _line_indent(text, obj.start)
    inner = outer + unit
    rendered = render_value(value, unit, inner, nl)
    body = f"{{{nl}{inner}{key_json}: {rendered}{nl}{outer}}}"
    inside = text[obj.start + 1 : obj.end - 1]
    if "/" in inside:  # keep a comment that sits alone in the empty object
        body = f"{{{inside.rstrip()}{nl}{inner}{key_json}: {rendered}{nl}{outer}}}"
    return text[: obj.start] + body + text[obj.end :]


def remove_path(doc: Document, path: list[str]) -> str | None:
    """The text without the member at ``path``, or None when it is not there."""
    node = doc.root
    for depth, key in enumerate(path[:-1]):
        _require_expanded(node, path[:depth])
        if node.kind != "object":
            return None
        child = node.get(key)
        if child is None:
            return None
        node = child
    _require_expanded(node, path[:-1])
    if node.kind != "object":
        return None
    if path[-1] in node.duplicate_keys:
        raise ValueError(f"key {'.'.join(path)!r} appears more than once")
    index = next((i for i, m in enumerate(node.members) if m.key == path[-1]), None)
    if index is None:
        return None
    text = doc.text
    member = node.members[index]
    last = index == len(node.members) - 1
    if (
        len(node.members) == 1
        and not _has_comment(text[node.start + 1 : member.start])
        and not (_has_comment(text[member.value.end : node.end - 1]))
    ):
        return text[: node.start] + "{}" + text[node.end :]
    if last and index > 0:
        previous = node.members[index - 1]
        if not _has_comment(text[previous.value.end : member.start]):
            # exactly undoes an append: ``,<space>"key": value`` after the previous member
            return text[: previous.value.end] + text[member.value.end :]
    start, end, had_comma = _member_segment(text, member)
    result = text[:start] + text[end:]
    if last and not had_comma and index > 0:
        comma = _next_token(text, node.members[index - 1].value.end)
        if comma < start and text[comma] == ",":
            result = result[:comma] + result[comma + 1 :]
    return result


def _require_expanded(node: Node, where: list[str]) -> None:
    """An edit must never look inside an opaque node: it has no members to keep."""
    if node.opaque:
        raise ValueError(f"{'.'.join(where) or 'the top level'} was not parsed deep enough to edit")


def _has_comment(segment: str) -> bool:
    return "//" in segment or "/*" in segment


def _next_token(text: str, pos: int) -> int:
    """Position of the next character that is neither whitespace nor inside a comment."""
    n = len(text)
    while pos < n:
        if text[pos] in " \t\r\n":
            pos += 1
        elif text.startswith("//", pos):
            end = text.find("\n", pos)
            pos = n if end < 0 else end
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            pos = n if end < 0 else end + 2
        else:
            return pos
    return n


def _member_segment(text: str, member: Member) -> tuple[int, int, bool]:
    """The span to delete for a member: its whole line(s) when it stands alone on them."""
    line_start = text.rfind("\n", 0, member.start) + 1
    own_line = text[line_start : member.start].strip(" \t") == ""
    start = line_start if own_line else member.start
    end = member.value.end
    while end < len(text) and text[end] in " \t":
        end += 1
    had_comma = end < len(text) and text[end] == ","
    if had_comma:
        end += 1
        while end < len(text) and text[end] in " \t":
            end += 1
    if own_line:
        if text.startswith("\r\n", end):
            end += 2
        elif text.startswith("\n", end):
            end += 1
    return start, end, had_comma
