"""Credentials inside free text (command lines, URLs, rules, finding messages), redacted.

A secret is recognised by its shape (``sk-ant-...``, ``ghp_...``, a long opaque run, 32+ hex
digits) or by its name: the value of ``NAME=value``, ``--flag value``, ``Header: value`` or a URL
query parameter whose name says credential (…_KEY, …TOKEN, …SECRET…, …PASSWORD…, DSN, auth…),
and the password of a URL's userinfo. Every replacement goes through :func:`redact`.

Every pattern starts only where a run of name characters starts (a negative look-behind), so
scrubbing stays linear on hostile text.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from claude_health.tools.redact import is_redacted, redact, scrub

# Shapes that are credentials whatever surrounds them.
_KEYISH = re.compile(
    r"sk-[A-Za-z0-9_-]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|xox[abp]-[A-Za-z0-9-]{10,}"
    r"|(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])"
    r"|[A-Za-z0-9_\-]{40,}"
)
_SECRET_ENDINGS = (
    "key", "keys", "token", "secret", "password", "passwd", "pwd", "pw", "pass", "dsn",
    "credential", "credentials", "cookie", "auth", "sig", "signature", "apikey",
)  # fmt: skip
_SECRET_PARTS = ("secret", "password", "passwd", "credential", "privatekey", "accesskey", "authorization")
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_SCHEME = r"(?:(?:[Bb]earer|[Bb]asic|[Tt]oken)\s+)?"
# `$VAR` / `${VAR}` (or `Bearer $VAR`) is a reference to a secret, not the secret: worth showing.
_REFERENCE = re.compile("^" + _SCHEME + r"\$\{?[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}?$")

_URL = re.compile(r"(?<![\w.+-])[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
# NAME=value: shell assignments, --flag=value, URL query parameters.
_ASSIGN = re.compile(r"(?<![\w.-])(-{0,2}[A-Za-z][\w.-]*)(=[\"']?" + _SCHEME + r")([^\s\"'&;|<>`]+)")
# --flag value
_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)(\s+[\"']?)([^\s\"'<>`]+)")
# Name: value (HTTP headers in curl -H, JSON-ish text).
_HEADER = re.compile(r"(?<![\w-])([A-Za-z][\w-]*)(\s*:\s*[\"']?" + _SCHEME + r")([^\s\"',;)<>`]{8,})")


def secret_name(name: str, *, anywhere: bool = True) -> bool:
    """Does a variable, flag, header, parameter or JSON key name say it holds a credential?

    ``anywhere=False`` accepts only names that end like one (``apiKey``, not ``apiKeyHelper``).
    """
    flat = _NON_ALNUM.sub("", name.lower())
    if not flat:
        return False
    return flat.endswith(_SECRET_ENDINGS) or (anywhere and any(p in flat for p in _SECRET_PARTS))


def is_reference(value: str) -> bool:
    return bool(_REFERENCE.match(value.strip()))


def _named(match: re.Match[str]) -> str:
    name, glue, value = match.group(1), match.group(2), match.group(3)
    tail = ""
    if "(" not in value:  # the ")" closing `Bash(export KEY=...)` is not part of the value
        stripped = value.rstrip(")")
        value, tail = stripped, value[len(stripped) :]
    if (
        not value
        or not secret_name(name)
        or is_reference(value)
        or is_redacted(value)
        or value.startswith("-")
    ):
        return match.group(0)
    return f"{name}{glue}{redact(value)}{tail}"


def _userinfo(match: re.Match[str]) -> str:
    url = match.group(0)
    try:
        password = urlsplit(url).password
    except ValueError:  # e.g. an unbalanced "[" in the host
        return url
    if not password or is_reference(password) or is_redacted(password):
        return url
    scheme, _, rest = url.partition("://")
    userinfo, _, host = rest.partition("@")
    user, _, _ = userinfo.partition(":")
    return f"{scheme}://{user}:{redact(password)}@{host}"


def _shaped(match: re.Match[str]) -> str:
    return redact(match.group(0))


def scrub_text(text: str) -> str:
    """``text`` with every credential-looking value replaced by its redacted form."""
    if not text:
        return text
    text = _URL.sub(_userinfo, scrub(text))
    text = _ASSIGN.sub(_named, text)
    text = _FLAG.sub(_named, text)
    text = _HEADER.sub(_named, text)
    return _KEYISH.sub(_shaped, text)
