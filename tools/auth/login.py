"""The claude.ai login Claude Code has stored, read in one place.

Claude Code keeps its OAuth tokens in ``<config dir>/.credentials.json`` on Linux and Windows; on
macOS in the Keychain first, with the file as a fallback (:mod:`claude_health.tools.auth.keychain`).
:func:`read_login` is the only reader of that store in claude-health: the auth route, plan usage,
the guard and the view all take the login from it (through the view, so ``security`` runs at most
once per workspace snapshot). Only metadata is kept (subscription type, tier, expiry, which tokens
exist); the tokens themselves are dropped as soon as their presence is noted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_health.tools.files import read_json_object
from claude_health.tools.paths import Workspace

if TYPE_CHECKING:
    from claude_health.tools.auth.keychain import KeychainRead


@dataclass(frozen=True)
class OAuthLogin:
    """Metadata of a claude.ai login from ``.credentials.json`` or the Keychain (never the tokens)."""

    path: Path  # the credentials file, or the login keychain for a Keychain login
    subscription_type: str | None
    rate_limit_tier: str | None
    expires_at_ms: int | None
    has_access_token: bool
    has_refresh_token: bool
    scopes: tuple[str, ...]
    # Set when the login came from the macOS Keychain: the item, in words.
    keychain_item: str | None = None

    @property
    def location(self) -> str:
        return self.keychain_item or str(self.path)


@dataclass(frozen=True)
class LoginRead:
    """What the credential store holds: a login, or why it could not be read, and where.

    On macOS ``keychain`` says what the Keychain gave; when its item was used, a login in
    ``.credentials.json`` that it shadows is ``unused_file_login`` (Claude Code never reads it).
    """

    source: Path  # the credentials file
    login: OAuthLogin | None = None
    problem: str | None = None  # the file's, only when Claude Code falls back to the file
    keychain: KeychainRead | None = None
    unused_file_login: OAuthLogin | None = None
    unjudged: bool = False  # too large to judge: a login may be there; nothing is concluded

    @property
    def path(self) -> Path:
        return self.source

    @property
    def from_keychain(self) -> bool:
        """The Keychain item is what Claude Code uses (found and parsed, login or not)."""
        return self.keychain is not None and self.keychain.state == "found"

    @property
    def location(self) -> str:
        """Where the login Claude Code uses is kept, in words."""
        if self.keychain is not None and self.from_keychain:
            return self.keychain.location
        return str(self.source)


def read_login(ws: Workspace) -> LoginRead:
    """The stored claude.ai login of ``ws`` (its config directory as Claude Code resolves it).

    On macOS the Keychain comes first, as in Claude Code: an item that exists and parses is used
    even when it holds no claude.ai login (the file is then not looked at); a missing, unreadable
    or damaged item falls back to the file. Never raises on a bad file or Keychain: a problem
    description comes back instead.
    """
    from_file = _file_login(ws.credentials_file)
    if ws.os_name != "darwin":
        return from_file
    from claude_health.tools.auth.keychain import read_keychain_login  # a cycle: it builds on OAuthLogin

    keychain = read_keychain_login(ws)
    if keychain.state == "found":
        return LoginRead(
            ws.credentials_file, login=keychain.login, keychain=keychain, unused_file_login=from_file.login
        )
    return replace(from_file, keychain=keychain)


def _file_login(path: Path) -> LoginRead:
    read = read_json_object(path)
    if not read.exists:
        return LoginRead(path)
    if read.data is None:
        return LoginRead(path, problem=read.problem, unjudged=read.too_large)
    return LoginRead(path, login=oauth_login_from(read.data, path))


def oauth_login_from(
    document: dict[str, Any], path: Path, keychain_item: str | None = None
) -> OAuthLogin | None:
    """The login metadata of a credentials document (the file's or the Keychain item's JSON)."""
    block = document.get("claudeAiOauth")
    if not isinstance(block, dict):
        return None
    expires = block.get("expiresAt")
    scopes = block.get("scopes")
    sub = block.get("subscriptionType")
    tier = block.get("rateLimitTier")
    return OAuthLogin(
        path=path,
        subscription_type=sub if isinstance(sub, str) and sub else None,
        rate_limit_tier=tier if isinstance(tier, str) and tier else None,
        expires_at_ms=_millis(expires),
        has_access_token=isinstance(block.get("accessToken"), str) and bool(block.get("accessToken")),
        has_refresh_token=isinstance(block.get("refreshToken"), str) and bool(block.get("refreshToken")),
        scopes=tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else (),
        keychain_item=keychain_item,
    )


def _millis(value: object) -> int | None:
    # JSON allows 1e400 (infinity to Python): not a time, and int() of it would raise.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if math.isfinite(value) else None
