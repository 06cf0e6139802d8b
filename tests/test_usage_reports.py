"""Blocks, days, months, time zones, cost, plan and projections over real SQLite state."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.usage import aggregate, service
from claude_health.tools.usage.check import run_check
from claude_health.tools.usage.plan import plan_of
from claude_health.tools.usage.pricing import ModelPrices, cost_usd, table_lookup
from claude_health.tools.usage.projection import LocalWindow, project
from claude_health.tools.usage.snapshot import Snapshot, WindowUsage, open_db, parse_payload, store
from claude_health.tools.usage.synthetic import assistant_record, line
from claude_health.tools.usage.timezones import TimezoneError, resolve_tz
from tests.conftest import Sandbox

H = 3_600_000
SID = "fe5e1c67-53e7-4862-81ae-d0e013e3270b"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed(
    sandbox: Sandbox, stamps: list[datetime], model: str = "claude-sonnet-4-5-20250929", **kw: Any
) -> Path:
    path = sandbox.home / ".claude" / "projects" / "-home-user-project" / f"{SID}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        for i, ts in enumerate(stamps):
            msg = f"msg_{ts.timestamp():.0f}_{i}_{model}"
            rec = assistant_record(session=SID, msg_id=msg, request_id="req_" + msg, at=ts, model=model, **kw)
            fh.write(line(rec))
    return path


def env_for(sandbox: Sandbox) -> dict[str, str]:
    return dict(sandbox.env, CLAUDE_HEALTH_STATE_DB=str(sandbox.root / "state.db"))


def session(sandbox: Sandbox, now: datetime) -> service.UsageSession:
    return service.open_session(env_for(sandbox), sandbox.home, now=now.timestamp(), lookup=table_lookup)


def test_blocks_floor_to_the_hour_split_after_five_hours_and_mark_gaps(sandbox: Sandbox) -> None:
    seed(
        sandbox,
        [
            at("2026-11-20T09:17:00"),  # block 09:00-14:00
            at("2026-11-20T13:59:00"),
            at("2026-11-20T14:05:00"),  # > 5 h after the block start: new block 14:00
            at("2026-11-20T20:30:00"),  # > 5 h after the previous entry: gap, then block 20:00
        ],
    )
    s = session(sandbox, at("2026-11-20T21:00:00"))
    blocks = aggregate.load_blocks(s.conn, table_lookup, s.now_ms)
    s.close()
    shape = [(aggregate._iso(b.start_ms), aggregate._iso(b.end_ms), b.is_gap, b.is_active) for b in blocks]
    assert shape == [
        ("2026-11-20T09:00:00.000Z", "2026-11-20T14:00:00.000Z", False, False),
        ("2026-11-20T14:00:00.000Z", "2026-11-20T19:00:00.000Z", False, False),
        ("2026-11-20T19:05:00.000Z", "2026-11-20T20:30:00.000Z", True, False),
        ("2026-11-20T20:00:00.000Z", "2026-11-21T01:00:00.000Z", False, True),
    ]
    assert [b.tokens.entries for b in blocks] == [2, 1, 0, 1]


def test_blocks_json_has_the_interface_fields(sandbox: Sandbox) -> None:
    seed(sandbox, [at("2026-11-20T10:00:00"), at("2026-11-20T10:30:00")], output_tokens=1000)
    s = session(sandbox, at("2026-11-20T11:00:00"))
    payload = service.blocks(s)
    s.close()
    block = payload["blocks"][0]
    for key in (
        "start",
        "end",
        "is_active",
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "cost_usd",
        "models",
        "burn_rate",
        "projection",
    ):
        assert key in block
    assert block["is_active"] is True
    assert block["burn_rate"]["tokens_per_minute"] == pytest.approx(2006 / 30, rel=1e-4)
    # 4 h remain at that rate
    assert block["projection"]["total_tokens"] == round(2006 + 2006 / 30 * 240)


def test_daily_groups_by_the_requested_time_zone(sandbox: Sandbox) -> None:
    seed(sandbox, [at("2026-11-20T23:30:00"), at("2026-11-21T00:30:00")])
    s = session(sandbox, at("2026-11-21T02:00:00"))
    utc = service.daily(s, resolve_tz("UTC"))
    tokyo = service.daily(s, resolve_tz("Asia/Tokyo"))
    kathmandu = service.daily(s, resolve_tz("Asia/Kathmandu"))  # +05:45
    monthly = service.monthly(s, resolve_tz("UTC"))
    s.close()
    assert [d["date"] for d in utc["days"]] == ["2026-11-20", "2026-11-21"]
    assert [d["date"] for d in tokyo["days"]] == ["2026-11-21"]
    assert [(d["date"], d["entries"]) for d in kathmandu["days"]] == [("2026-11-21", 2)]
    assert [m["month"] for m in monthly["months"]] == ["2026-11"]
    assert utc["totals"]["output_tokens"] == 20
    day = utc["days"][0]
    assert set(day) >= {
        "date",
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "cost_usd",
        "models",
    }
    assert list(day["models"]) == ["claude-sonnet-4-5-20250929"]
    assert list(day["projects"]) == ["-home-user-project"]


def test_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(TimezoneError, match="Mars/Base"):
        resolve_tz("Mars/Base")
    with pytest.raises(TimezoneError):
        resolve_tz("../../etc/passwd")


def test_cost_uses_cache_ttl_split_and_fast_mode() -> None:
    sonnet = table_lookup("claude-sonnet-4-5-20250929")
    assert sonnet == ModelPrices(
        3, 15, 3.75, 6, 0.3, long_threshold=200_000, long_input_multiplier=2, long_output_multiplier=1.5
    )
    cost = cost_usd(
        sonnet,
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_write_5m=1_000_000,
        cache_write_1h=1_000_000,
        cache_read=1_000_000,
    )
    assert cost == pytest.approx(3 + 15 + 3.75 + 6 + 0.3)
    assert cost_usd(
        sonnet,
        input_tokens=1_000_000,
        output_tokens=0,
        cache_write_5m=0,
        cache_write_1h=0,
        cache_read=0,
        fast=True,
    ) == pytest.approx(6)
    assert table_lookup("claude-opus-4-1-20250805") == ModelPrices.standard(15, 75)
    assert table_lookup("claude-3-5-haiku-20241022") == ModelPrices.standard(0.8, 4)
    assert table_lookup("gpt-4o") is None


@pytest.mark.parametrize(
    "spelling",
    [
        "us.anthropic.claude-opus-4-6-v1:0",  # Bedrock, cross-region
        "anthropic.claude-opus-4-6-v1:0",
        "claude-opus-4-6@20260205",  # Vertex
        "claude-opus-4-6[1m]",  # Claude Code's 1M-context model setting
        "anthropic/claude-opus-4-6",  # a gateway's provider prefix
        " Claude-Opus-4-6 ",
    ],
)
def test_every_spelling_of_a_model_gets_its_price(spelling: str) -> None:
    assert table_lookup(spelling) == table_lookup("claude-opus-4-6") == ModelPrices.standard(5, 25)


@pytest.mark.parametrize("model", ["", "   ", "glm-4.6", "claude-future-9", "<synthetic>"])
def test_models_without_a_row_are_unpriced(model: str) -> None:
    # "" must not fall through to the default model: an entry without a model has no price.
    assert table_lookup(model) is None


def test_unpriced_models_are_listed_not_silently_zero(sandbox: Sandbox) -> None:
    seed(sandbox, [at("2026-11-20T10:00:00")], model="glm-4.6")
    s = session(sandbox, at("2026-11-20T11:00:00"))
    payload = service.daily(s, resolve_tz("UTC"))
    s.close()
    assert payload["unpriced_models"] == ["glm-4.6"]
    assert payload["totals"]["cost_usd"] == 0


def test_plan_reads_only_subscription_fields(sandbox: Sandbox) -> None:
    token = "tok-" + "q" * 40
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": token,
                "refreshToken": token,
                "subscriptionType": "max",
                "rateLimitTier": "default_claude_max_20x",
                "expiresAt": 1767625128924,
            }
        }
    )
    plan = plan_of(sandbox.workspace().view.login)
    assert (plan.subscription_type, plan.rate_limit_tier, plan.has_plan_windows) == (
        "max",
        "default_claude_max_20x",
        True,
    )
    assert token not in repr(plan)
    sandbox.credentials("{broken")
    assert plan_of(sandbox.workspace().view.login).problem is not None


NOW = at("2026-11-20T12:00:00").timestamp()


def snap(five: float | None, week: float | None, captured: float = NOW) -> Snapshot:
    return Snapshot(
        captured_at=captured,
        five_hour=WindowUsage(five, int(NOW + 2 * 3600)) if five is not None else None,
        seven_day=WindowUsage(week, int(NOW + 3 * 86400)) if week is not None else None,
    )


def test_projection_without_official_numbers_says_why() -> None:
    p = project("five_hour", None, None, None, NOW)
    assert p.confidence == "none" and p.hours_to_limit is None
    assert "install --statusline" in p.reasons[0]


def test_projection_from_official_snapshots_is_high_confidence() -> None:
    # 40% an hour ago, 60% now: 20%/h -> 100% in 2 h, exactly at the reset; 70% -> earlier.
    p = project("five_hour", snap(70, None), (20.0, 1.0), None, NOW)
    assert p.confidence == "high"
    assert p.hours_to_limit == 1.5 and p.hits_limit_before_reset is True
    assert p.rate_source == "official_snapshots"


def test_projection_calibrates_local_tokens_when_snapshots_are_too_short() -> None:
    local = LocalWindow(
        tokens_in_window=1_000_000, recent_tokens=200_000, recent_hours=1.0, entries_in_window=40
    )
    p = project("five_hour", snap(50, None), (90.0, 0.02), local, NOW)
    # 50% per 1M tokens; 200k tokens/h -> 10%/h; 50% left -> 5 h, after the 2 h reset
    assert p.rate_source == "local_tokens_calibrated" and p.percent_per_hour == 10.0
    assert p.hours_to_limit == 5.0 and p.hits_limit_before_reset is False
    assert p.projected_percentage_at_reset == 70.0
    assert p.confidence == "medium"
    assert any("claude.ai" in r for r in p.reasons)


def test_stale_official_numbers_lower_confidence() -> None:
    p = project("seven_day", snap(None, 30, captured=NOW - 3 * 3600), (1.0, 10.0), None, NOW)
    assert p.confidence == "low"
    assert p.estimated_percentage_now == 33.0
    assert any("h old" in r for r in p.reasons)


def write_snapshot(sandbox: Sandbox, payload: dict[str, Any], now: float) -> None:
    conn = open_db(str(sandbox.root / "state.db"))
    parsed = parse_payload(json.dumps(payload), now)
    assert parsed is not None
    store(conn, parsed)
    conn.close()


def test_plan_usage_and_doctor_warn_near_the_limit(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    sandbox.credentials(
        {"claudeAiOauth": {"subscriptionType": "max", "rateLimitTier": "default_claude_max_5x"}}
    )
    seed(sandbox, [now - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)], output_tokens=2000)
    reset5 = int(now.timestamp() + 3600)
    write_snapshot(
        sandbox,
        {
            "rate_limits": {
                "five_hour": {"used_percentage": 91, "resets_at": reset5},
                "seven_day": {"used_percentage": 20, "resets_at": int(now.timestamp() + 86400)},
            }
        },
        now.timestamp() - 60,
    )
    sandbox.env["CLAUDE_HEALTH_STATE_DB"] = str(sandbox.root / "state.db")
    ws = sandbox.workspace()
    usage = service.plan_usage(ws, "block")
    assert usage.plan.subscription_type == "max"
    assert usage.official["five_hour"] is not None and usage.official["five_hour"].used_percentage == 91
    assert usage.local.is_active is True and usage.local.totals.entries == 5
    codes = [f.code for f in usage.findings]
    assert "U001" in codes and "U004" not in codes
    assert usage.summary.healthy is False
    outcome = run_check(ws)
    assert [f.code for f in outcome.findings] == codes
    assert outcome.data["official"]["five_hour"]["used_percentage"] == 91
    week = service.plan_usage(ws, "week")
    assert week.local.totals.output_tokens == 10000 and week.local.projects


def test_plan_without_official_numbers_suggests_the_statusline(sandbox: Sandbox) -> None:
    sandbox.credentials({"claudeAiOauth": {"subscriptionType": "pro", "rateLimitTier": "default_claude_ai"}})
    sandbox.env["CLAUDE_HEALTH_STATE_DB"] = str(sandbox.root / "state.db")
    usage = service.plan_usage(sandbox.workspace(), "day")
    assert [f.code for f in usage.findings] == ["U004"]
    assert usage.local.totals.entries == 0


def test_unusable_state_db_still_answers_with_a_finding(sandbox: Sandbox) -> None:
    bad = sandbox.root / "state-dir"
    bad.mkdir()  # a directory where the database file should be: cannot be opened, nor moved aside
    seed(sandbox, [datetime.now(UTC) - timedelta(minutes=5)])
    sandbox.env["CLAUDE_HEALTH_STATE_DB"] = str(bad)
    usage = service.plan_usage(sandbox.workspace(), "block")
    assert usage.local.totals.entries == 1
    assert usage.scan.state_db is None
    assert [f.code for f in usage.findings] == ["U006"]
    assert str(bad) in usage.findings[0].message


def test_malformed_lines_become_an_info_finding_naming_the_file(sandbox: Sandbox) -> None:
    path = seed(sandbox, [datetime.now(UTC) - timedelta(minutes=5)])
    with path.open("a") as fh:
        fh.write('{"type":"assistant","message":{"usage":{oops}}\n')
    sandbox.env["CLAUDE_HEALTH_STATE_DB"] = str(sandbox.root / "state.db")
    usage = service.plan_usage(sandbox.workspace(), "block")
    assert [(f.code, f.path) for f in usage.findings] == [("U005", str(path))]
    assert usage.findings[0].severity == "info"


def test_usage_and_token_counting_read_one_price_table() -> None:
    """The prices usage charges are the ones ``tokens`` quotes, row for row of pricing.json, and
    every long-context step of the table is one the usage store groups requests by."""
    from claude_health.tools.tokens.cost import cost_of
    from claude_health.tools.tokens.models import known_models, resolve_model
    from claude_health.tools.usage.aggregate import _TIER_OF
    from claude_health.tools.usage.pricing import default_lookup

    assert default_lookup() is table_lookup
    assert len(known_models()) > 20
    for model in known_models():
        usage = table_lookup(model)
        quoted = cost_of(resolve_model(model), 1).prices_per_mtok
        assert usage is not None, model
        assert (usage.input, usage.output, usage.cache_write_5m, usage.cache_write_1h, usage.cache_read) == (
            quoted["input"],
            quoted["output"],
            quoted["cache_write_5m"],
            quoted["cache_write_1h"],
            quoted["cache_read"],
        ), model
        assert usage.fast_multiplier == 2.0  # pricing page: fast mode is 2x
        if usage.long_threshold is not None:
            assert usage.long_threshold in _TIER_OF, model
    assert table_lookup("glm-4.6") is None


def test_long_context_requests_are_billed_at_the_higher_card(sandbox: Sandbox) -> None:
    # One Sonnet 4.5 request with 250K input incl. cache (1M beta) and one small one.
    seed(sandbox, [at("2026-11-20T10:00:00")], output_tokens=1000, cache_read=250_000)
    seed(sandbox, [at("2026-11-20T10:05:00")], output_tokens=1000, cache_read=1000)
    s = session(sandbox, at("2026-11-20T11:00:00"))
    day = service.daily(s, resolve_tz("UTC"))["totals"]
    block = aggregate.load_blocks(s.conn, table_lookup, s.now_ms)[0]
    s.close()
    big = ((3 * 3 + 250_000 * 0.3) * 2 + 1000 * 15 * 1.5) / 1e6
    small = (3 * 3 + 1000 * 0.3 + 1000 * 15) / 1e6
    assert day["cost_usd"] == pytest.approx(big + small)
    assert block.tokens.cost_usd == pytest.approx(big + small)


def test_a_locked_state_db_falls_back_to_memory_with_a_finding(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from claude_health.tools.usage import store as usage_store

    monkeypatch.setattr(usage_store, "BUSY_TIMEOUT_MS", 100)

    seed(sandbox, [datetime.now(UTC) - timedelta(minutes=5)])
    db = sandbox.root / "state.db"
    usage_store.connect(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process is writing
    try:
        s = service.open_session(
            dict(sandbox.env, CLAUDE_HEALTH_STATE_DB=str(db)), sandbox.home, lookup=table_lookup
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # connect() itself may wait on the lock; either way the answer comes from memory, with U006.
    assert [f.code for f in s.findings] == ["U006"]
    assert s.db_path is None and s.stats.usage_lines == 1
    s.close()


def _raw_line(msg_id: str, ts: str, **usage: Any) -> str:
    record = {
        "type": "assistant",
        "timestamp": ts,
        "requestId": "req_" + msg_id,
        "sessionId": SID,
        "message": {"id": msg_id, "model": "claude-sonnet-4-5", "usage": usage},
    }
    return json.dumps(record) + "\n"


def _write_raw(sandbox: Sandbox, lines: list[str]) -> None:
    path = sandbox.home / ".claude" / "projects" / "-home-user-project" / f"{SID}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))


def test_impossible_token_counts_are_malformed_lines_not_a_crash(sandbox: Sandbox) -> None:
    good_ts = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    _write_raw(
        sandbox,
        [
            _raw_line("m_u64", good_ts, input_tokens=18446744073709551615, output_tokens=1),
            # Each fits SQLite's INTEGER, but their sum does not.
            *(
                _raw_line(f"m_big{i}", good_ts, input_tokens=9223372036854775000, output_tokens=1)
                for i in range(3)
            ),
            _raw_line("m_float", good_ts, input_tokens=1e300, output_tokens=1),
            _raw_line("m_ok", good_ts, input_tokens=7, output_tokens=3),
        ],
    )
    sandbox.env["CLAUDE_HEALTH_STATE_DB"] = str(sandbox.root / "state.db")
    ws = sandbox.workspace()
    for _ in range(2):  # the second run must not trip over the same lines again
        usage = service.plan_usage(ws, "block")
        assert usage.scan.state_db is not None
        assert usage.local.totals.entries == 1 and usage.local.totals.input_tokens == 7
        assert "U005" in [f.code for f in usage.findings]
        assert "U006" not in [f.code for f in usage.findings]


def test_out_of_range_timestamps_are_malformed_lines_not_a_crash(sandbox: Sandbox) -> None:
    _write_raw(
        sandbox,
        [
            _raw_line("m_y1", "0001-01-01T00:00:00.000+14:00", input_tokens=5, output_tokens=1),
            _raw_line("m_y1z", "0001-01-01T00:00:00.000Z", input_tokens=5, output_tokens=1),
            _raw_line("m_y9999", "9999-12-31T23:30:00.000Z", input_tokens=5, output_tokens=1),
            _raw_line("m_far", "2099-01-01T00:00:00.000Z", input_tokens=5, output_tokens=1),
        ],
    )
    sandbox.env["CLAUDE_HEALTH_STATE_DB"] = str(sandbox.root / "state.db")
    ws = sandbox.workspace()
    for window in ("block", "day", "week"):
        usage = service.plan_usage(ws, window)  # type: ignore[arg-type]
        assert usage.local.totals.entries == 0
        assert "U005" in [f.code for f in usage.findings]
    assert run_check(ws).data["local"]["totals"]["total_tokens"] == 0


def test_a_future_dated_entry_does_not_hide_the_active_block(sandbox: Sandbox) -> None:
    seed(sandbox, [at("2026-11-20T09:17:00"), at("2026-11-20T09:40:00"), at("2026-11-21T12:00:00")])
    s = session(sandbox, at("2026-11-20T10:00:00"))
    try:
        blocks = aggregate.load_blocks(s.conn, s.lookup, s.now_ms)
    finally:
        s.close()
    active = [b for b in blocks if b.is_active]
    assert [b.start_ms for b in active] == [int(at("2026-11-20T09:00:00").timestamp() * 1000)]


def test_a_scan_that_fails_again_in_memory_is_a_finding_not_an_exception(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    def failing_scan(*_args: Any, **_kw: Any) -> Any:
        raise sqlite3.OperationalError("integer overflow")

    from claude_health.tools.usage import session as usage_session

    monkeypatch.setattr(usage_session, "scan", failing_scan)
    s = service.open_session(env_for(sandbox), sandbox.home, lookup=table_lookup)
    try:
        assert [f.code for f in s.findings] == ["U006"]
        assert "integer overflow" in s.findings[0].message
        assert s.db_path is None and s.stats.usage_lines == 0
    finally:
        s.close()


def test_plan_usage_reads_the_snapshot_the_status_line_wrote(sandbox: Sandbox) -> None:
    from claude_health.tools.usage.statusline import statusline

    now = datetime.now(UTC)
    sandbox.credentials({"claudeAiOauth": {"subscriptionType": "pro", "rateLimitTier": "default_claude_ai"}})
    sandbox.env["CLAUDE_HEALTH_STATE_DB"] = str(sandbox.root / "state.db")
    data = {"rate_limits": {"five_hour": {"used_percentage": 37, "resets_at": int(now.timestamp() + 3600)}}}
    statusline(json.dumps(data).encode(), sandbox.env, sandbox.home, now.timestamp() - 30)
    assert (sandbox.root / "statusline.db").exists()
    usage = service.plan_usage(sandbox.workspace(), "block")
    assert usage.official["five_hour"] is not None and usage.official["five_hour"].used_percentage == 37
    assert "U004" not in [f.code for f in usage.findings]
