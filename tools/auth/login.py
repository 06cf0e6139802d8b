"""The claude.ai login Claude Code has stored, read in one place.

Claude Code keeps its OAuth tokens in ``<config dir>/.credentials.json`` on Linux and Windows (and
in the macOS Keychain). :func:`read_login` is the only reader of that store in claude-health:
the auth route, plan usage and the view all take the login from it. Only metadata is kept
(subscription type, tier, expiry, which tokens exist); the tokens themselves are dropped as soon
as their presence is noted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from claude_health.tools.files import read_json_object
from claude_health.tools.paths import Workspace


@dataclass(frozen=True)
class OAuthLogin:
    """Metadata of a claude.ai login from ``.credentials.json`` (never the tokens)."""

    path: Path
    subscription_type: str | None
    rate_limit_tier: str | None
    expires_at_ms: int | None
    has_access_token: bool
    has_refresh_token: bool
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class LoginRead:
    """What the credential store holds: a login, or why it could not be read, and where."""

    source: Path
    login: OAuthLogin | None = None
    problem: str | None = None
    unjudged: bool = False  # too large to judge: a login may be there; nothing is concluded

    @property
    def path(self) -> Path:
        return self.source


def read_login(ws: Workspace) -> LoginRead:
    """The stored claude.ai login of ``ws`` (its config directory as Claude Code resolves it).

    Never raises on a bad file: a problem description comes back instead.
    """
    path = ws.credentials_file
    read = read_json_object(path)
    if not read.exists:
        return LoginRead(path)
    if read.data is None:
        return LoginRead(path, problem=read.problem, unjudged=read.too_large)
    block = read.data.get("claudeAiOauth")
    if not isinstance(block, dict):
        return LoginRead(path)
    expires = block.get("expiresAt")
    scopes = block.get("scopes")
    sub = block.get("subscriptionType")
    tier = block.get("rateLimitTier")
    login = OAuthLogin(
        path=path,
        subscription_type=sub if isinstance(sub, str) and sub else None,
        rate_limit_tier=tier if isinstance(tier, str) and tier else None,
        expires_at_ms=_millis(expires),
        has_access_token=isinstance(block.get("accessToken"), str) and bool(block.get("accessToken")),
        has_refresh_token=isinstance(block.get("refreshToken"), str) and bool(block.get("refreshToken")),
        scopes=tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else (),
    )
    return LoginRead(path, login=login)


def _millis(value: object) -> int | None:
    # JSON allows 1e400 (infinity to Python): not a time, and int() of it would raise.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if math.isfinite(value) else None
