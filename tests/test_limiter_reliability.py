"""Bad stores, bad clocks and bad input: reported, never a crash, never minted tokens."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from claude_health.tools.limiter.core import Limiter, LimiterUnavailable
from tests.test_limiter_support import free_port


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _open(url: str, tmp_path: Path, **kw: object) -> Limiter:
    return Limiter.open(
        url,
        limits={"m": {"rpm": 60, "itpm": 6_000, "otpm": 600}},
        env={"HOME": str(tmp_path)},
        home=tmp_path,
        **kw,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_clock_stepping_back_mints_nothing(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path / 'c.db'}"
    lim = _open(url, tmp_path, clock=clock)
    assert sum(lim.try_acquire("m", 0, 0).allowed for _ in range(100)) == 60
    clock.now -= 3_600  # the clock jumps an hour back: nothing refills, nothing is minted
    assert not lim.try_acquire("m", 0, 0).allowed
    clock.now += 1.0  # refill resumes at its normal rate, not an hour later: one request
    assert lim.try_acquire("m", 0, 0).allowed
    refused = lim.try_acquire("m", 0, 0)
    assert refused.binding == "rpm" and refused.retry_after == pytest.approx(1.0)
    clock.now += 3_600  # stepped forward again: counts as idle time, which fills, never beyond
    assert sum(lim.try_acquire("m", 0, 0).allowed for _ in range(100)) == 60
    clock.now += 10_000  # a long idle period refills to capacity, never beyond
    assert sum(lim.try_acquire("m", 0, 0).allowed for _ in range(100)) == 60


def test_corrupt_sqlite_is_reported_and_replaced(tmp_path: Path) -> None:
    db = tmp_path / "state" / "limiter.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database\x00" * 500)
    lim = _open(f"sqlite:///{db}", tmp_path)
    assert any("corrupt" in w for w in lim.status().warnings)
    moved = list(db.parent.glob("limiter.db.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"this is not")
    assert lim.try_acquire("m", 0, 0).allowed
    rows = sqlite3.connect(db).execute("SELECT count(*) FROM limiter_buckets").fetchone()[0]
    assert rows >= 1  # the new file is real and shared


def test_unwritable_sqlite_falls_back_to_memory_with_a_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    url = f"sqlite:///{blocker / 'limiter.db'}"
    lim = _open(url, tmp_path)
    assert lim.store.url == "memory://"
    warning = " ".join(lim.status().warnings)
    assert "not-a-dir" in warning and "memory://" in warning
    assert lim.try_acquire("m", 0, 0).allowed
    with pytest.raises(LimiterUnavailable, match="not-a-dir"):
        _open(url, tmp_path, fallback=None)


def test_redis_unavailable_is_a_clear_error_with_a_fallback(tmp_path: Path) -> None:
    url = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"
    with pytest.raises(LimiterUnavailable) as caught:
        _open(url, tmp_path)
    message = str(caught.value)
    assert "cannot reach Redis at redis://***@127.0.0.1" in message
    assert "fallback=" in message and "s3cret" not in message
    lim = _open(url, tmp_path, fallback="sqlite")
    assert lim.store.url.startswith("sqlite:///") and str(tmp_path) in lim.store.url
    assert any("falling back" in w and "s3cret" not in w for w in lim.warnings)
    assert _open(url, tmp_path, fallback="memory").store.url == "memory://"


def test_unknown_store_url(tmp_path: Path) -> None:
    with pytest.raises(LimiterUnavailable, match="unknown limiter store URL"):
        _open("postgres://user:pw@host/db", tmp_path, fallback=None)


@pytest.mark.parametrize(
    ("model", "tokens"),
    [
        ("", 1),
        ("x" * 10_000, 1),
        ("../../etc/passwd;rm -rf", 1),
        ("claude\x00opus", 1),
        ("my-model", -1),
        ("my-model", 10**12),
        ("my-model", True),
        ("my-model", 1.5),
    ],
)
def test_hostile_arguments_are_value_errors(model: str, tokens: object, tmp_path: Path) -> None:
    lim = _open("memory://", tmp_path)
    with pytest.raises(ValueError):
        lim.try_acquire(model, tokens, 10)  # type: ignore[arg-type]


def test_hostile_headers_are_ignored_not_raised(tmp_path: Path) -> None:
    lim = _open("memory://", tmp_path)
    info = lim.observe_headers(
        "m",
        {
            "anthropic-ratelimit-requests-limit": "NaN",
            "anthropic-ratelimit-requests-remaining": "5",
            "anthropic-ratelimit-input-tokens-limit": "1e400",
            "anthropic-ratelimit-input-tokens-remaining": "-3",
            "anthropic-ratelimit-output-tokens-limit": "600",
            "anthropic-ratelimit-output-tokens-remaining": "100",
            "anthropic-ratelimit-output-tokens-reset": "not a date" * 100,
            "retry-after": "Wed, 99 Foo 2026",
        },
    )
    assert set(info.ignored) == {"ratelimit-rpm", "ratelimit-itpm"}
    assert info.retry_after is None
    assert [d for _, d in info.buckets] == ["otpm"]
    assert lim.try_acquire("m", 0, 200).binding == "otpm"


def test_bad_usage_in_reconcile(tmp_path: Path) -> None:
    lim = _open("memory://", tmp_path)
    d = lim.try_acquire("m", 10, 10)
    with pytest.raises(ValueError, match=r"usage\.output_tokens"):
        lim.reconcile(d, {"output_tokens": "lots"})


def test_redis_going_away_mid_run_is_a_clear_store_error(tmp_path: Path) -> None:
    import subprocess
    import time

    from claude_health.tools.limiter.stores import StoreError
    from tests.test_limiter_support import redis_binary

    port = free_port()
    proc = subprocess.Popen(
        [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                lim = _open(f"redis://127.0.0.1:{port}/0", tmp_path)
                break
            except LimiterUnavailable:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        assert lim.try_acquire("m", 1, 1).allowed
    finally:
        proc.terminate()
        proc.wait(10)
    with pytest.raises(StoreError, match=f"Redis at redis://127.0.0.1:{port}/0 failed"):
        lim.try_acquire("m", 1, 1)


def test_a_smaller_limit_clamps_what_is_left(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shrink.db'}"
    big = Limiter.open(url, limits={"m": {"rpm": 10}}, env={"HOME": str(tmp_path)}, home=tmp_path)
    assert big.try_acquire("m", 0, 0).allowed  # 9 left of 10
    small = Limiter.open(url, limits={"m": {"rpm": 2}}, env={"HOME": str(tmp_path)}, home=tmp_path)
    assert small.try_acquire("m", 0, 0).allowed
    assert small.try_acquire("m", 0, 0).allowed
    assert small.try_acquire("m", 0, 0).binding == "rpm"  # 2 of the new limit, not the 9 left over
