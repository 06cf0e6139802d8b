"""``claude-health rules [CODE]``: the catalogue of finding codes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from claude_health.server.commands.common import UsageError, style
from claude_health.server.output import dump_json


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "rules",
        parents=[common],
        help="explain finding codes",
        description="List every finding code, or explain one: what it means, why it matters, how to fix it.",
    )
    parser.add_argument("code", nargs="?", help="a finding code such as A001")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from claude_health.tools.catalogue import all_rules, get_rule

    rules = all_rules()
    if args.code:
        rule = get_rule(args.code)
        if rule is None:
            raise UsageError(f"unknown code {args.code!r}; run `claude-health rules` for the list")
        selected = [rule]
    else:
        selected = list(rules.values())
    if args.json:
        dump_json(
            {
                "rules": [
                    {
                        "code": r.code,
                        "title": r.title,
                        "severity": r.severity.value,
                        "check": r.check,
                        "what": r.what,
                        "why": r.why,
                        "fix": r.fix,
                    }
                    for r in selected
                ]
            }
        )
        return 0
    st = style(args)
    out = sys.stdout
    if args.code:
        r = selected[0]
        out.write(f"{st.bold(r.code)} {r.title}  [{st.severity(r.severity)}, {r.check}]\n\n")
        out.write(f"What:  {r.what}\n\nWhy:   {r.why}\n\nFix:   {r.fix}\n")
        return 0
    for r in selected:
        out.write(f"{st.bold(r.code)}  {st.severity(r.severity, f'{r.severity.value:<7}')}  {r.title}\n")
    return 0
