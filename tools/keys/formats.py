"""What an Anthropic credential looks like, and what merely resembles one.

One compiled bytes regex finds candidates; :func:`plausible` then rejects placeholders and
published fixtures. Shapes follow the key-hygiene notes §1: API and admin keys are 93
base64url characters plus ``AA``; OAuth access and refresh tokens are 95 base64url characters
(the ``AA`` ending is observed, not documented, so it is not required); the claude.ai session
key has no established length. Anything else shaped ``sk-ant-<letters><2 digits>-<long body>``
is reported as an unknown Anthropic token, except the four known prefixes, whose wrong-length
variants are truncations or look-alikes.
"""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterator

PREFILTER = b"sk-ant-"


def _interpreter_find(data: bytes, needle: bytes, start: int = 0) -> int:
    return data.find(needle, start)


# The key scan's hot path is one search for PREFILTER in every byte of the tree. CPython's
# ``bytes.find`` does about 2 GB/s on source code (a skip table that common letters defeat):
# 45 ms of CPU for a 100 MB tree, over a third of the whole scan. StringZilla's SIMD search
# does the same in a tenth of that. Where it cannot be imported (a bundle built for another
# platform) the interpreter's search gives the same answers, slower.
try:
    from stringzilla import find as _simd_find
except ImportError:  # pragma: no cover - the dependency is installed wherever wheels exist
    _simd_find = None
_find: Callable[[bytes, bytes, int], int] = _interpreter_find if _simd_find is None else _simd_find


def holds_prefix(data: bytes) -> bool:
    """Does ``data`` contain ``sk-ant-`` (every plain credential does)?"""
    return _find(data, PREFILTER, 0) >= 0


# Kind names are the public interface (``kind`` in JSON output).
KIND_BY_PREFIX: dict[str, str] = {
    "api03": "api_key",
    "admin01": "admin_key",
    "oat01": "oauth_access_token",
    "ort01": "oauth_refresh_token",
    "sid01": "session_key",
}
UNKNOWN_KIND = "anthropic_token"
KINDS: tuple[str, ...] = (*KIND_BY_PREFIX.values(), UNKNOWN_KIND)
KIND_LABELS: dict[str, str] = {
    "api_key": "API key",
    "admin_key": "admin API key",
    "oauth_access_token": "OAuth access token",
    "oauth_refresh_token": "OAuth refresh token",
    "session_key": "claude.ai session key",
    UNKNOWN_KIND: "credential of an unknown kind",
}


def label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


# A credential never continues into another base64url character. It may start anywhere: glued
# to other text (``my-sk-ant-…``, ``…sk-ant-…`` in a settings value, a file name) it is still the
# whole secret, so only its end is a boundary.
_BASE64URL = rb"A-Za-z0-9_\-"
_END = rb"(?![" + _BASE64URL + rb"])"

PATTERN = re.compile(
    rb"sk-ant-(?:"
    + rb"(?P<key>api03|admin01)-(?P<kbody>["
    + _BASE64URL
    + rb"]{93}AA)"
    + rb"|(?P<oauth>oat01|ort01)-(?P<obody>["
    + _BASE64URL
    + rb"]{95})"
    + rb"|(?P<other>[a-z]{2,6}[0-9]{2})-(?P<xbody>["
    + _BASE64URL
    + rb"]{40,200})"
    + rb")"
    + _END
)

# Readable text pattern for other scanners (ripgrep in the benchmark, docs).
TEXT_PATTERN = (
    r"sk-ant-(?:(?:api03|admin01)-[A-Za-z0-9_-]{93}AA|(?:oat01|ort01)-[A-Za-z0-9_-]{95}"
    r"|[a-z]{2,6}[0-9]{2}-[A-Za-z0-9_-]{40,200})"
)

# sha256 of the bodies of published detector fixtures (gitleaks' rule test); hashes, because a
# literal would be a finding of its own. Bodies are the characters after ``sk-ant-<kind>-``.
FIXTURE_BODY_SHA256 = frozenset(
    {
        "2f302f2470fe50aab809aa7c01805a5f88cb1bfb0f87f55d8231210d824d8f34",
    }
)

LONG_BODY = 90
MIN_ENTROPY_LONG, MIN_DISTINCT_LONG = 4.5, 30
MIN_ENTROPY_SHORT, MIN_DISTINCT_SHORT_RATIO = 4.0, 0.45
# Hand-typed fixtures walk the keyboard ("abc123", "klmnopqrstuvwx"); in a random base64url body
# a character followed by its successor happens about 1.5 times in 95, so 16 is never reached.
MAX_ASCENDING_PAIRS = 16
_SUCCESSOR = bytes((i + 1) % 256 for i in range(256))  # each byte's successor, for bytes.translate


def shannon_entropy(text: str) -> float:
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def plausible(body: str) -> bool:
    """True when ``body`` could be an issued secret rather than a placeholder or fixture."""
    n = len(body)
    distinct = len(set(body))
    entropy = shannon_entropy(body)
    if n >= LONG_BODY:
        if entropy < MIN_ENTROPY_LONG or distinct < MIN_DISTINCT_LONG:
            return False
    elif entropy < MIN_ENTROPY_SHORT or distinct < MIN_DISTINCT_SHORT_RATIO * n:
        return False
    raw = body.encode("ascii")
    ascending = sum(map(operator.eq, raw[1:], raw[:-1].translate(_SUCCESSOR)))
    if ascending >= MAX_ASCENDING_PAIRS:
        return False
    from claude_health.tools.digest import sha256_hex  # (only a candidate key gets here)

    return sha256_hex(body.encode("ascii")) not in FIXTURE_BODY_SHA256


def classify(match: re.Match[bytes]) -> tuple[str, str] | None:
    """``(kind, secret)`` for a regex match, or None when it is not a credential."""
    if match.group("key"):
        prefix, body = match.group("key"), match.group("kbody")
    elif match.group("oauth"):
        prefix, body = match.group("oauth"), match.group("obody")
    else:
        prefix, body = match.group("other"), match.group("xbody")
        # A known prefix with the wrong length is a truncated or padded look-alike.
        if prefix.decode("ascii") in KIND_BY_PREFIX and prefix != b"sid01":
            return None
    text_body = body.decode("ascii")
    if not plausible(text_body):
        return None
    prefix_text = prefix.decode("ascii")
    kind = KIND_BY_PREFIX.get(prefix_text, UNKNOWN_KIND)
    return kind, match.group(0).decode("ascii")


def iter_matches(data: bytes) -> Iterator[re.Match[bytes]]:
    """Regex matches at each ``sk-ant-`` occurrence only, found with the prefilter's search (the
    SIMD one: ``bytes.find`` from each match to the next was most of the time of a file with a
    key, 7 of 8.5 ms over the 295 such files of the benchmark's tree)."""
    pos = _find(data, PREFILTER, 0)
    while pos >= 0:
        m = PATTERN.match(data, pos)
        pos = _find(data, PREFILTER, m.end() if m else pos + 1)
        if m:
            yield m


# -- credentials written with escapes -------------------------------------------------------------
# `"sk\u002dant\u002dapi03\u002d…"` in a JSON (or TOML, JS, Python) file is a live key to every
# program that parses the file, though its bytes never hold "sk-ant-". Files holding an escape
# get a second pass over the spans that could decode to a credential.


def _escaped_char(ch: str) -> bytes:
    code = f"{ord(ch):02x}"
    hi, lo = code[0], code[1]
    digit = f"[{lo}{lo.upper()}]" if lo.isalpha() else lo
    return rf"(?:{re.escape(ch)}|\\(?:u00|x|U000000){hi}{digit})".encode()


_ESCAPED_UNIT = rb"\\(?:u00|x|U000000)(?:3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|2[dD])"
ESCAPED_CANDIDATE = re.compile(
    b"".join(_escaped_char(c) for c in "sk-ant-")
    + rb"(?:["
    + _BASE64URL
    + rb"]|"
    + _ESCAPED_UNIT
    + rb"){40,}"
)
# An escape of one of the letters of "sk-ant-": a key whose prefix is escaped holds one. A regex
# that starts with a literal backslash runs about as fast as the plain prefix search.
ESCAPE_HINT = re.compile(rb"\\(?:u00|x|U000000)(?:7[34]|6[1bBeE]|2[dD])")
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|U([0-9a-fA-F]{8}))")
_LONGEST_PREFIX = 7 * 10  # "sk-ant-" with every character written as \U000000XX
_LONGEST_SPAN = _LONGEST_PREFIX + (6 + 2 + 200) * 10


def _pickaxe_char(ch: str) -> str:
    code = f"{ord(ch):02x}"
    hi, lo = code[0], code[1]
    digit = f"[{lo}{lo.upper()}]" if lo.isalpha() else lo
    return rf"({ch}|\\(u00|x|U000000){hi}{digit})"


# `git log -G` (POSIX extended regex): the commits whose diff holds "sk-ant-", plain or escaped.
GIT_PICKAXE = "".join(_pickaxe_char(c) for c in "sk-ant-")


# Formats whose readers turn \uXXXX (and TOML's \UXXXXXXXX, YAML's \xXX) into characters, so an
# escaped key in them is a live key to every client: configuration and data files. Source code
# is not decoded (an escaped key there is deliberate obfuscation, and decoding costs every file).
ESCAPE_DECODED_SUFFIXES = (
    ".json", ".jsonc", ".json5", ".jsonl", ".ndjson", ".ipynb", ".toml", ".yaml", ".yml",
)  # fmt: skip


def decodes_escapes(name: str) -> bool:
    """Does the file format of ``name`` decode escapes (so escaped keys must be looked for)?"""
    return name.lower().endswith(ESCAPE_DECODED_SUFFIXES)


def may_hide_escaped(data: bytes) -> bool:
    """Could ``data`` hold a credential written with escapes? (cheap, no false negatives)"""
    return b"\\" in data and (holds_prefix(data) or ESCAPE_HINT.search(data) is not None)


def decode_escapes(raw: bytes) -> bytes:
    """The ASCII a span of literal and escaped base64url characters stands for."""
    return _ESCAPE.sub(lambda m: bytes([int(m.group(1) or m.group(2) or m.group(3), 16) & 0x7F]), raw)


def iter_escaped(data: bytes) -> Iterator[tuple[int, str, str]]:
    """``(offset, kind, secret)`` for each credential written with at least one escape.

    Only the neighbourhood of an escaped prefix letter or a literal ``sk-ant-`` is searched."""
    if not may_hide_escaped(data):
        return
    spots = sorted(
        {m.start() for m in ESCAPE_HINT.finditer(data)}
        | {m.start() for m in re.finditer(re.escape(PREFILTER), data)}
    )
    done = 0
    for spot in spots:
        pos = max(spot - _LONGEST_PREFIX, done)
        while pos <= spot:
            m = ESCAPED_CANDIDATE.search(data, pos, spot + _LONGEST_SPAN)
            if m is None or m.start() > spot:
                break
            pos = done = m.end()
            raw = m.group(0)
            if b"\\" not in raw:
                continue  # plain: the byte scan finds it
            decoded = decode_escapes(raw)
            match = PATTERN.match(decoded)
            if match is not None and match.end() == len(decoded):
                hit = classify(match)
                if hit:
                    yield m.start(), hit[0], hit[1]


def find_all(data: bytes, *, escapes: bool = True) -> list[tuple[int, str, str]]:
    """``(byte offset, kind, secret)`` of every credential in ``data``, in order: plain, and with
    ``escapes`` also written with escapes."""
    found: list[tuple[int, str, str]] = []
    if holds_prefix(data):
        for m in iter_matches(data):
            hit = classify(m)
            if hit:
                found.append((m.start(), hit[0], hit[1]))
    if not escapes:
        return found
    escaped = list(iter_escaped(data))
    if escaped:
        found = sorted(found + escaped)
    return found


def find_in_text(text: str) -> list[tuple[str, str, int]]:
    """``(kind, secret, char offset)`` for every credential in a short string (env values)."""
    if "sk-ant-" not in text and "\\" not in text:
        return []
    data = text.encode("utf-8", "surrogateescape")
    return [
        (kind, secret, len(data[:start].decode("utf-8", "replace"))) for start, kind, secret in find_all(data)
    ]
