"""The block-wise, bit-sliced feature counter against a plain per-character reference.

The fast counter reads 32 KB blocks, marks adjacent pairs with big-integer shifts, fixes up block
edges and non-ASCII bytes, and folds its sums before popcounting. The reference below spells the
definition of every feature out, one byte at a time; the two must agree exactly, also with tiny
blocks (every edge case at an edge), with every non-ASCII block on the dense path and with folding
down to one byte.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_health.tools.tokens import estimator
from claude_health.tools.tokens.estimator import TextFeatures, features, measure


def _kind(b: int) -> str:
    if b >= 0x80:
        if b < 0xC0:
            return "cont"
        if 0xE3 <= b <= 0xED:
            return "cjk"
        return "wide" if b >= 0xF0 else "other"
    ch = chr(b)
    if ch.islower():
        return "lower"
    if ch.isupper():
        return "upper"
    if ch.isdigit():
        return "digit"
    if ch in " \t\r\f\v":
        return "space"
    return "newline" if ch == "\n" else "punct"


def reference(text: str) -> TextFeatures:
    kinds = [_kind(b) for b in text.encode("utf-8", "surrogatepass")]
    prev = [None, *kinds][: len(kinds)]
    nxt = [*kinds[1:], None][: len(kinds)]
    count = kinds.count
    letters = count("lower") + count("upper")
    digits = count("digit")
    digit_runs = sum(1 for k, p in zip(kinds, prev, strict=True) if k == "digit" and p != "digit")
    punct_pairs, run = 0, 0
    for k in [*kinds, None]:
        if k == "punct":
            run += 1
        else:
            punct_pairs, run = punct_pairs + run // 2, 0
    return TextFeatures(
        chars=len(kinds) - count("cont"),
        letters=letters,
        words=sum(
            1
            for k, p in zip(kinds, prev, strict=True)
            if k in ("lower", "upper") and p not in ("lower", "upper", "digit")
        ),
        humps=sum(1 for k, n in zip(kinds, nxt, strict=True) if k == "lower" and n == "upper"),
        digit_tokens=round((digits + digit_runs) / 3),
        punct=count("punct"),
        punct_pairs=punct_pairs,
        spaces=count("space"),
        newlines=count("newline"),
        indented_lines=sum(1 for k, n in zip(kinds, nxt, strict=True) if k == "newline" and n == "space"),
        cjk=count("cjk"),
        other=count("other"),
        wide=count("wide"),
    )


# Every class, the pairs that matter, lone surrogates, and ASCII control characters that look like
# whitespace to str.isspace() but count as punctuation here.
PIECES = [*"aZ7 \t\n.\x1c\x0b\r_", "\n  ", "--", "é", "東", "🙂", "\udcff"]
texts = st.lists(st.sampled_from(PIECES), max_size=400).map("".join) | st.text(max_size=300)


@given(texts)
@settings(max_examples=300, deadline=None)
def test_features_match_the_reference(text: str) -> None:
    assert features(text) == reference(text)


@pytest.mark.parametrize(("block", "sparse", "fold"), [(1, 64, 512), (3, 0, 1), (7, 1, 2), (64, 0, 1)])
def test_block_edges_dense_non_ascii_and_folding_change_nothing(
    monkeypatch: pytest.MonkeyPatch, block: int, sparse: int, fold: int
) -> None:
    monkeypatch.setattr(estimator, "BLOCK_CHARS", block)
    monkeypatch.setattr(estimator, "_SPARSE_NON_ASCII", sparse)
    monkeypatch.setattr(estimator, "_FOLD_DOWN_TO", fold)

    @given(texts)
    @settings(max_examples=150, deadline=None)
    def check(text: str) -> None:
        assert features(text) == reference(text)

    check()


def test_many_blocks_of_real_looking_text() -> None:
    prose = "The quick brown Fox jumps over 12345 lazy dogs -- again... and again!\n" * 7
    code = "def fooBar(x):\n    return x[0] + 0x1F  # naïve 東京 🙂\n\tpass\n" * 5
    text = (prose + code) * 400  # about 0.2 MB: several blocks and a deep bit-sliced sum
    assert features(text) == reference(text)
    assert measure(text, sample=False).features == reference(text)


@pytest.mark.parametrize("block", [1, 2, 3, 4, 5])
def test_runs_of_punctuation_longer_than_a_block(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    monkeypatch.setattr(estimator, "BLOCK_CHARS", block)
    text = "ab" + "-" * 101 + "cd" + "=" * 7 + "\n" + "." * 50 + "x" + "/" * 33
    assert features(text).punct_pairs == 50 + 3 + 25 + 16
    assert features(text) == reference(text)
    for start in range(12):  # runs beginning at every offset within a block
        shifted = "a" * start + text
        assert features(shifted) == reference(shifted)


def test_empty_and_punctuation_only_texts() -> None:
    assert features("") == TextFeatures()
    assert features("!?!") == reference("!?!")
