"""The rule catalogue: every code documented once, and docs/rules.md generated from it."""

from __future__ import annotations

import re

from claude_health.server.commands.rules import markdown
from claude_health.tools.catalogue import all_rules
from tests.external import REPO


def test_every_rule_is_documented() -> None:
    rules = all_rules()
    assert len(rules) > 50
    for code, rule in rules.items():
        assert re.fullmatch(r"[A-Z]\d{3}", code), code
        assert rule.code == code
        assert rule.title and rule.what and rule.why and rule.fix and rule.check, code
        assert not rule.title.endswith("."), code


def test_each_check_owns_one_prefix() -> None:
    prefixes: dict[str, set[str]] = {}
    for rule in all_rules().values():
        prefixes.setdefault(rule.code[0], set()).add(rule.check)
    shared = {p: checks for p, checks in prefixes.items() if len(checks) > 1 and p not in {"R", "P"}}
    assert not shared, shared


def test_docs_rules_md_is_current() -> None:
    expected = markdown(list(all_rules().values()))
    actual = (REPO / "docs" / "rules.md").read_text()
    assert actual == expected, "docs/rules.md is stale: run `claude-health rules --markdown > docs/rules.md`"


def test_every_rules_module_is_in_the_catalogue() -> None:
    """The catalogue lists its modules by hand (mypy checks each has RULES): none may be missed."""
    from claude_health.tools.catalogue import RULE_MODULES

    listed = {module.__name__ for module in RULE_MODULES}
    found = {
        "claude_health.tools." + ".".join(path.relative_to(REPO / "tools").with_suffix("").parts)
        for path in (REPO / "tools").rglob("rules.py")
    }
    assert found <= listed, sorted(found - listed)
    assert "claude_health.tools.outcome" in listed  # the doctor's own H001
