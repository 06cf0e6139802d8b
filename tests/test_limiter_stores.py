"""One semantics, four stores: every test here runs on memory://, SQLite, a real Redis and a real
Redis Cluster."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from claude_health.tools.limiter.core import Limiter
from tests import test_limiter_support as support

# Fixtures shared with the other limiter tests (pytest finds them as module attributes).
redis_server = support.redis_server
store_url = support.store_url

SMALL = {"rpm": 5, "itpm": 10_000, "otpm": 2_000}


def open_limiter(url: str, tmp_path: Path, limits: Mapping[str, Mapping[str, int]] | None = None) -> Limiter:
    # An empty HOME: no user override file leaks in.
    return Limiter.open(url, tier="start", limits=limits, env={"HOME": str(tmp_path)}, home=tmp_path)


def twin(lim: Limiter, url: str, tmp_path: Path) -> Limiter:
    """A second limiter on the same buckets (another process, for SQLite and Redis)."""
    if url.startswith("memory"):
        return Limiter(lim.store, tier="start", tier_source="test", overrides=lim.overrides)
    return open_limiter(url, tmp_path)


def available(lim: Limiter, model: str, dim: str) -> float:
    for cls in lim.status(model).classes:
        if cls.bucket == lim.plan(model).bucket:
            for b in cls.buckets:
                if b.dimension == dim:
                    assert b.available is not None
                    return b.available
    raise AssertionError(f"no {dim} bucket for {model}")


def test_admits_up_to_capacity_then_names_the_binding_bucket(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path, {"my-model": SMALL})
    grants = [lim.try_acquire("my-model", 100, 100).allowed for _ in range(5)]
    assert grants == [True] * 5
    refused = lim.try_acquire("my-model", 100, 100)
    assert refused.allowed is False and refused.impossible is False
    assert refused.binding == "rpm"
    # 5 RPM refill one request every 12 s; a little has refilled since the last grant.
    assert 10.0 < refused.retry_after <= 12.0
    assert "RPM" in refused.message


def test_all_or_nothing_across_buckets(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path, {"my-model": SMALL})
    assert lim.try_acquire("my-model", 1_000, 1_900).allowed
    before_rpm = available(lim, "my-model", "rpm")
    before_itpm = available(lim, "my-model", "itpm")
    refused = lim.try_acquire("my-model", 1_000, 1_900)
    assert not refused.allowed and refused.binding == "otpm"
    # The refused request debited nothing: RPM and ITPM only refilled.
    assert available(lim, "my-model", "rpm") >= before_rpm
    assert available(lim, "my-model", "itpm") >= before_itpm
    assert available(lim, "my-model", "rpm") < 5


def test_impossible_request_names_bucket_and_fix(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path, {"my-model": SMALL})
    too_long = lim.try_acquire("my-model", 100, 4_096)
    assert too_long.impossible and not too_long.allowed and too_long.binding == "otpm"
    assert "max_tokens" in too_long.message and "2,000" in too_long.message
    too_big = lim.try_acquire("my-model", 20_000, 10)
    assert too_big.impossible and too_big.binding == "itpm"
    assert "cache" in too_big.message
    # Nothing was debited by the impossible requests.
    assert available(lim, "my-model", "rpm") == pytest.approx(5, abs=0.01)


def test_reconcile_returns_unused_output_reservation(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path, {"my-model": {"rpm": 5, "itpm": 6_000, "otpm": 2_000}})
    first = lim.try_acquire("my-model", 3_000, 2_000)
    assert first.allowed and first.reserved_output == 2_000 and first.reserved_input == 3_000
    assert lim.try_acquire("my-model", 500, 2_000).binding == "otpm"
    lim.reconcile(first, {"input_tokens": 1_000, "output_tokens": 150, "cache_creation_input_tokens": 500})
    # Settled: 150 output and 1,500 input tokens remain charged (plus refill since: 33/s and 100/s).
    assert 1_850 <= available(lim, "my-model", "otpm") < 1_900
    assert 4_500 <= available(lim, "my-model", "itpm") < 4_650
    assert lim.try_acquire("my-model", 500, 1_800).allowed
    failed = lim.try_acquire("my-model", 100, 1_000)
    assert failed.binding == "otpm"
    lim.reconcile(failed, None)  # not allowed: nothing to settle, nothing changes
    assert available(lim, "my-model", "otpm") < 100


def test_cache_reads_count_only_for_marked_classes(store_url: str, tmp_path: Path) -> None:
    limits = {"haiku-3-5": {"itpm": 1_000}, "opus-4": {"itpm": 1_000}}
    lim = open_limiter(store_url, tmp_path, limits)
    haiku = lim.try_acquire("claude-3-5-haiku-20241022", 100, 10, cache_read_tokens=2_000)
    assert haiku.impossible and haiku.binding == "itpm"
    opus = lim.try_acquire("claude-opus-4-8", 100, 10, cache_read_tokens=2_000)
    assert opus.allowed and opus.reserved_input == 100


def test_shared_class_buckets(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path, {"opus-4": {"rpm": 2}, "opus-5": {"rpm": 2}})
    assert lim.try_acquire("claude-opus-4-8", 1, 1).allowed
    assert lim.try_acquire("claude-opus-4-5-20251101", 1, 1).allowed
    # Opus 4.6 pools with 4.8 and 4.5: the bucket is empty. Opus 5 has its own.
    assert lim.try_acquire("claude-opus-4-6", 1, 1).binding == "rpm"
    assert lim.try_acquire("claude-opus-5", 1, 1).allowed


def test_unknown_model_has_no_invented_limit_until_headers_teach_it(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path)
    assert all(lim.try_acquire("claude-opus-5-5", 900_000, 120_000).allowed for _ in range(20))
    info = lim.observe_headers(
        "claude-opus-5-5",
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
            "Anthropic-Ratelimit-Input-Tokens-Limit": "30000",
            "anthropic-ratelimit-input-tokens-remaining": "29000",
            "anthropic-ratelimit-output-tokens-limit": "8000",
            "anthropic-ratelimit-output-tokens-remaining": "8000",
        },
    )
    assert {dim for _, dim in info.buckets} == {"rpm", "itpm", "otpm"}
    refused = lim.try_acquire("claude-opus-5-5", 10, 10)
    assert not refused.allowed and refused.binding == "rpm"
    assert 0.5 < refused.retry_after <= 1.2  # 50 RPM: one request every 1.2 s
    # What the server taught is shared: another limiter on the same store sees it.
    other = twin(lim, store_url, tmp_path)
    too_long = other.try_acquire("claude-opus-5-5", 10, 9_000)
    assert too_long.impossible and too_long.binding == "otpm"


def test_headers_overwrite_local_estimate(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path)
    assert available(lim, "claude-sonnet-4-6", "itpm") == pytest.approx(2_000_000)
    lim.observe_headers(
        "claude-sonnet-4-5",
        {
            "anthropic-ratelimit-input-tokens-limit": "450000",
            "anthropic-ratelimit-input-tokens-remaining": "1000",
            "anthropic-ratelimit-tokens-limit": "500000",
            "anthropic-ratelimit-tokens-remaining": "400000",
        },
    )
    st = lim.status("claude-sonnet-4-6")
    itpm = next(b for b in st.classes[0].buckets if b.dimension == "itpm")
    assert itpm.limit == 450_000 and itpm.source == "server headers"
    assert itpm.available is not None and 1_000 <= itpm.available < 20_000
    assert lim.try_acquire("claude-sonnet-4-6", 30_000, 10).binding == "itpm"


def test_retry_after_holds_the_class_and_is_recorded(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path)
    lim.observe_headers("claude-haiku-4-5", {"retry-after": "30"}, status_code=429)
    held = lim.try_acquire("claude-haiku-4-5-20251001", 10, 10)
    assert not held.allowed and held.binding == "retry-after"
    assert 28 < held.retry_after <= 30
    assert lim.try_acquire("claude-sonnet-4-6", 10, 10).allowed  # other classes run in parallel
    kinds = [e.kind for e in lim.recent_events()]
    assert kinds == ["429"]
    lim.observe_headers("claude-haiku-4-5", {}, status_code=429, error_code="enforced_spend_limit_reached")
    assert [e.kind for e in lim.recent_events()] == ["429", "spend_limit"]


def test_refill_is_continuous(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path, {"fast-refill": {"rpm": 120}})  # 2 per second
    granted = 0
    while lim.try_acquire("fast-refill", 0, 0).allowed:
        granted += 1
        assert granted < 200
    assert granted >= 120
    time.sleep(1.1)  # >= 2.2 requests refill; only more can have refilled by the time we ask
    assert lim.try_acquire("fast-refill", 0, 0).allowed
    assert lim.try_acquire("fast-refill", 0, 0).allowed


def test_endpoint_buckets_are_separate(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path, {"count_tokens": {"rpm": 2}, "my-model": {"rpm": 1}})
    assert lim.try_acquire("my-model", 1, 1).allowed
    assert lim.try_acquire("my-model", 1, 1, endpoint="count_tokens").allowed
    assert lim.try_acquire("other", 1, 1, endpoint="count_tokens").allowed
    refused = lim.try_acquire("my-model", 1, 1, endpoint="count_tokens")
    assert refused.binding == "rpm" and refused.bucket == "count_tokens"
    assert lim.status().batches_rpm == 1_000


def test_record_response_charges_what_headers_do_not_cover(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path, {"my-model": SMALL})
    lim.record_response(
        "my-model",
        {"anthropic-ratelimit-requests-limit": "5", "anthropic-ratelimit-requests-remaining": "3"},
        {"input_tokens": 1_000, "output_tokens": 500},
    )
    assert available(lim, "my-model", "rpm") == pytest.approx(3, abs=0.05)
    assert available(lim, "my-model", "itpm") == pytest.approx(9_000, abs=5)
    assert available(lim, "my-model", "otpm") == pytest.approx(1_500, abs=5)


def test_fast_mode_uses_its_own_buckets(store_url: str, tmp_path: Path) -> None:
    lim = open_limiter(store_url, tmp_path, {"opus-4": {"otpm": 1_000}})
    lim.observe_headers(
        "claude-opus-4-8",
        {"anthropic-fast-output-tokens-limit": "5000", "anthropic-fast-output-tokens-remaining": "0"},
        fast=True,
    )
    assert lim.try_acquire("claude-opus-4-8", 10, 100, fast=True).binding == "otpm"
    assert lim.try_acquire("claude-opus-4-8", 10, 100).allowed
    buckets = [c.bucket for c in lim.status("claude-opus-4-8").classes]
    assert buckets == ["opus-4", "fast:opus-4"]
