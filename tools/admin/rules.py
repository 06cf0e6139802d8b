"""Finding codes of the Admin API reports (O###: the organisation's own numbers)."""

from __future__ import annotations

from claude_health.tools.findings import Rule, Severity

_CHECK = "admin"

REPORT_PART_MISSING = Rule(
    code="O001",
    title="Part of the Admin API report is missing",
    severity=Severity.WARNING,
    what="One of the Admin API calls (rate limits, workspaces, usage, cost or Claude Code report) "
    "failed after the client's retries; the other parts are shown without it.",
    why="Totals and headroom computed without that part are incomplete; a 403 usually means the key "
    "or organisation is not offered that report, a 429 or 5xx that the API was busy.",
    fix="Read the message: retry later for 429/5xx, use an organisation admin key for 403, and check "
    "`CLAUDE_HEALTH_ADMIN_BASE_URL` if the API could not be reached.",
    check=_CHECK,
)
ADMIN_KEY_REJECTED = Rule(
    code="O002",
    title="The Admin API rejected the admin key",
    severity=Severity.ERROR,
    what="The Admin API answered 401 to the admin key from ANTHROPIC_ADMIN_KEY or the config file.",
    why="The key is revoked, expired, mistyped or not an Admin API key; nothing can be fetched with it.",
    fix="Create a new Admin API key in the Claude Console (Settings > Admin keys; organisation admins "
    "only) and set it in ANTHROPIC_ADMIN_KEY or [admin] key of the config file (chmod 600).",
    check=_CHECK,
)
SPEND_NEAR_LIMIT = Rule(
    code="O003",
    title="This month's API spend is near the monthly spend limit",
    severity=Severity.WARNING,
    what="The Cost report's month-to-date spend is at least 80% of the monthly spend limit, or the "
    "pace so far projects past it (error: the limit is reached).",
    why="At the limit the API answers 429 enforced_spend_limit_reached to every request of the "
    "organisation until 00:00 UTC on the 1st; retries cannot help.",
    fix="Raise the limit in the Claude Console (Settings > Limits) or move to a higher tier; set "
    "[admin] spend_limit_usd in the config file if your organisation's limit is lower than the "
    "tier's cap, so the headroom is computed against the right number.",
    check=_CHECK,
)

RULES: tuple[Rule, ...] = (REPORT_PART_MISSING, ADMIN_KEY_REJECTED, SPEND_NEAR_LIMIT)
