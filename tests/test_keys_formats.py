"""Detection by exact format: every kind, every context, every hard negative."""

from __future__ import annotations

import io
import secrets
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_health.tools.keys import scanner
from claude_health.tools.keys.formats import KINDS, find_in_text, plausible
from claude_health.tools.keys.scanner import scan_bytes, scan_file
from claude_health.tools.redact import redact
from tests.fakes import fake_key

ALPHABET = string.ascii_letters + string.digits + "_-"
FAKE_KINDS = ("api_key", "admin_key", "oauth_access_token", "oauth_refresh_token")


def random_body(n: int) -> str:
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(n))
        if len(set(body)) >= min(35, n // 2):
            return body


def other_key(kind: str) -> str:
    """Kinds tests/fakes.py does not build: session keys and unknown Anthropic tokens."""
    if kind == "session_key":
        return "sk-ant-" + "sid01-" + random_body(86)
    return "sk-ant-" + "xyz07-" + random_body(96)


def any_key(kind: str) -> str:
    return fake_key(kind) if kind in FAKE_KINDS else other_key(kind)


def kinds_of(text: str) -> list[str]:
    return [h.kind for h in scan_bytes(text.encode())]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_detected_with_its_position(kind: str) -> None:
    key = any_key(kind)
    hits = scan_bytes(f"line one\n  token = '{key}'\n".encode())
    assert [(h.kind, h.line, h.column) for h in hits] == [(kind, 2, 12)]
    assert hits[0].redacted == redact(key) and key not in repr(hits[0])


def test_oauth_tokens_do_not_need_the_aa_ending() -> None:
    token = "sk-ant-" + "oat01-" + random_body(93) + "xy"
    assert kinds_of(token) == ["oauth_access_token"]


@pytest.mark.parametrize(
    "context",
    [
        'ANTHROPIC_API_KEY="{k}"',
        "export ANTHROPIC_API_KEY={k}",
        "ENV ANTHROPIC_API_KEY={k}",  # Dockerfile
        "https://example.com/v1?key={k}&x=1",  # URL query: gitleaks misses the & terminator
        "a,{k},b",  # CSV
        "const k = `{k}`;",  # JS template literal
        '"source": ["key = \\"{k}\\"\\n"]',  # notebook cell, JSON-escaped quotes
        '"source": ["print(1)\\n{k}\\n"]',  # right after a JSON \\n escape
        "# token: {k}",  # unquoted comment
        "api_key: {k}",  # YAML
        'variable "k" {{ default = "{k}" }}',  # Terraform
        "{k}",
    ],
)
def test_contexts(context: str) -> None:
    assert kinds_of(context.format(k=fake_key())) == ["api_key"]


def hard_negatives() -> list[str]:
    key = fake_key()
    body = key[len("sk-ant-api03-") :]
    # gitleaks' published rule fixture, assembled so this file holds no key-shaped literal.
    fixture = "abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xyz"
    return [
        "sk-ant-" + "api03-" + "x" * 93 + "AA",  # placeholder
        "sk-ant-" + "api03-" + "X" * 93 + "AA",
        "sk-ant-" + "api03-...",
        "sk-ant-...",
        "ANTHROPIC_API_KEY=<your key>",
        "sk-ant-" + "api03-" + ("abc123XYZ-" * 10)[:93] + "AA",  # low entropy
        "sk-ant-" + "api03-" + fixture + "AA",  # published fixture
        "sk-ant-" + "admin01-" + fixture + "AA",
        "sk-ant-" + "api03-" + (ALPHABET * 2)[:93] + "AA",  # keyboard walk
        key[:-1],  # truncated by one
        key[:60],  # truncated
        key[:-2] + "ab",  # API keys end in AA
        redact(key),  # redacted
        "sk-ant-" + "api03-" + body[:16] + "..." + body[-4:],  # Admin API partial_key_hint shape
        key + "B",  # look-alike: longer token
        key + "-x",
        "sk-ant-" + "api03-" + body + "CC",  # 95-char body: not an API key
        "sk-ant-" + "ort01-" + random_body(94),  # one short
        "sk-ant-" + "oat01-" + random_body(96),  # one long
        "sk-ant-" + "sid01-" + random_body(30),  # too short to be anything
        "sk-ant-" + "sid01-" + "a" * 80,
    ]


@pytest.mark.parametrize("index", range(21))
def test_hard_negatives_are_not_findings(index: int) -> None:
    negative = hard_negatives()[index]
    assert kinds_of(f"x = '{negative}'\n") == []
    assert find_in_text(negative) == []


def glued_and_escaped(key: str) -> dict[str, str]:
    """A key written so that a scanner looking for a word boundary or raw bytes misses it."""
    return {
        "after a letter": "Z" + key,
        "after a word": "my-" + key,
        "after an ellipsis": "\u2026" + key,
        "after a JSON-escaped ellipsis": "\\u2026" + key,
        "in a file name": f"notes-{key}.txt",
        "dashes as \\u002d": key.replace("-", "\\u002d"),
        "dashes as \\u002D": key.replace("-", "\\u002D"),
        "every character \\u-escaped": "".join(f"\\u{ord(c):04x}" for c in key),
        "every character \\x-escaped": "".join(f"\\x{ord(c):02x}" for c in key),
        "every character \\U-escaped (TOML)": "".join(f"\\U{ord(c):08x}" for c in key),
        "prefix plain, body escaped": key[:13] + "".join(f"\\u{ord(c):04x}" for c in key[13:]),
        "prefix escaped, body plain": "".join(f"\\x{ord(c):02x}" for c in key[:7]) + key[7:],
    }


@pytest.mark.parametrize("shape", list(glued_and_escaped("k")))
def test_glued_or_escaped_keys_are_found(shape: str) -> None:
    key = fake_key()
    written = glued_and_escaped(key)[shape]
    for text in (f"x = '{written}'\n", f'{{"env": {{"K": "{written}"}}}}', written):
        hits = scan_bytes(text.encode())
        assert [(h.kind, h.secret) for h in hits] == [("api_key", key)], (shape, text[:60])
    assert [(k, s) for k, s, _ in find_in_text(written)] == [("api_key", key)]


def test_escaped_key_position_is_where_its_escapes_start() -> None:
    key = fake_key()
    text = 'line one\n  "K": "' + key.replace("-", "\\u002d") + '"\n'
    [hit] = scan_bytes(text.encode())
    assert (hit.line, hit.column) == (2, 9)


def test_random_bodies_are_plausible_and_placeholders_are_not() -> None:
    assert all(plausible(random_body(95)) for _ in range(500))
    assert not plausible("x" * 93 + "AA")


@settings(max_examples=60, deadline=None)
@given(
    before=st.text(alphabet=" \t\n\"'`=:,;()[]{}<>&?/\\", max_size=20),
    after=st.text(alphabet=" \t\n\"'`=:,;()[]{}<>&?/", max_size=20),
    kind=st.sampled_from(FAKE_KINDS),
)
def test_any_delimiters_find_the_key_once_at_its_column(before: str, after: str, kind: str) -> None:
    key = fake_key(kind)
    text = before + key + after
    hits = scan_bytes(text.encode())
    assert len(hits) == 1 and hits[0].kind == kind and hits[0].secret == key
    prefix = text[: text.index(key)]
    assert hits[0].line == prefix.count("\n") + 1
    assert hits[0].column == len(prefix) - (prefix.rfind("\n") + 1) + 1


def test_columns_count_characters_not_bytes() -> None:
    key = fake_key()
    hits = scan_bytes(f"é€ {key}".encode())
    assert hits[0].column == 4


def _random_document(n_lines: int) -> tuple[str, list[tuple[int, int]]]:
    lines, expected = [], []
    for i in range(n_lines):
        if secrets.randbelow(20) == 0:
            pad = " " * secrets.randbelow(30) + "é" * secrets.randbelow(3)
            key = fake_key()
            # A third are written as JSON writes an escaped dash: a span up to 6 times longer.
            lines.append(pad + (key.replace("-", "\\u002d") if secrets.randbelow(3) == 0 else key))
            expected.append((i + 1, len(pad) + 1))
        else:
            lines.append("yé" * secrets.randbelow(400))
    return "\n".join(lines), expected


def test_streaming_matches_whole_file_scan_across_chunk_borders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner, "CHUNK", 1000)
    for _ in range(10):
        text, expected = _random_document(1500)
        data = text.encode()
        whole = [(h.line, h.column) for h in scan_bytes(data)]
        stream = scanner._scan_stream(io.BytesIO(data[1000:]), data[:1000], True)
        streamed = [(h.line, h.column) for h in stream]
        assert whole == expected
        assert streamed == expected


def test_large_files_are_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner, "STREAM_THRESHOLD", 10_000)
    monkeypatch.setattr(scanner, "CHUNK", 4096)
    text, expected = _random_document(800)
    path = tmp_path / "big.jsonl"
    path.write_text(text)
    assert path.stat().st_size > 10_000
    result = scan_file(path)
    assert result.skipped is None
    assert [(h.line, h.column) for h in result.hits] == expected


def test_binary_files_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\x01" + fake_key().encode())
    assert scan_file(path).skipped == "binary"


def test_non_utf8_text_is_still_scanned(tmp_path: Path) -> None:
    key = fake_key("admin_key")
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9 " + key.encode() + b"\n")
    hits = scan_file(path).hits
    assert [(h.kind, h.line, h.column) for h in hits] == [("admin_key", 1, 6)]


@pytest.mark.parametrize(
    ("name", "found"),
    [
        (".mcp.json", True),
        ("settings.JSON", True),
        ("config.toml", True),
        ("ci.yml", True),
        ("notebook.ipynb", True),
        ("app.py", False),  # source code: an escaped key there is obfuscation, not hygiene
        ("README.md", False),
    ],
)
def test_escaped_keys_are_looked_for_where_readers_decode_escapes(
    tmp_path: Path, name: str, found: bool
) -> None:
    key = fake_key()
    path = tmp_path / name
    path.write_text('{"k": "' + key.replace("-", "\\u002d") + '"}\n')
    assert [h.secret for h in scan_file(path).hits] == ([key] if found else [])
    assert [h.secret for h in scan_file(path, escapes=True).hits] == [key]


@settings(max_examples=80, deadline=None)
@given(
    text=st.binary(max_size=300),
    at=st.integers(min_value=0, max_value=300),
    planted=st.booleans(),
)
def test_the_simd_prefix_search_answers_as_the_interpreter_does(text: bytes, at: int, planted: bool) -> None:
    """StringZilla is the hot path; bytes.find is the fallback where it has no wheel: same answers."""
    from claude_health.tools.keys import formats

    data = text[:at] + b"sk-ant-" + text[at:] if planted else text
    assert formats._find is not formats._interpreter_find  # the dependency is installed here
    assert formats.holds_prefix(data) == (formats._interpreter_find(data, b"sk-ant-") >= 0)
    assert formats._find(data, b"sk-ant-") == data.find(b"sk-ant-")


def test_the_scan_without_the_simd_search_finds_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claude_health.tools.keys import formats

    text, expected = _random_document(300)
    path = tmp_path / "doc.json"
    path.write_text(text)
    with_simd = [(h.line, h.column, h.secret) for h in scan_file(path).hits]
    monkeypatch.setattr(formats, "_find", formats._interpreter_find)
    without = [(h.line, h.column, h.secret) for h in scan_file(path).hits]
    assert with_simd == without and [(line, col) for line, col, _ in without] == expected
