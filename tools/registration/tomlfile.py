"""Editing one table of a TOML file as text, so comments and layout elsewhere survive.

``tomllib`` + ``tomli_w`` would drop every comment in the user's Codex config. Instead the
entry's tables (``[mcp_servers.NAME]`` and its sub-tables) are located by their header lines
and replaced, removed or appended; the caller then re-parses the result and checks that only
the entry changed, refusing when the file used a form this cannot edit (inline tables, dotted
keys).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import tomli_w

from claude_health.tools.files import TomlProblem, parse_toml

_HEADER = re.compile(r"^[ \t]*\[(\[)?(?P<key>[^\[\]\n]+)\](\])?[ \t]*(#.*)?$")
_BARE = re.compile(r"[A-Za-z0-9_-]+")


class TomlEditError(ValueError):
    """The file cannot be edited safely as text."""


def parse(text: str) -> dict[str, Any]:
    """The document, or :class:`~claude_health.tools.files.TomlProblem` (a ``ValueError``)."""
    return parse_toml(text)


def split_key(raw: str) -> list[str] | None:
    """``a."b c".d`` -> ["a", "b c", "d"]; None when the key is not understood."""
    parts: list[str] = []
    i, n = 0, len(raw)
    while True:
        while i < n and raw[i] in " \t":
            i += 1
        if i >= n:
            return None
        if raw[i] in "\"'":
            quote = raw[i]
            end = raw.find(quote, i + 1)
            if end < 0:
                return None
            body = raw[i + 1 : end]
            if quote == '"' and "\\" in body:
                try:
                    body = parse_toml(f"k = {raw[i : end + 1]}")["k"]
                except TomlProblem:
                    return None
            parts.append(body)
            i = end + 1
        else:
            match = _BARE.match(raw, i)
            if not match:
                return None
            parts.append(match.group(0))
            i = match.end()
        while i < n and raw[i] in " \t":
            i += 1
        if i >= n:
            return parts
        if raw[i] != ".":
            return None
        i += 1


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end-including-newline, line-without-newline) for each line."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        out.append((pos, pos + len(line), line.rstrip("\r\n")))
        pos += len(line)
    return out


def _entry_spans(text: str, prefix: list[str]) -> list[tuple[int, int]]:
    """Character spans of every table whose header path starts with ``prefix``.

    A span runs from its header to its last key line: trailing blank and comment lines belong
    to whatever comes next.
    """
    lines = _lines(text)
    spans: list[tuple[int, int]] = []
    current: int | None = None
    last_content_end = 0
    for start, end, line in lines:
        match = _HEADER.match(line)
        if match:
            if current is not None:
                spans.append((current, last_content_end))
                current = None
            key = split_key(match.group("key"))
            if key is not None and key[: len(prefix)] == prefix:
                current = start
                last_content_end = end
            continue
        stripped = line.strip()
        if current is not None and stripped and not stripped.startswith("#"):
            last_content_end = end
    if current is not None:
        spans.append((current, last_content_end))
    return spans


def render_tables(prefix: list[str], value: dict[str, Any]) -> str:
    """The entry as TOML tables, e.g. ``[mcp_servers.claude-health]`` plus sub-tables."""
    nested: Any = value
    for key in reversed(prefix):
        nested = {key: nested}
    return tomli_w.dumps(nested)


def set_table(text: str, prefix: list[str], value: dict[str, Any]) -> str:
    """Replace the entry's tables in place, or append them at the end of the file."""
    rendered = render_tables(prefix, value)
    newline = "\r\n" if "\r\n" in text else "\n"
    if newline != "\n":
        rendered = rendered.replace("\n", newline)
    spans = _entry_spans(text, prefix)
    if spans:
        # Other tables found between the entry's own tables are kept, right after it.
        return text[: spans[0][0]] + rendered + _between(text, spans) + text[spans[-1][1] :]
    if not text.strip():
        return rendered
    separator = "" if text.endswith(("\n", "\r\n")) else newline
    return text + separator + newline + rendered


def _between(text: str, spans: list[tuple[int, int]]) -> str:
    """Text lying between the entry's tables that belongs to other tables (kept verbatim)."""
    pieces = []
    for (_, end), (start, _) in itertools.pairwise(spans):
        gap = text[end:start]
        if gap.strip():
            pieces.append(gap)
    return "".join(pieces)


def remove_table(text: str, prefix: list[str]) -> str | None:
    """The text without the entry's tables, or None when it has none."""
    spans = _entry_spans(text, prefix)
    if not spans:
        return None
    out, cursor = "", 0
    for start, end in spans:
        chunk = text[cursor:start]
        if not text[end:].strip():
            # the entry ran to the end of the file: drop the blank line that separated it
            for blank in ("\r\n", "\n"):
                if chunk.endswith(blank * 2):
                    chunk = chunk[: -len(blank)]
                    break
        out += chunk
        cursor = end
    return out + text[cursor:]
