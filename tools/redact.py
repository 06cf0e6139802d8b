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
