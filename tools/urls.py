"""Parsing URLs that come from user files and the environment: a malformed one is a finding.

``urllib.parse`` raises ``ValueError`` for an unbalanced ``[`` in the host or a bad port, and
httpx refuses control characters and hosts it cannot IDNA-encode. Every URL read from
``.mcp.json``, ``~/.claude.json``, ``ANTHROPIC_BASE_URL`` or a limiter store URL goes through
:func:`parse_url`, so the defect is reported where it is (a finding or a clear error) instead of
surfacing as a traceback wherever the URL is next looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from claude_health.tools.redact import redact_url

MAX_URL_CHARS = 8192  # far above any real endpoint; a longer "URL" is data, not an address
# Schemes whose URLs must name a host (the others, e.g. unix:// or sqlite://, carry a path).
HOST_SCHEMES = frozenset({"http", "https", "ws", "wss", "redis", "rediss"})


class BadUrl(ValueError):
    """A URL that cannot be used; the message says why (and never repeats a password)."""


@dataclass(frozen=True, slots=True)
class Url:
    """The parts of a URL that checks look at. ``host`` is lower case, without brackets."""

    text: str
    scheme: str
    host: str
    port: int | None
    hostport: str
    """The network location without any user name or password, e.g. ``[::1]:8080``."""
    path: str
    query: str
    has_password: bool


def _problem(text: str) -> str | None:
    if len(text) > MAX_URL_CHARS:
        return f"it is {len(text):,} characters long"
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            return f"it contains the control character U+{code:04X}"
        if 0xD800 <= code <= 0xDFFF:
            return "it contains a lone surrogate (not valid Unicode)"
    return None


def parse_url(text: str) -> Url:
    """The parts of ``text`` (trimmed), or :class:`BadUrl` saying what is wrong with it."""
    if not isinstance(text, str):
        raise BadUrl(f"a URL must be a string, not {type(text).__name__}")
    text = text.strip()
    if not text:
        raise BadUrl("the URL is empty")
    problem = _problem(text)
    if problem is None:
        try:
            parts = urlsplit(text)
            port = parts.port  # raises for a port that is not a number from 0 to 65535
            host = (parts.hostname or "").lower()
            has_password = parts.password is not None
        except ValueError as exc:
            problem = str(exc) or type(exc).__name__
        else:
            scheme = parts.scheme.lower()
            if not scheme:
                problem = "it has no scheme (such as https://)"
            elif scheme in HOST_SCHEMES and not host:
                problem = "it names no host"
            elif " " in parts.netloc:
                problem = "its host contains a space"
            else:
                hostport = parts.netloc.rpartition("@")[2]
                return Url(text, scheme, host, port, hostport, parts.path, parts.query, has_password)
    raise BadUrl(problem)


def try_url(text: str) -> Url | None:
    """:func:`parse_url`, or None for a URL that cannot be used."""
    try:
        return parse_url(text)
    except BadUrl:
        return None


def shown_url(text: str, limit: int = 200) -> str:
    """``text`` fit for a message: passwords and key-like values redacted, length capped."""
    shown = redact_url(text) if isinstance(text, str) else repr(text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
