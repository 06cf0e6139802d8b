"""A JSON / JSONC reader that remembers where every value sits, and edits text in place.

Client configuration files are edited by hand and by other programs; rewriting them through
``json.dumps`` would reorder nothing but still reformat everything and drop JSONC comments.
Instead the file is parsed into nodes carrying their character spans, and an edit splices new
text into exactly one place, so every byte outside the edited member survives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class JsoncError(ValueError):
    """The text is not a JSON(C) document; carries a 1-based line and column."""

    def __init__(self, message: str, text: str, pos: int) -> None:
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        super().__init__(f"{message} (line {line}, column {column})")
        self.reason = message
        self.line = line
        self.column = column


@dataclass
class Member:
    """One ``"key": value`` pair of an object; ``start`` is where the key's quote begins."""

    key: str
    start: int
    value: Node


@dataclass
class Node:
    """A parsed value and its span ``text[start:end]``."""

    kind: str  # object, array, string, number, true, false, null
    start: int
    end: int
    members: list[Member] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)
    scalar: Any = None
    duplicate_keys: list[str] = field(default_factory=list)
    opaque: bool = False
    """An object or array below the parse's ``expand`` depth: ``scalar`` holds its value, and it
    has no members or items (it can be replaced or removed whole, never edited inside)."""

    def get(self, key: str) -> Node | None:
        for member in self.members:
            if member.key == key:
                return member.value
        return None

    def to_python(self) -> Any:
        if self.opaque:
            return self.scalar
        if self.kind == "object":
            return {m.key: m.value.to_python() for m in self.members}
        if self.kind == "array":
            return [i.to_python() for i in self.items]
        return self.scalar


@dataclass
class Document:
    text: str
    root: Node
    has_comments: bool
    has_trailing_commas: bool


_MAX_DEPTH = 200


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Decodes a whole value below the expand depth at C speed; strict like the walk (no NaN).
_OPAQUE = json.JSONDecoder(parse_constant=_no_constants)


class _Parser:
    def __init__(self, text: str, *, allow_comments: bool, expand: int | None = None) -> None:
        self.text = text
        self.pos = 0
        self.allow_comments = allow_comments
        self.expand = expand
        self.has_comments = False
        self.has_trailing_commas = False

    def fail(self, message: str, pos: int | None = None) -> JsoncError:
        return JsoncError(message, self.text, self.pos if pos is None else pos)

    def skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch in " \t\r\n\ufeff":
                self.pos += 1
            elif ch == "/" and self.pos + 1 < n and text[self.pos + 1] in "/*":
                if not self.allow_comments:
                    raise self.fail("comments are not allowed in this JSON file")
                self.has_comments = True
                if text[self.pos + 1] == "/":
                    end = text.find("\n", self.pos)
                    self.pos = n if end < 0 else end
                else:
                    end = text.find("*/", self.pos + 2)
                    if end < 0:
                        raise self.fail("unterminated /* comment")
                    self.pos = end + 2
            else:
                return

    def value(self, depth: int) -> Node:
        if depth > _MAX_DEPTH:
            raise self.fail("nested too deeply")
        self.skip()
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of file")
        ch = self.text[self.pos]
        if ch in "{[" and self.expand is not None and depth >= self.expand:
            opaque = self.opaque(ch)
            if opaque is not None:
                return opaque
        if ch == "{":
            return self.obj(depth)
        if ch == "[":
            return self.arr(depth)
        if ch == '"':
            start = self.pos
            s = self.string()
            return Node("string", start, self.pos, scalar=s)
        return self.literal()

    def opaque(self, ch: str) -> Node | None:
        """The value at ``pos`` decoded whole (a ``~/.claude.json`` holds tens of MiB of project
        history that no edit looks inside); None when it has comments or trailing commas (or
        anything else the C decoder refuses): the walk then parses it, and reports what is wrong."""
        start = self.pos
        try:
            value, end = _OPAQUE.raw_decode(self.text, start)
        except (ValueError, RecursionError):
            return None
        self.pos = end
        return Node("object" if ch == "{" else "array", start, end, scalar=value, opaque=True)

    def string(self) -> str:
        start = self.pos
        decoder = json.JSONDecoder()
        try:
            value, end = decoder.raw_decode(self.text, start)
        except json.JSONDecodeError as exc:
            raise self.fail(f"bad string: {exc.msg}", exc.pos) from None
        self.pos = end
        if not isinstance(value, str):
            raise self.fail("expected a string", start)
        return value

    def literal(self) -> Node:
        start = self.pos
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, start):
                self.pos = start + len(word)
                return Node(word, start, self.pos, scalar=val)
        decoder = json.JSONDecoder()
        ch = self.text[start]
        if ch == "-" or ch.isdigit():
            try:
                value, end = decoder.raw_decode(self.text, start)
            except json.JSONDecodeError:
                raise self.fail("bad number") from None
            except ValueError:  # an integer longer than Python converts (4,300 digits)
                raise self.fail("a number too long to read (over 4,300 digits)") from None
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.pos = end
                return Node("number", start, end, scalar=value)
        raise self.fail(f"unexpected character {ch!r}")

    def obj(self, depth: int) -> Node:
        node = Node("object", self.pos, self.pos)
        self.pos += 1
        seen: set[str] = set()
        self.skip()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            self.skip()
            if self.text.startswith("}", self.pos) and node.members:
                if not self.allow_comments:
                    raise self.fail("trailing comma before }")
                self.has_trailing_commas = True
                self.pos += 1
                node.end = self.pos
                return node
            if not self.text.startswith('"', self.pos):
                raise self.fail("expected a quoted key")
            key_start = self.pos
            key = self.string()
            if key in seen:
                node.duplicate_keys.append(key)
            seen.add(key)
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail("expected ':' after key")
            self.pos += 1
            value = self.value(depth + 1)
            node.members.append(Member(key, key_start, value))
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("}", self.pos):
                self.pos += 1
                node.end = self.pos
                return node
            raise self.fail("expected ',' or '}'")

    def arr(self, depth: int) -> Node:
        node = Node("array", self.pos, self.pos)
        self.pos += 1
        self.skip()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            self.skip()
            if self.text.startswith("]", self.pos) and node.items:
                if not self.allow_comments:
                    raise self.fail("trailing comma before ]")
                self.has_trailing_commas = True
                self.pos += 1
                node.end = self.pos
                return node
            node.items.append(self.value(depth + 1))
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("]", self.pos):
                self.pos += 1
                node.end = self.pos
                return node
            raise self.fail("expected ',' or ']'")


def parse(text: str, *, allow_comments: bool, expand: int | None = None) -> Document:
    """Parse a whole document; JSONC (comments, trailing commas) only when allowed.

    ``expand``: objects and arrays nested that deep or deeper are decoded whole, without spans
    for their insides (:attr:`Node.opaque`) -- an edit of ``a.b.c`` needs ``expand=3`` at most.
    None walks everything.
    """
    parser = _Parser(text, allow_comments=allow_comments, expand=expand)
    root = parser.value(0)
    parser.skip()
    if parser.pos != len(text):
        raise parser.fail("unexpected text after the JSON value")
    return Document(text, root, parser.has_comments, parser.has_trailing_commas)


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
