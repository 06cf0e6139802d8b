"""Which plan the user is on, from Claude Code's stored login (the file, or the macOS Keychain):
two fields and nothing else.

The credential store also holds OAuth tokens. The login reader keeps only metadata; these two
fields are all plan usage takes from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from claude_health.tools.auth.login import LoginRead


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


def plan_of(read: LoginRead) -> PlanInfo:
    """The plan of the login Claude Code has stored (:func:`claude_health.tools.auth.login.read_login`,
    the one reader of its credential store)."""
    if read.login is None:
        if read.problem is None and not read.from_keychain and not read.source.exists():
            return PlanInfo()
        return PlanInfo(source=read.location, problem=read.problem)
    return PlanInfo(
        subscription_type=_short(read.login.subscription_type),
        rate_limit_tier=_short(read.login.rate_limit_tier),
        source=read.location,  # the Keychain item on macOS when Claude Code reads it from there
    )
