"""Text that is safe to print on a terminal: no control characters and no escape sequences.

Input from a status line payload, a file name in a cloned repository or a server's error can
carry ESC sequences that retitle the window, move the cursor, rewrite what is already on screen
or smuggle a hyperlink; bidirectional overrides reorder what the reader sees. Stdlib only (``re``
is already loaded by ``json``): the status line imports this on every refresh.
"""

from __future__ import annotations

import re

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


def plain(text: str) -> str:
    """``text`` without escape sequences or control characters; lone surrogates become U+FFFD."""
    if text.isprintable() and text.isascii():
        return text  # the common case, without a regex pass
    cleaned = _SEQUENCE.sub("", text).translate(_DROP)
    # A lone surrogate would make the whole print fail (it cannot be encoded).
    return _SURROGATE.sub("\ufffd", cleaned)


def keep_colours(text: str) -> str:
    """:func:`plain`, line by line, keeping SGR colour sequences (``ESC [ ... m``) and newlines."""
    lines = []
    for line in text.split("\n"):
        pieces, at = [], 0
        for match in _SGR.finditer(line):
            pieces.append(plain(line[at : match.start()]))
            pieces.append(match.group(0))
            at = match.end()
        pieces.append(plain(line[at:]))
        lines.append("".join(pieces))
    return "\n".join(lines)
