"""Showing a secret without revealing it, and the one scrubber every output goes through.

:func:`redact` is the only way a secret is shown: a recognisable prefix, the last 4 characters.
:func:`scrub` is the output boundary: the CLI's stdout and stderr, every log record and traceback,
and every MCP result, resource and error pass through it, so a check that forgot to redact, or a
value shaped to slip past one (``…sk-ant-…``, a key inside a file name, a key echoed by a
gateway, a key written with JSON escapes) still leaves the process redacted. It catches:

- an Anthropic credential (``sk-ant-`` and 16 or more base64url characters) anywhere, also
  glued to other text, and also written with ``\\uXXXX`` / ``\\xXX`` / ``\\UXXXXXXXX`` escapes
  (what every JSON and TOML reader turns back into a live key);
- other issued-token formats with a documented prefix (OpenAI ``sk-``, GitHub, GitLab, Slack,
  AWS access key ids, Google API keys);
- any secret registered with :func:`register_secret` (the credential claude-health itself sends),
  exactly, whatever its shape, and its body without the format prefix.

Not decoded: base64 and URL percent-encoding (no client turns those into a live key by itself;
credential-named URL parameters and ``Authorization`` values are hidden whole by the name-aware
scrubbers). Stdlib only and no work beyond substring checks for text that holds no candidate:
this runs on every line the CLI prints.
"""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^(sk-ant-[a-z]+\d*-|sk-ant-|sk-)")
_MIN_SHOWN = 20  # below this, the last 4 characters would be too large a share of the secret


def redact(secret: str) -> str:
    """``sk-ant-api03-…WXYZ``: the format prefix and the last 4 characters, never more."""
    secret = secret.strip()
    if not secret:
        return "(empty)"
    match = _PREFIX.match(secret)
    prefix = match.group(1) if match else ""
    if len(secret) < _MIN_SHOWN:
        return f"{prefix}…({len(secret)} chars)"
    return f"{prefix}…{secret[-4:]}"


# What redact() returns, and nothing else: a value that merely contains "…" is not redacted.
_REDACTED = re.compile(r"(?:sk-ant-[a-z]+\d*-|sk-ant-|sk-)?…(?:[^\s…]{4}|\(\d+ chars\))")


def is_redacted(value: str) -> bool:
    """True only for the exact output of :func:`redact` (so it is not redacted twice)."""
    return _REDACTED.fullmatch(value.strip()) is not None


def fingerprint(secret: str) -> str:
    """A short, stable hash so the same key can be recognised in several places."""
    from claude_health.tools.digest import sha256_hex  # not at the top: see the docstring

    return sha256_hex(secret.strip().encode("utf-8"))[:12]


def suffix20(secret: str) -> str:
    """The last 20 characters: what Claude Code stores to remember an approved API key."""
    return secret.strip()[-20:]


# -- the output boundary ------------------------------------------------------------------------

_B64 = "A-Za-z0-9_-"


def _hex_forms(ch: str) -> str:
    """``ch`` as itself or as a \\u, \\x or \\U escape (hex digits in either case)."""
    code = f"{ord(ch):02x}"
    hi, lo = code[0], code[1]
    digit = f"[{lo}{lo.upper()}]" if lo.isalpha() else lo
    return rf"(?:{re.escape(ch)}|\\(?:u00|x|U000000){hi}{digit})"


# One escaped base64url character: 0-9 (30-39), A-O (41-4f), P-Z (50-5a), _ (5f), a-o, p-z, - (2d).
_ESCAPED_UNIT = r"\\(?:u00|x|U000000)(?:3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|2[dD])"
# A key whose "sk-ant-" is written plainly (its body may hold escapes), found by substring search.
_ANTHROPIC_PLAIN_PREFIX = re.compile(rf"sk-ant-(?:[{_B64}]|{_ESCAPED_UNIT}){{16,}}")
# A key whose prefix itself holds an escape: searched only where such an escape occurs.
_ANTHROPIC_ESCAPED = re.compile(
    "".join(_hex_forms(c) for c in "sk-ant-") + rf"(?:[{_B64}]|{_ESCAPED_UNIT}){{16,}}"
)
_PREFIX_ESCAPE = re.compile(r"\\(?:u00|x|U000000)(?:7[34]|6[1bBeE]|2[dD])")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|U([0-9a-fA-F]{8}))")
# Issued-token formats with a documented prefix, wherever they appear: their names need not say
# "key" (``GITHUB_PAT``); other providers' shapes must start a word (``task-…`` is not OpenAI's).
# Each pattern opens with its literal prefix and checks the word start after it, so ``re`` finds
# candidates by substring search; each runs only when its prefix is in the text.
_TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sk-", re.compile(r"sk-(?<![A-Za-z0-9]sk-)[A-Za-z0-9_-]{20,}")),
    ("gh", re.compile(r"gh[opusr]_(?<![A-Za-z0-9]gh._)[A-Za-z0-9]{20,}")),
    ("github_pat_", re.compile(r"github_pat_(?<![A-Za-z0-9]github_pat_)[A-Za-z0-9_]{20,}")),
    ("glpat-", re.compile(r"glpat-(?<![A-Za-z0-9]glpat-)[A-Za-z0-9_-]{20,}")),
    ("xox", re.compile(r"xox[abprs]-(?<![A-Za-z0-9]xox.-)[A-Za-z0-9-]{10,}")),
    ("AKIA", re.compile(r"AKIA(?<![A-Za-z0-9]AKIA)[0-9A-Z]{16}")),
    ("AIza", re.compile(r"AIza(?<![A-Za-z0-9]AIza)[0-9A-Za-z_-]{30,}")),
)

MIN_REGISTERED = 12  # shorter "secrets" (test values, "changeme") would blank ordinary words
_MAX_REGISTERED = 64
_registered: dict[str, str] = {}  # secret (or its body) -> its redacted form


def register_secret(secret: str) -> None:
    """Scrub this exact value from every output of the process from now on (the credential
    claude-health sends, so an echo of it in any shape is caught). Also its body after a known
    format prefix, which a gateway may echo alone."""
    value = secret.strip()
    if len(value) < MIN_REGISTERED:
        return
    shown = redact(value)
    match = _PREFIX.match(value)
    body = value[match.end() :] if match else ""
    for item in (value, body) if len(body) >= 16 else (value,):
        _registered.pop(item, None)  # re-registering makes it the newest
        _registered[item] = shown
    while len(_registered) > _MAX_REGISTERED:  # the oldest go first: a process uses one or two
        del _registered[next(iter(_registered))]


def decode_escapes(text: str) -> str:
    """``\\uXXXX``, ``\\xXX`` and ``\\UXXXXXXXX`` escapes decoded (others left as they are)."""

    def one(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2) or m.group(3), 16)
        return chr(code) if code < 0x110000 else m.group(0)

    return _ESCAPE.sub(one, text)


def _redact_escaped(m: re.Match[str]) -> str:
    return redact(decode_escapes(m.group(0)))


def _redact_match(m: re.Match[str]) -> str:
    return redact(m.group(0))


def scrub(text: str) -> str:
    """``text`` with every credential it holds in any known shape replaced by :func:`redact`."""
    if not text:
        return text
    if "sk-ant-" in text:
        text = _ANTHROPIC_PLAIN_PREFIX.sub(_redact_escaped, text)
    if "\\" in text and _PREFIX_ESCAPE.search(text):
        text = _ANTHROPIC_ESCAPED.sub(_redact_escaped, text)
    for hint, pattern in _TOKEN_PATTERNS:
        if hint in text:
            text = pattern.sub(_redact_match, text)
    for secret, shown in _registered.items():
        if secret in text:
            text = text.replace(secret, shown)
    return text


def scrub_bytes(data: bytes) -> bytes:
    """:func:`scrub` for bytes on their way out (undecodable bytes survive unchanged)."""
    if (
        b"\\" not in data
        and not _registered
        and not any(hint.encode() in data for hint, _ in _TOKEN_PATTERNS)
    ):
        return data
    text = data.decode("utf-8", "surrogateescape")
    cleaned = scrub(text)
    return data if cleaned == text else cleaned.encode("utf-8", "surrogateescape")


def scrub_value(value: object) -> object:
    """A JSON-shaped value with every string in it (keys too) scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(k) if isinstance(k, str) else k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub_value(v) for v in value)
    return value


# -- free text from elsewhere (a server's stderr, URLs) -------------------------------------------

_SECRET_NAME = re.compile(r"(?i)(key|token|secret|passw|pwd|auth|sig|credential|session)")
_TOKENISH = re.compile(
    r"sk-ant-[A-Za-z0-9_-]+|(?<![A-Za-z0-9_-])(?=[A-Za-z_-]*\d)(?=[0-9_-]*[A-Za-z])[A-Za-z0-9_-]{24,}"
)


def redact_url(url: str) -> str:
    """A URL safe to show: the userinfo password and secret-looking query values redacted."""
    from urllib.parse import unquote, urlsplit, urlunsplit  # as hashlib above

    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc
        if parts.password is not None:
            netloc = f"{parts.username or ''}:***@{netloc.rsplit('@', 1)[1]}"
        fields = []
        for field in parts.query.split("&") if parts.query else []:
            name, sep, value = field.partition("=")
            if sep and value and _SECRET_NAME.search(name):
                value = redact(unquote(value))
            fields.append(f"{name}{sep}{value}")
        shown = urlunsplit((parts.scheme, netloc, parts.path, "&".join(fields), parts.fragment))
    except ValueError:
        shown = url
    return redact_text(shown)


def redact_text(text: str) -> str:
    """Text from outside (a server's stderr): every credential :func:`scrub` knows, and any long
    key-like token, redacted."""
    return _TOKENISH.sub(lambda m: redact(m.group(0)), scrub(text))
