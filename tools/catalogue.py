"""The rule catalogue: every finding code, documented once.

Each check keeps its rules beside it in a module named ``rules`` exposing ``RULES`` (plus the
doctor's own); this module only collects them, so a new check documents itself by existing.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from functools import cache

from claude_health.tools.findings import Rule


def rule_modules() -> list[str]:
    """``claude_health.tools.doctor`` and every ``claude_health.tools.<check>.rules`` module."""
    from claude_health import tools

    names = ["claude_health.tools.doctor"]
    for info in pkgutil.iter_modules(tools.__path__):
        if info.ispkg and importlib.util.find_spec(f"claude_health.tools.{info.name}.rules") is not None:
            names.append(f"claude_health.tools.{info.name}.rules")
    return names


@cache
def all_rules() -> dict[str, Rule]:
    """Every documented rule by code, in code order. Duplicate codes are a programming error."""
    rules: dict[str, Rule] = {}
    for name in rule_modules():
        module = importlib.import_module(name)
        for rule in module.RULES:
            if rule.code in rules:
                raise RuntimeError(f"rule code {rule.code} is defined twice ({name})")
            rules[rule.code] = rule
    return dict(sorted(rules.items()))


def get_rule(code: str) -> Rule | None:
    return all_rules().get(code.strip().upper())
