"""The offline token estimate: content-aware, per tokenizer family, with an error band.

No public tokenizer matches Claude 3 or later, so this is a model, not a tokenizer. It reads a
text's shape — words, word length, camelCase humps, digit runs (which Claude splits in groups of
three), punctuation, newlines and indentation runs, CJK and other non-ASCII characters — and
weighs each feature by coefficients tuned per tokenizer family (see ``bench/tokens_estimate.py`` and
docs/tokens.md for the data and the measured error).

Speed matters (a repository can be tens of megabytes), so every feature is counted with C-level
``bytes.translate`` / ``bytes.count`` passes over a class map of the UTF-8 bytes; there is no
per-character Python loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from claude_health.tools.tokens.models import Family

# Byte -> character-class map. One translate turns any UTF-8 text into a string over this small
# alphabet; counting classes and class bigrams then runs at memory speed.
_LOWER, _UPPER, _DIGIT, _SPACE, _NL, _PUNCT = b"a", b"A", b"0", b" ", b"\n", b"."
_CONT, _OTHER, _CJK, _WIDE = b"c", b"o", b"k", b"e"


def _class_table() -> bytes:
    table = bytearray(_PUNCT * 256)
    for b in range(256):
        ch = chr(b)
        if b >= 0x80:
            if b < 0xC0:
                table[b] = _CONT[0]  # UTF-8 continuation byte: not a character of its own
            elif 0xE3 <= b <= 0xED:
                table[b] = _CJK[0]  # lead byte of U+3000..U+DFFF: CJK, kana, Hangul
            elif b >= 0xF0:
                table[b] = _WIDE[0]  # 4-byte characters: emoji, rare CJK
            else:
                table[b] = _OTHER[0]  # accented Latin, Cyrillic, Greek, typographic punctuation
        elif ch.islower():
            table[b] = _LOWER[0]
        elif ch.isupper():
            table[b] = _UPPER[0]
        elif ch.isdigit():
            table[b] = _DIGIT[0]
        elif ch in " \t\r\f\v":
            table[b] = _SPACE[0]
        elif ch == "\n":
            table[b] = _NL[0]
    return bytes(table)


def _run_table() -> bytes:
    """Letters -> ``a``, digits -> ``0``, everything else -> space: for run starts."""
    table = bytearray(b" " * 256)
    for b in range(256):
        ch = chr(b)
        if b < 0x80 and ch.isalpha():
            table[b] = ord("a")
        elif b < 0x80 and ch.isdigit():
            table[b] = ord("0")
    return bytes(table)


_CLASSES = _class_table()
_RUNS = _run_table()


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """Counts that drive the estimate (all additive, so chunks can be summed)."""

    chars: int = 0
    letters: int = 0
    words: int = 0  # runs of ASCII letters
    humps: int = 0  # lower->upper transitions (camelCase)
    digit_tokens: int = 0  # digit runs split in threes
    punct: int = 0
    punct_pairs: int = 0  # repeated punctuation ("---", "==", "//") merges into fewer tokens
    spaces: int = 0
    newlines: int = 0
    indented_lines: int = 0
    cjk: int = 0
    other: int = 0
    wide: int = 0

    def __add__(self, other: TextFeatures) -> TextFeatures:
        return TextFeatures(*(a + b for a, b in zip(_astuple(self), _astuple(other), strict=True)))


def _astuple(f: TextFeatures) -> tuple[int, ...]:
    return tuple(getattr(f, name) for name in TextFeatures.__slots__)


def features(text: str) -> TextFeatures:
    """Measure all of ``text`` (one pass per feature over its UTF-8 class map)."""
    return _features_of(_utf8(text))


def _utf8(text: str) -> bytes:
    # Lone surrogates (from files decoded with surrogateescape) are encoded, not raised.
    return text.encode("ascii") if text.isascii() else text.encode("utf-8", "surrogatepass")


def _features_of(raw: bytes) -> TextFeatures:
    # Every bytes.count is a C pass; the most frequent class (lower-case letters) is derived by
    # subtraction because counting a frequent byte is the slowest pass of all.
    cls = raw.translate(_CLASSES)
    runs = raw.translate(_RUNS)
    ascii_only = raw.isascii()
    cjk = 0 if ascii_only else cls.count(_CJK)
    other = 0 if ascii_only else cls.count(_OTHER)
    wide = 0 if ascii_only else cls.count(_WIDE)
    cont = 0 if ascii_only else cls.count(_CONT)
    upper, digits, spaces = cls.count(_UPPER), cls.count(_DIGIT), cls.count(_SPACE)
    punct, newlines = cls.count(_PUNCT), cls.count(_NL)
    lower = len(raw) - upper - digits - spaces - punct - newlines - cjk - other - wide - cont
    words = runs.count(b" a") + (runs[:1] == b"a")
    # Passes that cannot find anything are skipped (cheap wins on short or plain texts).
    digit_runs = runs.count(b" 0") + runs.count(b"a0") + (runs[:1] == b"0") if digits else 0
    return TextFeatures(
        chars=len(raw) - cont,
        letters=lower + upper,
        words=words,
        humps=cls.count(b"aA") if upper else 0,
        # Claude splits a run of L digits into ceil(L/3) tokens; (digits + runs) / 3 is its mean and
        # rounds to the exact value for a single run of up to 10 digits.
        digit_tokens=round((digits + digit_runs) / 3),
        punct=punct,
        punct_pairs=cls.count(b"..") if punct > 1 else 0,
        spaces=spaces,
        newlines=newlines,
        indented_lines=cls.count(b"\n ") if newlines else 0,
        cjk=cjk,
        other=other,
        wide=wide,
    )


# Above this size the features are measured on evenly spaced windows and scaled up: a full pass
# makes about a dozen C passes over every byte, a sampled one reads 4 MB whatever the size.
# bench/tokens_estimate.py measures both and the deviation (far inside the error band).
SAMPLE_ABOVE_BYTES = 4 * 1024 * 1024
SAMPLE_WINDOWS = 128
SAMPLE_WINDOW_BYTES = 32 * 1024


@dataclass(frozen=True, slots=True)
class Measured:
    features: TextFeatures
    sampled: bool


def measure(text: str, *, sample: bool = True) -> Measured:
    """Features of ``text``; large texts are sampled unless ``sample`` is False."""
    raw = _utf8(text)
    n = len(raw)
    if not sample or n <= SAMPLE_ABOVE_BYTES:
        return Measured(_features_of(raw), sampled=False)
    step = (n - SAMPLE_WINDOW_BYTES) / (SAMPLE_WINDOWS - 1)
    total = TextFeatures()
    for i in range(SAMPLE_WINDOWS):
        start = int(i * step)
        total = total + _features_of(raw[start : start + SAMPLE_WINDOW_BYTES])
    scale = n / (SAMPLE_WINDOWS * SAMPLE_WINDOW_BYTES)
    scaled = TextFeatures(*(round(v * scale) for v in _astuple(total)))
    chars = len(text)
    return Measured(
        TextFeatures(chars, *_astuple(scaled)[1:]),
        sampled=True,
    )


@dataclass(frozen=True, slots=True)
class Coefficients:
    """Tokens per feature for one tokenizer family (hand-tuned; measured by bench/tokens_estimate.py)."""

    word: float
    letter: float
    hump: float
    digit: float
    punct: float
    punct_pair: float
    newline: float
    indented_line: float
    cjk: float
    other: float
    wide: float
    band: float  # relative half-width of the error band for text


# Tuned by hand on the calibration points and published ratios (docs/tokens.md). The v2 family
# ("un-merged English") spends more per letter; digits, CJK and whitespace cost the same in both.
COEFFICIENTS: dict[Family, Coefficients] = {
    "legacy": Coefficients(
        word=0.90,
        letter=0.062,
        hump=1.0,
        digit=1.0,
        punct=0.9,
        punct_pair=-0.5,
        newline=0.55,
        indented_line=0.85,
        cjk=1.05,
        other=0.6,
        wide=1.6,
        band=0.2,
    ),
    "v2": Coefficients(
        word=1.08,
        letter=0.16,
        hump=1.0,
        digit=1.0,
        punct=0.95,
        punct_pair=-0.5,
        newline=0.6,
        indented_line=0.85,
        cjk=1.05,
        other=0.6,
        wide=1.6,
        band=0.25,
    ),
}


def raw_tokens(f: TextFeatures, family: Family) -> float:
    c = COEFFICIENTS[family]
    return max(
        0.0,
        c.word * f.words
        + c.letter * f.letters
        + c.hump * f.humps
        + c.digit * f.digit_tokens
        + c.punct * f.punct
        + c.punct_pair * f.punct_pairs
        + c.newline * f.newlines
        + c.indented_line * f.indented_lines
        + c.cjk * f.cjk
        + c.other * f.other
        + c.wide * f.wide,
    )


@dataclass(frozen=True, slots=True)
class Estimate:
    """A token count with its error band (``low <= tokens <= high``)."""

    tokens: int
    low: int
    high: int

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.tokens + other.tokens, self.low + other.low, self.high + other.high)

    @classmethod
    def exact(cls, n: int) -> Estimate:
        return cls(n, n, n)


ZERO = Estimate(0, 0, 0)


def band(tokens: float, rel: float, *, floor: int = 1) -> Estimate:
    """Round ``tokens`` and put a relative band around it (at least ``floor`` either side)."""
    n = round(tokens)
    if n == 0:
        return ZERO
    spread = max(rel * tokens, floor)
    return Estimate(n, max(0, math.floor(tokens - spread)), math.ceil(tokens + spread))


def estimate_features(f: TextFeatures, family: Family) -> Estimate:
    raw = raw_tokens(f, family)
    if f.chars and raw < 1:
        raw = 1.0  # any non-empty text is at least one token
    return band(raw, COEFFICIENTS[family].band)


def estimate_text(text: str, family: Family, *, sample: bool = True) -> Estimate:
    """Tokens of ``text`` alone (no message framing) under ``family``."""
    if not text:
        return ZERO
    return estimate_features(measure(text, sample=sample).features, family)


# Characters per token for text whose content is unknown (only its length): English prose in
# Markdown, from the calibration samples (CLAUDE.md, a prompt, a blog post, a git log).
CHARS_PER_TOKEN: dict[Family, float] = {"legacy": 3.7, "v2": 2.7}


def estimate_chars(chars: int, family: Family) -> Estimate:
    """Tokens of ``chars`` characters of unseen English text; a wider band than a text estimate."""
    if chars <= 0:
        return ZERO
    return band(chars / CHARS_PER_TOKEN[family], 0.3)
