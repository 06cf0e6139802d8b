"""Holding found keys in memory for one `--verify` run, and nowhere else.

Checks call :func:`remember` for every credential they report; only while :func:`collecting`
is active is anything kept, so a normal scan holds no secret beyond the moment it is found.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from claude_health.tools.redact import fingerprint

if TYPE_CHECKING:
    from claude_health.tools.keys.scanner import Hit

_VAULT: ContextVar[dict[str, tuple[str, str]] | None] = ContextVar("claude_health_keys_vault", default=None)


def remember(kind: str, secret: str, fp: str | None = None) -> None:
    """Keep ``secret`` for --verify while :func:`collecting` (``fp``: its fingerprint, if known)."""
    vault = _VAULT.get()
    if vault is not None:
        vault.setdefault(fp or fingerprint(secret), (kind, secret))


@contextmanager
def collecting() -> Iterator[dict[str, tuple[str, str]]]:
    """fingerprint -> (kind, secret) of every credential reported inside the block."""
    vault: dict[str, tuple[str, str]] = {}
    token = _VAULT.set(vault)
    try:
        yield vault
    finally:
        _VAULT.reset(token)


def hit_fields(hit: Hit) -> dict[str, Any]:
    """The Finding fields of a hit (the secret only redacted); remembers it for --verify."""
    fp = hit.fingerprint  # (once: a report of hundreds of keys hashed each three times)
    remember(hit.kind, hit.secret, fp)
    return {
        "line": hit.line,
        "column": hit.column,
        "kind": hit.kind,
        "redacted": hit.redacted,
        "fingerprint": fp,
    }
