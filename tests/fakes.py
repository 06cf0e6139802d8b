"""Fake credentials built at run time. No realistic key literal is ever committed.

Bodies are random base64url of the documented length, so they look issued to a scanner but
were never issued by anyone.
"""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits + "_-"

# kind -> (prefix, body length before the trailing "AA")
_SHAPES = {
    "api_key": ("sk-ant-" + "api03-", 93),
    "admin_key": ("sk-ant-" + "admin01-", 93),
    "oauth_access_token": ("sk-ant-" + "oat01-", 93),
    "oauth_refresh_token": ("sk-ant-" + "ort01-", 93),
}


def fake_key(kind: str = "api_key") -> str:
    """A random credential of the documented shape: prefix + 93 base64url chars + ``AA``."""
    prefix, length = _SHAPES[kind]
    body = "".join(secrets.choice(_ALPHABET) for _ in range(length))
    # Guarantee a high-entropy body: a scanner may (rightly) skip low-variety placeholders.
    while len(set(body)) < 35:
        body = "".join(secrets.choice(_ALPHABET) for _ in range(length))
    return f"{prefix}{body}AA"
