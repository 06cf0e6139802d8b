"""The limiter on a real Redis Cluster: one slot per namespace, replica-confirmed writes, failover.

The shared store suite (tests/test_limiter_stores.py) runs on a cluster too; this module checks
what only a cluster has. The failover test starts its own cluster (three masters, one replica
each), lets several processes take grants, SIGKILLs the master that holds the namespace and
counts: never more grants than capacity plus refill, refusals during the failover are the
documented StoreError, and grants resume on the promoted replica.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.limiter.core import Limiter, LimiterUnavailable
from claude_health.tools.limiter.stores import StoreError
from claude_health.tools.limiter.stores.redis_cluster import parse_cluster_url, tagged
from claude_health.tools.limiter.stores.redis_store import PREFIX
from tests import redis_cluster_support as cluster_support
from tests import test_limiter_support as support

redis_server = support.redis_server

CAPACITY = 120  # RPM: refills 2 per second
WORKERS = 4


def open_limiter(url: str, tmp_path: Path, **limits: Any) -> Limiter:
    return Limiter.open(
        url, tier="start", limits=limits or None, env={"HOME": str(tmp_path)}, home=tmp_path, fallback=None
    )


def _all_keys(cluster: cluster_support.Cluster) -> list[bytes]:
    client: Any = cluster.client()
    try:
        return sorted(client.keys(target_nodes=client.PRIMARIES))
    finally:
        client.close()


def test_every_key_of_a_namespace_lives_in_one_slot(
    redis_cluster: cluster_support.Cluster, tmp_path: Path
) -> None:
    redis_cluster.flush()
    lim = open_limiter(redis_cluster.url, tmp_path)
    assert lim.try_acquire("claude-opus-4-8", 100, 100).allowed
    assert lim.try_acquire("claude-sonnet-4-6", 100, 100).allowed
    # One header sync touching three classes (standard, priority, fast) and a hold: a single
    # script over several keys, which a cluster refuses (CROSSSLOT) unless they share a slot.
    lim.observe_headers(
        "claude-opus-4-8",
        {
            "anthropic-ratelimit-input-tokens-limit": "30000",
            "anthropic-ratelimit-input-tokens-remaining": "20000",
            "anthropic-priority-input-tokens-limit": "10000",
            "anthropic-priority-input-tokens-remaining": "5000",
            "anthropic-fast-output-tokens-limit": "5000",
            "anthropic-fast-output-tokens-remaining": "100",
            "retry-after": "3",
        },
        status_code=429,
        fast=True,
    )
    keys = [k for k in _all_keys(redis_cluster) if k.startswith(PREFIX.encode())]
    assert len(keys) >= 4, keys
    assert all(k.decode().startswith(PREFIX + "{org}|") for k in keys), keys
    client: Any = redis_cluster.client()
    try:
        assert len({client.keyslot(k) for k in keys}) == 1
    finally:
        client.close()
    held = lim.try_acquire("claude-opus-4-5-20251101", 10, 10, fast=True)
    assert not held.allowed and held.binding == "retry-after"
    assert lim.status("claude-opus-4-8").classes[0].buckets[1].source == "server headers"


def test_a_grant_is_on_a_replica_before_it_is_reported(
    redis_cluster: cluster_support.Cluster, tmp_path: Path
) -> None:
    import redis

    redis_cluster.flush()
    lim = open_limiter(redis_cluster.url, tmp_path, **{"my-model": {"rpm": 5}})
    assert lim.try_acquire("my-model", 1, 1).allowed
    key = tagged(f"{PREFIX}org|model:my-model")
    client: Any = redis_cluster.client()
    try:
        replica = client.get_node_from_key(key, replica=True)
    finally:
        client.close()
    assert replica is not None
    node = redis.Redis(host=replica.host, port=replica.port, socket_timeout=2)
    try:
        node.execute_command("READONLY")
        # No wait, no retry: WAIT already confirmed the replica holds the debit.
        assert node.get(key) is not None
    finally:
        node.close()


def test_confirmation_can_be_turned_off(redis_cluster: cluster_support.Cluster, tmp_path: Path) -> None:
    redis_cluster.flush()
    lim = open_limiter(redis_cluster.url + "?wait_replicas=0", tmp_path, **{"my-model": {"rpm": 2}})
    assert [lim.try_acquire("my-model", 1, 1).allowed for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+cluster://", "not HOST:PORT"),
        ("redis+cluster://127.0.0.1", "not HOST:PORT"),
        ("redis+cluster://127.0.0.1:0", "not HOST:PORT"),
        ("redis+cluster://127.0.0.1:99999", "not HOST:PORT"),
        ("redis+cluster://127.0.0.1:7000/3", "only database 0"),
        ("redis+cluster://127.0.0.1:7000?wait_replicas=9", "wait_replicas must be"),
        ("redis+cluster://127.0.0.1:7000?failover_wait=nan", "failover_wait must be"),
        ("redis+cluster://127.0.0.1:7000?colour=blue", "unknown option"),
        ("redis+cluster://" + ",".join(["h:1"] * 65), "at most 64"),
    ],
)
def test_bad_cluster_urls_are_clear_errors(url: str, says: str, tmp_path: Path) -> None:
    with pytest.raises(LimiterUnavailable, match=says):
        open_limiter(url, tmp_path)


def test_url_forms_and_the_password_never_shown() -> None:
    parsed = parse_cluster_url("rediss+cluster://me:s%40cret@[::1]:7000,node-b:7001/?failover_wait=2.5")
    assert parsed.nodes == (("::1", 7000), ("node-b", 7001))
    assert parsed.tls and parsed.username == "me" and parsed.password == "s@cret"
    assert parsed.failover_wait == 2.5 and parsed.wait_replicas == 1
    assert parsed.shown == "rediss+cluster://***@[::1]:7000,node-b:7001"
    assert "s@cret" not in repr(parsed)


def test_unreachable_cluster_names_it_without_the_password(tmp_path: Path) -> None:
    port = cluster_support.free_ports(1)[0]
    with pytest.raises(LimiterUnavailable) as err:
        open_limiter(f"redis+cluster://u:hunter2pass@127.0.0.1:{port}?connect_timeout=0.3", tmp_path)
    text = str(err.value)
    assert f"127.0.0.1:{port}" in text and "hunter2pass" not in text and "fallback" in text


def test_a_plain_redis_is_not_a_cluster(redis_server: str, tmp_path: Path) -> None:
    url = redis_server.replace("redis://", "redis+cluster://")
    with pytest.raises(LimiterUnavailable, match=r"(?i)cluster"):
        open_limiter(url, tmp_path)


# -- failover -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failover_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_support.Cluster]:
    """A cluster of its own for the tests below, which kill nodes: first a replica of one master,
    then the master that holds the ``org`` namespace."""
    cluster = cluster_support.start_cluster(tmp_path_factory.mktemp("failover"), masters=3, replicas=1)
    try:
        yield cluster
    finally:
        cluster.stop()


def _hammer(url: str, home: str, seconds: float, ready: Any, queue: Any) -> None:
    lim = Limiter.open(
        url, limits={"shared-model": {"rpm": CAPACITY}}, env={"HOME": home}, home=Path(home), fallback=None
    )
    lim.would_admit("shared-model", 0, 0)  # connected, scripts loaded: the timed part starts now
    # Every grant must wait for a replica (the guarantee under test), so report that it will.
    ready.put(lim.store.confirming_replicas(tagged(f"{PREFIX}org|model:shared-model")))  # type: ignore[attr-defined]
    grants: list[float] = []
    errors: list[tuple[float, str, str]] = []
    start = time.time()
    end = start
    while time.time() - start < seconds:
        try:
            if lim.try_acquire("shared-model", 0, 0).allowed:
                grants.append(time.time())
        except Exception as exc:  # counted and checked by the test: must be StoreError
            errors.append((time.time(), type(exc).__name__, str(exc)))
            time.sleep(0.05)
        end = time.time()
    lim.close()
    queue.put((grants, errors, start, end))


def _namespace_elsewhere(cluster: cluster_support.Cluster, avoid: int) -> str:
    """A namespace whose slot lives on another master than ``avoid``."""
    for i in range(200):
        ns = f"team-{i}"
        if cluster.master_port_of(tagged(f"{PREFIX}{ns}|model:m")) != avoid:
            return ns
    raise AssertionError("no namespace on another master")


def test_a_lost_replica_fails_closed_until_the_cluster_drops_it(
    failover_cluster: cluster_support.Cluster, tmp_path: Path
) -> None:
    cluster = failover_cluster
    org_master = cluster.master_port_of(tagged(f"{PREFIX}org|model:shared-model"))
    ns = _namespace_elsewhere(cluster, org_master)
    key = tagged(f"{PREFIX}{ns}|model:m")
    lim = Limiter.open(
        cluster.url + "?failover_wait=0.2&wait_timeout_ms=200",
        limits={"m": {"rpm": 10_000}},
        namespace=ns,
        env={"HOME": str(tmp_path)},
        home=tmp_path,
        fallback=None,
    )
    store: Any = lim.store
    assert store.confirming_replicas(key) == 1 and lim.try_acquire("m", 0, 0).allowed
    client: Any = cluster.client()
    try:
        replica = client.get_node_from_key(key, replica=True)
    finally:
        client.close()
    cluster.kill(int(replica.port))
    refusals: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if lim.try_acquire("m", 0, 0).allowed:
                break
        except StoreError as exc:
            refusals.append(str(exc))
        time.sleep(0.1)
    else:
        raise AssertionError(f"never admitted again: {refusals[-1:]}")
    # Until the cluster marked the replica failed, nothing was admitted unconfirmed; then the
    # master serves alone and decisions go on without WAIT.
    assert refusals and all("no replica confirmed" in r or "not admitted" in r for r in refusals), refusals[
        :2
    ]
    assert store.confirming_replicas(key) == 0
    lim.close()


def test_failover_of_the_namespace_master_never_overgrants(
    failover_cluster: cluster_support.Cluster, tmp_path: Path
) -> None:
    cluster = failover_cluster
    # A short failover_wait, so decisions during the failover are refused (and counted) instead
    # of riding it out.
    url = cluster.url + "?failover_wait=0.3&wait_timeout_ms=300"
    victim = cluster.master_port_of(tagged(f"{PREFIX}org|model:shared-model"))
    ctx = multiprocessing.get_context("spawn")
    queue, ready = ctx.Queue(), ctx.Queue()
    procs = [
        ctx.Process(target=_hammer, args=(url, str(tmp_path), 7.0, ready, queue)) for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    assert [ready.get(timeout=60) for _ in procs] == [1] * WORKERS
    time.sleep(1.5)  # every worker is taking grants; the bucket is empty, refill is being shared
    killed_at = time.time()
    cluster.kill(victim)
    results = [queue.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    grants = sorted(t for r in results for t in r[0])
    errors = [e for r in results for e in r[1]]
    start, end = min(r[2] for r in results), max(r[3] for r in results)
    refill = CAPACITY / 60 * (end - start)
    assert grants, "no grant at all"
    assert len(grants) <= CAPACITY + refill + 1, (len(grants), end - start)
    # Refusals during the failover are the documented, fail-closed StoreError, nothing else.
    assert {name for _, name, _ in errors} <= {"StoreError"}, errors[:3]
    assert all("Nothing was admitted" in text or "not admitted" in text for _, _, text in errors), errors[:3]
    # The promoted replica serves the slot and grants resume (refill continues there).
    after = [t for t in grants if t > killed_at]
    assert after, f"no grant after the failover ({len(errors)} refusals)"
    new_master = cluster.master_port_of(tagged(f"{PREFIX}org|model:shared-model"))
    assert new_master != victim
    # Nearly all of capacity and refill was granted: the failover cost at most its own duration.
    down = (after[0] - killed_at) if after else end - killed_at
    assert len(grants) >= CAPACITY + (refill - CAPACITY / 60 * down) - 6, (len(grants), down)


def test_store_error_is_a_runtime_error() -> None:
    # Callers (the MCP tools, the API client hook) catch RuntimeError for a failing store.
    assert issubclass(StoreError, RuntimeError)


def test_the_api_client_hook_fails_closed_when_the_store_fails() -> None:
    from claude_health.tools.anthropic import LimiterRefused
    from claude_health.tools.limiter.hook import LimiterHook

    class FailingOver:
        def try_acquire(self, *args: object, **kwargs: object) -> object:
            raise StoreError("Redis Cluster at redis+cluster://h:1: ... Nothing was admitted")

    hook = LimiterHook(FailingOver(), "claude-opus-4-8")
    with pytest.raises(LimiterRefused, match=r"not sent .*Nothing was admitted"):
        hook.before_request("POST", "/v1/messages/count_tokens", b"{}")
