"""The offline token estimate: content-aware, per tokenizer family, with an error band.

No public tokenizer matches Claude 3 or later, so this is a model, not a tokenizer. It reads a
text's shape — words, word length, camelCase humps, digit runs (which Claude splits in groups of
three), punctuation, newlines and indentation runs, CJK and other non-ASCII characters — and
weighs each feature by coefficients tuned per tokenizer family (see ``bench/tokens_estimate.py`` and
docs/tokens.md for the data and the measured error).

Speed matters (a repository can be tens of megabytes), so there is no per-character Python loop.
A text is measured in blocks of about 32 KB. One ``bytes.translate`` turns a block's UTF-8 bytes
into flag bytes; read as one big integer, one shift and a few ANDs put eight counted marks (four
character classes and four kinds of adjacent pairs) into every byte lane. The blocks' integers are
summed bit-sliced — a tree of carry-save adders built from big-integer AND/XOR, which run at memory
speed — so the popcounts that turn lanes into totals run once per text, not once per block and
feature. Newlines and repeated punctuation (counted non-overlapping) are two ``bytes.count``.
The result is identical to counting each feature with its own pass; tests compare it with a plain
per-character reference.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import AnyStr

from claude_health.tools.tokens.models import Family

# Byte -> character-class map: the definition of the classes (the flag bytes below are derived from
# it), and how non-ASCII bytes are told apart.
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


_CLASSES = _class_table()

# Flag bytes. Read a block's flags as a little-endian integer ``n``: lane i (bits 8i..8i+7) holds
# byte i's flags, and ``n & (n >> 7)`` has bit k of lane i set when byte i has flag k and byte i+1
# has flag k-1. The flags come in (earlier byte, later byte) pairs so that this one product marks
# all four adjacency features at once (odd bits); the even bits are the flags counted as such:
#   bit 7 alnum    / bit 6 letter  -> a letter right after a letter or digit (words = letters - these)
#   bit 5 lower    / bit 4 upper   -> camelCase humps
#   bit 3 newline  / bit 2 space   -> indented lines
#   bit 1 digit    / bit 0 digit   -> a digit right after a digit (digit runs = digits - these)
# ``(n & EVEN) | (n & (n >> 7) & ODD)`` then carries seven counts in one integer. Punctuation has no
# flag. Non-ASCII bytes carry the newline and the space flag (a value of their own, found with one
# memchr): their count is subtracted from the spaces, and the false indents they cause are taken
# back (``_Tally._non_ascii``). Newlines are one ``bytes.count``.
_F_LOWER, _F_UPPER, _F_DIGIT = 0b1110_0000, 0b1101_0000, 0b1000_0011
_F_NL, _F_SPACE, _F_PUNCT, _F_NON_ASCII = 0b0000_1000, 0b0000_0100, 0b0000_0000, 0b0000_1100
_BIT_LETTER_AFTER_ALNUM, _BIT_HUMP, _BIT_INDENT, _BIT_DIGIT_AFTER_DIGIT = 7, 5, 3, 1
_BIT_LETTER, _BIT_SPACE, _BIT_DIGIT = 6, 2, 0
_COUNTED = (7, 6, 5, 3, 2, 1, 0)
_EVEN, _ODD = 0b0100_0101, 0b1010_1010  # the upper flag is only a pair's second half
_NL_FLAG, _PUNCT_PAIR_FLAGS, _NON_ASCII_FLAG = bytes([_F_NL]), bytes([_F_PUNCT] * 2), bytes([_F_NON_ASCII])
_FLAGS = bytes(
    {_LOWER: _F_LOWER, _UPPER: _F_UPPER, _DIGIT: _F_DIGIT, _SPACE: _F_SPACE, _NL: _F_NL}.get(
        bytes([c]), _F_PUNCT if b < 0x80 else _F_NON_ASCII
    )
    for b, c in enumerate(_CLASSES)
)

# Blocks end just before a character that is not punctuation, so a run of repeated punctuation
# (counted non-overlapping) never straddles two blocks; the one pair across each edge is added apart.
BLOCK_CHARS = 32 * 1024
_PUNCT_CHARS = "".join(chr(b) for b in range(0x80) if _FLAGS[b] == _F_PUNCT)
_NOT_PUNCT_STR = re.compile(f"[^{re.escape(_PUNCT_CHARS)}]")
_NOT_PUNCT_BYTES = re.compile(f"[^{re.escape(_PUNCT_CHARS)}]".encode("ascii"))
# Up to this many non-ASCII bytes per block are classified one by one; denser blocks get a
# class-map pass of their own.
_SPARSE_NON_ASCII = 64
_FOLD_DOWN_TO = 512  # bytes per bit plane before the popcounts

# (lanes, {byte: that byte in every lane}); replaced as a whole when a longer block needs more.
_masks: tuple[int, dict[int, int]] = (0, {})
_bit_mask_lists: dict[int, list[int]] = {}  # lanes -> [bit k of every lane for k in 0..7]


def _mask_lanes(nbytes: int) -> int:
    return 1 << max(15, (nbytes - 1).bit_length())


def _lanes(byte: int, nbytes: int) -> int:
    """``byte`` in every lane, at least ``nbytes`` lanes (an AND stops at the shorter operand)."""
    global _masks
    size, masks = _masks
    if nbytes > size:
        size, masks = _mask_lanes(nbytes), {}
        _masks = (size, masks)
    mask = masks.get(byte)
    if mask is None:
        mask = masks[byte] = int.from_bytes(bytes([byte]) * size, "little")
    return mask


def _bit_masks(nbytes: int) -> list[int]:
    """Bit k of every lane, for k in 0..7, at least ``nbytes`` lanes."""
    size = _mask_lanes(nbytes)
    bits = _bit_mask_lists.get(size)
    if bits is None:
        bits = _bit_mask_lists[size] = [int.from_bytes(bytes([1 << k]) * size, "little") for k in range(8)]
    return bits


def _add_sliced(a: list[int], b: list[int]) -> list[int]:
    """Sum two bit-sliced counters (plane j holds bit j of every position's count)."""
    out: list[int] = []
    carry = 0
    for j in range(max(len(a), len(b))):
        x = a[j] if j < len(a) else 0
        y = b[j] if j < len(b) else 0
        half = x ^ y
        out.append(half ^ carry)
        carry = (x & y) | (carry & half)
    if carry:
        out.append(carry)
    return out


class _BitSums:
    """Per-bit-position totals over many integers, without a popcount per integer and bit.

    Integers are summed pairwise (a binary tree of bit-sliced adders), so each costs a few
    memory-speed AND/XOR passes; popcounts run once, at the end, on the few sum planes.
    """

    __slots__ = ("_stack",)

    def __init__(self) -> None:
        self._stack: list[tuple[int, list[int]]] = []

    def add(self, value: int) -> None:
        weight, planes = 1, [value]
        while self._stack and self._stack[-1][0] == weight:
            planes = _add_sliced(self._stack.pop()[1], planes)
            weight *= 2
        self._stack.append((weight, planes))

    def totals(self, bits: tuple[int, ...]) -> dict[int, int]:
        """For each of ``bits``: how many lanes, over everything added, have it set."""
        planes: list[int] = self._stack[0][1] if len(self._stack) == 1 else []
        if len(self._stack) > 1:
            for _, p in self._stack:
                planes = _add_sliced(planes, p)
        # Fold the upper half of the lanes onto the lower half (a bit-sliced add) while the planes
        # are large: popcounts, the slow part, then read fewer bytes. Folding a single plane only
        # pays when more folds follow (its first fold leaves as many bytes to popcount).
        nbytes = (max((p.bit_length() for p in planes), default=0) + 7) // 8
        while nbytes > _FOLD_DOWN_TO and (len(planes) > 1 or nbytes > 8 * _FOLD_DOWN_TO):
            half = 8 * ((nbytes + 1) // 2)
            low = (1 << half) - 1
            planes = _add_sliced([p & low for p in planes], [p >> half for p in planes])
            nbytes = half // 8
        masks = _bit_masks(nbytes)
        if len(planes) == 1:
            return {bit: (planes[0] & masks[bit]).bit_count() for bit in bits}
        return {bit: sum((p & masks[bit]).bit_count() << j for j, p in enumerate(planes)) for bit in bits}


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


class _Tally:
    """Features of consecutive blocks of one text, fed in order."""

    __slots__ = (
        "_edges",
        "_last",
        "_marks",
        "cjk",
        "cont",
        "indent_fix",
        "newlines",
        "other",
        "punct_pairs",
        "size",
        "wide",
    )

    def __init__(self) -> None:
        self._marks = _BitSums()
        self._edges = bytearray()  # pair marks across block edges
        self._last = -1  # flags of the previous block's last byte
        self.size = self.newlines = self.punct_pairs = 0
        self.cjk = self.other = self.wide = self.cont = self.indent_fix = 0

    def add(self, raw: bytes) -> None:
        if not raw:
            return
        flags = raw.translate(_FLAGS)
        n = int.from_bytes(flags, "little")
        lanes = len(raw)
        marks = (n & _lanes(_EVEN, lanes)) | (n & (n >> 7) & _lanes(_ODD, lanes))
        if self._last >= 0:
            edge = self._last & (flags[0] << 1) & _ODD
            if _F_NON_ASCII in (self._last, flags[0]):
                edge &= ~(1 << _BIT_INDENT)  # not a real indent: see _non_ascii
            self._edges.append(edge)
        self._last = flags[-1]
        self.size += lanes
        self.newlines += flags.count(_NL_FLAG)
        self.punct_pairs += flags.count(_PUNCT_PAIR_FLAGS)
        if not raw.isascii():
            marks = self._non_ascii(raw, flags, marks)
        self._marks.add(marks)

    def _non_ascii(self, raw: bytes, flags: bytes, marks: int) -> int:
        """Classify the block's non-ASCII bytes; returns ``marks`` without the false indents.

        A non-ASCII byte carries both the newline and the space flag, so the indent mark also fires
        for (newline or non-ASCII, non-ASCII) and (non-ASCII, space) pairs: few enough to take back
        one by one, else the block's indents are counted on its class map.
        """
        spots: list[int] = []
        at = flags.find(_NON_ASCII_FLAG)
        while at >= 0 and len(spots) <= _SPARSE_NON_ASCII:
            spots.append(at)
            at = flags.find(_NON_ASCII_FLAG, at + 1)
        if at < 0:
            last, false_indents = len(flags) - 1, 0
            for at in spots:
                kind = _CLASSES[raw[at]]
                if kind == _CONT[0]:
                    self.cont += 1
                elif kind == _CJK[0]:
                    self.cjk += 1
                elif kind == _WIDE[0]:
                    self.wide += 1
                else:
                    self.other += 1
                if at and flags[at - 1] & _F_NL:  # (newline or non-ASCII, this)
                    false_indents += 1
                if at < last and flags[at + 1] == _F_SPACE:  # (this, space)
                    false_indents += 1
            self.indent_fix -= false_indents
            return marks
        classes = raw.translate(_CLASSES)
        self.cont += classes.count(_CONT)
        self.cjk += classes.count(_CJK)
        self.wide += classes.count(_WIDE)
        self.other += classes.count(_OTHER)
        self.indent_fix += classes.count(_NL + _SPACE)
        return marks ^ (marks & _lanes(1 << _BIT_INDENT, len(raw)))

    def features(self) -> TextFeatures:
        if self._edges:
            self._marks.add(int.from_bytes(self._edges, "little"))
            self._edges.clear()
        t = self._marks.totals(_COUNTED)
        non_ascii = self.cjk + self.other + self.wide + self.cont
        letters, digits = t[_BIT_LETTER], t[_BIT_DIGIT]
        spaces, newlines = t[_BIT_SPACE] - non_ascii, self.newlines
        digit_runs = digits - t[_BIT_DIGIT_AFTER_DIGIT]
        return TextFeatures(
            chars=self.size - self.cont,
            letters=letters,
            words=letters - t[_BIT_LETTER_AFTER_ALNUM],
            humps=t[_BIT_HUMP],
            # Claude splits a run of L digits into ceil(L/3) tokens; (digits + runs) / 3 is its mean and
            # rounds to the exact value for a single run of up to 10 digits.
            digit_tokens=round((digits + digit_runs) / 3),
            punct=self.size - letters - digits - spaces - newlines - non_ascii,
            punct_pairs=self.punct_pairs,
            spaces=spaces,
            newlines=newlines,
            indented_lines=t[_BIT_INDENT] + self.indent_fix,
            cjk=self.cjk,
            other=self.other,
            wide=self.wide,
        )


def _spans(text: AnyStr, not_punct: re.Pattern[AnyStr], punct: AnyStr) -> Iterator[tuple[int, int]]:
    """(start, end) of blocks of about ``BLOCK_CHARS``, each ending before a non-punctuation character.

    A run of punctuation longer than a block is cut instead, an even number of characters after
    the run began, so the run's non-overlapping pairs are still the sum of its pieces' pairs.
    """
    start, n, run_start = 0, len(text), 0
    while start < n:
        end = n
        if n - start > BLOCK_CHARS:
            target = start + BLOCK_CHARS
            found = not_punct.search(text, target, target + BLOCK_CHARS)
            if found:
                end = found.start()
            elif target + BLOCK_CHARS < n:
                head = len(text[start:target].rstrip(punct))
                if head:  # else the run began in an earlier block, at run_start
                    run_start = start + head
                end = target + (target - run_start) % 2
        yield start, end
        start = end


def _blocks(text: str) -> Iterator[bytes]:
    """``text`` as UTF-8, block by block."""
    ascii_only = text.isascii()
    for start, end in _spans(text, _NOT_PUNCT_STR, _PUNCT_CHARS):
        piece = text[start:end]
        # Lone surrogates (from files decoded with surrogateescape) are encoded, not raised.
        yield piece.encode("ascii") if ascii_only else piece.encode("utf-8", "surrogatepass")


def _byte_blocks(raw: bytes) -> Iterator[bytes]:
    for start, end in _spans(raw, _NOT_PUNCT_BYTES, _PUNCT_CHARS.encode("ascii")):
        yield raw[start:end]


def features(text: str) -> TextFeatures:
    """Measure all of ``text``."""
    tally = _Tally()
    if len(text) <= BLOCK_CHARS:
        tally.add(_utf8(text))
    else:
        for block in _blocks(text):
            tally.add(block)
    return tally.features()


def _utf8(text: str) -> bytes:
    # Lone surrogates (from files decoded with surrogateescape) are encoded, not raised.
    return text.encode("ascii") if text.isascii() else text.encode("utf-8", "surrogatepass")


def _features_of(raw: bytes) -> TextFeatures:
    tally = _Tally()
    for block in _byte_blocks(raw):
        tally.add(block)
    return tally.features()


# Above this size the features are measured on evenly spaced windows and scaled up: a full pass
# reads every byte (about 200 MB/s on one core), a sampled one reads 4 MB whatever the size.
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
    # UTF-8 takes 1 to 4 bytes per character: encode only when the length alone cannot decide.
    if not sample or 4 * len(text) <= SAMPLE_ABOVE_BYTES:
        return Measured(features(text), sampled=False)
    # ASCII text: character offsets are byte offsets, so only the windows are encoded.
    raw: str | bytes = text if text.isascii() else _utf8(text)
    n = len(raw)
    if n <= SAMPLE_ABOVE_BYTES:
        return Measured(features(text), sampled=False)
    step = (n - SAMPLE_WINDOW_BYTES) / (SAMPLE_WINDOWS - 1)
    total = TextFeatures()
    for i in range(SAMPLE_WINDOWS):
        start = int(i * step)
        window = raw[start : start + SAMPLE_WINDOW_BYTES]
        total = total + _features_of(window.encode("ascii") if isinstance(window, str) else window)
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
