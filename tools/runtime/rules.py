from __future__ import annotations

from claude_health.tools.findings import Rule

RULES: tuple[Rule, ...] = ()
