"""The CLI's usage reports (daily, weekly, monthly, blocks) as JSON-ready dicts.

Every report counts the whole ledger by default, usage from transcripts Claude Code has since
deleted included, and says how much of it that is (``ledger``). ``only_existing`` counts only
transcripts still on disk: what ccusage, which keeps no history, reports.
"""

from __future__ import annotations

from datetime import tzinfo

from claude_health.tools.usage import aggregate, store
from claude_health.tools.usage.aggregate import ENTRIES, Bucket
from claude_health.tools.usage.session import UsageSession, iso_ms
from claude_health.tools.usage.timezones import tz_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import Any

DAY_MS = 86_400_000


def _source(only_existing: bool) -> str:
    return store.existing_only_source() if only_existing else ENTRIES


def ledger(session: UsageSession, *, only_existing: bool = False) -> dict[str, Any]:
    """What the report's numbers rest on: how much comes from transcripts no longer on disk."""
    conn = session.conn
    gone = store.gone(conn)
    first = store.history_start_ms(conn, only_existing=only_existing)
    rebuilt_at = store.meta_int(conn, "rebuilt_at")
    return {
        "only_existing": only_existing,
        "history_since": iso_ms(first) if first is not None else None,
        "from_deleted_transcripts": {
            "transcripts": gone.transcripts,
            "entries": gone.entries,
            "total_tokens": gone.total_tokens,
            "first": iso_ms(gone.first_ms) if gone.first_ms is not None else None,
            "last": iso_ms(gone.last_ms) if gone.last_ms is not None else None,
            "counted": not only_existing,
        },
        "rebuilt": None
        if rebuilt_at is None
        else {"at": iso_ms(rebuilt_at), "note": store.get_meta(conn, "rebuild_note") or ""},
    }


def daily(session: UsageSession, tz: tzinfo, *, only_existing: bool = False) -> dict[str, Any]:
    report = aggregate.by_period(session.conn, session.lookup, tz, "%Y-%m-%d", source=_source(only_existing))
    return {
        "days": [{"date": d, **b.to_json()} for d, b in report.periods.items()],
        "totals": report.totals.to_json(),
        "timezone": tz_name(tz),
        "unpriced_models": report.unpriced_models,
        "ledger": ledger(session, only_existing=only_existing),
    }


def monthly(session: UsageSession, tz: tzinfo, *, only_existing: bool = False) -> dict[str, Any]:
    report = aggregate.by_period(session.conn, session.lookup, tz, "%Y-%m", source=_source(only_existing))
    return {
        "months": [{"month": m, **b.to_json()} for m, b in report.periods.items()],
        "totals": report.totals.to_json(),
        "timezone": tz_name(tz),
        "unpriced_models": report.unpriced_models,
        "ledger": ledger(session, only_existing=only_existing),
    }


def weekly(session: UsageSession, tz: tzinfo, *, only_existing: bool = False) -> dict[str, Any]:
    """The rolling last 7 days (the plan's weekly window has a per-account anchor, see official)."""
    from claude_health.tools.usage.official import current_snapshot, official_window

    since = session.now_ms - 7 * DAY_MS
    report = aggregate.by_period(
        session.conn, session.lookup, tz, "%Y-%m-%d", since_ms=since, source=_source(only_existing)
    )
    official = official_window(current_snapshot(session), "seven_day", session.now)
    totals: Bucket = report.totals
    return {
        "window": {"start": iso_ms(since), "end": iso_ms(session.now_ms), "kind": "rolling_7_days"},
        **totals.to_json(),
        "days": [{"date": d, **b.to_json()} for d, b in report.periods.items()],
        "official": official.model_dump() if official else None,
        "timezone": tz_name(tz),
        "unpriced_models": report.unpriced_models,
        "ledger": ledger(session, only_existing=only_existing),
    }


def blocks(session: UsageSession, *, only_existing: bool = False) -> dict[str, Any]:
    found = aggregate.load_blocks(session.conn, session.lookup, session.now_ms, source=_source(only_existing))
    return {
        "blocks": [b.to_json(session.now_ms) for b in found],
        "ledger": ledger(session, only_existing=only_existing),
    }
