"""A first scan split with a forked reader stores exactly what a single reader stores."""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from claude_health.tools import forked as forking
from claude_health.tools.usage import fork_reader, scan, store
from claude_health.tools.usage.synthetic import assistant_record, line, user_record

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _tree(root: Path) -> None:
    """Files that share responses (resumed sessions, sidechain replays) with tied copies."""
    rng = random.Random(11)
    for f in range(8):
        path = root / "projects" / f"-p{f % 2}" / f"s{f}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for i in range(60):
                n = rng.randrange(40)  # the same responses recur across files
                at = T0 + timedelta(minutes=f * 7 + i)  # a tie copy differs in time and file
                fh.write(
                    line(
                        assistant_record(
                            session=f"s{f}",
                            msg_id=f"msg_{n}",
                            request_id=f"req_{n}" if rng.random() < 0.9 else None,
                            at=at,
                            output_tokens=10 + n % 3 + (i % 2 if rng.random() < 0.3 else 0),
                            cache_read=1000 * n,
                            sidechain=rng.random() < 0.2,
                        )
                    )
                )
                fh.write(line(user_record(f"s{f}", at, "r" * rng.randrange(2000))))
            for i in range(6):  # subagent-only responses replayed under other requestIds
                n = rng.randrange(5)
                fh.write(
                    line(
                        assistant_record(
                            session=f"s{f}",
                            msg_id=f"msg_side{n}",
                            request_id=f"req_side{n}_{f % 3}",
                            at=T0 + timedelta(minutes=f * 7 + i, seconds=30),
                            output_tokens=5 + rng.randrange(2),
                            sidechain=True,
                        )
                    )
                )
            fh.write('{"type":"assistant","usage": broken\n')


def _rows(db: Path) -> list[tuple[object, ...]]:
    conn = store.connect(db)
    try:
        return conn.execute("SELECT * FROM usage_entries ORDER BY msg, req").fetchall()
    finally:
        conn.close()


def _quarters(db: Path, *, rebuilt: bool = False) -> list[tuple[object, ...]]:
    """The stored quarter-hour totals, or (``rebuilt``) SQLite's own GROUP BY over the entries."""
    conn = store.connect(db)
    try:
        if rebuilt:
            conn.execute("BEGIN")
            store.rebuild_quarters(conn)
        rows = conn.execute("SELECT * FROM usage_quarters ORDER BY 1, 2, 3, 4, 5").fetchall()
        if rebuilt:
            conn.execute("ROLLBACK")
        names = [d[0] for d in conn.execute("SELECT * FROM usage_quarters LIMIT 0").description]
        counts = [names.index(name) for name in ("input", "output", "cc5m", "cc1h", "cc", "cread", "n")]
        # A quarter whose every entry was taken back out (a copy that lost) may stay as a row of
        # zeros; anything negative, or a zero count with tokens left, is a merge that miscounted.
        for row in rows:
            assert all(row[i] >= 0 for i in counts), row
            if row[names.index("n")] == 0:
                assert all(row[i] == 0 for i in counts), row
        return [row for row in rows if row[names.index("n")] > 0]
    finally:
        conn.close()


def _scan(db: Path, root: Path) -> scan.ScanStats:
    conn = store.connect(db)
    try:
        return scan.scan(conn, {}, root / "home", roots=[root / "projects"])
    finally:
        conn.close()


def test_forked_first_scan_equals_a_single_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path)
    assert forking.can_fork()  # the test must exercise the fork, not fall back silently
    started: list[int] = []
    real_start = forking.start

    def counting_start(work):  # type: ignore[no-untyped-def]
        started.append(1)
        return real_start(work)

    monkeypatch.setattr(forking, "start", counting_start)
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 0)
    monkeypatch.setattr(scan, "TYPED_DECODE_BYTES", 0)  # the typed reader, as a long first load uses
    forked = _scan(tmp_path / "forked.db", tmp_path)
    assert started == [1]
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 1 << 62)
    single = _scan(tmp_path / "single.db", tmp_path)
    assert started == [1]
    assert _rows(tmp_path / "forked.db") == _rows(tmp_path / "single.db")
    # The quarter sums settled in Python (both halves, minus every copy that lost) are SQLite's.
    assert _quarters(tmp_path / "forked.db") == _quarters(tmp_path / "forked.db", rebuilt=True)
    assert _quarters(tmp_path / "single.db") == _quarters(tmp_path / "single.db", rebuilt=True)
    assert (forked.files_read, forked.usage_lines, forked.bad_lines, forked.bad_line_files) == (
        single.files_read,
        single.usage_lines,
        single.bad_lines,
        single.bad_line_files,
    )
    assert forked.bad_lines == 8


def test_a_failing_child_means_its_files_are_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 0)
    real_start = forking.start

    def dying_start(work):  # type: ignore[no-untyped-def]
        return real_start(lambda: os._exit(3))

    monkeypatch.setattr(forking, "start", dying_start)
    _scan(tmp_path / "forked.db", tmp_path)
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 1 << 62)
    _scan(tmp_path / "single.db", tmp_path)
    assert _rows(tmp_path / "forked.db") == _rows(tmp_path / "single.db")


def test_fork_result_and_split() -> None:
    job = forking.start(lambda: {"pid": os.getpid(), "x": [1, 2]})
    assert job is not None
    value = job.result()
    assert value is not None and value["x"] == [1, 2] and value["pid"] != os.getpid()
    failing = forking.start(lambda: 1 / 0)
    assert failing is not None and failing.result() is None
    sleeper = forking.start(lambda: time.sleep(60))
    assert sleeper is not None
    sleeper.kill()  # an interrupted caller: the child is stopped and reaped, not left running
    with pytest.raises(ChildProcessError):
        os.waitpid(sleeper.pid, os.WNOHANG)
    assert fork_reader.split_point([10, 10]) == 0  # too small to be worth a fork
    big = fork_reader.MIN_BYTES
    assert fork_reader.CHILD_SHARE == 0.48
    assert fork_reader.split_point([big] * 100) == 52  # the child takes 48% of the bytes
    assert fork_reader.split_point([4 * big, 1]) == 1  # the parent always keeps some files


def test_a_first_load_equals_the_same_files_stored_in_two_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first load settles replays and quarter sums in Python; a later run leaves that to the
    SQL (upserts, triggers, the replay delete). Loading the same files both ways gives one ledger."""
    _tree(tmp_path)
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 0)
    _scan(tmp_path / "once.db", tmp_path)
    staged = tmp_path / "staged"
    (staged / "projects" / "-p0").mkdir(parents=True)
    for f in sorted((tmp_path / "projects" / "-p0").iterdir()):  # the first files in scan order
        (staged / "projects" / "-p0" / f.name).write_bytes(f.read_bytes())
    _scan(tmp_path / "twice.db", staged)
    (staged / "projects" / "-p1").mkdir()
    for f in sorted((tmp_path / "projects" / "-p1").iterdir()):
        (staged / "projects" / "-p1" / f.name).write_bytes(f.read_bytes())
    _scan(tmp_path / "twice.db", staged)

    def without_file(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [(*r[:6], *r[7:]) for r in rows]  # the file ids differ between the two ledgers

    assert without_file(_rows(tmp_path / "once.db")) == without_file(_rows(tmp_path / "twice.db"))
    assert _quarters(tmp_path / "once.db") == _quarters(tmp_path / "twice.db")


def _counting_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    started: list[int] = []
    real_start = forking.start

    def counting_start(work):  # type: ignore[no-untyped-def]
        started.append(1)
        return real_start(work)

    monkeypatch.setattr(forking, "start", counting_start)
    return started


def test_a_forked_read_into_a_ledger_with_entries_upserts_the_staged_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child's rows arrive as a SQLite image either way; into a ledger that already has
    entries they go through the upsert and the triggers, not the first-load merge."""
    _tree(tmp_path)
    staged = tmp_path / "staged"
    (staged / "projects" / "-p0").mkdir(parents=True)
    for f in sorted((tmp_path / "projects" / "-p0").iterdir()):
        (staged / "projects" / "-p0" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 1 << 62)
    _scan(tmp_path / "twice.db", staged)  # a first load, read here
    (staged / "projects" / "-p1").mkdir()
    for f in sorted((tmp_path / "projects" / "-p1").iterdir()):
        (staged / "projects" / "-p1" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 0)
    started = _counting_forks(monkeypatch)
    _scan(tmp_path / "twice.db", staged)  # the second half of -p1 read by a child
    assert started == [1]
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 1 << 62)
    _scan(tmp_path / "single.db", staged)

    def without_file(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [(*r[:6], *r[7:]) for r in rows]

    assert without_file(_rows(tmp_path / "twice.db")) == without_file(_rows(tmp_path / "single.db"))
    assert _quarters(tmp_path / "twice.db") == _quarters(tmp_path / "twice.db", rebuilt=True)


def test_a_staged_load_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's rows travel as an in-memory image: no file beside the ledger, nothing left
    attached to the connection, whether the write commits or fails part-way."""
    _tree(tmp_path)
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 0)
    state = tmp_path / "state"
    state.mkdir()
    db = state / "ledger.db"
    conn = store.connect(db)
    real_merge = store.Writer.staged

    def failing_merge(self: store.Writer, image: bytes) -> None:
        real_merge(self, image)
        raise OSError("disk full")

    monkeypatch.setattr(store.Writer, "staged", failing_merge)
    try:
        with pytest.raises(OSError, match="disk full"):
            scan.scan(conn, {}, tmp_path / "home", roots=[tmp_path / "projects"])
        assert [r[1] for r in conn.execute("PRAGMA database_list")] == ["main"]
        assert not store.has_entries(conn)  # rolled back whole
        monkeypatch.setattr(store.Writer, "staged", real_merge)
        stats = scan.scan(conn, {}, tmp_path / "home", roots=[tmp_path / "projects"])
        assert stats.files_read == 8
        assert [r[1] for r in conn.execute("PRAGMA database_list")] == ["main"]
    finally:
        conn.close()
    assert sorted(p.name for p in state.iterdir()) == ["ledger.db"]  # WAL files go on close
    monkeypatch.setattr(fork_reader, "MIN_BYTES", 1 << 62)
    _scan(tmp_path / "single.db", tmp_path)
    assert _rows(db) == _rows(tmp_path / "single.db")


def test_a_large_buffer_crosses_the_pipe_uncopied_and_a_torn_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ast
    from pickle import PickleBuffer

    image = bytes(range(256)) * 40_000  # 10 MB: far beyond a pipe's buffer
    sent: list[tuple[int, list[int]]] = []
    real_send = forking._send

    def spying_send(fd: int, payload: bytes, buffers: list[memoryview]) -> None:
        sent.append((len(payload), [b.nbytes for b in buffers]))
        os.write(spy_w, repr(sent[-1]).encode())  # (the child's list is not this process's)
        real_send(fd, payload, buffers)

    spy_r, spy_w = os.pipe()
    monkeypatch.setattr(forking, "_send", spying_send)
    job = forking.start(lambda: ("rows", PickleBuffer(image), 3))
    assert job is not None
    value = job.result()
    os.close(spy_w)
    seen = os.read(spy_r, 1000).decode()
    os.close(spy_r)
    assert value is not None
    name, data, count = value
    assert (name, count) == ("rows", 3) and bytes(data) == image
    payload_size, buffer_sizes = ast.literal_eval(seen)
    assert buffer_sizes == [len(image)] and payload_size < 1000  # out of band, not in the pickle

    def torn_send(fd: int, payload: bytes, buffers: list[memoryview]) -> None:
        """The header promises every byte; the child then stops half-way through them."""
        lengths = [len(payload), len(buffers), *(b.nbytes for b in buffers)]
        body = b"".join([payload, *(bytes(b) for b in buffers)])
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"".join(n.to_bytes(forking._WORD, "little") for n in lengths))
            fh.write(body[: len(body) // 2])

    monkeypatch.setattr(forking, "_send", torn_send)
    for result in (("rows", PickleBuffer(image), 3), ("no buffer", list(range(50_000)))):
        torn = forking.start(lambda result=result: result)  # type: ignore[misc]
        assert torn is not None and torn.result() is None  # read here instead, never half of it

    def lying_send(fd: int, payload: bytes, buffers: list[memoryview]) -> None:
        """A length no child of ours sends: refused without allocating it, the child reaped."""
        with os.fdopen(fd, "wb") as fh:
            fh.write((1 << 62).to_bytes(forking._WORD, "little") + (0).to_bytes(forking._WORD, "little"))

    monkeypatch.setattr(forking, "_send", lying_send)
    liar = forking.start(lambda: "x")
    assert liar is not None and liar.result() is None
    with pytest.raises(ChildProcessError):
        os.waitpid(liar.pid, os.WNOHANG)


def test_a_new_ledger_has_16_kib_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    import sqlite3

    _tree(tmp_path)
    built = store.build_fresh(tmp_path / "new.db")
    assert built is not None
    conn, building = built
    try:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == store.BUILD_PAGE_SIZE == 16384
    finally:
        conn.close()
        store.discard_build(building)
    fresh = store.connect(tmp_path / "pool.db")  # as the server's pool or a quarantine creates one
    try:
        assert fresh.execute("PRAGMA page_size").fetchone()[0] == 16384
    finally:
        fresh.close()
    old = sqlite3.connect(tmp_path / "old.db")  # a ledger from before: SQLite's 4 KiB pages
    old.execute("PRAGMA page_size = 4096")
    old.execute("CREATE TABLE usage_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    old.close()
    stats = _scan(tmp_path / "old.db", tmp_path)
    conn = store.connect(tmp_path / "old.db")
    try:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096  # kept as it is, and used
        assert stats.files_read == 8 and store.has_entries(conn)
    finally:
        conn.close()
