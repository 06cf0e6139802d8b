"""A first ledger is built in a file of its own and published whole (store.build_fresh).

The build stores exactly what a scan into an existing database stores; a build that fails, is
interrupted or is killed never leaves a state database behind (a killed one leaves its build
file, which the next first build removes); a state database another process created meanwhile
is kept and brought up to date instead.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from claude_health.tools.usage import fork_reader, scan, store
from claude_health.tools.usage.session import open_session
from tests.test_usage_fork_reader import _tree

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
from claude_health.tools.usage.session import open_session
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
