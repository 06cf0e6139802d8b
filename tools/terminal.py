"""Text that is safe to print on a terminal: no control characters and no escape sequences.

Input from a status line payload, a file name in a cloned repository or a server's error can
carry ESC sequences that retitle the window, move the cursor, rewrite what is already on screen
or smuggle a hyperlink; bidirectional overrides reorder what the reader sees. Stdlib only (``re``
is already loaded by ``json``): the status line imports this on every refresh.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing on the status line's path
if TYPE_CHECKING:
    from typing import Any, TextIO

# Whole sequences first, so no stray "[31m" is left behind: CSI (7-bit and 8-bit), OSC / DCS /
# SOS / PM / APC strings (ended by BEL or ST), and two-character escapes.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")  # colour and weight only: what status lines may use
_DROP = dict.fromkeys(
    [
        *range(0x00, 0x20),
        0x7F,
        *range(0x80, 0xA0),
        0x061C,  # Arabic letter mark
        0x200E,  # left-to-right / right-to-left marks
        0x200F,
        *range(0x202A, 0x202F),  # embeddings and overrides
        *range(0x2066, 0x206A),  # isolates
        0x2028,  # line and paragraph separators
        0x2029,
    ]
)


def escape_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written out: ``\\xff`` for an undecodable byte of a file
    name (Python's surrogateescape), ``\\ud800`` for one from a JSON escape. Such a string cannot
    be encoded, so printing it (or serialising it as UTF-8) fails."""
    return _SURROGATE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def plain(text: str) -> str:
    """``text`` without escape sequences or control characters; lone surrogates become U+FFFD."""
    if text.isprintable() and text.isascii():
        return text  # the common case, without a regex pass
    cleaned = _SEQUENCE.sub("", text).translate(_DROP)
    # A lone surrogate would make the whole print fail (it cannot be encoded).
    return escape_surrogates(cleaned)


def keep_colours(text: str, *, tabs: bool = False) -> str:
    """:func:`plain`, line by line, keeping SGR colour sequences (``ESC [ ... m``) and newlines
    (and tabs, with ``tabs``)."""
    if text.isascii() and text.isprintable():
        return text
    lines = []
    for line in text.split("\n"):
        pieces, at = [], 0
        for match in _SGR.finditer(line):
            pieces.append(_plain_cells(line[at : match.start()], tabs))
            pieces.append(match.group(0))
            at = match.end()
        pieces.append(_plain_cells(line[at:], tabs))
        lines.append("".join(pieces))
    return "\n".join(lines)


def _plain_cells(text: str, tabs: bool) -> str:
    return "\t".join(plain(cell) for cell in text.split("\t")) if tabs else plain(text)


class TerminalText:
    """A text stream that prints only what is safe on a terminal (see :func:`keep_colours`).

    Wraps stdout and stderr of the reporting commands, so no file name, setting value or error
    message from a hostile repository can move the cursor, retitle the window, or (with a lone
    surrogate) make the print itself fail. claude-health's own colours (SGR) pass through.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(keep_colours(text, tabs=True))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for text in lines:
            self.write(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, buffer, encoding ...
        return getattr(self._stream, name)
