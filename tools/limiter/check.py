"""The limiter as a doctor check: tier fit, recent 429s, spend limit, store health."""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from claude_health.tools import causes
from claude_health.tools.findings import Finding, Severity
from claude_health.tools.limiter import rules
from claude_health.tools.limiter.config import LimitsConfigError, config_path, load_config
from claude_health.tools.limiter.core import Limiter, LimiterUnavailable
from claude_health.tools.limiter.orglimits import STALE_DAYS
from claude_health.tools.limiter.resolve import resolve_config
from claude_health.tools.limiter.stores import StoreError
from claude_health.tools.outcome import CheckOutcome
from claude_health.tools.paths import Workspace
from claude_health.tools.state import state_db_path

MAX_OUTPUT_ENV = "CLAUDE_CODE_MAX_OUTPUT_TOKENS"


def open_for_report(ws: Workspace) -> Limiter:
    """The limiter as this user's sessions see it, without creating a database just to look."""
    config = resolve_config(None, tier=None, limits=None, env=ws.env, home=ws.home)
    if config.url_source == "default" and not state_db_path(ws.env, ws.home).exists():
        lim = Limiter.for_config(replace(config, url="memory://"))
        lim.store.url = f"{config.default_sqlite} (not created yet: no session has used the limiter)"
        return lim
    return Limiter.for_config(config, fallback="sqlite")


def run_check(ws: Workspace) -> CheckOutcome:
    findings: list[Finding] = []
    try:
        load_config(ws.env, ws.home)
    except LimitsConfigError as exc:
        findings.append(rules.OVERRIDE_FILE_INVALID.finding(str(exc), path=str(config_path(ws.env, ws.home))))
    try:
        lim = open_for_report(ws)
    except (LimiterUnavailable, StoreError, ValueError) as exc:
        findings.append(rules.STORE_PROBLEM.finding(str(exc)))
        return CheckOutcome(findings=findings, data={"store": "unavailable"})
    try:
        findings.extend(_org_limits_findings(lim))
        if lim.tier_source.startswith("default") and lim.org_limits is None:
            findings.append(
                rules.TIER_NOT_SET.finding(f"Assuming tier {lim.tier.label} ({lim.tier.as_of} table).")
            )
        findings.extend(_max_tokens_findings(ws, lim))
        try:
            findings.extend(_event_findings(lim))
            status = lim.status()
        except StoreError as exc:  # opened, then failed: Redis went away, a key of another type...
            findings.append(rules.STORE_PROBLEM.finding(str(exc)))
            return CheckOutcome(findings=findings, data={"store": "unavailable"})
        finally:
            # Read after the calls: a damaged row found while reading is reported too.
            warnings = lim.store.warnings + [w for w in lim.warnings if "falling back" in w]
            findings[:0] = [rules.STORE_PROBLEM.finding(w) for w in warnings]
        data: dict[str, Any] = {
            "store": status.store,
            "tier": status.tier,
            "tier_source": status.tier_source,
            "table_as_of": status.table_as_of,
            "recent_events": [e.model_dump() for e in status.recent_events[-10:]],
        }
    finally:
        lim.close()
    return CheckOutcome(findings=findings, data=data)


def _org_limits_findings(lim: Limiter) -> list[Finding]:
    """L007: the Admin API limits seeding the limiter are old, or their file was ignored."""
    found = [
        rules.ORG_LIMITS_STALE.finding(w, severity=Severity.WARNING)
        for w in lim.warnings
        if w.startswith("ignored the organisation limits")
    ]
    if lim.org_limits is not None and lim.org_limits.age_days() > STALE_DAYS:
        found.append(
            rules.ORG_LIMITS_STALE.finding(
                f"The organisation limits in use were fetched {lim.org_limits.age_days():.0f} days ago "
                f"({lim.org_limits.source}).",
                path=str(lim.org_limits.path),
            )
        )
    return found


def _max_tokens_findings(ws: Workspace, lim: Limiter) -> list[Finding]:
    """L001 for CLAUDE_CODE_MAX_OUTPUT_TOKENS as Claude Code will have it (the view's environment:
    a file Claude Code ignores sets nothing)."""
    view = ws.view
    raw = (view.env.get(MAX_OUTPUT_ENV) or "").strip()
    if not raw:
        return []
    try:
        max_tokens = int(raw)
    except ValueError:
        return []
    model, _ = view.model()
    plans = []
    if model:
        with contextlib.suppress(ValueError):  # a malformed model name checks every class instead
            plans.append(lim.plan(model))
    if not plans:
        plans = [lim.plan(lim.table.classes[cid].members[0]) for cid in lim.tier.classes]
    found: list[Finding] = []
    origin = view.env.origin(MAX_OUTPUT_ENV)
    path = str(origin.path) if origin is not None and origin.path is not None else None
    for plan in plans:
        otpm = plan.caps[plan.dims.index("otpm")]
        if otpm and max_tokens > otpm:
            found.append(
                rules.MAX_TOKENS_EXCEEDS_OTPM.finding(
                    f"{MAX_OUTPUT_ENV}={max_tokens:,} ({view.env.described(MAX_OUTPUT_ENV)}) exceeds the "
                    f"{otpm:,.0f} OTPM of {plan.label} on tier {lim.tier.label}.",
                    path=path,
                    cause=causes.env(MAX_OUTPUT_ENV),
                )
            )
    return found


def _event_findings(lim: Limiter) -> list[Finding]:
    now = time.time()
    month_start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
    events = lim.store.events(min(month_start, now - 3600))
    found: list[Finding] = []
    spend = [e for e in events if e.kind == "spend_limit" and e.at >= month_start]
    if spend:
        last = datetime.fromtimestamp(spend[-1].at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        found.append(
            rules.SPEND_LIMIT_REACHED.finding(
                f"{len(spend)} spend-limit response(s) this month, the last at {last} ({spend[-1].model})."
            )
        )
    recent = [e for e in events if e.kind == "429" and e.at >= now - 3600]
    if recent:
        models = sorted({e.model for e in recent})
        found.append(
            rules.RECENT_429.finding(
                f"{len(recent)} 429 response(s) in the last hour for {', '.join(models)}."
            )
        )
    return found
