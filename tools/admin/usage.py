"""``usage --api``: this month's tokens, cost, spend headroom and Claude Code use, from the Admin API.

Calls (docs/admin-api.md), each for the 1st of the month 00:00 UTC up to the end of today (UTC):

- ``GET /v1/organizations/usage_report/messages`` with ``bucket_width=1d``, ``group_by[]`` model,
  workspace_id and api_key_id: tokens by model, workspace and API key, with cache rates;
- ``GET /v1/organizations/cost_report`` with ``group_by[]`` workspace_id and description: cost
  (amounts are decimal strings in cents) by workspace, model and cost type;
- ``GET /v1/organizations/usage_report/claude_code`` once per day (it reports one day per call):
  sessions, lines, commits, pull requests and estimated cost per user or API key.

Each part is fetched on its own; one that fails is named in ``missing`` (finding O001) and the
others are still reported. A 401 stops everything (the key itself is refused: O002).
The spend headroom compares the month's cost with ``[admin] spend_limit_usd`` from the config
file, or else the tier's monthly cap from the limiter's tables: Claude Console organisations
have no API that reports their spend limit (Anthropic's Spend Limits API serves Claude
Enterprise organisations only).
"""

from __future__ import annotations

import calendar
import tomllib
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from claude_health.tools.admin.api import NEXT_PAGE, AdminApiError, obj, pages
from claude_health.tools.admin.models import (
    ClaudeCodeActor,
    ClaudeCodeMonth,
    CostMonth,
    CostRow,
    MissingPart,
    OrgUsageReport,
    SpendHeadroom,
    TokenRow,
    UsageMonth,
)
from claude_health.tools.admin.rules import ADMIN_KEY_REJECTED, REPORT_PART_MISSING, SPEND_NEAR_LIMIT
from claude_health.tools.anthropic.client import AnthropicClient
from claude_health.tools.findings import Finding, Severity, Summary, sort_findings

TOP = 20
"""Rows kept per breakdown (the rest are summed into one ``others`` row): results stay short."""
MAX_COUNT = 10**15
WARN_FRACTION = 0.8


def month_period(now: datetime) -> tuple[datetime, datetime]:
    """The 1st of this month 00:00 UTC, and tomorrow 00:00 UTC (buckets end before it)."""
    now = now.astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return start, end


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


# -- tokens -------------------------------------------------------------------------------------


class _Tokens:
    def __init__(self) -> None:
        self.values = {"uncached": 0, "creation": 0, "read": 0, "output": 0, "search": 0}

    def add(self, other: dict[str, int]) -> None:
        for k, v in other.items():
            self.values[k] += v

    def row(self, name: str) -> TokenRow:
        v = self.values
        total_in = v["uncached"] + v["creation"] + v["read"]
        return TokenRow(
            name=name,
            uncached_input_tokens=v["uncached"],
            cache_creation_input_tokens=v["creation"],
            cache_read_input_tokens=v["read"],
            output_tokens=v["output"],
            web_search_requests=v["search"],
            cache_read_rate=round(v["read"] / total_in, 4) if total_in else None,
        )

    def weight(self) -> int:
        return sum(self.values.values())


def _result_tokens(result: dict[str, Any]) -> tuple[dict[str, int], int]:
    """Token counts of one usage result, and how many fields were unusable."""
    bad = 0

    def take(value: Any) -> int:
        nonlocal bad
        n = _count(value)
        if n is None:
            if value is not None:
                bad += 1
            return 0
        return n

    creation = result.get("cache_creation")
    if isinstance(creation, dict):
        written = take(creation.get("ephemeral_5m_input_tokens")) + take(
            creation.get("ephemeral_1h_input_tokens")
        )
    else:
        written = take(result.get("cache_creation_input_tokens"))
    tools = result.get("server_tool_use")
    tokens = {
        "uncached": take(result.get("uncached_input_tokens")),
        "creation": written,
        "read": take(result.get("cache_read_input_tokens")),
        "output": take(result.get("output_tokens")),
        "search": take(tools.get("web_search_requests")) if isinstance(tools, dict) else 0,
    }
    return tokens, bad


def _top(groups: Mapping[str, _Tokens]) -> list[TokenRow]:
    ordered = sorted(groups.items(), key=lambda kv: -kv[1].weight())
    rows = [t.row(name) for name, t in ordered[:TOP]]
    if len(ordered) > TOP:
        rest = _Tokens()
        for _, t in ordered[TOP:]:
            rest.add(t.values)
        rows.append(rest.row(f"others ({len(ordered) - TOP})"))
    return rows


def _results(bodies: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for body in bodies:
        for bucket in body["data"]:
            results = bucket.get("results") if isinstance(bucket, dict) else None
            for result in results if isinstance(results, list) else []:
                if isinstance(result, dict):
                    yield result


def fetch_usage(client: AnthropicClient, start: datetime, end: datetime) -> UsageMonth:
    params: dict[str, str | list[str]] = {
        "starting_at": _iso(start),
        "ending_at": _iso(end),
        "bucket_width": "1d",
        "group_by[]": ["model", "workspace_id", "api_key_id"],
        "limit": "31",
    }
    bodies = pages(client, "/v1/organizations/usage_report/messages", params, NEXT_PAGE, "usage report")
    totals = _Tokens()
    by: dict[str, dict[str, _Tokens]] = {"model": {}, "workspace_id": {}, "api_key_id": {}}
    ignored = 0
    unnamed = {
        "model": "(unknown model)",
        "workspace_id": "default workspace",
        "api_key_id": "(no API key: Console)",
    }
    for result in _results(bodies):
        tokens, bad = _result_tokens(result)
        ignored += bad
        totals.add(tokens)
        for field, groups in by.items():
            name = result.get(field)
            label = name[:120] if isinstance(name, str) and name else unnamed[field]
            groups.setdefault(label, _Tokens()).add(tokens)
    return UsageMonth(
        totals=totals.row("total"),
        by_model=_top(by["model"]),
        by_workspace=_top(by["workspace_id"]),
        by_api_key=_top(by["api_key_id"]),
        ignored_values=ignored,
    )


# -- cost ---------------------------------------------------------------------------------------


def _usd(amount: Any) -> Decimal | None:
    """A cost amount (decimal string in cents, "123.45" = $1.2345) in dollars."""
    if isinstance(amount, bool) or not isinstance(amount, str | int | float):
        return None
    try:
        cents = Decimal(str(amount))
    except InvalidOperation:
        return None
    if not cents.is_finite() or not 0 <= cents <= MAX_COUNT:
        return None
    return cents / 100


def _cost_rows(groups: Mapping[str, Decimal]) -> list[CostRow]:
    ordered = sorted(groups.items(), key=lambda kv: -kv[1])
    rows = [CostRow(name=n, usd=round(float(v), 4)) for n, v in ordered[:TOP]]
    if len(ordered) > TOP:
        rest = sum((v for _, v in ordered[TOP:]), Decimal(0))
        rows.append(CostRow(name=f"others ({len(ordered) - TOP})", usd=round(float(rest), 4)))
    return rows


def fetch_cost(client: AnthropicClient, start: datetime, end: datetime) -> CostMonth:
    params: dict[str, str | list[str]] = {
        "starting_at": _iso(start),
        "ending_at": _iso(end),
        "bucket_width": "1d",
        "group_by[]": ["workspace_id", "description"],
        "limit": "31",
    }
    total = Decimal(0)
    currencies: set[str] = set()
    by_ws: dict[str, Decimal] = {}
    by_model: dict[str, Decimal] = {}
    by_type: dict[str, Decimal] = {}
    for result in _results(pages(client, "/v1/organizations/cost_report", params, NEXT_PAGE, "cost report")):
        usd = _usd(result.get("amount"))
        if usd is None:
            continue
        currency = result.get("currency")
        currencies.add(currency[:8] if isinstance(currency, str) else "USD")
        total += usd
        ws = result.get("workspace_id")
        model = result.get("model")
        ctype = result.get("cost_type")
        for groups, name in (
            (by_ws, ws if isinstance(ws, str) and ws else "default workspace"),
            (by_model, model if isinstance(model, str) and model else f"no model ({ctype or 'other'})"),
            (by_type, ctype if isinstance(ctype, str) and ctype else "other"),
        ):
            groups[str(name)[:120]] = groups.get(str(name)[:120], Decimal(0)) + usd
    if len(currencies) > 1:
        raise AdminApiError(f"cost report: amounts in several currencies ({', '.join(sorted(currencies))})")
    return CostMonth(
        total_usd=round(float(total), 4),
        currency=next(iter(currencies), "USD"),
        by_workspace=_cost_rows(by_ws),
        by_model=_cost_rows(by_model),
        by_cost_type=_cost_rows(by_type),
    )


# -- Claude Code --------------------------------------------------------------------------------


def _actor(record: dict[str, Any]) -> str:
    actor = obj(record.get("actor"))
    if actor.get("type") == "api_actor" and isinstance(actor.get("api_key_name"), str):
        return f"api key: {actor['api_key_name'][:100]}"
    email = actor.get("email_address")
    return email[:200] if isinstance(email, str) and email else "(unknown actor)"


def fetch_claude_code(client: AnthropicClient, start: datetime, end: datetime) -> ClaudeCodeMonth:
    totals = ClaudeCodeActor(actor="total")
    actors: dict[str, ClaudeCodeActor] = {}
    models: dict[str, Decimal] = {}
    day: date = start.date()
    days = 0
    while day < end.date():
        params: dict[str, str | list[str]] = {"starting_at": day.isoformat(), "limit": "1000"}
        what = f"Claude Code report for {day.isoformat()}"
        for body in pages(client, "/v1/organizations/usage_report/claude_code", params, NEXT_PAGE, what):
            for record in body["data"]:
                if isinstance(record, dict):
                    _add_claude_code(record, totals, actors, models)
        days += 1
        day += timedelta(days=1)
    ordered = sorted(actors.values(), key=lambda a: (-a.estimated_cost_usd, -a.sessions))
    return ClaudeCodeMonth(days=days, totals=totals, by_actor=ordered[:TOP], by_model=_cost_rows(models))


def _add_claude_code(
    record: dict[str, Any],
    totals: ClaudeCodeActor,
    actors: dict[str, ClaudeCodeActor],
    models: dict[str, Decimal],
) -> None:
    name = _actor(record)
    row = actors.setdefault(name, ClaudeCodeActor(actor=name))
    core = obj(record.get("core_metrics"))
    lines = obj(core.get("lines_of_code"))
    counts = {
        "sessions": _count(core.get("num_sessions")) or 0,
        "lines_added": _count(lines.get("added")) or 0,
        "lines_removed": _count(lines.get("removed")) or 0,
        "commits": _count(core.get("commits_by_claude_code")) or 0,
        "pull_requests": _count(core.get("pull_requests_by_claude_code")) or 0,
    }
    cost = Decimal(0)
    for entry in record.get("model_breakdown") or []:
        if not isinstance(entry, dict):
            continue
        estimated = obj(entry.get("estimated_cost"))
        usd = _usd(estimated.get("amount"))  # cents, like the cost report
        if usd is None:
            continue
        cost += usd
        model = entry.get("model")
        label = model[:120] if isinstance(model, str) and model else "(unknown model)"
        models[label] = models.get(label, Decimal(0)) + usd
    for target in (row, totals):
        for field, value in counts.items():
            setattr(target, field, getattr(target, field) + value)
        target.estimated_cost_usd = round(target.estimated_cost_usd + float(cost), 4)


# -- spend headroom -----------------------------------------------------------------------------


def spend_limit(env: Mapping[str, str], home: Path) -> tuple[float, str] | None:
    """``[admin] spend_limit_usd`` from the config file, else the configured tier's monthly cap."""
    from claude_health.tools.limiter.config import LimitsConfigError, config_path, load_config
    from claude_health.tools.limiter.table import load_table

    path = config_path(env, home)
    try:
        data = tomllib.loads(path.read_text("utf-8")) if path.is_file() else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        data = {}
    admin = obj(data.get("admin"))
    value = admin.get("spend_limit_usd")
    if not isinstance(value, bool) and isinstance(value, int | float) and 0 < value < 10**9:
        return float(value), f"[admin] spend_limit_usd in {path}"
    table = load_table()
    try:
        tier_name = load_config(env, home).tier or table.default_tier
    except LimitsConfigError:
        tier_name = table.default_tier
    tier = table.tier(tier_name)
    if tier.monthly_spend_cap_usd:
        return float(tier.monthly_spend_cap_usd), f"monthly cap of tier {tier.label} ({tier.as_of} table)"
    return None


def headroom(spent: float, limit: tuple[float, str], now: datetime) -> SpendHeadroom:
    now = now.astimezone(UTC)
    start, _ = month_period(now)
    days = calendar.monthrange(now.year, now.month)[1]
    elapsed = max((now - start).total_seconds() / (days * 86400), 1 / (days * 24))
    return SpendHeadroom(
        limit_usd=limit[0],
        limit_source=limit[1],
        spent_usd=round(spent, 2),
        headroom_usd=round(limit[0] - spent, 2),
        used_fraction=round(spent / limit[0], 4),
        projected_month_usd=round(spent / elapsed, 2),
    )


def spend_findings(spend: SpendHeadroom) -> list[Finding]:
    if spend.used_fraction >= 1:
        return [
            SPEND_NEAR_LIMIT.finding(
                f"${spend.spent_usd:,.2f} spent this month: the ${spend.limit_usd:,.0f} limit "
                f"({spend.limit_source}) is reached.",
                severity=Severity.ERROR,
            )
        ]
    if spend.used_fraction >= WARN_FRACTION or spend.projected_month_usd > spend.limit_usd:
        return [
            SPEND_NEAR_LIMIT.finding(
                f"${spend.spent_usd:,.2f} of ${spend.limit_usd:,.0f} spent this month "
                f"({spend.used_fraction:.0%}; {spend.limit_source}); at this pace the month ends near "
                f"${spend.projected_month_usd:,.0f}."
            )
        ]
    return []


# -- the report ---------------------------------------------------------------------------------


def org_usage(
    client: AnthropicClient, env: Mapping[str, str], home: Path, *, now: datetime | None = None
) -> OrgUsageReport:
    """Every part of the month's report that could be fetched; the rest named in ``missing``."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start, end = month_period(now)
    report = OrgUsageReport(
        generated_at=_iso(now),
        period_start=_iso(start),
        period_end=_iso(end),
        base_url=client.base_url,
    )
    findings: list[Finding] = []
    parts = (("usage", fetch_usage), ("cost", fetch_cost), ("claude_code", fetch_claude_code))
    for i, (part, fetch) in enumerate(parts):
        try:
            setattr(report, part, fetch(client, start, end))
        except AdminApiError as exc:
            report.missing.append(MissingPart(part=part, reason=exc.message, status=exc.status))
            if exc.fatal:
                findings.append(ADMIN_KEY_REJECTED.finding(exc.message))
                for skipped, _ in parts[i + 1 :]:
                    report.missing.append(
                        MissingPart(part=skipped, reason="not asked: the admin key was rejected", status=401)
                    )
                break
            findings.append(REPORT_PART_MISSING.finding(exc.message))
    if report.cost is not None:
        limit = spend_limit(env, home)
        if limit is not None:
            report.spend = headroom(report.cost.total_usd, limit, now)
            findings.extend(spend_findings(report.spend))
    elif not any(m.status == 401 for m in report.missing):
        findings.append(REPORT_PART_MISSING.finding("spend headroom: not computed without the cost report."))
    ordered = sort_findings(findings)
    report.findings = ordered
    report.summary = Summary.of(ordered)
    return report
