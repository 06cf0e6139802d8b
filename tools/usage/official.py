"""The official plan percentages as the usage reports show them (captured by the status line)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from claude_health.tools.usage.session import UsageSession, iso_ms
from claude_health.tools.usage.snapshot import Snapshot, first_in_window, latest

if TYPE_CHECKING:
    from claude_health.tools.usage.models import OfficialWindow


def current_snapshot(session: UsageSession) -> Snapshot | None:
    try:
        return latest(session.snapshots)
    except sqlite3.Error:
        return None


def first_snapshot_in_window(session: UsageSession, column: str, reset: int) -> Snapshot | None:
    try:
        return first_in_window(session.snapshots, column, reset)
    except sqlite3.Error:
        return None


def official_window(snap: Snapshot | None, window: str, now: float) -> OfficialWindow | None:
    """One window of the latest snapshot, unless it has reset since (then it says nothing)."""
    from claude_health.tools.usage.models import OfficialWindow

    if snap is None:
        return None
    win = snap.five_hour if window == "five_hour" else snap.seven_day
    if win is None or win.resets_at <= now:
        return None
    return OfficialWindow(
        used_percentage=win.used_percentage,
        resets_at=iso_ms(win.resets_at * 1000),
        captured_at=iso_ms(int(snap.captured_at * 1000)),
        age_seconds=round(max(0.0, now - snap.captured_at), 1),
    )
