"""Many processes on one SQLite file or one Redis: every grant is counted.

Never more than capacity plus what refilled while they ran; never a refusal of what fits.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from claude_health.tools.limiter.core import Limiter
from tests import test_limiter_support as support

redis_server = support.redis_server  # the shared fixture

CAPACITY = 120  # RPM: refills 2 per second
WORKERS = 4


def _hammer(url: str, home: str, seconds: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    lim = Limiter.open(url, limits={"shared-model": {"rpm": CAPACITY}}, env={"HOME": home}, home=Path(home))
    grants = 0
    start = time.time()
    end = start
    while time.time() - start < seconds:
        if lim.try_acquire("shared-model", 0, 0).allowed:
            grants += 1
        end = time.time()
    queue.put((grants, start, end))


def _once(url: str, home: str, barrier: multiprocessing.Barrier, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    lim = Limiter.open(
        url, limits={"exact-model": {"rpm": 8, "itpm": 800}}, env={"HOME": home}, home=Path(home)
    )
    barrier.wait()
    queue.put(lim.try_acquire("exact-model", 100, 0).allowed)


def _urls(tmp_path: Path, request: pytest.FixtureRequest, kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    base: str = request.getfixturevalue("redis_server")
    support.flush(base, 1)
    return f"{base}/1"


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_never_overgrant(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = _urls(tmp_path, request, kind)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(url, str(tmp_path), 2.0, queue)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    grants = sum(r[0] for r in results)
    elapsed = max(r[2] for r in results) - min(r[1] for r in results)
    refill = CAPACITY / 60 * elapsed
    assert grants <= CAPACITY + refill + 1, (grants, elapsed)
    # The bucket started full and everyone kept asking: all of it, and nearly all refill, was granted.
    assert grants >= CAPACITY + int(refill) - 3, (grants, elapsed)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_simultaneous_requests_that_fit_are_all_granted(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = _urls(tmp_path, request, kind)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    barrier = ctx.Barrier(8)
    procs = [ctx.Process(target=_once, args=(url, str(tmp_path), barrier, queue)) for _ in range(8)]
    for p in procs:
        p.start()
    answers = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert answers == [True] * 8  # 8 x 100 tokens fit 800 ITPM and 8 RPM exactly
    lim = Limiter.open(
        url, limits={"exact-model": {"rpm": 8, "itpm": 800}}, env={"HOME": str(tmp_path)}, home=tmp_path
    )
    assert not lim.try_acquire("exact-model", 100, 0).allowed


def _die_mid_transaction(db: str, ready: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE limiter_buckets SET tokens = 999999, capacity = 999999")
    ready.set()
    time.sleep(30)  # killed here, transaction open and lock held


def test_killed_process_mid_decision_leaves_a_consistent_store(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    url = f"sqlite:///{db}"
    lim = Limiter.open(url, limits={"m": {"rpm": 3}}, env={"HOME": str(tmp_path)}, home=tmp_path)
    assert lim.try_acquire("m", 0, 0).allowed
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_die_mid_transaction, args=(str(db), ready))
    proc.start()
    assert ready.wait(30)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    # The half-done write vanished with its process; the lock is free again.
    assert lim.try_acquire("m", 0, 0).allowed
    assert lim.try_acquire("m", 0, 0).allowed
    assert lim.try_acquire("m", 0, 0).binding == "rpm"
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check.execute("SELECT max(capacity) FROM limiter_buckets").fetchone()[0] == 3
