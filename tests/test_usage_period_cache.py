"""The per-day cache behind daily and monthly reports always equals a report computed afresh."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from claude_health.tools.usage import aggregate, period_cache, store
from claude_health.tools.usage.pricing import table_lookup

H = 3_600_000
MODELS = ["claude-sonnet-4-5", "claude-opus-4-1"]
ZONES = [ZoneInfo("UTC"), ZoneInfo("Europe/Paris"), ZoneInfo("America/St_Johns")]
INSERT = (
    "INSERT INTO usage_entries (msg, req, ts, model, project, session, file, sidechain, speed,"
    " input, output, cc5m, cc1h, cc, cread)"
    " VALUES (?, '', ?, ?, ?, 's', 1, 0, '', ?, 10, 3, 2, 5, 7)"
)


def _report(conn: sqlite3.Connection, tz: ZoneInfo, fmt: str, *, cached: bool) -> dict[str, object]:
    if not cached:  # a narrowed source takes the uncached path over the same entries
        source = "(SELECT * FROM usage_entries)"
        report = aggregate.by_period(conn, table_lookup, tz, fmt, source=source)
    else:
        report = aggregate.by_period(conn, table_lookup, tz, fmt)
    return {label: bucket.to_json() for label, bucket in report.periods.items()} | {
        "totals": report.totals.to_json()
    }


def test_cache_follows_appends_back_dated_inserts_updates_deletes_and_zone_changes(tmp_path: Path) -> None:
    conn = store.connect(tmp_path / "state.db")
    rng = random.Random(11)
    keys: list[str] = []
    base = 1_790_000_000_000
    for step in range(80):
        action = rng.random()
        if action < 0.55 or not keys:
            recent = rng.random() < 0.75
            ts = base + (step * H + rng.randrange(H) if recent else rng.randrange(60 * 24 * H))
            key = f"k{step}"
            conn.execute(INSERT, (key, ts, rng.choice(MODELS), rng.choice("pq"), rng.randrange(1, 300_000)))
            keys.append(key)
        elif action < 0.8:
            conn.execute(
                "UPDATE usage_entries SET input = input + 7, ts = ts + ? WHERE msg = ?",
                (rng.randrange(-30 * H, 30 * H), rng.choice(keys)),
            )
        else:
            conn.execute("DELETE FROM usage_entries WHERE msg = ?", (keys.pop(rng.randrange(len(keys))),))
        if step % 4 == 0:
            tz = rng.choice(ZONES)
            fmt = rng.choice(["%Y-%m-%d", "%Y-%m"])
            assert _report(conn, tz, fmt, cached=True) == _report(conn, tz, fmt, cached=False), step
    for tz in ZONES:
        for fmt in ("%Y-%m-%d", "%Y-%m"):
            assert _report(conn, tz, fmt, cached=True) == _report(conn, tz, fmt, cached=False)
    conn.close()


def test_a_report_recomputes_only_the_days_after_the_change(tmp_path: Path) -> None:
    conn = store.connect(tmp_path / "state.db")
    for i in range(4):  # four days
        conn.execute(INSERT, (f"k{i}", 1_790_000_000_000 + i * 24 * H, "claude-sonnet-4-5", "p", 100))
    utc = ZoneInfo("UTC")
    first = _report(conn, utc, "%Y-%m-%d", cached=True)
    conn.execute(INSERT, ("late", 1_790_000_000_000 + 3 * 24 * H + 60_000, "claude-sonnet-4-5", "p", 5))
    # Poison the first cached day: a refresh that recomputed it would repair it.
    conn.execute(
        "UPDATE usage_period_cache SET input = input + 1000"
        " WHERE lo = (SELECT MIN(lo) FROM usage_period_cache)"
    )
    again = _report(conn, utc, "%Y-%m-%d", cached=True)
    day0, day3 = sorted(k for k in first if k != "totals")[0], sorted(k for k in first if k != "totals")[3]
    assert again[day0]["input_tokens"] == first[day0]["input_tokens"] + 1000  # type: ignore[index]
    assert again[day3]["entries"] == 2  # type: ignore[index]
    conn.close()


def test_zones_without_a_stable_name_are_not_cached() -> None:
    from datetime import timedelta, timezone

    assert period_cache.zone_key(ZoneInfo("Europe/Paris")) == "Europe/Paris"
    assert period_cache.zone_key(timezone(timedelta(hours=5, minutes=30))) == "fixed:19800.0"
