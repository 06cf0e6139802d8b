"""Totals checked against the real ``ccusage`` (npm ccusage@20.0.24) on the same generated tree.

CI installs ccusage (see docs/usage.md); the binary is found through ``CLAUDE_HEALTH_CCUSAGE_BIN``
or ``ccusage`` on PATH. Without it these tests fail: a comparison that is skipped proves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.usage import aggregate, store
from claude_health.tools.usage.pricing import default_lookup
from claude_health.tools.usage.scan import scan
from claude_health.tools.usage.service import UsageSession, daily
from claude_health.tools.usage.synthetic import assistant_record, line, write_tree
from claude_health.tools.usage.timezones import resolve_tz

pytestmark = pytest.mark.e2e

CCUSAGE_ENV = "CLAUDE_HEALTH_CCUSAGE_BIN"


def ccusage_bin() -> str:
    found = os.environ.get(CCUSAGE_ENV) or shutil.which("ccusage")
    if not found:
        pytest.fail(
            f"ccusage is not installed: `npm install ccusage@20.0.24` and put it on PATH or set {CCUSAGE_ENV}"
        )
    return found


def run_ccusage(tree: Path, home: Path, *args: str) -> dict[str, Any]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "CLAUDE_CONFIG_DIR": str(tree)}
    done = subprocess.run(
        [ccusage_bin(), "claude", *args, "--json", "--offline"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ccusage-tree")
    claude = root / "claude"
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    write_tree(claude, size_bytes=3_000_000, seed=11, end=end, days=12)
    # On top of the generated tree: a response without requestId, broken lines, a sidechain
    # response, and an active block now. Cases where ccusage 20.0.24 itself double-counts are in
    # test_known_ccusage_divergences below.
    proj = claude / "projects" / "-home-user-edge"
    session = "5d44450e-d284-488d-ac1f-22d2e6fbfbf9"
    at = datetime.now(UTC) - timedelta(minutes=30)
    main = [
        assistant_record(
            session=session,
            msg_id="msg_edge1",
            request_id="req_edge1",
            at=at,
            output_tokens=5,
            cache_read=5000,
            stop_reason=None,
        ),
        assistant_record(
            session=session,
            msg_id="msg_edge1",
            request_id="req_edge1",
            at=at + timedelta(seconds=2),
            output_tokens=812,
            cache_read=5000,
        ),
        assistant_record(
            session=session,
            msg_id="msg_edge2",
            request_id=None,
            at=at + timedelta(minutes=3, seconds=1),
            output_tokens=99,
            cache_5m=300,
        ),
    ]
    side = assistant_record(
        session=session,
        msg_id="msg_edge3",
        request_id="req_edge3",
        at=at + timedelta(minutes=5),
        output_tokens=812,
        cache_read=5000,
        sidechain=True,
        agent_id="abc1234",
    )
    (proj / session / "subagents").mkdir(parents=True)
    (proj / f"{session}.jsonl").write_text(
        "".join(line(r) for r in main) + '{"type":"assistant","message":{"usage":\n' + "not json\n"
    )
    (proj / session / "subagents" / "agent-abc1234.jsonl").write_text(line(side))
    home = root / "home"
    home.mkdir()
    return claude, home


def ours(tree: Path, home: Path, db: Path) -> UsageSession:
    conn = store.connect(db)
    env = {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(tree)}
    stats = scan(conn, env, home)
    return UsageSession(conn, stats, time.time(), env, home, default_lookup(), db)


def test_daily_totals_match_ccusage(tree: tuple[Path, Path], tmp_path: Path) -> None:
    claude, home = tree
    theirs = run_ccusage(claude, home, "daily", "--timezone", "UTC")
    session = ours(claude, home, tmp_path / "state.db")
    mine = daily(session, resolve_tz("UTC"))
    session.close()
    their_days = {d["date"]: d for d in theirs["daily"]}
    assert [d["date"] for d in mine["days"]] == sorted(their_days)
    for day in mine["days"]:
        t = their_days[day["date"]]
        assert (
            day["input_tokens"],
            day["output_tokens"],
            day["cache_creation_input_tokens"],
            day["cache_read_input_tokens"],
        ) == (t["inputTokens"], t["outputTokens"], t["cacheCreationTokens"], t["cacheReadTokens"]), day[
            "date"
        ]
        assert day["cost_usd"] == pytest.approx(t["totalCost"], rel=1e-6, abs=1e-6)
        their_models = {m["modelName"]: m for m in t["modelBreakdowns"]}
        assert set(day["models"]) == set(their_models)
    tt = theirs["totals"]
    totals = mine["totals"]
    assert totals["output_tokens"] == tt["outputTokens"]
    assert totals["total_tokens"] == tt["totalTokens"]
    assert totals["cost_usd"] == pytest.approx(tt["totalCost"], rel=1e-6)


def test_blocks_match_ccusage(tree: tuple[Path, Path], tmp_path: Path) -> None:
    claude, home = tree
    theirs = run_ccusage(claude, home, "blocks")["blocks"]
    session = ours(claude, home, tmp_path / "state.db")
    mine = aggregate.load_blocks(session.conn, default_lookup(), session.now_ms)
    session.close()
    assert len(mine) == len(theirs)
    for b, t in zip(mine, theirs, strict=True):
        assert b.is_gap == t["isGap"]
        if b.is_gap:
            continue
        start = datetime.fromisoformat(t["startTime"]).timestamp() * 1000
        assert b.start_ms == start
        assert b.is_active == t["isActive"]
        tc = t["tokenCounts"]
        assert (
            b.tokens.input_tokens,
            b.tokens.output_tokens,
            b.tokens.cache_creation_input_tokens,
            b.tokens.cache_read_input_tokens,
        ) == (
            tc["inputTokens"],
            tc["outputTokens"],
            tc["cacheCreationInputTokens"],
            tc["cacheReadInputTokens"],
        )
        assert b.tokens.entries == t["entries"]
        assert b.tokens.cost_usd == pytest.approx(t["costUSD"], rel=1e-6, abs=1e-6)
    assert sum(b.is_active for b in mine) == 1


def _edge_tree(root: Path, records: list[tuple[str, dict[str, Any]]]) -> tuple[Path, Path]:
    claude = root / "claude"
    for rel, rec in records:
        path = claude / "projects" / "-home-user-edge" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as fh:
            fh.write(line(rec))
    home = root / "home"
    home.mkdir()
    return claude, home


def _our_output(claude: Path, home: Path, db: Path) -> int:
    session = ours(claude, home, db)
    total = int(session.conn.execute("SELECT SUM(output) FROM usage_entries").fetchone()[0])
    session.close()
    return total


def test_known_ccusage_divergences(tmp_path: Path) -> None:
    """Where ccusage 20.0.24 double-counts (its daily and blocks loaders even disagree) and
    claude-health deliberately counts once: daily misses message-id-only dedup, blocks misses
    the sidechain-replay rule.

    If a newer ccusage fixes these, this test fails and docs/usage.md should be updated.
    """
    at = datetime.now(UTC) - timedelta(hours=30)
    sid = "4d5611e5-241a-462a-8d15-5122611a9569"
    # 1. A response streamed twice without requestId (proxies, some subagent paths).
    no_req = _edge_tree(
        tmp_path / "a",
        [
            (
                f"{sid}.jsonl",
                assistant_record(
                    session=sid, msg_id="msg_n", request_id=None, at=at, output_tokens=4, stop_reason=None
                ),
            ),
            (
                f"{sid}.jsonl",
                assistant_record(
                    session=sid,
                    msg_id="msg_n",
                    request_id=None,
                    at=at + timedelta(seconds=1),
                    output_tokens=99,
                ),
            ),
        ],
    )
    daily_out = run_ccusage(*no_req, "daily")["totals"]["outputTokens"]
    blocks_out = sum(b["tokenCounts"]["outputTokens"] for b in run_ccusage(*no_req, "blocks")["blocks"])
    assert (daily_out, blocks_out, _our_output(*no_req, tmp_path / "a.db")) == (103, 99, 99)
    # 2. A sidechain file replaying a main-chain response under a new requestId (/btw).
    replay = _edge_tree(
        tmp_path / "b",
        [
            (
                f"{sid}.jsonl",
                assistant_record(
                    session=sid, msg_id="msg_r", request_id="req_main", at=at, output_tokens=500
                ),
            ),
            (
                f"{sid}/subagents/agent-a1.jsonl",
                assistant_record(
                    session=sid,
                    msg_id="msg_r",
                    request_id="req_side",
                    at=at + timedelta(seconds=5),
                    output_tokens=500,
                    sidechain=True,
                    agent_id="a1",
                ),
            ),
        ],
    )
    daily_out = run_ccusage(*replay, "daily")["totals"]["outputTokens"]
    blocks_out = sum(b["tokenCounts"]["outputTokens"] for b in run_ccusage(*replay, "blocks")["blocks"])
    assert (daily_out, blocks_out, _our_output(*replay, tmp_path / "b.db")) == (500, 1000, 500)


def _day_totals(days: list[dict[str, Any]], theirs: bool) -> dict[str, tuple[int, int, int, int]]:
    if theirs:
        return {
            d["date"]: (d["inputTokens"], d["outputTokens"], d["cacheCreationTokens"], d["cacheReadTokens"])
            for d in days
        }
    return {
        d["date"]: (
            d["input_tokens"],
            d["output_tokens"],
            d["cache_creation_input_tokens"],
            d["cache_read_input_tokens"],
        )
        for d in days
    }


def test_only_existing_matches_ccusage_after_claude_code_deletes_sessions(tmp_path: Path) -> None:
    """The ledger keeps deleted sessions (default) and ``only_existing`` is ccusage's view."""
    import shutil as sh

    claude = tmp_path / "claude"
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    write_tree(claude, size_bytes=1_500_000, seed=23, end=end, days=20)
    home = tmp_path / "home"
    home.mkdir()
    before = run_ccusage(claude, home, "daily", "--timezone", "UTC")
    db = tmp_path / "state.db"
    ours(claude, home, db).close()
    # Claude Code's cleanup: the oldest sessions go, each with its subagent transcripts.
    mains = sorted((claude / "projects").glob("*/*.jsonl"), key=lambda p: p.stat().st_mtime)
    for main in mains[:4]:
        main.unlink()
        sh.rmtree(main.with_suffix(""), ignore_errors=True)
    after = run_ccusage(claude, home, "daily", "--timezone", "UTC")
    assert after["totals"]["totalTokens"] < before["totals"]["totalTokens"]  # the deletion mattered
    tz = resolve_tz("UTC")
    session = ours(claude, home, db)
    try:
        existing = daily(session, tz, only_existing=True)
        everything = daily(session, tz)
        blocks_existing = aggregate.load_blocks(
            session.conn, default_lookup(), session.now_ms, source=store.existing_only_source()
        )
    finally:
        session.close()
    assert _day_totals(existing["days"], False) == _day_totals(after["daily"], True)
    assert existing["totals"]["total_tokens"] == after["totals"]["totalTokens"]
    assert existing["totals"]["cost_usd"] == pytest.approx(after["totals"]["totalCost"], rel=1e-6)
    # By default the ledger still counts what ccusage saw before the deletion.
    assert _day_totals(everything["days"], False) == _day_totals(before["daily"], True)
    assert everything["ledger"]["from_deleted_transcripts"]["entries"] > 0
    their_blocks = [b for b in run_ccusage(claude, home, "blocks")["blocks"] if not b["isGap"]]
    mine = [b for b in blocks_existing if not b.is_gap]
    assert [(b.start_ms, b.tokens.total_tokens, b.tokens.entries) for b in mine] == [
        (datetime.fromisoformat(b["startTime"]).timestamp() * 1000, b["totalTokens"], b["entries"])
        for b in their_blocks
    ]
