"""Which plan the user is on, from Claude Code's credentials file: two fields and nothing else.

The file also holds OAuth tokens. They are never returned, logged or sent anywhere; the parsed
object is dropped as soon as the two fields are copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from claude_health.tools.files import read_json_object
from claude_health.tools.paths import Workspace


@dataclass(frozen=True, slots=True)
class PlanInfo:
    subscription_type: str | None = None
    rate_limit_tier: str | None = None
    source: str | None = None
    problem: str | None = None

    @property
    def has_plan_windows(self) -> bool:
        """Pro and Max (and Team seats) have 5-hour and weekly windows; API users do not."""
        return (self.subscription_type or "").lower() in {"pro", "max", "team"}


def _short(value: object) -> str | None:
    # These are short identifiers; anything long is not what we expect and is not echoed.
    if isinstance(value, str) and 0 < len(value) <= 64 and value.replace("_", "").replace("-", "").isalnum():
        return value
    return None


def read_plan(credentials_file: Path) -> PlanInfo:
    read = read_json_object(credentials_file)
    if not read.exists:
        return PlanInfo()
    if read.data is None:
        return PlanInfo(source=str(credentials_file), problem=read.problem)
    block = read.data.get("claudeAiOauth")
    if not isinstance(block, dict):
        return PlanInfo(source=str(credentials_file))
    return PlanInfo(
        subscription_type=_short(block.get("subscriptionType")),
        rate_limit_tier=_short(block.get("rateLimitTier")),
        source=str(credentials_file),
    )


def read_workspace_plan(ws: Workspace) -> PlanInfo:
    """The plan of the login Claude Code reads: on macOS the Keychain item first, then the file."""
    if ws.os_name == "darwin":
        from claude_health.tools.auth.keychain import read_keychain_login

        keychain = read_keychain_login(ws)
        if keychain.state == "found":
            login = keychain.login
            return PlanInfo(
                subscription_type=_short(login.subscription_type) if login else None,
                rate_limit_tier=_short(login.rate_limit_tier) if login else None,
                source=keychain.location,
            )
    return read_plan(ws.credentials_file)
