"""Transcript discovery, deduplication and incremental scanning against real files and SQLite."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.usage import discovery, scan, store
from claude_health.tools.usage.parse import LineError, parse_line
from claude_health.tools.usage.synthetic import assistant_record, line, user_record
from tests.conftest import Sandbox

T0 = datetime(2026, 11, 20, 9, 17, 3, tzinfo=UTC)
SESSION = "0b6c1f54-4d0e-4d0b-9d7e-2f1c6b1e9a11"


def projects(sandbox: Sandbox) -> Path:
    return sandbox.home / ".claude" / "projects" / "-home-user-project"


def write(path: Path, *records: dict[str, object] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(rec if isinstance(rec, str) else line(rec))
    return path


def run_scan(sandbox: Sandbox) -> scan.ScanStats:
    conn = store.connect(sandbox.root / "state.db")
    try:
        return scan.scan(conn, sandbox.env, sandbox.home)
    finally:
        conn.close()


def totals(sandbox: Sandbox) -> tuple[int, int, int, int, int]:
    conn = store.connect(sandbox.root / "state.db")
    try:
        row = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(input),0), COALESCE(SUM(output),0), COALESCE(SUM(cc),0),"
            " COALESCE(SUM(cread),0) FROM usage_entries"
        ).fetchone()
        return tuple(row)  # type: ignore[return-value]
    finally:
        conn.close()


def rec(msg: str, req: str | None, out: int, at: datetime = T0, **kw: object) -> dict[str, object]:
    return assistant_record(session=SESSION, msg_id=msg, request_id=req, at=at, output_tokens=out, **kw)  # type: ignore[arg-type]


def test_streaming_snapshots_keep_the_final_largest_usage(sandbox: Sandbox) -> None:
    write(
        projects(sandbox) / f"{SESSION}.jsonl",
        rec("msg_A", "req_A", 2, cache_5m=100, cache_read=1000, stop_reason=None),
        rec("msg_A", "req_A", 7, T0 + timedelta(seconds=1), cache_5m=100, cache_read=1000, stop_reason=None),
        rec("msg_A", "req_A", 950, T0 + timedelta(seconds=2), cache_5m=100, cache_read=1000),
        rec("msg_B", "req_B", 40, T0 + timedelta(seconds=9), cache_read=1100),
    )
    stats = run_scan(sandbox)
    assert stats.usage_lines == 4
    # first-wins would report 2 + 40 output tokens; the final snapshot says 950.
    assert totals(sandbox) == (2, 6, 990, 100, 2100)


def test_sidechain_replay_of_a_main_chain_response_is_not_counted_twice(sandbox: Sandbox) -> None:
    main = projects(sandbox) / f"{SESSION}.jsonl"
    sub = projects(sandbox) / SESSION / "subagents" / "agent-a1b2c3d.jsonl"
    write(main, rec("msg_M", "req_M", 500, cache_read=9000))
    # /btw replays the parent message with the same message.id and a new requestId.
    write(sub, rec("msg_M", "req_other", 500, cache_read=9000, sidechain=True, agent_id="a1b2c3d"))
    write(sub, rec("msg_S", "req_S", 30, T0 + timedelta(minutes=1), sidechain=True, agent_id="a1b2c3d"))
    run_scan(sandbox)
    count, _, output, _, cread = totals(sandbox)
    assert (count, output, cread) == (2, 530, 9000)


def test_replay_seen_in_a_later_run_still_loses_to_the_main_chain(sandbox: Sandbox) -> None:
    sub = projects(sandbox) / SESSION / "subagents" / "agent-x.jsonl"
    write(sub, rec("msg_M", "req_other", 500, cache_read=9000, sidechain=True))
    run_scan(sandbox)
    assert totals(sandbox)[0] == 1
    write(projects(sandbox) / f"{SESSION}.jsonl", rec("msg_M", "req_M", 500, cache_read=9000))
    run_scan(sandbox)
    conn = store.connect(sandbox.root / "state.db")
    rows = conn.execute("SELECT msg, req, sidechain FROM usage_entries").fetchall()
    conn.close()
    assert rows == [("msg_M", "req_M", 0)]


def test_missing_request_id_dedups_on_message_id_and_missing_message_id_never_dedups(
    sandbox: Sandbox,
) -> None:
    path = projects(sandbox) / f"{SESSION}.jsonl"
    write(path, rec("msg_P", None, 3), rec("msg_P", None, 300))
    no_id = rec("x", "req_1", 11)
    no_id["message"].pop("id")  # type: ignore[attr-defined]
    write(path, no_id, no_id)
    run_scan(sandbox)
    count, _, output, _, _ = totals(sandbox)
    assert (count, output) == (3, 300 + 11 + 11)


def test_broken_unknown_and_synthetic_lines_are_tolerated(sandbox: Sandbox) -> None:
    path = projects(sandbox) / f"{SESSION}.jsonl"
    synthetic = rec("msg_syn", "req_syn", 0, model="<synthetic>")
    write(
        path,
        '{"type":"file-history-snapshot","snapshot":{}}\n',
        '{"type":"queue-operation","operation":"enqueue"}\n',
        '{"type":"assistant","message":{"usage":{"input_tokens": 5,\n',  # malformed usage line
        "\x00\x01 binary garbage\n",
        "[1, 2, 3]\n",
        '{"type":"brand-new-record","usage":{"x":1},"assistant":true}\n',
        synthetic,
        user_record(SESSION, T0, 'tool output mentioning "usage" and "assistant"'),
        rec("msg_ok", "req_ok", 42),
    )
    stats = run_scan(sandbox)
    assert stats.bad_lines == 1
    assert totals(sandbox)[:3] == (1, 3, 42)


def test_invalid_timestamp_is_a_line_error() -> None:
    raw = json.dumps(rec("m", "r", 1) | {"timestamp": "yesterday"}).encode()
    with pytest.raises(LineError):
        parse_line(raw, "f@0")


def test_half_written_last_line_is_read_whole_on_the_next_run(sandbox: Sandbox) -> None:
    path = projects(sandbox) / f"{SESSION}.jsonl"
    write(path, rec("msg_1", "req_1", 10))
    full = line(rec("msg_2", "req_2", 20, T0 + timedelta(minutes=1)))
    write(path, full[:37])  # Claude Code is mid-write
    stats = run_scan(sandbox)
    assert stats.bad_lines == 0
    assert totals(sandbox)[:3] == (1, 3, 10)
    write(path, full[37:])
    stats = run_scan(sandbox)
    assert stats.bytes_read == len(full.encode())
    assert totals(sandbox)[:3] == (2, 6, 30)


def test_complete_last_line_without_newline_counts_once(sandbox: Sandbox) -> None:
    path = projects(sandbox) / f"{SESSION}.jsonl"
    write(path, line(rec("msg_1", "req_1", 10)).rstrip("\n"))
    run_scan(sandbox)
    assert totals(sandbox)[2] == 10
    write(path, "\n", rec("msg_2", "req_2", 5))
    run_scan(sandbox)
    assert totals(sandbox)[:3] == (2, 6, 15)


def test_rerun_reads_only_appended_bytes_and_merges_streaming_across_runs(sandbox: Sandbox) -> None:
    path = projects(sandbox) / f"{SESSION}.jsonl"
    write(path, user_record(SESSION, T0, "y" * 5000), rec("msg_1", "req_1", 3, stop_reason=None))
    first = run_scan(sandbox)
    assert first.files_read == 1
    unchanged = run_scan(sandbox)
    assert (unchanged.files_read, unchanged.bytes_read) == (0, 0)
    tail = line(rec("msg_1", "req_1", 777, T0 + timedelta(seconds=3)))
    write(path, tail)
    again = run_scan(sandbox)
    assert again.bytes_read == len(tail.encode())
    assert totals(sandbox)[:3] == (1, 3, 777)


def test_deleted_transcripts_keep_their_history(sandbox: Sandbox) -> None:
    old = write(projects(sandbox) / "old-session.jsonl", rec("msg_old", "req_old", 100))
    write(projects(sandbox) / f"{SESSION}.jsonl", rec("msg_new", "req_new", 1))
    run_scan(sandbox)
    old.unlink()  # Claude Code's cleanupPeriodDays
    stats = run_scan(sandbox)
    assert stats.files_missing == 1
    assert totals(sandbox)[2] == 101


def test_rewritten_file_is_re_derived(sandbox: Sandbox) -> None:
    path = write(projects(sandbox) / f"{SESSION}.jsonl", rec("msg_1", "req_1", 100), rec("msg_2", "req_2", 5))
    run_scan(sandbox)
    replacement = path.with_suffix(".tmp")
    write(replacement, rec("msg_3", "req_3", 7))
    replacement.replace(path)  # a new inode, shorter than the old offset
    run_scan(sandbox)
    assert totals(sandbox)[:3] == (1, 3, 7)


def test_discovery_reads_every_config_dir_xdg_and_subagents(sandbox: Sandbox, tmp_path: Path) -> None:
    a = tmp_path / "cfg-a"
    b = tmp_path / "cfg-b" / "projects"
    xdg = tmp_path / "xdg"
    write(a / "projects" / "p1" / "s1.jsonl", rec("m1", "r1", 1))
    write(b / "p2" / "s2" / "subagents" / "agent-1.jsonl", rec("m2", "r2", 2, sidechain=True))
    write(xdg / "claude" / "projects" / "p3" / "s3.jsonl", rec("m3", "r3", 4))
    write(projects(sandbox) / "s4.jsonl", rec("m4", "r4", 8))
    write(projects(sandbox) / "notes.txt", "not a transcript")
    env = dict(sandbox.env, CLAUDE_CONFIG_DIR=f"{a}, {b},,{tmp_path / 'missing'}", XDG_CONFIG_HOME=str(xdg))
    roots = discovery.transcript_roots(env, sandbox.home)
    assert [str(r) for r in roots] == [
        str(a / "projects"),
        str(b),
        str(xdg / "claude" / "projects"),
        str(sandbox.home / ".claude" / "projects"),
    ]
    files = list(discovery.iter_transcripts(roots))
    assert sorted(f.project for f in files) == ["-home-user-project", "p1", "p2", "p3"]
    conn = store.connect(sandbox.root / "state.db")
    scan.scan(conn, env, sandbox.home)
    assert conn.execute("SELECT SUM(output) FROM usage_entries").fetchone()[0] == 15
    conn.close()


def test_overlapping_roots_and_symlink_loops_do_not_double_count(sandbox: Sandbox) -> None:
    path = write(projects(sandbox) / f"{SESSION}.jsonl", rec("msg_1", "req_1", 9))
    (projects(sandbox) / "loop").symlink_to(projects(sandbox))
    env = dict(sandbox.env, CLAUDE_CONFIG_DIR=str(sandbox.home / ".claude"))
    conn = store.connect(sandbox.root / "state.db")
    stats = scan.scan(conn, env, sandbox.home)
    conn.close()
    assert stats.files_seen == 1 and path.exists()
    assert totals(sandbox)[2] == 9


def test_dangling_links_and_fifos_are_reported_not_raised_or_blocking(sandbox: Sandbox) -> None:
    write(projects(sandbox) / f"{SESSION}.jsonl", rec("msg_1", "req_1", 9))
    dangling = projects(sandbox) / "gone.jsonl"
    dangling.symlink_to(sandbox.root / "nowhere.jsonl")
    fifo = projects(sandbox) / "pipe.jsonl"
    os.mkfifo(fifo)
    stats = run_scan(sandbox)
    problems = {p.path: p.message for p in stats.problems}
    assert problems[str(dangling)].startswith("cannot be read")
    assert problems[str(fifo)] == "is not a regular file"
    assert totals(sandbox)[2] == 9


def test_state_db_is_shared_safely_in_wal_mode(sandbox: Sandbox) -> None:
    conn = store.connect(sandbox.root / "state.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == store.BUSY_TIMEOUT_MS
    # Another subsystem's tables in the same file are left alone.
    conn.execute("CREATE TABLE limiter_buckets (k TEXT)")
    conn.close()
    conn = store.connect(sandbox.root / "state.db")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"limiter_buckets", "usage_files", "usage_entries", "usage_statusline"} <= names


def test_corrupt_state_db_is_a_named_error(sandbox: Sandbox) -> None:
    bad = sandbox.write("state.db", b"this is not sqlite" * 100)
    with pytest.raises(store.StateError, match=str(bad)):
        store.connect(bad)


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-09-28T06:17:23.678Z",
        "2025-12-31T23:59:59.999Z",
        "2025-09-28T06:17:23Z",
        "2025-09-28T06:17:23.678+02:00",
        "2025-09-28T06:17:2x.678Z",
        "2025-13-28T06:17:23.678Z",
        "2025-09-28T06:17:23.678",
        "",
    ],
)
def test_timestamp_fast_path_agrees_with_fromisoformat(stamp: str) -> None:
    from claude_health.tools.usage.parse import parse_timestamp_ms

    try:
        moment = datetime.fromisoformat(stamp)
        expected = int(moment.timestamp() * 1000) if moment.tzinfo else None
    except ValueError:
        expected = None
    assert parse_timestamp_ms(stamp) == expected


def test_quarter_hour_aggregates_stay_exact_through_replacements_and_deletions(sandbox: Sandbox) -> None:
    path = projects(sandbox) / f"{SESSION}.jsonl"
    write(path, rec("msg_1", "req_1", 3, stop_reason=None), rec("msg_2", "req_2", 8, T0 + timedelta(hours=2)))
    run_scan(sandbox)
    write(path, rec("msg_1", "req_1", 900, T0 + timedelta(seconds=2)))  # replaces msg_1 next run
    sub = projects(sandbox) / SESSION / "subagents" / "agent-z.jsonl"
    write(sub, rec("msg_2", "req_side", 8, T0 + timedelta(hours=2), sidechain=True))  # dropped replay
    run_scan(sandbox)
    rewritten = path.with_suffix(".new")
    write(rewritten, rec("msg_1", "req_1", 900, T0 + timedelta(seconds=2)), rec("msg_3", "req_3", 5, T0))
    rewritten.replace(path)
    run_scan(sandbox)
    conn = store.connect(sandbox.root / "state.db")
    grouped = (
        "SELECT ts / 900000, model, SUM(input), SUM(output), SUM(cc), SUM(cread), COUNT(*)"
        " FROM usage_entries GROUP BY 1, 2"
    )
    from_entries = sorted(conn.execute(grouped).fetchall())
    from_quarters = sorted(
        conn.execute(
            "SELECT q, model, SUM(input), SUM(output), SUM(cc), SUM(cread), SUM(n) FROM usage_quarters"
            " WHERE n > 0 GROUP BY 1, 2"
        ).fetchall()
    )
    conn.close()
    assert from_quarters == from_entries
    assert sum(r[3] for r in from_entries) == 905


def test_over_long_lines_are_skipped_with_bounded_memory(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "CHUNK_BYTES", 256)
    monkeypatch.setattr(scan, "MAX_LINE_BYTES", 1024)
    huge = '{"type":"file-history-snapshot","snapshot":"' + "s" * 10_000 + '"}\n'
    path = write(
        projects(sandbox) / f"{SESSION}.jsonl", rec("msg_1", "req_1", 10), huge, rec("msg_2", "req_2", 20)
    )
    stats = run_scan(sandbox)
    assert stats.bad_lines == 1
    assert totals(sandbox)[:3] == (2, 6, 30)
    assert run_scan(sandbox).bytes_read == 0
    assert path.stat().st_size == stats.bytes_read


def test_bytes_appended_while_a_file_is_read_wait_for_the_next_run(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(projects(sandbox) / f"{SESSION}.jsonl", rec("msg_1", "req_1", 10))
    original = scan._read
    late = line(rec("msg_2", "req_2", 20, T0 + timedelta(minutes=1)))

    def append_then_read(job: Any, reader: Any) -> Any:
        write(Path(job.name), late)  # Claude Code writes after the scanner looked at the size
        return original(job, reader)

    monkeypatch.setattr(scan, "_read", append_then_read)
    first = run_scan(sandbox)
    monkeypatch.setattr(scan, "_read", original)
    assert (first.usage_lines, totals(sandbox)[2]) == (1, 10)
    second = run_scan(sandbox)
    assert second.bytes_read == len(late.encode())
    assert totals(sandbox)[2] == 30
    assert path.stat().st_size == first.bytes_read + second.bytes_read


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_lines_across_reads_are_read_whole(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """A line split across reads, a line longer than a read, and a short file after a long one
    come out as a single read has them."""
    long_text = "t" * 3000  # a user line far longer than the smaller reads
    records: list[dict[str, object] | str] = []
    for i in range(30):
        records.append(rec(f"msg_{i}", f"req_{i}", 10 + i, T0 + timedelta(seconds=i), cache_read=7 * i))
        records.append(user_record(SESSION, T0 + timedelta(seconds=i), long_text if i % 7 == 0 else "ok"))
    first = write(projects(sandbox) / f"{SESSION}.jsonl", *records)
    short = write(
        projects(sandbox) / "11111111-2222-3333-4444-555555555555.jsonl",
        rec("msg_short", "req_short", 5, T0 + timedelta(minutes=5)),
    )
    monkeypatch.setattr(scan, "CHUNK_BYTES", chunk)
    stats = run_scan(sandbox)
    assert (stats.usage_lines, stats.bad_lines) == (31, 0)
    assert stats.bytes_read == first.stat().st_size + short.stat().st_size
    output, cread = sum(10 + i for i in range(30)) + 5, sum(7 * i for i in range(30))
    assert totals(sandbox) == (31, 31 * 3, output, 0, cread)
    assert run_scan(sandbox).bytes_read == 0  # every offset ended on a line's end


def test_a_long_read_pauses_the_cyclic_collector_and_restores_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    write(projects(sandbox) / f"{SESSION}.jsonl", rec("msg_1", "req_1", 10), rec("msg_2", "req_2", 20))
    seen: list[bool] = []
    real = scan._read_jobs

    def spying(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(scan, "_read_jobs", spying)
    monkeypatch.setattr(scan, "TYPED_DECODE_BYTES", 0)  # this read counts as a long one
    assert gc.isenabled()
    run_scan(sandbox)
    assert seen == [False] and gc.isenabled()
    gc.disable()  # a caller that had it off keeps it off
    try:
        write(projects(sandbox) / f"{SESSION}.jsonl", rec("msg_3", "req_3", 30))
        run_scan(sandbox)
        assert seen == [False, False] and not gc.isenabled()
    finally:
        gc.enable()
    monkeypatch.setattr(scan, "TYPED_DECODE_BYTES", 1 << 40)  # a warm run's small read keeps it
    write(projects(sandbox) / f"{SESSION}.jsonl", rec("msg_4", "req_4", 40))
    run_scan(sandbox)
    assert seen == [False, False, True]
    assert totals(sandbox)[2] == 100
