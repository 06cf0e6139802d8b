"""The offline estimator, media formulas, the model table, cost and fit."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_health.tools.tokens.cost import cost_of, fit_of
from claude_health.tools.tokens.estimator import (
    SAMPLE_ABOVE_BYTES,
    Estimate,
    estimate_chars,
    estimate_text,
    features,
    measure,
)
from claude_health.tools.tokens.media import estimate_pdf_bytes, image_size, image_tokens, pdf_pages
from claude_health.tools.tokens.models import canonical_id, default_model, known_models, resolve_model

PROSE = (
    "The committee reviewed the proposal carefully and agreed that the new schedule would give every "
    "team enough time to prepare, test and document their work before the release. "
) * 20
CODE = (
    "def parse_header(raw: bytes) -> dict[str, str]:\n"
    "    fields = {}\n"
    "    for line in raw.split(b'\\r\\n'):\n"
    "        name, _, value = line.partition(b':')\n"
    "        fields[name.decode().lower()] = value.strip().decode()\n"
    "    return fields\n\n"
) * 20


def test_empty_text_is_zero() -> None:
    assert estimate_text("", "legacy") == Estimate(0, 0, 0)


@pytest.mark.parametrize(("digits", "tokens"), [(1, 1), (2, 1), (3, 1), (4, 2), (6, 2), (7, 3), (10, 4)])
def test_digit_runs_split_in_threes(digits: int, tokens: int) -> None:
    text = "9876543210"[:digits]
    for family in ("legacy", "v2"):
        assert estimate_text(text, family).tokens == tokens


def test_new_family_counts_more_english_than_old() -> None:
    old = estimate_text(PROSE, "legacy").tokens
    new = estimate_text(PROSE, "v2").tokens
    assert 1.25 <= new / old <= 1.6  # measured 1.37-1.45 on English prose (calibration rows 27-34)


def test_code_ratio_between_families_is_smaller_than_prose() -> None:
    prose = estimate_text(PROSE, "v2").tokens / estimate_text(PROSE, "legacy").tokens
    code = estimate_text(CODE, "v2").tokens / estimate_text(CODE, "legacy").tokens
    assert code < prose


def test_prose_rate_is_in_the_published_range() -> None:
    chars_per_token = len(PROSE) / estimate_text(PROSE, "legacy").tokens
    assert 3.6 <= chars_per_token <= 5.2


def test_cjk_counts_per_character_in_both_families() -> None:
    text = "東京都の天気は晴れです。明日も晴れるでしょう。" * 10
    old, new = estimate_text(text, "legacy").tokens, estimate_text(text, "v2").tokens
    assert old == new
    assert 0.8 * len(text) <= old <= 1.3 * len(text)
    assert len(text) / 4 < old / 2  # chars/4 badly undercounts CJK


def test_whitespace_runs_cost_less_than_chars() -> None:
    indented = "\n".join(" " * 16 + "x = 1" for _ in range(100))
    flat = "\n".join("x = 1" for _ in range(100))
    extra = estimate_text(indented, "legacy").tokens - estimate_text(flat, "legacy").tokens
    assert 0 < extra < 100 * 16 / 4  # far less than a token per 4 spaces


def test_camel_case_and_identifiers() -> None:
    assert estimate_text("userDetails", "v2").tokens >= estimate_text("userdetails", "v2").tokens


def test_band_contains_the_estimate() -> None:
    est = estimate_text(PROSE, "v2")
    assert est.low < est.tokens < est.high


def test_features_count_words_letters_and_non_ascii() -> None:
    f = features("Hello wörld 123\n  東京 🙂")
    assert f.words == 3  # "Hello", "w", "rld": the umlaut splits the ASCII letter run
    assert f.cjk == 2 and f.other == 1 and f.wide == 1
    assert f.digit_tokens == 1 and f.newlines == 1 and f.indented_lines == 1
    assert f.chars == len("Hello wörld 123\n  東京 🙂")


def test_lone_surrogates_do_not_crash() -> None:
    assert estimate_text("abc\udcff def", "legacy").tokens > 0


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_text_gives_a_sane_estimate(text: str) -> None:
    est = estimate_text(text, "v2")
    assert 0 <= est.low <= est.tokens <= est.high
    if text:
        assert est.tokens >= 1
        assert est.tokens <= 4 * len(text) + 2


def test_large_text_is_sampled_close_to_a_full_pass() -> None:
    text = (PROSE + CODE) * (SAMPLE_ABOVE_BYTES // len(PROSE + CODE) + 50)
    sampled = measure(text)
    assert sampled.sampled
    full = estimate_text(text, "legacy", sample=False).tokens
    quick = estimate_text(text, "legacy").tokens
    assert abs(quick - full) / full < 0.02


def test_estimate_chars_for_unseen_text() -> None:
    assert estimate_chars(5000, "legacy").tokens == round(5000 / 3.7)
    assert estimate_chars(5000, "v2").tokens > estimate_chars(5000, "legacy").tokens
    assert estimate_chars(0, "v2") == Estimate(0, 0, 0)


# -- images and PDFs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("w", "h", "family", "tokens"),
    [(1000, 1000, "legacy", 1296), (1920, 1080, "legacy", 1560), (1920, 1080, "v2", 2691), (28, 28, "v2", 1)],
)
def test_image_formula_matches_the_vision_docs(w: int, h: int, family: str, tokens: int) -> None:
    assert image_tokens(w, h, family) == tokens  # type: ignore[arg-type]


def test_image_caps() -> None:
    assert image_tokens(8000, 6000, "legacy") <= 1568
    assert image_tokens(8000, 6000, "v2") <= 4784
    assert image_tokens(0, 100, "v2") == 0


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def test_image_size_from_headers() -> None:
    assert image_size(png(640, 480)) is not None
    size = image_size(png(640, 480))
    assert size is not None and (size.width, size.height) == (640, 480)
    j = image_size(jpeg_header(1024, 768))
    assert j is not None and (j.width, j.height) == (1024, 768)
    gif = b"GIF89a" + struct.pack("<HH", 30, 20) + b"\x00" * 10
    g = image_size(gif)
    assert g is not None and (g.width, g.height) == (30, 20)
    assert image_size(b"not an image") is None
    assert image_size(b"\xff\xd8\xff") is None  # truncated JPEG


def test_pdf_pages_and_estimate() -> None:
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Pages /Count 2 >> endobj\n2 0 obj << /Type /Page >> endobj\n"
    pdf += b"3 0 obj << /Type/Page >> endobj\n"
    assert pdf_pages(pdf) == 2
    est, note = estimate_pdf_bytes(pdf, "v2")
    assert note is None and est.low == 2 * 1575 and est.tokens > est.low
    assert base64.b64encode(pdf)  # the same bytes travel base64-encoded in a request


# -- model table, cost, fit ------------------------------------------------------------------------


def test_model_resolution() -> None:
    assert resolve_model("claude-sonnet-4-5-20250929").id == "claude-sonnet-4-5"
    assert resolve_model("anthropic.claude-opus-4-7-v1:0").family == "v2"
    assert resolve_model("claude-opus-4-6").family == "legacy"
    assert resolve_model("claude-3-5-haiku-latest").id == "claude-3-5-haiku"
    assert canonical_id(" Claude-Opus-4-7@20260416 ") == "claude-opus-4-7"
    unknown = resolve_model("claude-future-9")
    assert not unknown.known and unknown.family == "v2" and unknown.input == 0
    assert resolve_model(None).id == default_model()
    assert "claude-opus-4-7" in known_models()


def test_cost_modes() -> None:
    info = resolve_model("claude-sonnet-4-6")
    c = cost_of(info, 1_000_000)
    assert c.input_usd == 3.0 and c.batch_input_usd == 1.5
    assert (
        c.cache_write_5m_usd == 3.75
        and c.cache_write_1h_usd == 6.0
        and c.cache_read_usd == pytest.approx(0.3)
    )
    assert c.max_output_usd == pytest.approx(128_000 / 1e6 * 15)
    assert not c.long_context_applied


def test_long_context_premium_applies_to_the_whole_request() -> None:
    haiku = resolve_model("claude-haiku-5-5")
    small, big = cost_of(haiku, 100_000), cost_of(haiku, 100_001)
    assert not small.long_context_applied and big.long_context_applied
    assert big.prices_per_mtok["input"] == pytest.approx(0.5)
    assert big.input_usd == pytest.approx(100_001 / 1e6 * 0.5, abs=1e-6)


def test_cache_read_overrides() -> None:
    assert cost_of(resolve_model("claude-fable-5-1"), 1_000_000).cache_read_usd == pytest.approx(0.25)


def test_fit() -> None:
    info = resolve_model("claude-haiku-4-5")
    fit = fit_of(info, 190_000, request_bytes=40 * 1024 * 1024)
    assert fit.fits_context and fit.room_for_output == 10_000
    assert fit.over_size_limit == ["messages", "count_tokens"]
    assert not fit_of(info, 200_000).fits_context


def test_count_text_says_when_it_sampled() -> None:
    from claude_health.tools.tokens.counter import count_text

    big = count_text(PROSE * 3000, model="claude-opus-4-7")
    assert big.method == "estimate" and any("samples" in n for n in big.notes)
    small = count_text(PROSE, model="claude-opus-4-7")
    assert not any("samples" in n for n in small.notes)
    assert big.tokens == pytest.approx(3000 * small.tokens, rel=0.02)
