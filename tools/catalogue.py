"""The rule catalogue: every finding code, documented once.

Each check keeps its rules beside it in a module named ``rules`` exposing ``RULES`` (the doctor's
own H001 is in :mod:`claude_health.tools.outcome`); this module only collects them. A new check
adds its ``rules`` module to :data:`RULE_MODULES` (tests/test_catalogue.py fails until it does).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Protocol

from claude_health.tools import outcome
from claude_health.tools.admin import rules as admin_rules
from claude_health.tools.auth import rules as auth_rules
from claude_health.tools.findings import Rule
from claude_health.tools.guard import rules as guard_rules
from claude_health.tools.keys import rules as keys_rules
from claude_health.tools.limiter import rules as limiter_rules
from claude_health.tools.runtime import rules as runtime_rules
from claude_health.tools.settings import rules as settings_rules
from claude_health.tools.tokens import rules as tokens_rules
from claude_health.tools.usage import rules as usage_rules


class RuleModule(Protocol):
    """A module that documents its codes: it exposes ``RULES``."""

    @property
    def __name__(self) -> str: ...

    @property
    def RULES(self) -> Sequence[Rule]: ...  # read-only: each module has its own tuple type


RULE_MODULES: tuple[RuleModule, ...] = (
    outcome,
    admin_rules,
    auth_rules,
    guard_rules,
    keys_rules,
    limiter_rules,
    runtime_rules,
    settings_rules,
    tokens_rules,
    usage_rules,
)


@cache
def all_rules() -> dict[str, Rule]:
    """Every documented rule by code, in code order. Duplicate codes are a programming error."""
    rules: dict[str, Rule] = {}
    for module in RULE_MODULES:
        for rule in module.RULES:
            if rule.code in rules:
                raise RuntimeError(f"rule code {rule.code} is defined twice ({module.__name__})")
            rules[rule.code] = rule
    return dict(sorted(rules.items()))


def get_rule(code: str) -> Rule | None:
    return all_rules().get(code.strip().upper())
