"""What the auth route says about the macOS Keychain: credential entries, findings, billing words.

Kept apart from :mod:`claude_health.tools.auth.route` so the route's decision stays one
function of its inputs; these only describe a Keychain read that :mod:`keychain` already made.
When the Keychain cannot be read, nobody knows whether a login is there, so the route must not
claim there is none: ``oauthAccount`` in ``~/.claude.json`` is quoted as a hint that one exists.
"""

from __future__ import annotations

from claude_health.tools.auth.inputs import AuthInputs
from claude_health.tools.auth.models import AuthStatus, Credential
from claude_health.tools.auth.rules import KEYCHAIN_ITEM_DAMAGED, KEYCHAIN_UNREADABLE
from claude_health.tools.findings import Finding, Severity


def keychain_unreadable(inputs: AuthInputs) -> bool:
    """True when the Keychain could not be asked, so the absence of a login is unknown."""
    return inputs.keychain is not None and inputs.keychain.unreadable


def _login_hint(inputs: AuthInputs) -> str:
    if inputs.oauth_account:
        return (
            f"{inputs.global_config_path} records a claude.ai login (oauthAccount), so its tokens are "
            "probably in the Keychain"
        )
    return f"{inputs.global_config_path} records no claude.ai login either"


def keychain_credentials(inputs: AuthInputs) -> list[Credential]:
    """A login Claude Code cannot read, and a ``.credentials.json`` login the Keychain shadows."""
    creds: list[Credential] = []
    keychain = inputs.keychain
    if keychain is not None and (keychain.unreadable or keychain.state == "malformed"):
        creds.append(
            Credential(
                source="claude.ai",
                slot="subscription",
                location=keychain.location,
                in_use=False,
                note=f"not usable: {keychain.detail}",
            )
        )
    unused = inputs.unused_file_login
    if unused is not None:
        creds.append(
            Credential(
                source="claude.ai",
                slot="subscription",
                location=str(unused.path),
                in_use=False,
                note="not used: Claude Code reads the macOS Keychain item first",
            )
        )
    return creds


def keychain_findings(inputs: AuthInputs, status: AuthStatus) -> list[Finding]:
    keychain = inputs.keychain
    if keychain is None:
        return []
    if keychain.login is None and keychain.state == "malformed":
        return [KEYCHAIN_ITEM_DAMAGED.finding(f"{keychain.location}: {keychain.detail}.")]
    if not keychain.unreadable:
        return []
    if status.loggedIn and status.authMethod != "claude.ai":
        meanwhile = f" Meanwhile Claude Code uses {status.authMethod} ({status.billing} billing)."
    elif status.loggedIn and inputs.oauth is not None:
        meanwhile = f" Claude Code uses the login in {inputs.oauth.path} instead."
    else:
        meanwhile = ' Claude Code will report "Not logged in" here.'
    # With nothing else to use, Claude Code cannot make a request: as bad as no credentials.
    stranded = not status.loggedIn and status.apiProvider == "firstParty"
    return [
        KEYCHAIN_UNREADABLE.finding(
            f"{keychain.location}: {keychain.detail}; {_login_hint(inputs)}.{meanwhile}",
            severity=Severity.ERROR if stranded else None,
        )
    ]


def keychain_billing_explanation(inputs: AuthInputs) -> str | None:
    """Who pays, in words, when no credential could be read because the Keychain could not be."""
    if not keychain_unreadable(inputs) or inputs.keychain is None:
        return None
    return (
        f"Claude Code cannot read its claude.ai login from the macOS Keychain ({inputs.keychain.detail}), "
        f"so it has no credential here; {_login_hint(inputs)}."
    )
