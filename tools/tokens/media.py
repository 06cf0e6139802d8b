"""Images and PDFs: pixel size from file headers, the documented visual-token formula, PDF pages.

The vision page (crawl of 2026-08-22): an image costs ``ceil(w/28) * ceil(h/28)`` tokens after
it is scaled to the model's caps — long edge 1,568 px and 1,568 tokens before Opus 4.7, 2,576 px
and 4,784 tokens from Opus 4.7 on. A PDF page is sent as a page image plus its extracted text,
so it costs about twice the same text (calibration rows 39-42: ~1,575 tokens of image per page).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from dataclasses import dataclass

from claude_health.tools.tokens.estimator import Estimate
from claude_health.tools.tokens.models import Family, pricing_table

PDF_PAGE_IMAGE_TOKENS = 1575
# Extracted text of a typical page when the PDF's text cannot be read offline (compressed).
PDF_PAGE_TEXT_TOKENS = {"legacy": 600, "v2": 800}
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


@dataclass(frozen=True, slots=True)
class ImageSize:
    width: int
    height: int


def image_size(data: bytes) -> ImageSize | None:
    """Pixel size from a PNG, GIF, JPEG or WebP header; None when the format is not recognised."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            w, h = struct.unpack(">II", data[16:24])
            return ImageSize(w, h)
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
            w, h = struct.unpack("<HH", data[6:10])
            return ImageSize(w, h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:2] == b"\xff\xd8":
            return _jpeg_size(data)
    except (struct.error, IndexError):
        return None
    return None


def _webp_size(data: bytes) -> ImageSize | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return ImageSize(w, h)
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return ImageSize(w & 0x3FFF, h & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return ImageSize((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> ImageSize | None:
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in _SOF:
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return ImageSize(w, h)
        i += 2 + length
    return None


def image_tokens(width: int, height: int, family: Family) -> int:
    """Visual tokens after the model's resize: long-edge cap first, then the token cap."""
    table = pricing_table()
    patch = table.image_patch_px
    max_edge, max_tokens = table.image_caps[family]
    if width <= 0 or height <= 0:
        return 0
    w, h = float(width), float(height)
    if max(w, h) > max_edge:
        scale = max_edge / max(w, h)
        w, h = w * scale, h * scale

    def patches(a: float, b: float) -> int:
        return math.ceil(math.floor(a) / patch) * math.ceil(math.floor(b) / patch)

    tokens = patches(w, h)
    if tokens <= max_tokens:
        return tokens
    scale = math.sqrt(max_tokens * patch * patch / (w * h))
    while patches(w * scale, h * scale) > max_tokens:
        scale *= 0.995  # the API shrinks until the patch grid fits the cap
    return patches(w * scale, h * scale)


def decode_base64(data: str) -> bytes | None:
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def estimate_image_bytes(data: bytes, family: Family) -> tuple[Estimate, str | None]:
    """Tokens of one image given its bytes; a note when the size could not be read."""
    size = image_size(data)
    if size is None:
        cap = pricing_table().image_caps[family][1]
        return Estimate(cap, 0, cap), "image format not recognised: counted at the model's cap"
    n = image_tokens(size.width, size.height, family) + pricing_table().image_wrapper_tokens
    return Estimate(n, max(0, n - 8), n + 8), None


def unknown_image(family: Family) -> Estimate:
    """An image given by URL or file ID: its size is unknown offline, so the band is wide."""
    cap = pricing_table().image_caps[family][1]
    return Estimate(cap, 0, cap + pricing_table().image_wrapper_tokens)


def pdf_pages(data: bytes) -> int:
    return len(_PAGE.findall(data))


def estimate_pdf_bytes(data: bytes, family: Family) -> tuple[Estimate, str | None]:
    """A PDF: page images plus extracted text (text unknown offline: a typical page is assumed)."""
    pages = pdf_pages(data)
    note = None
    if pages == 0:
        pages = 1
        note = "PDF page count not readable: one page assumed"
    image = PDF_PAGE_IMAGE_TOKENS * pages
    text = PDF_PAGE_TEXT_TOKENS[family] * pages
    return Estimate(image + text, image, image + 2500 * pages), note


def unknown_pdf(family: Family) -> Estimate:
    return Estimate(PDF_PAGE_IMAGE_TOKENS + PDF_PAGE_TEXT_TOKENS[family], 0, 100 * PDF_PAGE_IMAGE_TOKENS)
