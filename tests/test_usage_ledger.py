"""The usage ledger outlives Claude Code's cleanup, says what it holds, and survives its own loss."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.tools.doctor import run_doctor
from claude_health.tools.usage import store
from claude_health.tools.usage.plan_usage import plan_usage
from claude_health.tools.usage.synthetic import assistant_record, line
from tests.conftest import Sandbox
from tests.test_usage_cli import run_usage

OLD = "11111111-2222-4333-8444-555555555555"
NEW = "66666666-7777-4888-8999-000000000000"
DAY_MS = 86_400_000


def transcript(sandbox: Sandbox, session: str) -> Path:
    return sandbox.home / ".claude" / "projects" / "-home-user-app" / f"{session}.jsonl"


def seed(sandbox: Sandbox) -> tuple[Path, Path]:
    """An old session (40 days ago: Claude Code would delete it) and one from today."""
    now = datetime.now(UTC)
    old, new = transcript(sandbox, OLD), transcript(sandbox, NEW)
    old.parent.mkdir(parents=True)
    old.write_text(
        line(
            assistant_record(session=OLD, msg_id="msg_old1", request_id="req_o1", at=now - timedelta(days=40))
        )
        + line(
            assistant_record(
                session=OLD,
                msg_id="msg_old2",
                request_id="req_o2",
                at=now - timedelta(days=40, minutes=-3),
                output_tokens=700,
                cache_read=3000,
            )
        )
    )
    new.write_text(
        line(
            assistant_record(
                session=NEW,
                msg_id="msg_new",
                request_id="req_n",
                at=now - timedelta(hours=1),
                output_tokens=50,
            )
        )
    )
    return old, new


def env(sandbox: Sandbox) -> dict[str, str]:
    return dict(sandbox.env, CLAUDE_HEALTH_STATE_DB=str(sandbox.root / "state" / "state.db"), TZ="UTC")


def usage(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return run_usage(sandbox, env(sandbox), *args)


def daily(sandbox: Sandbox, *args: str) -> dict[str, Any]:
    done = usage(sandbox, "daily", "--json", "--timezone", "UTC", *args)
    assert done.returncode in (0, 1), done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_entries_stay_after_their_transcript_is_deleted_and_are_reported_as_such(sandbox: Sandbox) -> None:
    old, _ = seed(sandbox)
    first = daily(sandbox)
    assert first["totals"]["entries"] == 3 and first["totals"]["output_tokens"] == 760
    assert first["ledger"]["from_deleted_transcripts"]["entries"] == 0
    old.unlink()  # Claude Code's cleanup
    after = daily(sandbox)
    assert after["totals"]["entries"] == 3 and after["totals"]["output_tokens"] == 760
    gone = after["ledger"]["from_deleted_transcripts"]
    assert (gone["transcripts"], gone["entries"], gone["counted"]) == (1, 2, True)
    assert gone["total_tokens"] == 3 + 10 + 3 + 700 + 3000
    assert gone["first"][:10] == (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%d")
    existing = daily(sandbox, "--only-existing")
    assert existing["totals"]["entries"] == 1 and existing["totals"]["output_tokens"] == 50
    assert existing["ledger"]["only_existing"] is True
    assert existing["ledger"]["from_deleted_transcripts"]["counted"] is False
    assert [d["date"] for d in existing["days"]] == [datetime.now(UTC).strftime("%Y-%m-%d")]
    blocks = json.loads(usage(sandbox, "blocks", "--json", "--only-existing").stdout)["blocks"]
    assert sum(b["entries"] for b in blocks) == 1
    human = usage(sandbox, "daily", "--color", "never").stdout
    assert "2 responses" in human and "1 transcript(s) Claude Code has deleted" in human
    assert "--only-existing leaves them out" in human
    assert (
        "left out (--only-existing)"
        in usage(sandbox, "monthly", "--only-existing", "--color", "never").stdout
    )


def test_a_transcript_that_comes_back_is_not_counted_twice(sandbox: Sandbox) -> None:
    old, _ = seed(sandbox)
    daily(sandbox)
    saved = old.read_bytes()
    old.unlink()
    daily(sandbox)
    old.write_bytes(saved)  # restored from a backup: a new inode, read again from the start
    back = daily(sandbox)
    assert back["totals"]["entries"] == 3
    assert back["ledger"]["from_deleted_transcripts"]["entries"] == 0


async def test_mcp_plan_usage_only_existing(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    old, _ = seed(sandbox)
    for name, value in env(sandbox).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    async with Client(build_server(), mode="auto") as client:
        await client.call_tool("plan_usage", {"window": "week", "project_dir": str(sandbox.project)})
        old.unlink()
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["plan_usage"].input_schema["properties"]["only_existing"]["type"] == "boolean"
        args = {"window": "week", "project_dir": str(sandbox.project)}
        everything = (await client.call_tool("plan_usage", args)).structured_content or {}
        existing = (
            await client.call_tool("plan_usage", {**args, "only_existing": True})
        ).structured_content or {}
    assert everything["scan"]["entries_from_deleted_transcripts"] == 2
    assert everything["scan"]["files_missing"] == 1
    assert existing["scan"]["only_existing"] is True
    # The rolling week holds only today's response either way; the history start differs.
    assert everything["scan"]["history_since"] < existing["scan"]["history_since"]


def test_a_damaged_state_db_is_moved_aside_and_rebuilt_with_a_note_of_what_was_lost(sandbox: Sandbox) -> None:
    old, _ = seed(sandbox)
    daily(sandbox)
    old.unlink()
    daily(sandbox)  # the ledger now holds the old session alone
    db = sandbox.root / "state" / "state.db"
    db.write_bytes(b"this is not a database" * 500)
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    data = daily(sandbox)
    assert data["totals"]["entries"] == 1  # what still exists on disk
    (finding,) = [f for f in data["findings"] if f["code"] == "U009"]
    assert "was damaged" in finding["message"] and "It held 3 responses" in finding["message"]
    assert "about 2 responses) is lost" in finding["message"]
    kept = Path(finding["path"])
    assert kept.exists() and kept.read_bytes().startswith(b"this is not a database")
    assert data["ledger"]["rebuilt"]["note"] == finding["message"]
    again = daily(sandbox)
    assert "U009" not in [f["code"] for f in again["findings"]]  # said once; the ledger keeps the note
    assert again["ledger"]["rebuilt"] is not None
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_a_missing_state_db_is_noticed_from_the_stamp_beside_it(sandbox: Sandbox) -> None:
    old, _ = seed(sandbox)
    daily(sandbox)
    old.unlink()
    daily(sandbox)
    db = sandbox.root / "state" / "state.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = daily(sandbox)
    (finding,) = [f for f in data["findings"] if f["code"] == "U009"]
    assert "was missing" in finding["message"] and "It held 3 responses" in finding["message"]
    assert data["totals"]["entries"] == 1


def test_first_run_has_no_rebuild_note(sandbox: Sandbox) -> None:
    seed(sandbox)
    data = daily(sandbox)
    assert [f["code"] for f in data["findings"]] == []
    assert data["ledger"]["rebuilt"] is None


def test_a_v3_ledger_is_carried_over_with_its_deleted_transcripts(sandbox: Sandbox) -> None:
    """The schema before this one: entries keyed by one text column, the path on every row."""
    db = sandbox.root / "state" / "state.db"
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        CREATE TABLE usage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO usage_meta VALUES ('schema', '3');
        CREATE TABLE usage_files (path TEXT PRIMARY KEY, project TEXT NOT NULL, dev INTEGER NOT NULL,
            ino INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, offset INTEGER NOT NULL,
            usage_lines INTEGER NOT NULL DEFAULT 0, bad_lines INTEGER NOT NULL DEFAULT 0,
            missing INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE usage_entries (key TEXT PRIMARY KEY, msg_id TEXT NOT NULL, ts INTEGER NOT NULL,
            model TEXT NOT NULL, project TEXT NOT NULL, session TEXT NOT NULL, file TEXT NOT NULL,
            sidechain INTEGER NOT NULL, speed TEXT NOT NULL, input INTEGER NOT NULL, output INTEGER NOT NULL,
            cc5m INTEGER NOT NULL, cc1h INTEGER NOT NULL, cc INTEGER NOT NULL, cread INTEGER NOT NULL,
            total INTEGER NOT NULL) WITHOUT ROWID;
        """
    )
    ts = int((datetime.now(UTC) - timedelta(days=90)).timestamp() * 1000)
    conn.executemany(
        "INSERT INTO usage_entries VALUES (?, ?, ?, 'claude-opus-4-6', '-p', 's', '/gone/x.jsonl', 0, '',"
        " 1, ?, 0, 0, 0, 0, ?)",
        [
            ("msg_a|req_a", "msg_a", ts, 10, 11),
            ("msg_b|", "msg_b", ts + 1, 20, 21),
            ("/gone/x.jsonl@5", "", ts, 5, 6),
        ],
    )
    conn.commit()
    conn.close()
    data = daily(sandbox)
    assert data["totals"]["entries"] == 3 and data["totals"]["output_tokens"] == 35
    assert data["ledger"]["from_deleted_transcripts"]["entries"] == 3
    conn = store.connect(db)
    rows = sorted(conn.execute("SELECT msg, req FROM usage_entries").fetchall())
    conn.close()
    assert rows == [("", "/gone/x.jsonl@5"), ("msg_a", "req_a"), ("msg_b", "")]


def test_doctor_warns_when_cleanup_outruns_the_ledger(sandbox: Sandbox) -> None:
    seed(sandbox)
    sandbox.env.update(env(sandbox))
    settings = sandbox.user_settings({"cleanupPeriodDays": 7})
    plan_usage(sandbox.workspace(), "block")  # the ledger's first update
    db = sandbox.root / "state" / "state.db"
    conn = store.connect(db)
    ten_days_ago = int((datetime.now(UTC) - timedelta(days=10)).timestamp() * 1000)
    store.set_meta(conn, {"last_scan_ms": str(ten_days_ago), "scan_log": str(ten_days_ago)})
    conn.close()
    report = run_doctor(sandbox.workspace(), only=["usage"])
    found = [f for f in report.findings if f.code == "U008"]
    assert len(found) == 1 and found[0].path == str(settings)
    assert "cleanupPeriodDays is 7" in found[0].message and "10.0 days" in found[0].message
    # Updated again just now, so nothing was lost since; but updates 10 days apart stay a risk
    # with a 7-day cleanup, until the period is raised.
    (again,) = [f for f in run_doctor(sandbox.workspace(), only=["usage"]).findings if f.code == "U008"]
    assert "10.0 days between updates" in again.message
    sandbox.user_settings({"cleanupPeriodDays": 90})
    assert [f for f in run_doctor(sandbox.workspace(), only=["usage"]).findings if f.code == "U008"] == []


def test_a_long_gap_between_updates_is_a_warning_before_anything_is_lost(sandbox: Sandbox) -> None:
    seed(sandbox)
    sandbox.env.update(env(sandbox))
    usage_now = plan_usage(sandbox.workspace(), "block")
    assert "U008" not in [f.code for f in usage_now.findings]  # default 30 days, fresh ledger
    db = sandbox.root / "state" / "state.db"
    conn = store.connect(db)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    log = [now_ms - 40 * DAY_MS, now_ms - 22 * DAY_MS, now_ms - DAY_MS]
    store.set_meta(conn, {"last_scan_ms": str(log[-1]), "scan_log": ",".join(map(str, log))})
    conn.close()
    found = [f for f in plan_usage(sandbox.workspace(), "block").findings if f.code == "U008"]
    assert len(found) == 1 and "Claude Code's default" in found[0].message
    assert "21.0 days between updates" in found[0].message


def test_a_server_keeps_the_ledger_open_and_still_sees_what_other_processes_wrote(sandbox: Sandbox) -> None:
    from claude_health.tools.usage.session import close_ledgers, keep_ledgers_open, open_session

    old, new = seed(sandbox)
    sandbox.env.update(env(sandbox))
    keep_ledgers_open()
    try:
        first = open_session(sandbox.env, sandbox.home)
        first.close()
        assert first.stats.files_read == 2
        # Another process (the CLI) reads an append; this process must not read it again.
        with new.open("a") as fh:
            fh.write(
                line(assistant_record(session=NEW, msg_id="msg_x", request_id="req_x", at=datetime.now(UTC)))
            )
        assert daily(sandbox)["totals"]["entries"] == 4
        second = open_session(sandbox.env, sandbox.home)
        try:
            assert (second.stats.files_read, second.stats.bytes_read) == (0, 0)
            n = second.conn.execute("SELECT COUNT(*) FROM usage_entries").fetchone()[0]
            assert n == 4
        finally:
            second.close()
        # A new session file in a directory listed a moment ago is seen (its mtime changed).
        third_path = transcript(sandbox, "99999999-8888-4777-8666-555555555555")
        third_path.write_text(
            line(assistant_record(session="s3", msg_id="msg_3", request_id="r3", at=datetime.now(UTC)))
        )
        third = open_session(sandbox.env, sandbox.home)
        third.close()
        assert third.stats.files_read == 1 and third.stats.files_seen == 3
        old.unlink()
        fourth = open_session(sandbox.env, sandbox.home)
        fourth.close()
        assert fourth.stats.files_gone_now == 1
    finally:
        close_ledgers()


def test_a_server_whose_scan_fails_unexpectedly_still_answers_the_next_call(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept ledger's lock is given back whatever the scan raises: held, it would hang every
    later usage call of the server."""
    import threading

    from claude_health.tools.usage import session as S

    seed(sandbox)
    sandbox.env.update(env(sandbox))
    S.keep_ledgers_open()
    try:
        S.open_session(sandbox.env, sandbox.home).close()  # the ledger is kept open from here

        def broken(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt  # not an error any handler expects

        monkeypatch.setattr(S, "scan", broken)
        with pytest.raises(KeyboardInterrupt):
            S.open_session(sandbox.env, sandbox.home)
        monkeypatch.undo()

        done: list[int] = []

        def again() -> None:
            session = S.open_session(sandbox.env, sandbox.home)
            done.append(session.conn.execute("SELECT COUNT(*) FROM usage_entries").fetchone()[0])
            session.close()

        worker = threading.Thread(target=again, daemon=True)
        worker.start()
        worker.join(timeout=30)
        assert done == [3], done or "the next call hung on the lock the failed scan kept"
    finally:
        pool = S._POOL
        if pool is not None and pool.lock.acquire(timeout=5):
            pool.lock.release()
            S.close_ledgers()
        else:  # the lock is held for good: forget the pool rather than hang here too
            S._POOL = None
