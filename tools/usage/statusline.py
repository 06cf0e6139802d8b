"""The status line: one compact line from Claude Code's stdin JSON, never a traceback.

Runs on every status-line refresh, so it imports only the standard library and this package's
stdlib-only :mod:`.snapshot`; any failure degrades to a shorter line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from claude_health.tools.state import state_db_name  # stdlib-only, like this module
from claude_health.tools.terminal import plain
from claude_health.tools.usage.snapshot import (
    Snapshot,
    WindowUsage,
    first_in_window,
    open_db,
    parse_payload,
    percent_per_hour,
    snapshot_db_path,
    store,
)

MINIMAL_LINE = "claude-health: no usage data"
SEP = " │ "
# Touched on every run, so the doctor can say when the status line last ran (even for API-key
# users, whose payloads hold no plan percentages and store nothing).
HEARTBEAT_NAME = "statusline.last"


def heartbeat_name(env: Mapping[str, str], home: str | os.PathLike[str]) -> str:
    return os.path.join(os.path.dirname(state_db_name(env, home)) or ".", HEARTBEAT_NAME)


def _beat(env: Mapping[str, str], home: str | os.PathLike[str]) -> None:
    path = heartbeat_name(env, home)
    try:
        os.utime(path)
    except FileNotFoundError:
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError:
            pass
    except OSError:
        pass


def until(reset: int, now: float) -> str:
    seconds = max(0, int(reset - now))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m"


def _pct(value: float) -> str:
    return f"{value:.0f}%"


def _window_text(label: str, win: WindowUsage, now: float, rate: tuple[float, float] | None) -> str:
    text = f"{label} {_pct(win.used_percentage)} ↻{until(win.resets_at, now)}"
    if rate is not None and rate[0] > 0:
        text += f" +{rate[0]:.0f}%/h"
    return text


def render(snap: Snapshot | None, rates: Mapping[str, tuple[float, float] | None], now: float) -> str:
    if snap is None:
        return MINIMAL_LINE
    parts: list[str] = []
    if snap.model:
        parts.append(plain(snap.model))  # from the payload: never an escape sequence on screen
    if snap.five_hour is not None:
        parts.append(_window_text("5h", snap.five_hour, now, rates.get("five_hour")))
    if snap.seven_day is not None:
        parts.append(_window_text("7d", snap.seven_day, now, rates.get("seven_day")))
    if snap.five_hour is None and snap.seven_day is None:
        parts.append("plan % n/a")
    if snap.context_pct is not None:
        parts.append(f"ctx {_pct(snap.context_pct)}")
    if snap.cost_usd is not None:
        parts.append(f"${snap.cost_usd:.2f}")
    return SEP.join(parts) if parts else MINIMAL_LINE


def statusline(data: bytes, env: Mapping[str, str], home: str | os.PathLike[str], now: float) -> str:
    """Parse, remember and render; every failure past parsing just drops the burn rate."""
    _beat(env, home)
    try:
        snap = parse_payload(data, now)
    except Exception:  # never fail loudly: the status line is on screen all the time
        return MINIMAL_LINE
    rates: dict[str, tuple[float, float] | None] = {}
    if snap is not None and (snap.five_hour is not None or snap.seven_day is not None):
        try:
            db = state_db_name(env, home)
            os.makedirs(os.path.dirname(db) or ".", exist_ok=True)
            conn = open_db(snapshot_db_path(db))
            try:
                store(conn, snap)
                if snap.five_hour is not None:
                    first = first_in_window(conn, "five_reset", snap.five_hour.resets_at)
                    rates["five_hour"] = percent_per_hour(first, snap, "five_hour")
                if snap.seven_day is not None:
                    first = first_in_window(conn, "week_reset", snap.seven_day.resets_at)
                    rates["seven_day"] = percent_per_hour(first, snap, "seven_day")
            finally:
                conn.close()
        except Exception:  # noqa: S110 - a locked or unwritable state file must not break the line
            pass
    try:
        return render(snap, rates, now)
    except Exception:
        return MINIMAL_LINE
