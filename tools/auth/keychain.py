"""The claude.ai login Claude Code keeps in the macOS Keychain, read the way Claude Code reads it.

On macOS Claude Code stores its OAuth credentials (the same JSON as ``.credentials.json``) as a
generic password and reads them back through the ``security`` program found on PATH:
``security find-generic-password -a <account> -w -s <service>`` (Claude Code 2.1.330 bundle).
The service is ``Claude Code-credentials``, suffixed ``-<first 8 hex of sha256(dir)>`` when
``CLAUDE_CONFIG_DIR`` (or ``CLAUDE_SECURESTORAGE_CONFIG_DIR``) names a directory; the account is
``$USER`` (else the OS user name; ``claude-code-user`` when that has unusual characters).
The Keychain comes first; ``.credentials.json`` is used only when the Keychain holds nothing
Claude Code can use (:func:`claude_health.tools.auth.login.read_login` decides, once per view).

The password is a secret: it is parsed in memory, only metadata is kept (plan, tier, scopes,
expiry), and neither the password nor ``security``'s output is ever logged, stored or shown.
``security`` is run with an argument list (no shell) and a timeout, and only from an absolute
PATH entry (never a ``security`` that a project ships).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from claude_health.tools.auth.login import OAuthLogin, oauth_login_from
from claude_health.tools.paths import Workspace

CREDENTIALS_SERVICE = "Claude Code-credentials"
SECURESTORAGE_DIR = "CLAUDE_SECURESTORAGE_CONFIG_DIR"
FALLBACK_ACCOUNT = "claude-code-user"
# Claude Code waits 10 s; a read that takes more than a few seconds is a dialog waiting for the
# user, and the doctor should not hang on it.
READ_TIMEOUT = 5.0
# The item holds a small JSON document; anything this large is not Claude Code's.
MAX_ITEM_BYTES = 1024 * 1024

# `security` exits with the low byte of the Security framework's OSStatus.
EXIT_NOT_FOUND = 44  # errSecItemNotFound (-25300)
EXIT_INTERACTION_NOT_ALLOWED = 36  # errSecInteractionNotAllowed (-25308): locked, cannot prompt
EXIT_AUTH_FAILED = 51  # errSecAuthFailed (-25293): access denied
EXIT_USER_CANCELED = 128  # errSecUserCanceled (-128): "Deny" at the access prompt
EXIT_NO_KEYCHAIN = frozenset({37, 50})  # errSecNoDefaultKeychain (-25307), errSecNoSuchKeychain

_ACCOUNT = re.compile(r"^[a-zA-Z0-9._-]+$")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
# What `security` needs to find the user's keychains; nothing else of the environment is passed.
_SECURITY_ENV = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "LANG", "LC_ALL")

KeychainState = Literal["found", "missing", "locked", "denied", "unavailable", "failed", "malformed"]
UNREADABLE_STATES = frozenset({"locked", "denied", "unavailable", "failed"})

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KeychainRead:
    """What reading Claude Code's Keychain item gave: its state and, when found, the login."""

    service: str
    account: str
    state: KeychainState
    detail: str  # what happened, in words; never the password or security's output
    login: OAuthLogin | None = None
    exit_status: int | None = None

    @property
    def location(self) -> str:
        return f'macOS Keychain item "{self.service}" (account {self.account})'

    @property
    def unreadable(self) -> bool:
        """The Keychain could not be asked (locked, denied, no ``security``, an error)."""
        return self.state in UNREADABLE_STATES


def keychain_service(env: Mapping[str, str]) -> str:
    """The service name Claude Code files its login under for this environment."""
    secure_dir = env.get(SECURESTORAGE_DIR)
    hashed = secure_dir if secure_dir is not None else env.get("CLAUDE_CONFIG_DIR")
    if not hashed:
        return CREDENTIALS_SERVICE
    digest = hashlib.sha256(unicodedata.normalize("NFC", hashed).encode("utf-8", "surrogatepass"))
    return f"{CREDENTIALS_SERVICE}-{digest.hexdigest()[:8]}"


def keychain_account(env: Mapping[str, str]) -> str:
    """``$USER``, else the OS user name; Claude Code's fallback when that is not a plain name."""
    name = env.get("USER") or _os_user()
    return name if name and _ACCOUNT.match(name) else FALLBACK_ACCOUNT


def _os_user() -> str | None:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return None


def login_keychain(ws: Workspace) -> Path:
    """Where the user's login keychain lives: the path findings about the item point to."""
    return ws.home / "Library" / "Keychains" / "login.keychain-db"


def security_program(env: Mapping[str, str]) -> str | None:
    """``security`` from the absolute entries of PATH. A relative entry (``.``, ``bin``, an empty
    one) depends on the working directory, often a repository that could ship its own
    ``security``: that program is never run (the same rule as for git, :mod:`gitsafe`)."""
    for entry in env.get("PATH", os.defpath).split(os.pathsep):
        if not entry or not Path(entry).is_absolute():
            continue
        candidate = Path(entry) / "security"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def read_keychain_login(ws: Workspace, *, timeout: float | None = None) -> KeychainRead:
    """Ask ``security`` (from the workspace's PATH) for Claude Code's item. Never raises."""
    service, account = keychain_service(ws.env), keychain_account(ws.env)
    timeout = READ_TIMEOUT if timeout is None else timeout

    def result(state: KeychainState, detail: str, **extra: Any) -> KeychainRead:
        read = KeychainRead(service, account, state, detail, **extra)
        _log.debug("macOS Keychain item %r (account %r): %s, %s", service, account, state, detail)
        return read

    program = security_program(ws.env)
    if program is None:
        return result("unavailable", "there is no `security` program on PATH to ask the Keychain")
    argv = [program, "find-generic-password", "-a", account, "-w", "-s", service]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={k: ws.env[k] for k in _SECURITY_ENV if k in ws.env},
            check=False,
        )
    except subprocess.TimeoutExpired:
        # The exception carries any partial output: it is dropped here, never formatted.
        return result(
            "failed",
            f"`security` did not answer within {timeout:g} s (a Keychain access dialog may be "
            "waiting for you)",
        )
    except OSError as exc:
        return result("unavailable", f"`security` could not start ({exc.strerror or type(exc).__name__})")
    code = proc.returncode
    if code != 0:
        state, detail = _failure(code, proc.stderr)
        return result(state, detail, exit_status=code)
    state, detail, login = _parse(proc.stdout, login_keychain(ws), service, account)
    return result(state, detail, login=login)


def _failure(code: int, stderr: bytes) -> tuple[KeychainState, str]:
    """What a non-zero exit means. stderr is only searched for a few words, never shown."""
    if code == EXIT_NOT_FOUND:
        return "missing", "no such item in the Keychain (security exit 44)"
    if code == EXIT_INTERACTION_NOT_ALLOWED:
        return "locked", (
            "the Keychain is locked and cannot ask for its password here (security exit 36, as in "
            "an SSH session)"
        )
    if code == EXIT_AUTH_FAILED:
        return "denied", "access to the item was denied (security exit 51)"
    if code == EXIT_USER_CANCELED:
        return "denied", "access was refused at the Keychain prompt (security exit 128)"
    if code in EXIT_NO_KEYCHAIN:
        return "unavailable", f"this account has no usable keychain (security exit {code})"
    words = stderr[:4096].decode("utf-8", "replace").lower()
    if "locked" in words or "unlock" in words or "interaction is not allowed" in words:
        return "locked", f"the Keychain is locked (security exit {code})"
    if "could not be found" in words:
        return "missing", f"no such item in the Keychain (security exit {code})"
    if code < 0:
        return "failed", f"`security` was stopped by signal {-code}"
    return "failed", f"`security` exited with status {code}"


def _parse(
    stdout: bytes, keychain: Path, service: str, account: str
) -> tuple[KeychainState, str, OAuthLogin | None]:
    """The item's JSON (printed as text, or as hex when it holds non-printable bytes)."""
    if len(stdout) > MAX_ITEM_BYTES:
        return "malformed", f"the item is over {MAX_ITEM_BYTES:,} bytes, not Claude Code's JSON", None
    document = _document(stdout.strip())
    if document is None:
        return "malformed", "the item does not hold a JSON object", None
    item = KeychainRead(service, account, "found", "").location
    login = oauth_login_from(document, keychain, keychain_item=item)
    detail = "holds a claude.ai login" if login else "holds no claude.ai login (no claudeAiOauth)"
    return "found", detail, login


def _document(raw: bytes) -> dict[str, Any] | None:
    for candidate in (raw, _unhex(raw)):
        if candidate is None:
            continue
        try:
            value = json.loads(candidate.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def _unhex(raw: bytes) -> bytes | None:
    """``security -w`` prints a password holding non-printable bytes as hex."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return bytes.fromhex(text) if _HEX.match(text) else None
