"""The two things the surfaces ask for, from key to result: ``sync_limits`` and ``organisation_usage``.

The CLI (``limits --sync``, ``usage --api``) and the MCP tools (``limit_status(admin_sync=true)``,
``plan_usage(admin_api=true)``) call these and nothing else, so both show the same numbers.
:class:`~claude_health.tools.admin.credential.AdminKeyError` (no usable key) is raised for the
surface to report as a usage error; everything that happens once the key is in hand is a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from claude_health.tools.admin.api import AdminApiError, close_client, open_client
from claude_health.tools.admin.credential import find_admin_key
from claude_health.tools.admin.models import MissingPart, OrgUsageReport, RateLimitSync
from claude_health.tools.admin.rules import ADMIN_KEY_REJECTED, REPORT_PART_MISSING
from claude_health.tools.findings import Finding, Summary


@dataclass
class SyncOutcome:
    sync: RateLimitSync | None
    """None when the organisation's limits could not be fetched (nothing was written)."""
    findings: list[Finding] = field(default_factory=list)


def sync_limits(
    env: Mapping[str, str],
    home: Path,
    *,
    workspace: str | None = None,
    transport: httpx.BaseTransport | None = None,
    now: datetime | None = None,
) -> SyncOutcome:
    """Fetch the organisation's rate limits and seed the limiter with them (org-limits.json).

    Raises ``ValueError`` for a malformed ``workspace`` and ``AdminKeyError`` without a key.
    """
    from claude_health.tools.admin.rate_limits import check_workspace_id, sync_rate_limits

    check_workspace_id(workspace)
    key = find_admin_key(env, home)
    try:
        client = open_client(key, env, home, transport=transport)
    except AdminApiError as exc:
        return SyncOutcome(None, [REPORT_PART_MISSING.finding(exc.message)])
    try:
        sync = sync_rate_limits(client, env, home, workspace=workspace, now=now)
    except AdminApiError as exc:
        rule = ADMIN_KEY_REJECTED if exc.fatal else REPORT_PART_MISSING
        return SyncOutcome(
            None, [rule.finding(f"{exc.message} Nothing was saved; the limiter is unchanged.")]
        )
    finally:
        close_client(client)
    findings = [REPORT_PART_MISSING.finding(f"{m.part}: {m.reason}") for m in sync.missing]
    return SyncOutcome(sync, findings)


def organisation_usage(
    env: Mapping[str, str],
    home: Path,
    *,
    transport: httpx.BaseTransport | None = None,
    now: datetime | None = None,
) -> OrgUsageReport:
    """This month's usage, cost, spend headroom and Claude Code use of the organisation."""
    from claude_health.tools.admin.usage import org_usage

    key = find_admin_key(env, home)
    try:
        client = open_client(key, env, home, transport=transport)
    except AdminApiError as exc:
        report = OrgUsageReport(generated_at="", period_start="", period_end="", base_url="")
        report.missing.append(MissingPart(part="all", reason=exc.message))
        report.findings = [REPORT_PART_MISSING.finding(exc.message)]
        report.summary = Summary.of(report.findings)
        return report
    try:
        return org_usage(client, env, home, now=now)
    finally:
        close_client(client)
