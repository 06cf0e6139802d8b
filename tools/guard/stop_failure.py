"""StopFailure: a session stopped by a plan limit is recorded as ground truth for plan usage.

Claude Code 2.1.332 fires StopFailure with ``error: "rate_limit"`` and the message it showed
(``You've hit your 5-hour limit``); the transcript's last API error record names the window
(``rateLimitType``: ``five_hour``, ``seven_day``). The hit is stored with the guard's estimate at
that moment (:mod:`claude_health.tools.usage.limit_hits`); nothing is printed.
"""

from __future__ import annotations

import json
import os
import sqlite3

from claude_health.tools.guard.payload import text
from claude_health.tools.guard.thresholds import estimate
from claude_health.tools.state import state_db_name
from claude_health.tools.usage.limit_hits import LimitHit, open_hits, record
from claude_health.tools.usage.snapshot import latest

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

TAIL_BYTES = 256 * 1024


def _window_name(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    if value.startswith("five_hour"):
        return "five_hour"
    if value.startswith("seven_day"):
        return "seven_day"
    return None


def window_from_transcript(path: str) -> str | None:
    """``rateLimitType`` of the newest API error record in the transcript's tail."""
    if not path or not os.path.isabs(path) or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read(TAIL_BYTES)
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        if b"rateLimitType" not in line:
            continue
        try:
            record_ = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(record_, dict):
            continue
        for holder in (
            (record_.get("apiErrorParams") or {}).get("rate_limit_info")
            if isinstance(record_.get("apiErrorParams"), dict)
            else None,
            record_.get("quotaLimits"),
        ):
            if isinstance(holder, dict):
                name = _window_name(holder.get("rateLimitType"))
                if name:
                    return name
    return None


def window_from_message(message: str) -> str | None:
    lowered = message.lower()
    if "5-hour" in lowered or "five-hour" in lowered or "session limit" in lowered:
        return "five_hour"
    if "weekly" in lowered or "7-day" in lowered or "week" in lowered:
        return "seven_day"
    return None


def handle(payload: Mapping[str, Any], env: Mapping[str, str], home: str, now: float) -> LimitHit | None:
    if text(payload, "error") != "rate_limit":
        return None
    window = (
        window_from_transcript(text(payload, "transcript_path"))
        or window_from_message(text(payload, "last_assistant_message"))
        or "unknown"
    )
    state_db = state_db_name(env, home)
    os.makedirs(os.path.dirname(state_db) or ".", exist_ok=True)
    conn = open_hits(state_db)
    try:
        pct = None
        source = "none"
        resets_at = None
        snap = latest(conn)
        if snap is not None and window in ("five_hour", "seven_day"):
            try:
                est = estimate(conn, snap, window, now)
            except sqlite3.Error:
                est = None
            if est is not None:
                pct, source, resets_at = est.percentage, est.source, est.resets_at
        hit = LimitHit(now, window, text(payload, "session_id", 100), resets_at, pct, source)
        record(conn, hit)
    finally:
        conn.close()
    return hit
