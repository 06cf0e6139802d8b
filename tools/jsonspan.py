"""The one JSON reader for the config files claude-health judges or edits: every value with its span.

Strict JSON is judged as Claude Code's ``JSON.parse`` judges it (a leading BOM is stripped;
comments, trailing commas, ``NaN`` and single quotes are errors, with JavaScript-like messages);
JSONC (comments, trailing commas) is accepted for the clients that read it. Every key and value
keeps its span, so a settings finding names a line and column (:meth:`Document.value_pos`) and a
registration edit splices text into exactly one place (:mod:`claude_health.tools.registration.jsonc`).

Strings and whole subtrees are decoded by the C decoder from :mod:`json`; only the structure is
walked in Python. :func:`loads` parses with :func:`json.loads` alone and walks the text only when
a position is first asked for (most files are clean), and then only the members on the way.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

JsonPath = tuple[str | int, ...]
"""Where a value sits: object keys and array indexes from the top."""

MAX_DEPTH = 256  # deeper than any real config file; two frames per level stays under the recursion limit

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = (("true", True), ("false", False), ("null", None))
_BOM = "\ufeff"


class JsonSyntaxError(ValueError):
    """Not a JSON (or JSONC) document, with the 1-based line and column of the offending character."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.reason = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass(slots=True)
class Member:
    """One ``"key": value`` pair of an object; ``start`` is where the key's quote begins."""

    key: str
    start: int
    value: Node


@dataclass(slots=True)
class Node:
    """A parsed value and its span ``text[start:end]``.

    An ``opaque`` object or array was decoded whole (below the parse's ``expand`` depth, or past
    :data:`MAX_DEPTH`): ``scalar`` holds its value and it has no members or items, so it can be
    replaced or removed whole but not edited inside. :meth:`Document.node` opens it on demand.
    """

    kind: str  # object, array, string, number, true, false, null
    start: int
    end: int
    members: list[Member] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)
    scalar: Any = None
    duplicate_keys: list[str] = field(default_factory=list)
    opaque: bool = False

    def get(self, key: str) -> Node | None:
        """The value of ``key``: the last one when the key repeats, as ``JSON.parse`` keeps it."""
        for member in reversed(self.members):
            if member.key == key:
                return member.value
        return None

    def member(self, key: str) -> Member | None:
        for member in reversed(self.members):
            if member.key == key:
                return member
        return None

    def to_python(self) -> Any:
        if self.opaque:
            return self.scalar
        if self.kind == "object":
            return {m.key: m.value.to_python() for m in self.members}
        if self.kind == "array":
            return [i.to_python() for i in self.items]
        return self.scalar


_UNSET: Any = object()


class Document:
    """A parsed text: its value and its tree of spans, each computed once and only when asked for."""

    def __init__(
        self,
        text: str,
        *,
        value: Any = _UNSET,
        root: Node | None = None,
        comments: bool = False,
        has_comments: bool = False,
        has_trailing_commas: bool = False,
    ) -> None:
        self.text = text
        self.comments = comments  # parsed as JSONC
        self.has_comments = has_comments
        self.has_trailing_commas = has_trailing_commas
        self._value = value
        self._root = root
        self._line_starts: list[int] = []

    @property
    def value(self) -> Any:
        if self._value is _UNSET:
            self._value = self.root.to_python()
        return self._value

    @property
    def root(self) -> Node:
        if self._root is None:
            # A text that reached here through json.loads is valid: only its first level is walked,
            # and each subtree is opened when a path goes through it (see node()).
            self._root = _Parser(self.text, comments=self.comments, expand=1).document()
        return self._root

    def node(self, path: JsonPath) -> Node | None:
        """The node at ``path``, or None when there is none."""
        node, found = self._nearest(path)
        return node if found == len(path) else None

    def _nearest(self, path: JsonPath) -> tuple[Node, int]:
        """The node at ``path`` or its nearest existing ancestor, and how many steps of ``path``
        lead to it; opaque subtrees on the way are opened."""
        node = self.root
        for depth, step in enumerate(path):
            if node.opaque:
                _open(self.text, node, comments=self.comments)
            child: Node | None = None
            if isinstance(step, str) and node.kind == "object":
                child = node.get(step)
            elif isinstance(step, int) and node.kind == "array" and 0 <= step < len(node.items):
                child = node.items[step]
            if child is None:
                return node, depth
            node = child
        return node, len(path)

    def pos(self, offset: int) -> Pos:
        if not self._line_starts:
            self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", self.text)]
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return Pos(index + 1, offset - self._line_starts[index] + 1)

    def value_pos(self, path: JsonPath) -> Pos:
        """Where the value at ``path`` starts (the nearest existing ancestor when absent)."""
        node, _ = self._nearest(path)
        return self.pos(node.start)

    def key_pos(self, path: JsonPath) -> Pos:
        """Where the key of the member at ``path`` starts (array items: the item itself)."""
        if path and isinstance(path[-1], str):
            parent = self.node(path[:-1])
            member = parent.member(path[-1]) if parent is not None and parent.kind == "object" else None
            if member is not None:
                return self.pos(member.start)
        return self.value_pos(path)


def loads(text: str) -> Document:
    """Strict JSON as ``JSON.parse`` reads it (a leading BOM is accepted), or :class:`JsonSyntaxError`.

    The C decoder agrees with ``JSON.parse`` once NaN and Infinity are refused; only a failure
    needs the walk, for JavaScript-like messages and exact positions. Spans are computed on first use.
    """
    offset = 1 if text.startswith(_BOM) else 0
    try:
        value = json.loads(text[offset:], parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return parse(text)  # raises, except for what only the walk reads (integers past 4300 digits)
    return Document(text, value=value)


def parse(text: str, *, comments: bool = False, expand: int | None = None) -> Document:
    """The whole text walked into nodes with spans; JSONC (comments, trailing commas) when ``comments``.

    ``expand``: objects and arrays nested that deep or deeper are decoded whole, without spans for
    their insides (:attr:`Node.opaque`); an edit of ``a.b.c`` needs ``expand=3`` at most. None walks
    everything (up to :data:`MAX_DEPTH`, below which subtrees are always decoded whole).
    """
    parser = _Parser(text, comments=comments, expand=expand)
    root = parser.document()
    return Document(
        text,
        root=root,
        comments=comments,
        has_comments=parser.has_comments,
        has_trailing_commas=parser.has_trailing_commas,
    )


def _open(text: str, node: Node, *, comments: bool) -> None:
    """Walk an opaque object or array one level deeper, in place (its children stay opaque)."""
    parser = _Parser(text, comments=comments, expand=1)
    opened = parser.obj(node.start, 0) if node.kind == "object" else parser.arr(node.start, 0)
    node.members, node.items, node.duplicate_keys = opened.members, opened.items, opened.duplicate_keys
    node.scalar, node.opaque = None, False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Decodes a whole subtree at C speed; strict like the walk (no NaN, no Infinity).
_WHOLE = json.JSONDecoder(parse_constant=_reject_constant)


def _number(literal: str) -> int | float:
    """A JSON number as Python holds it. Past Python's int-conversion digit limit (4300) the
    literal becomes ±inf: beyond ~1.8e308 JavaScript's JSON.parse gives ±Infinity too."""
    if any(c in literal for c in ".eE"):
        return float(literal)
    try:
        return int(literal)
    except ValueError:
        return float(literal)


class _Parser:
    def __init__(self, text: str, *, comments: bool, expand: int | None) -> None:
        self.text = text
        self.comments = comments
        self.expand = expand
        self.has_comments = False
        self.has_trailing_commas = False

    def document(self) -> Node:
        root = self.value(1 if self.text.startswith(_BOM) else 0, 0)
        end = self.skip(root.end)
        if end != len(self.text):
            raise self.error("Unexpected non-whitespace character after JSON", end)
        return root

    def error(self, message: str, offset: int) -> JsonSyntaxError:
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return JsonSyntaxError(message, line, column)

    def _describe(self, offset: int) -> str:
        if offset >= len(self.text):
            return "Unexpected end of JSON input"
        char = self.text[offset]
        if char == "/" and not self.comments:
            return "Unexpected token '/' (comments are not allowed in JSON)"
        if char == "'":
            return 'Unexpected token "\'" (strings must use double quotes)'
        return f"Unexpected token {char!r}"

    def skip(self, offset: int) -> int:
        """Past whitespace, and past comments when they are allowed."""
        text = self.text
        while True:
            offset = _WS.match(text, offset).end()  # type: ignore[union-attr]
            if not (self.comments and text.startswith("/", offset)):
                return offset
            if text.startswith("//", offset):
                end = text.find("\n", offset)
                offset = len(text) if end < 0 else end
            elif text.startswith("/*", offset):
                end = text.find("*/", offset + 2)
                if end < 0:
                    raise self.error("Unterminated /* comment", offset)
                offset = end + 2
            else:
                return offset
            self.has_comments = True

    def value(self, offset: int, depth: int) -> Node:
        text = self.text
        offset = self.skip(offset)
        if offset >= len(text):
            raise self.error("Unexpected end of JSON input", offset)
        char = text[offset]
        if char in "{[":
            if depth > MAX_DEPTH or (self.expand is not None and depth >= self.expand):
                whole = self.whole(offset, char)
                if whole is not None:
                    return whole
                if depth > MAX_DEPTH:
                    raise self.error(f"Nested deeper than {MAX_DEPTH} levels", offset)
            return self.obj(offset, depth) if char == "{" else self.arr(offset, depth)
        if char == '"':
            string, end = self.string(offset)
            return Node("string", offset, end, scalar=string)
        number = _NUMBER.match(text, offset)
        if number:
            return Node("number", offset, number.end(), scalar=_number(number.group()))
        for word, literal in _LITERALS:
            if text.startswith(word, offset):
                return Node(word, offset, offset + len(word), scalar=literal)
        raise self.error(self._describe(offset), offset)

    def whole(self, offset: int, char: str) -> Node | None:
        """The object or array at ``offset`` decoded whole by the C decoder; None when it refuses
        (comments, trailing commas, an error, too deep for it): the walk then reports what is wrong."""
        try:
            value, end = _WHOLE.raw_decode(self.text, offset)
        except (ValueError, RecursionError):
            return None
        return Node("object" if char == "{" else "array", offset, end, scalar=value, opaque=True)

    def string(self, offset: int) -> tuple[str, int]:
        try:
            result: tuple[str, int] = scanstring(self.text, offset + 1, True)
        except ValueError as exc:
            # json's message ends with "line L column C (char N)"; report our own position.
            match = re.search(r"\(char (\d+)\)", str(exc))
            where = int(match.group(1)) if match else offset
            raise self.error(str(exc).split(":")[0], where) from None
        return result

    def obj(self, offset: int, depth: int) -> Node:
        text = self.text
        node = Node("object", offset, offset)
        seen: set[str] = set()
        offset = self.skip(offset + 1)
        if text.startswith("}", offset):
            node.end = offset + 1
            return node
        while True:
            if not text.startswith('"', offset):
                if text.startswith("}", offset):  # only ever after a comma
                    if not self.comments:
                        raise self.error(
                            "Unexpected token '}' (trailing commas are not allowed in JSON)", offset
                        )
                    self.has_trailing_commas = True
                    node.end = offset + 1
                    return node
                raise self.error(self._describe(offset) + ", expected a double-quoted property name", offset)
            key, after = self.string(offset)
            colon = self.skip(after)
            if not text.startswith(":", colon):
                raise self.error(self._describe(colon) + ", expected ':' after property name", colon)
            value = self.value(colon + 1, depth + 1)
            if key in seen:
                node.duplicate_keys.append(key)
            seen.add(key)
            node.members.append(Member(key, offset, value))
            offset = self.skip(value.end)
            if text.startswith(",", offset):
                offset = self.skip(offset + 1)
                continue
            if text.startswith("}", offset):
                node.end = offset + 1
                return node
            raise self.error(self._describe(offset) + ", expected ',' or '}' in object", offset)

    def arr(self, offset: int, depth: int) -> Node:
        text = self.text
        node = Node("array", offset, offset)
        offset = self.skip(offset + 1)
        if text.startswith("]", offset):
            node.end = offset + 1
            return node
        while True:
            if text.startswith("]", offset):  # only ever after a comma
                if not self.comments:
                    raise self.error("Unexpected token ']' (trailing commas are not allowed in JSON)", offset)
                self.has_trailing_commas = True
                node.end = offset + 1
                return node
            item = self.value(offset, depth + 1)
            node.items.append(item)
            offset = self.skip(item.end)
            if text.startswith(",", offset):
                offset = self.skip(offset + 1)
                continue
            if text.startswith("]", offset):
                node.end = offset + 1
                return node
            raise self.error(self._describe(offset) + ", expected ',' or ']' in array", offset)
