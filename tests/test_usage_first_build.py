"""A first ledger is built in a file of its own and published whole (store.build_fresh).

The build stores exactly what a scan into an existing database stores; a build that fails, is
interrupted or is killed never leaves a state database behind (a killed one leaves its build
file, which the next first build removes); a state database another process created meanwhile
is kept and brought up to date instead.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from claude_health.tools.usage import aggregate, block_cache, fork_reader, reports, scan, store
from claude_health.tools.usage.session import close_ledgers, open_session
from claude_health.tools.usage.synthetic import assistant_record, line, user_record
from tests.test_usage_fork_reader import _tree


@pytest.fixture(autouse=True)
def _no_kept_ledgers() -> None:
    """As the CLI runs: an in-process MCP server test earlier in the session keeps ledgers open
    (its pool), and a server reuses its connection instead of building a first ledger apart."""
    close_ledgers()


NOW = 1_796_000_000.0  # a fixed "now" (2026-11-30), so that the stored update times compare equal


def _env(tmp_path: Path, db: Path) -> dict[str, str]:
    return {"CLAUDE_CONFIG_DIR": str(tmp_path), "CLAUDE_HEALTH_STATE_DB": str(db), "TZ": "UTC"}


def _dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the state database, row by row."""
    conn = sqlite3.connect(db)
    try:
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}  # noqa: S608
    finally:
        conn.close()


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _open(tmp_path: Path, db: Path) -> None:
    session = open_session(_env(tmp_path, db), tmp_path / "home", now=NOW)
    try:
        assert session.db_path == str(db) and not session.state_problem
    finally:
        session.close()


@pytest.fixture
def forked_first_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first load split with the forked reader, as a long history's is."""
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 0)
    monkeypatch.setattr(scan, "TYPED_DECODE_BYTES", 0)


@pytest.mark.usefixtures("forked_first_load")
def test_a_first_build_stores_what_a_scan_into_an_existing_database_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    published: list[str] = []
    real_publish = store.publish_build

    def spy(conn: sqlite3.Connection, building: str, path: str | os.PathLike[str]) -> bool:
        published.append(building)
        return real_publish(conn, building, path)

    monkeypatch.setattr(store, "publish_build", spy)
    built = tmp_path / "built" / "state.db"
    _open(tmp_path, built)
    assert len(published) == 1  # the build path was taken
    existing = tmp_path / "existing" / "state.db"
    store.connect(existing).close()  # a state database that exists (as the limiter creates it)
    _open(tmp_path, existing)
    assert len(published) == 1  # ...and not for a database that exists
    dumped = _dump(built)
    assert dumped == _dump(existing)
    assert len(dumped["usage_entries"]) > 50 and dumped["usage_quarters"]
    # Published in WAL mode, as every later connection keeps it, with nothing left beside it.
    conn = sqlite3.connect(built)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert sorted(_names(built.parent)) == ["state.db", "state.db.ledger"]
    # The next run reads the published ledger incrementally: nothing new, nothing written.
    session = open_session(_env(tmp_path, built), tmp_path / "home", now=NOW + 60)
    try:
        assert session.stats.files_read == 0 and session.stats.entries_written == 0
    finally:
        session.close()


@pytest.mark.usefixtures("forked_first_load")
def test_a_first_build_that_fails_or_is_interrupted_leaves_no_state_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    db = tmp_path / "state" / "state.db"
    real_files = store.Writer.files

    def interrupted(self: store.Writer, rows: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store.Writer, "files", interrupted)
    with pytest.raises(KeyboardInterrupt):
        open_session(_env(tmp_path, db), tmp_path / "home", now=NOW)
    assert _names(db.parent) == []

    calls: list[int] = []

    def failing_once(self: store.Writer, rows: list[store.FileRow]) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        real_files(self, rows)

    monkeypatch.setattr(store.Writer, "files", failing_once)
    session = open_session(_env(tmp_path, db), tmp_path / "home", now=NOW)
    try:
        # Answered from this run's scan in memory, saying why (U006), as for any failed update.
        assert session.db_path is None and "disk I/O error" in (session.state_problem or "")
        assert {f.code for f in session.findings} == {"U006", "U005"}
    finally:
        session.close()
    assert _names(db.parent) == []


KILLED_DRIVER = """
import os, sys
from claude_health.tools.usage import fork_reader, scan, store
from claude_health.tools.usage.session import close_ledgers, open_session
fork_reader.MIN_BYTES = 0
scan.TYPED_DECODE_BYTES = 0
def killed(self, rows):
    os._exit(9)  # as a kill -9 between writing the entries and the file rows
store.Writer.files = killed
open_session({"CLAUDE_CONFIG_DIR": sys.argv[1], "CLAUDE_HEALTH_STATE_DB": sys.argv[2]}, sys.argv[3])
"""


def test_a_killed_first_build_leaves_only_its_build_file_which_the_next_removes(tmp_path: Path) -> None:
    _tree(tmp_path)
    db = tmp_path / "state" / "state.db"
    done = subprocess.run(
        [sys.executable, "-c", KILLED_DRIVER, str(tmp_path), str(db), str(tmp_path / "home")],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 9, done.stderr.decode()[-2000:]
    left = _names(db.parent)
    assert "state.db" not in left
    assert [name for name in left if not name.endswith("-journal")] == [f"state.db.building-{done_pid(left)}"]
    _open(tmp_path, db)
    assert sorted(_names(db.parent)) == ["state.db", "state.db.ledger"]
    reference = tmp_path / "reference" / "state.db"
    _open(tmp_path, reference)
    assert _dump(db) == _dump(reference)


def done_pid(names: list[str]) -> str:
    """The process id in the one build file's name."""
    (name,) = [n for n in names if ".building-" in n and not n.endswith("-journal")]
    return name.rsplit("-", 1)[1]


def test_a_state_database_created_during_the_build_is_kept_and_brought_up_to_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    db = tmp_path / "state" / "state.db"
    real_publish = store.publish_build

    def another_process_first(conn: sqlite3.Connection, building: str, path: str | os.PathLike[str]) -> bool:
        other = store.connect(path)  # e.g. the rate limiter's first use, during our scan
        other.execute("CREATE TABLE limiter_buckets (name TEXT PRIMARY KEY, tokens REAL)")
        other.execute("INSERT INTO limiter_buckets VALUES ('api', 4.5)")
        other.close()
        return real_publish(conn, building, path)

    monkeypatch.setattr(store, "publish_build", another_process_first)
    _open(tmp_path, db)
    monkeypatch.setattr(store, "publish_build", real_publish)
    reference = tmp_path / "reference" / "state.db"
    _open(tmp_path, reference)
    dumped = _dump(db)
    assert dumped.pop("limiter_buckets") == [("api", 4.5)]
    assert dumped == _dump(reference)
    assert sorted(_names(db.parent)) == ["state.db", "state.db.ledger"]


def _hourly_tree(root: Path) -> None:
    """Transcripts whose responses fall exactly on hours, share milliseconds across models and
    price tiers, recur across files (one copy losing to another in the other reader's half) and
    are replayed on sidechains: what the first walk's hour parts must get exactly right."""
    rng = random.Random(5)
    base = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    moments = [base + timedelta(hours=h) for h in (0, 5, 10, 15, 21)]  # on the hour
    moments += [base + timedelta(hours=5, milliseconds=1), base + timedelta(hours=21, milliseconds=1)]
    moments += [base + timedelta(milliseconds=rng.randrange(40 * 3_600_000)) for _ in range(120)]
    for f in range(6):
        path = root / "projects" / f"-p{f % 2}" / f"s{f}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for i in range(90):
                at = rng.choice(moments)
                n = rng.randrange(150)  # the same response recurs across files: one copy loses
                fh.write(
                    line(
                        assistant_record(
                            session=f"s{f}",
                            msg_id=f"msg_{n}",
                            request_id=f"req_{n}" if rng.random() < 0.8 else f"req_{n}_{f}",
                            at=at,
                            model=rng.choice(["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"]),
                            input_tokens=rng.choice([5, 150_000, 250_000]),
                            output_tokens=10 + rng.randrange(3),
                            sidechain=rng.random() < 0.2,
                        )
                    )
                )
                if i % 7 == 0:
                    fh.write(line(user_record(f"s{f}", at, "r" * 5000)))


@pytest.mark.parametrize("forked", [True, False])
def test_a_first_load_for_a_blocks_report_stores_the_blocks_a_walk_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: bool
) -> None:
    _hourly_tree(tmp_path)
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 0 if forked else 1 << 62)
    monkeypatch.setattr(scan, "TYPED_DECODE_BYTES", 0)
    walks: list[int] = []
    real_walk = block_cache._walk_hours

    def counted_walk(conn: sqlite3.Connection, from_ms: int) -> list[aggregate.RawBlock]:
        walks.append(from_ms)
        return real_walk(conn, from_ms)

    monkeypatch.setattr(block_cache, "_walk_hours", counted_walk)
    db = tmp_path / "state" / "state.db"
    session = open_session(_env(tmp_path, db), tmp_path / "home", now=NOW, blocks=True)
    try:
        conn = session.conn
        assert conn.execute("SELECT since FROM usage_blocks_dirty").fetchone()[0] == block_cache.CLEAN
        stored = block_cache.cached_blocks(conn)
        assert walks == []  # the report reads what the first load stored
        entries = aggregate.segment(
            conn.execute(f"SELECT {aggregate.ENTRY_COLUMNS} FROM usage_entries ORDER BY ts")  # noqa: S608
        )
        walked = real_walk(conn, -block_cache.CLEAN)
        # Sums in the order a walk over single entries adds them (key order: the costs' order).
        assert _ordered(stored) == _ordered(walked) == _ordered(entries)
        assert len(stored) > 3 and any(b.first_ms % 3_600_000 == 0 for b in stored)
        mine = reports.blocks(session)
    finally:
        session.close()
    # The same report as a first load that leaves the walk to the report.
    other = tmp_path / "other" / "state.db"
    session = open_session(_env(tmp_path, other), tmp_path / "home", now=NOW)
    try:
        assert session.conn.execute("SELECT COUNT(*) FROM usage_blocks_dirty").fetchone()[0] == 0
        assert reports.blocks(session) == mine
    finally:
        session.close()
    assert walks == [-block_cache.CLEAN]
    assert _dump(db) == _dump(other)


def _ordered(blocks: list[aggregate.RawBlock]) -> list[tuple[int, int, int, list[object]]]:
    return [(b.start_ms, b.first_ms, b.last_ms, list(b.sums.items())) for b in blocks]


def test_where_there_are_no_hard_links_the_database_is_created_as_usual(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename could replace a database created a moment before (and pair it with that one's
    WAL): without hard links the build is dropped and the database opened and filled as usual."""
    _tree(tmp_path)

    def no_links(src: str, dst: str) -> None:
        raise PermissionError(1, "Operation not permitted")  # as on some network and FAT mounts

    monkeypatch.setattr(os, "link", no_links)
    db = tmp_path / "state" / "state.db"
    _open(tmp_path, db)
    monkeypatch.undo()
    reference = tmp_path / "reference" / "state.db"
    _open(tmp_path, reference)
    assert _dump(db) == _dump(reference)
    assert sorted(_names(db.parent)) == ["state.db", "state.db.ledger"]


def test_a_build_that_cannot_be_published_is_answered_like_a_failed_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)

    def vanished(conn: sqlite3.Connection, building: str, path: str | os.PathLike[str]) -> bool:
        conn.close()
        raise FileNotFoundError(2, "No such file or directory", building)  # removed by another run

    monkeypatch.setattr(store, "publish_build", vanished)
    db = tmp_path / "state" / "state.db"
    session = open_session(_env(tmp_path, db), tmp_path / "home", now=NOW)
    try:
        assert session.state_problem and "could not be updated" in session.state_problem
        assert session.conn.execute("SELECT COUNT(*) FROM usage_entries").fetchone()[0] > 50
    finally:
        session.close()
    assert not any(name.startswith("state.db.building") for name in _names(db.parent))
