"""A strict JSON reader that remembers where every key and value starts.

Claude Code reads settings with plain ``JSON.parse`` after stripping a BOM, so comments, trailing
commas, ``NaN`` and single quotes are all errors here too. Unlike :func:`json.loads`, this reader
records the offset of every key and value (by path), so each finding can name a line and column.
Strings are decoded by the C scanner from :mod:`json`; only the structure is walked in Python.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

Path = tuple[str | int, ...]

MAX_DEPTH = 256  # deeper than any real settings file; three frames per level stays under the recursion limit

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = (("true", True), ("false", False), ("null", None))


class JsonSyntaxError(ValueError):
    """Invalid JSON, with the 1-based line and column of the offending character."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.reason = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Pos:
    line: int
    column: int


@dataclass
class Document:
    """A parsed JSON value and the positions of every key and value in it, by path.

    Positions are computed on first use: most files are clean, and the C parser is far faster
    than the position-recording walk.
    """

    value: Any
    text: str
    _value_at: dict[Path, int] = field(default_factory=dict)
    _key_at: dict[Path, int] = field(default_factory=dict)
    _line_starts: list[int] = field(default_factory=list)
    _indexed: bool = False

    def _index(self) -> None:
        if not self._indexed:
            self._indexed = True
            parser = _Parser(self.text)
            parser.value(1 if self.text.startswith("\ufeff") else 0, (), 0)
            self._value_at, self._key_at = parser.value_at, parser.key_at

    def _pos(self, offset: int) -> Pos:
        if not self._line_starts:
            self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", self.text)]
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return Pos(index + 1, offset - self._line_starts[index] + 1)

    def value_pos(self, path: Path) -> Pos:
        """Where the value at ``path`` starts (the nearest existing ancestor when absent)."""
        self._index()
        while path and path not in self._value_at:
            path = path[:-1]
        return self._pos(self._value_at.get(path, 0))

    def key_pos(self, path: Path) -> Pos:
        """Where the key of the member at ``path`` starts (array items: the item itself)."""
        self._index()
        if path in self._key_at:
            return self._pos(self._key_at[path])
        return self.value_pos(path)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> Document:
    """Parse ``text`` (a leading BOM is accepted) or raise :class:`JsonSyntaxError`."""
    offset = 1 if text.startswith("\ufeff") else 0
    try:
        # The C parser agrees with JSON.parse once NaN/Infinity are refused; only a failure
        # needs the slow walk, for JavaScript-like messages and exact positions.
        value = json.loads(text[offset:], parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return _strict(text, offset)
    return Document(value=value, text=text)


def _strict(text: str, offset: int) -> Document:
    parser = _Parser(text)
    value, end = parser.value(offset, (), 0)
    end = _WS.match(text, end).end()  # type: ignore[union-attr]
    if end != len(text):
        raise parser.error("Unexpected non-whitespace character after JSON", end)
    return Document(value=value, text=text, _value_at=parser.value_at, _key_at=parser.key_at, _indexed=True)


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
    def __init__(self, text: str) -> None:
        self.text = text
        self.value_at: dict[Path, int] = {}
        self.key_at: dict[Path, int] = {}

    def error(self, message: str, offset: int) -> JsonSyntaxError:
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return JsonSyntaxError(message, line, column)

    def _describe(self, offset: int) -> str:
        if offset >= len(self.text):
            return "Unexpected end of JSON input"
        char = self.text[offset]
        if char == "/":
            return "Unexpected token '/' (comments are not allowed in JSON)"
        if char == "'":
            return 'Unexpected token "\'" (strings must use double quotes)'
        return f"Unexpected token {char!r}"

    def value(self, offset: int, path: Path, depth: int) -> tuple[Any, int]:
        text = self.text
        offset = _WS.match(text, offset).end()  # type: ignore[union-attr]
        if depth > MAX_DEPTH:
            raise self.error(f"Nested deeper than {MAX_DEPTH} levels", offset)
        self.value_at[path] = offset
        if offset >= len(text):
            raise self.error("Unexpected end of JSON input", offset)
        char = text[offset]
        if char == "{":
            return self.obj(offset + 1, path, depth)
        if char == "[":
            return self.arr(offset + 1, path, depth)
        if char == '"':
            return self.string(offset)
        number = _NUMBER.match(text, offset)
        if number:
            return _number(number.group()), number.end()
        for word, literal_value in _LITERALS:
            if text.startswith(word, offset):
                return literal_value, offset + len(word)
        raise self.error(self._describe(offset), offset)

    def string(self, offset: int) -> tuple[str, int]:
        try:
            result: tuple[str, int] = scanstring(self.text, offset + 1, True)
        except ValueError as exc:
            # json's message ends with "line L column C (char N)"; report our own position.
            match = re.search(r"\(char (\d+)\)", str(exc))
            where = int(match.group(1)) if match else offset
            raise self.error(str(exc).split(":")[0], where) from None
        return result

    def obj(self, offset: int, path: Path, depth: int) -> tuple[dict[str, Any], int]:
        text = self.text
        result: dict[str, Any] = {}
        offset = _WS.match(text, offset).end()  # type: ignore[union-attr]
        if text.startswith("}", offset):
            return result, offset + 1
        while True:
            if not text.startswith('"', offset):
                if text.startswith("}", offset):
                    raise self.error("Unexpected token '}' (trailing commas are not allowed in JSON)", offset)
                raise self.error(self._describe(offset) + ", expected a double-quoted property name", offset)
            key_offset = offset
            key, offset = self.string(offset)
            offset = _WS.match(text, offset).end()  # type: ignore[union-attr]
            if not text.startswith(":", offset):
                raise self.error(self._describe(offset) + ", expected ':' after property name", offset)
            child = (*path, key)
            self.key_at[child] = key_offset
            result[key], offset = self.value(offset + 1, child, depth + 1)
            offset = _WS.match(text, offset).end()  # type: ignore[union-attr]
            if text.startswith(",", offset):
                offset = _WS.match(text, offset + 1).end()  # type: ignore[union-attr]
                continue
            if text.startswith("}", offset):
                return result, offset + 1
            raise self.error(self._describe(offset) + ", expected ',' or '}' in object", offset)

    def arr(self, offset: int, path: Path, depth: int) -> tuple[list[Any], int]:
        text = self.text
        result: list[Any] = []
        offset = _WS.match(text, offset).end()  # type: ignore[union-attr]
        if text.startswith("]", offset):
            return result, offset + 1
        while True:
            if text.startswith("]", offset):
                raise self.error("Unexpected token ']' (trailing commas are not allowed in JSON)", offset)
            item, offset = self.value(offset, (*path, len(result)), depth + 1)
            result.append(item)
            offset = _WS.match(text, offset).end()  # type: ignore[union-attr]
            if text.startswith(",", offset):
                offset = _WS.match(text, offset + 1).end()  # type: ignore[union-attr]
                continue
            if text.startswith("]", offset):
                return result, offset + 1
            raise self.error(self._describe(offset) + ", expected ',' or ']' in array", offset)
