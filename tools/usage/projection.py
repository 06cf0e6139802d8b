"""When will the user hit the 5-hour or weekly limit, and how sure are we?

Anthropic publishes no token limits, so only the official percentage (from the status line)
anchors a projection. The rate of change comes from successive official snapshots when they
span long enough, otherwise from the local token rate scaled by the official percentage per
local token in the same window (which misses usage from claude.ai and other machines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from claude_health.tools.usage.limit_hits import LimitHit
from claude_health.tools.usage.snapshot import FIVE_HOUR_S, SEVEN_DAY_S, Snapshot, WindowUsage

WindowName = Literal["five_hour", "seven_day"]
Confidence = Literal["high", "medium", "low", "none"]

FRESH_S = 10 * 60
STALE_S = 60 * 60
# Snapshot spans after which their own %/h is trusted over the local-token estimate.
MIN_SPAN_H = {"five_hour": 0.5, "seven_day": 6.0}
LENGTH_S = {"five_hour": FIVE_HOUR_S, "seven_day": SEVEN_DAY_S}
MIN_LOCAL_ENTRIES = 10


@dataclass
class LocalWindow:
    """Local token counts needed to calibrate one window."""

    tokens_in_window: int  # since the official window started
    recent_tokens: int  # over ``recent_hours`` up to now
    recent_hours: float
    entries_in_window: int


@dataclass
class Projection:
    window: WindowName
    used_percentage: float | None = None
    estimated_percentage_now: float | None = None
    resets_at: str | None = None
    snapshot_age_seconds: float | None = None
    percent_per_hour: float | None = None
    rate_source: str | None = None
    hours_to_limit: float | None = None
    limit_at: str | None = None
    hits_limit_before_reset: bool | None = None
    projected_percentage_at_reset: float | None = None
    confidence: Confidence = "none"
    reasons: list[str] = field(default_factory=list)
    limit_hit_at: str | None = None


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def project(
    window: WindowName,
    snap: Snapshot | None,
    snapshot_rate: tuple[float, float] | None,
    local: LocalWindow | None,
    now: float,
) -> Projection:
    out = Projection(window=window)
    official: WindowUsage | None = None
    if snap is not None:
        official = snap.five_hour if window == "five_hour" else snap.seven_day
    if official is None or official.resets_at <= now:
        out.reasons.append(
            "No current official percentage: Claude Code passes it to the status line only for Pro/Max "
            "after the first response; run `claude-health install --statusline` to capture it. "
            "Anthropic publishes no token limits, so no time-to-limit can be derived from local data alone."
        )
        return out
    assert snap is not None
    age = max(0.0, now - snap.captured_at)
    out.used_percentage = official.used_percentage
    out.resets_at = _iso(official.resets_at)
    out.snapshot_age_seconds = round(age, 1)

    rate: float | None = None
    span_ok = snapshot_rate is not None and snapshot_rate[1] >= MIN_SPAN_H[window]
    if snapshot_rate is not None and span_ok:
        rate = snapshot_rate[0]
        out.rate_source = "official_snapshots"
        out.reasons.append(f"Rate from official snapshots spanning {snapshot_rate[1]:.1f} h.")
    elif (
        local is not None
        and local.tokens_in_window > 0
        and local.recent_hours > 0
        and official.used_percentage > 0
    ):
        pct_per_token = official.used_percentage / local.tokens_in_window
        rate = local.recent_tokens / local.recent_hours * pct_per_token
        out.rate_source = "local_tokens_calibrated"
        out.reasons.append(
            f"Rate from local tokens over the last {local.recent_hours:g} h, scaled by the official % per "
            "local token in this window; usage on claude.ai or other machines is not seen locally."
        )
    elif snapshot_rate is not None:
        rate = snapshot_rate[0]
        out.rate_source = "official_snapshots"
        out.reasons.append(f"Rate from official snapshots spanning only {snapshot_rate[1] * 60:.0f} min.")
    else:
        out.reasons.append("No usage rate yet: too few snapshots and no local activity in this window.")

    current = official.used_percentage
    if rate is not None:
        current = min(100.0, official.used_percentage + rate * age / 3600)
        out.percent_per_hour = round(rate, 2)
    out.estimated_percentage_now = round(current, 2)
    remaining_h = (official.resets_at - now) / 3600
    if rate is not None:
        projected = current + rate * remaining_h
        out.projected_percentage_at_reset = round(projected, 1)
        if current >= 100:
            out.hours_to_limit = 0.0
            out.limit_at = _iso(now)
            out.hits_limit_before_reset = True
        elif rate > 0:
            hours = (100 - current) / rate
            out.hours_to_limit = round(hours, 2)
            out.limit_at = _iso(now + hours * 3600)
            out.hits_limit_before_reset = hours < remaining_h
        else:
            out.hits_limit_before_reset = False

    out.confidence = _confidence(window, age, out.rate_source, snapshot_rate, local)
    if age > STALE_S:
        out.reasons.append(f"The official percentage is {age / 3600:.1f} h old.")
    elif age > FRESH_S:
        out.reasons.append(f"The official percentage is {age / 60:.0f} min old.")
    return out


def apply_limit_hit(p: Projection, hit: LimitHit) -> Projection:
    """A recorded limit hit in the window is ground truth: the window is full until it resets."""
    clock = datetime.fromtimestamp(hit.at).strftime("%H:%M")
    if hit.estimated_percentage is not None:
        said = f"at {hit.estimated_percentage:.0f}% of the {hit.estimate_source} figure"
    else:
        said = "with no estimate at the time"
    p.limit_hit_at = _iso(hit.at)
    p.estimated_percentage_now = 100.0
    p.hours_to_limit = 0.0
    p.limit_at = _iso(hit.at)
    p.hits_limit_before_reset = True
    if hit.resets_at is not None and p.resets_at is None:
        p.resets_at = _iso(hit.resets_at)
    p.confidence = "high"
    p.reasons.insert(0, f"Limit hit at {clock} {said}: Claude Code stopped a session on this window's limit.")
    return p


def _confidence(
    window: WindowName,
    age: float,
    rate_source: str | None,
    snapshot_rate: tuple[float, float] | None,
    local: LocalWindow | None,
) -> Confidence:
    if rate_source is None:
        return "low" if age <= STALE_S else "none"
    if age > STALE_S:
        return "low"
    if rate_source == "official_snapshots" and snapshot_rate and snapshot_rate[1] >= MIN_SPAN_H[window]:
        return "high" if age <= FRESH_S else "medium"
    if rate_source == "local_tokens_calibrated" and local and local.entries_in_window >= MIN_LOCAL_ENTRIES:
        return "medium"
    return "low"
