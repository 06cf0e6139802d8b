"""Showing a secret without revealing it: a recognisable prefix, the last 4 characters, a hash.

Nothing else in claude-health formats a secret; every path that shows one goes through here.
"""

from __future__ import annotations

import hashlib
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


def fingerprint(secret: str) -> str:
    """A short, stable hash so the same key can be recognised in several places."""
    return hashlib.sha256(secret.strip().encode("utf-8")).hexdigest()[:12]


def suffix20(secret: str) -> str:
    """The last 20 characters: what Claude Code stores to remember an approved API key."""
    return secret.strip()[-20:]


_SECRET_NAME = re.compile(r"(?i)(key|token|secret|passw|pwd|auth|sig|credential|session)")
_TOKENISH = re.compile(
    r"sk-ant-[A-Za-z0-9_-]+|(?<![A-Za-z0-9_-])(?=[A-Za-z_-]*\d)(?=[0-9_-]*[A-Za-z])[A-Za-z0-9_-]{24,}"
)


def redact_url(url: str) -> str:
    """A URL safe to show: the userinfo password and secret-looking query values redacted."""
    from urllib.parse import unquote, urlsplit, urlunsplit

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
    """Free text with every Anthropic key and long key-like token in it redacted."""
    return _TOKENISH.sub(lambda m: redact(m.group(0)), text)
