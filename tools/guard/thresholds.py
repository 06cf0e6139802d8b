"""Plan thresholds: one alert per window each time usage crosses a threshold, never twice.

Runs on every UserPromptSubmit, so it reads only the status line's snapshot file and the guard's
own table, imports only the standard library, and parses the config file only when it exists.

The percentage is the official one Claude Code handed to the status line when it is fresh (at
most :data:`FRESH_S` old). An older one is carried forward at the pace the official snapshots of
the same window show, and is then labelled a local estimate (with no pace measured, it is shown
as it is, with its age). With no official percentage at all
(API-key billing, or a plan user whose status line is not claude-health's) nothing is said: no
token limit is published, so nothing true could be.

Thresholds live in claude-health's config file (``~/.config/claude-health/limits.toml``)::

    [plan_alerts]
    five_hour = [80, 95]     # percent; [] turns the 5-hour alerts off
    seven_day = [80, 95]
"""

from __future__ import annotations

import os
import sqlite3
import time

from claude_health.tools.state import config_file_name
from claude_health.tools.usage.snapshot import FIVE_HOUR_S, SEVEN_DAY_S, first_in_window, percent_per_hour

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import NamedTuple

    from claude_health.tools.usage.snapshot import Snapshot

    class Estimate(NamedTuple):
        percentage: float
        source: str  # "official" or "local estimate"
        resets_at: int
        percent_per_hour: float | None
        official_percentage: float
        official_age_s: float

    class Alert(NamedTuple):
        window: str
        threshold: float
        estimate: Estimate

else:
    from collections import namedtuple

    Estimate = namedtuple(
        "Estimate",
        ["percentage", "source", "resets_at", "percent_per_hour", "official_percentage", "official_age_s"],
    )
    Alert = namedtuple("Alert", ["window", "threshold", "estimate"])

WINDOWS = ("five_hour", "seven_day")
DEFAULT_THRESHOLDS: dict[str, tuple[float, ...]] = {"five_hour": (80.0, 95.0), "seven_day": (80.0, 95.0)}
CONFIG_TABLE = "plan_alerts"
FRESH_S = 10 * 60
# Two snapshots of one window instance may report reset times a little apart.
RESET_SLACK_S = 300
LABEL = {"five_hour": "5-hour", "seven_day": "weekly"}
_COLUMN = {"five_hour": "five_reset", "seven_day": "week_reset"}
_LENGTH = {"five_hour": FIVE_HOUR_S, "seven_day": SEVEN_DAY_S}


# -- configuration ----------------------------------------------------------------------------------


def parse_thresholds(table: object) -> tuple[dict[str, tuple[float, ...]], str | None]:
    """Thresholds per window from the ``[plan_alerts]`` table, and what was wrong with it."""
    out = dict(DEFAULT_THRESHOLDS)
    if table is None:
        return out, None
    if not isinstance(table, dict):
        return out, f"[{CONFIG_TABLE}] must be a table; using the defaults (80% and 95%)"
    problems: list[str] = []
    for key, value in table.items():
        if key not in WINDOWS:
            problems.append(f"unknown key {key!r} in [{CONFIG_TABLE}] (use five_hour or seven_day)")
            continue
        numbers = value if isinstance(value, list) else [value]
        good = [
            float(v)
            for v in numbers
            if isinstance(v, int | float) and not isinstance(v, bool) and 0 < float(v) <= 100
        ]
        if len(good) != len(numbers):
            problems.append(f"{CONFIG_TABLE}.{key} must be a list of percentages between 0 and 100")
            continue
        out[key] = tuple(sorted(set(good)))
    return out, "; ".join(problems) or None


def load_thresholds(env: Mapping[str, str], home: str) -> tuple[dict[str, tuple[float, ...]], str | None]:
    """The configured thresholds (the defaults when the file or the table is absent)."""
    path = config_file_name(env, home)
    if not os.path.isfile(path):
        return dict(DEFAULT_THRESHOLDS), None
    import tomllib  # only when the file exists: the common case pays nothing

    try:
        with open(path, "rb") as handle:
            raw = handle.read(1_000_001)
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return dict(DEFAULT_THRESHOLDS), f"{path}: {exc}; using the default thresholds"
    thresholds, problem = parse_thresholds(data.get(CONFIG_TABLE))
    return thresholds, f"{path}: {problem}" if problem else None


# -- the percentage now -----------------------------------------------------------------------------


def estimate(conn: sqlite3.Connection, snap: Snapshot, window: str, now: float) -> Estimate | None:
    """The window's percentage now, official when fresh, else carried forward (a local estimate)."""
    official = snap.five_hour if window == "five_hour" else snap.seven_day
    if official is None or official.resets_at <= now:
        return None
    age = max(0.0, now - snap.captured_at)
    rate = None
    try:
        first = first_in_window(conn, _COLUMN[window], official.resets_at)
        measured = percent_per_hour(first, snap, window)
        rate = measured[0] if measured else None
    except sqlite3.Error:
        rate = None
    pct = official.used_percentage
    source = "official"
    if age > FRESH_S and rate:
        # Carried forward at the pace the official snapshots of this window show.
        source = "local estimate"
        pct = min(100.0, pct + rate * age / 3600)
    return Estimate(round(pct, 1), source, official.resets_at, rate, official.used_percentage, age)


# -- alerts -----------------------------------------------------------------------------------------


def due_alerts(
    guard: sqlite3.Connection,
    snapshots: sqlite3.Connection,
    snap: Snapshot,
    thresholds: Mapping[str, tuple[float, ...]],
    now: float,
) -> list[Alert]:
    """Alerts to give now; each is recorded in the same transaction, so no crossing alerts twice
    (even when two sessions submit a prompt at the same moment)."""
    out: list[Alert] = []
    for window in WINDOWS:
        levels = thresholds.get(window, ())
        if not levels:
            continue
        est = estimate(snapshots, snap, window, now)
        if est is None:
            continue
        crossed = [t for t in levels if est.percentage >= t]
        if not crossed:
            continue
        top = max(crossed)
        guard.execute("BEGIN IMMEDIATE")
        try:
            row = guard.execute(
                "SELECT MAX(threshold) FROM guard_alerts WHERE window = ? AND resets_at BETWEEN ? AND ?",
                (window, est.resets_at - RESET_SLACK_S, est.resets_at + RESET_SLACK_S),
            ).fetchone()
            given = row[0] if row else None
            if given is None or given < top:
                guard.execute(
                    "INSERT OR REPLACE INTO guard_alerts VALUES (?, ?, ?, ?, ?)",
                    (window, est.resets_at, top, est.percentage, now),
                )
                out.append(Alert(window, top, est))
            # Old window instances are of no use any more.
            guard.execute("DELETE FROM guard_alerts WHERE resets_at < ?", (int(now) - 8 * 86400,))
            guard.execute("COMMIT")
        except BaseException:
            guard.execute("ROLLBACK")
            raise
    return out


def _clock(ts: float, now: float) -> str:
    """``14:20`` today, ``Tue 14:20`` within a week (local time: the hook runs on the user's machine)."""
    fmt = "%H:%M" if ts - now < 20 * 3600 else "%a %H:%M"
    return time.strftime(fmt, time.localtime(ts))


def _span(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{rest // 60:02d}m"
    return f"{rest // 60}m"


def describe(alert: Alert, now: float) -> str:
    """One sentence: where the window stands, when it resets, what it projects."""
    est = alert.estimate
    label = LABEL.get(alert.window, alert.window)
    if est.source == "official" and est.official_age_s <= FRESH_S:
        where = f"{est.percentage:.0f}% (official)"
    elif est.source == "official":
        where = f"{est.percentage:.0f}% (official, {_span(est.official_age_s)} old)"
    else:
        where = (
            f"about {est.percentage:.0f}% (local estimate from the official {est.official_percentage:.0f}% "
            f"{_span(est.official_age_s)} ago)"
        )
    text = (
        f"The {label} plan window is at {where}, past the {alert.threshold:.0f}% alert; it resets at "
        f"{_clock(est.resets_at, now)} (in {_span(est.resets_at - now)})."
    )
    rate = est.percent_per_hour
    if rate is None:
        return text + " No pace measured yet, so no projection."
    if est.percentage >= 100:
        return text + " The limit is reached."
    remaining_h = (est.resets_at - now) / 3600
    if rate > 0 and (100 - est.percentage) / rate < remaining_h:
        hits = now + (100 - est.percentage) / rate * 3600
        return text + f" At {rate:.0f}%/h it reaches 100% around {_clock(hits, now)}, before the reset."
    projected = min(100.0, est.percentage + rate * remaining_h)
    return text + f" At {rate:.0f}%/h it projects {projected:.0f}% at the reset."


def render(alerts: list[Alert], now: float) -> tuple[str, str]:
    """(for the model, for the user)."""
    sentences = [describe(a, now) for a in alerts]
    for_user = "claude-health: " + " ".join(sentences)
    for_model = (
        "claude-health plan usage alert (the user's Claude subscription limits): "
        + " ".join(sentences)
        + " Tell the user before starting long or costly work."
    )
    return for_model, for_user
