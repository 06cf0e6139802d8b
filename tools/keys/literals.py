"""Literal secrets in configuration text: which names and values look secret, and hiding them.

The key-hygiene config check (K003) decides with these what a literal secret is; anything that
shows configuration text to the user (``install --dry-run`` diffs, a probed server's stderr)
hides the same values with :func:`scrub_line`. Kept free of heavy imports: the registration
planner and the probe load it.
"""

from __future__ import annotations

import re

from claude_health.tools.keys.formats import shannon_entropy
from claude_health.tools.redact import is_redacted, redact, redact_url, scrub

SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.IGNORECASE)
# Names that match SECRET_NAME but carry no secret.
NOT_SECRET_NAME = re.compile(r"(_URL|_HOST|_PORT|_PATH|_FILE|_DIR|_MODE|_TYPE|_ID|_NAME|MAX_.*TOKENS)$", re.I)
MIN_SECRET_LEN = 8


def is_reference(value: str) -> bool:
    return "${" in value or value.startswith("$")


def looks_secret(value: str) -> bool:
    """A literal that could be a real secret: long enough and not a word or placeholder."""
    v = value.strip()
    if len(v) < MIN_SECRET_LEN or is_reference(v) or " " in v:
        return False
    lowered = v.lower()
    if any(
        w in lowered for w in ("xxxx", "your", "change", "placeholder", "example", "redacted", "<", "...")
    ):
        return False
    return bool(shannon_entropy(v) >= 3.0)


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not NOT_SECRET_NAME.search(name)


# A scheme starts where a scheme cannot continue and is short: otherwise a long run of letters is
# scanned to its end from every position (quadratic; a 1 MiB value took minutes).
_URL = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s\"'<>\\`]+")
# `"name": "value"` (JSON), `name = "value"` (TOML), `NAME=value` (env dumps, shell).
# A bare name starts where a name cannot continue (the lookbehind) and is at most 256 characters:
# without both, a long run of name characters with no `:` or `=` after it is tried from every
# position, and a 1 MiB value took minutes.
_PAIR = re.compile(
    r"(?P<name>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{1,256})(?P<sep>\s*[:=]\s*)"
    r"(?P<value>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s\"',}\]]+)"
)
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_+=~.-]+")
MIN_TOKEN_LEN = 20
_AUTH_SCHEMES = ("bearer ", "basic ", "token ")


_SEGMENT = re.compile(r"[^_.-]+")
MIN_TOKEN_SEGMENT = 16
# Random hex of 32 characters measures 3.0-3.9 bits per character; a threshold of 3.5 missed one in
# five. Mixed letters and digits over 16+ characters with 10+ distinct ones is already rare in
# names, versions and paths.
MIN_TOKEN_ENTROPY = 2.9
MIN_TOKEN_DISTINCT = 10


def _token_shaped(value: str) -> bool:
    """A random-looking credential whatever its name: one word holding a long run of mixed
    letters and digits. Model names and UUIDs (``claude-sonnet-4-5-20250929``) are short runs."""
    if len(value) < MIN_TOKEN_LEN or _TOKEN_CHARS.fullmatch(value) is None:
        return False
    return any(
        len(seg) >= MIN_TOKEN_SEGMENT
        and any(c.isdigit() for c in seg)
        and any(c.isalpha() for c in seg)
        and len(set(seg)) >= MIN_TOKEN_DISTINCT
        and shannon_entropy(seg) >= MIN_TOKEN_ENTROPY
        for seg in _SEGMENT.findall(value)
    )


def _hide_value(name: str, value: str) -> str | None:
    """The redacted value, or None when it stays as it is."""
    if not value or is_redacted(value) or set(value) <= {"*"}:
        return None
    if is_secret_name(name):
        scheme = next((s for s in _AUTH_SCHEMES if value.lower().startswith(s)), None)
        if scheme and looks_secret(value[len(scheme) :]):
            return value[: len(scheme)] + redact(value[len(scheme) :])
        if looks_secret(value):
            return redact(value)
    return redact(value) if _token_shaped(value) else None


def _pair(m: re.Match[str]) -> str:
    name, sep, value = m.group("name"), m.group("sep"), m.group("value")
    quote = value[0] if value[0] in "\"'" and len(value) >= 2 else ""
    inner = value[1:-1] if quote else value
    hidden = _hide_value(name.strip("\"'"), inner)
    if hidden is None:
        return m.group(0)
    return f"{name}{sep}{quote}{hidden}{quote}"


def scrub_line(text: str) -> str:
    """``text`` with every credential-looking value redacted: URL passwords and secret query
    values, known token formats, and values assigned to secret-named fields or shaped like a
    random token (JSON, TOML and ``NAME=value`` forms)."""
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    return _PAIR.sub(_pair, scrub(text))


def displayable(text: str) -> str:
    """``text`` as it may be shown and serialised: no lone surrogates, no credential in it.

    File names that are not UTF-8 reach Python as lone surrogates, which JSON encoders and
    pydantic refuse; they become ``\\xff`` escapes. A credential in a file name, a JSON key or
    any other name is replaced by its redacted form.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "backslashreplace")
        text = raw.decode("utf-8", "backslashreplace")
    return scrub(text)
