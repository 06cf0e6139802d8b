"""Finding codes of the rate limiter (L###)."""

from __future__ import annotations

from claude_health.tools.findings import Rule, Severity

_CHECK = "limits"

MAX_TOKENS_EXCEEDS_OTPM = Rule(
    code="L001",
    title="max_tokens can never fit your tier's output limit",
    severity=Severity.ERROR,
    what=(
        "The configured maximum output (CLAUDE_CODE_MAX_OUTPUT_TOKENS) is larger than the "
        "output-tokens-per-minute limit of your tier for the model in use."
    ),
    why=(
        "The limiter reserves max_tokens against OTPM until a response arrives, so a request that "
        "asks for more than a whole minute of output can never be admitted; the API rejects or "
        "throttles it the same way on accounts that still reserve max_tokens."
    ),
    fix=(
        "Lower CLAUDE_CODE_MAX_OUTPUT_TOKENS below the limit, move to a higher tier, or set the real "
        "limit with `claude-health limits set --model MODEL --otpm N` if your organisation has a "
        "custom one."
    ),
    check=_CHECK,
)
RECENT_429 = Rule(
    code="L002",
    title="Rate-limit (429) responses were seen recently",
    severity=Severity.WARNING,
    what="Responses with HTTP 429 were reported to the limiter in the last hour.",
    why=(
        "Each 429 is a request that failed and was retried; many of them mean sessions are competing "
        "for one organisation's buckets or the tier is too small for the workload."
    ),
    fix=(
        "Run `claude-health limits` to see which bucket binds; use prompt caching (cache reads do not"
        " count toward ITPM), lower max_tokens, spread work over time, or move to a higher tier."
    ),
    check=_CHECK,
)
SPEND_LIMIT_REACHED = Rule(
    code="L003",
    title="The monthly spend limit was reached",
    severity=Severity.ERROR,
    what=(
        "The API answered 429 with error code enforced_spend_limit_reached (or "
        "contract_spend_limit_reached) this month."
    ),
    why=(
        "Usage is paused until 00:00 UTC on the 1st of next month; retries, including the SDK's "
        "automatic ones, keep failing."
    ),
    fix=(
        "Raise the spend limit or buy credits in the Claude Console (Settings > Limits), or move to a"
        " higher tier."
    ),
    check=_CHECK,
)
STORE_PROBLEM = Rule(
    code="L004",
    title="The shared limiter store is not usable",
    severity=Severity.WARNING,
    what=(
        "The configured limiter store (SQLite file or Redis) could not be opened or was corrupt; the "
        "limiter fell back to a store that is not shared, or replaced the file."
    ),
    why=(
        "Sessions that do not share buckets each think they have the whole organisation's limits, and"
        " together overshoot them into 429s."
    ),
    fix=(
        "Follow the message: start Redis or fix CLAUDE_HEALTH_LIMITER_URL / `store` in limits.toml, "
        "or make ~/.cache/claude-health writable."
    ),
    check=_CHECK,
)
OVERRIDE_FILE_INVALID = Rule(
    code="L005",
    title="The limits override file cannot be used",
    severity=Severity.WARNING,
    what="~/.config/claude-health/limits.toml is not valid TOML or holds values of the wrong type.",
    why=(
        "Its tier and per-model limits are ignored, so the limiter uses the default tier's published limits."
    ),
    fix=("Fix the line named in the message, or rewrite it with `claude-health limits set --tier build`."),
    check=_CHECK,
)
TIER_NOT_SET = Rule(
    code="L006",
    title="Your rate-limit tier is not set",
    severity=Severity.INFO,
    what=(
        "No tier is configured, so the lowest current tier (Start) is assumed until response headers "
        "say more."
    ),
    why=(
        "Build and Scale organisations have 2.5-10x higher limits; assuming Start makes the limiter "
        "pessimistic."
    ),
    fix=(
        "Look up your tier in the Claude Console (Settings > Limits) and run `claude-health limits "
        "set --tier TIER`."
    ),
    check=_CHECK,
)

ORG_LIMITS_STALE = Rule(
    code="L007",
    title="The organisation limits from the Admin API are old or unreadable",
    severity=Severity.INFO,
    what=(
        "The limits `claude-health limits --sync` fetched from the Admin API (org-limits.json beside "
        "limits.toml) are more than 30 days old, or the file cannot be read (then: warning)."
    ),
    why=(
        "They seed the limiter in place of the tier tables; limits change when the organisation moves "
        "tier or Anthropic adjusts them, and a stale copy makes the limiter too strict or too lax."
    ),
    fix="Run `claude-health limits --sync` again (needs an Admin API key), or delete the file.",
    check=_CHECK,
)

RULES = (
    MAX_TOKENS_EXCEEDS_OTPM,
    RECENT_429,
    SPEND_LIMIT_REACHED,
    STORE_PROBLEM,
    OVERRIDE_FILE_INVALID,
    TIER_NOT_SET,
    ORG_LIMITS_STALE,
)
