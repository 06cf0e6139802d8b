"""Plan usage, end to end: the names other code has imported from here.

The work is split by job: :mod:`.session` (the ledger brought up to date, and its fallbacks),
:mod:`.reports` (the CLI's JSON reports), :mod:`.plan_usage` (the MCP tool's model),
:mod:`.findings` (every usage finding) and :mod:`.store` (all SQL).
"""

from __future__ import annotations

from claude_health.tools.usage.plan_usage import build_plan_usage, plan_usage, projections
from claude_health.tools.usage.reports import blocks, daily, ledger, monthly, weekly
from claude_health.tools.usage.session import UsageSession, guarded, open_session

__all__ = [
    "UsageSession",
    "blocks",
    "build_plan_usage",
    "daily",
    "guarded",
    "ledger",
    "monthly",
    "open_session",
    "plan_usage",
    "projections",
    "weekly",
]
