"""Decisions per second of the limiter on a Redis Cluster, beside raw single-slot round trips.

Starts its own cluster on free 127.0.0.1 ports (three masters, one replica each, like the tests)
and stops every node by PID at the end. Rows, each timed in alternating batches within a round so
load from other jobs hits all of them alike (ratios are medians of per-round ratios):

  raw INCR              one INCR on a key in the namespace's slot, through redis-py's RedisCluster
  raw INCR + WAIT 1     INCR and WAIT pipelined on the slot's master: the floor of a write a
                        replica confirms
  redis+cluster://      claude-health's decision (EVALSHA + WAIT 1 in one pipeline, the default)
  ...?wait_replicas=0   the decision without the replica confirmation

Usage: python bench/redis_cluster.py [--seconds 1.0] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One timing method for every limiter benchmark: batches interleaved under the same load.
from limiter_decisions import HUGE, interleaved

RESULTS = Path(__file__).parent / "results" / "redis_cluster.json"
SLOT_KEY = "claude-health:limiter:v2:{org}|bench"


def free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port >= 55000 or port in ports:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


def start_cluster(workdir: Path) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
    ports = free_ports(6)
    procs: list[subprocess.Popen[bytes]] = []
    for port in ports:
        node = workdir / str(port)
        node.mkdir()
        procs.append(
            subprocess.Popen(
                [
                    *(server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"),
                    *("--cluster-config-file", str(node / "nodes.conf"), "--cluster-node-timeout", "1000"),
                    *("--dir", str(node), "--save", "", "--appendonly", "no"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    for port in ports:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
    subprocess.run(
        [
            cli,
            "--cluster",
            "create",
            *[f"127.0.0.1:{p}" for p in ports],
            "--cluster-replicas",
            "1",
            "--cluster-yes",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    import redis

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        linked = 0
        for port in ports:
            info = redis.Redis(port=port).info("replication")
            linked += info.get("master_link_status") == "up"
        if linked == 3:
            return procs, ports
        time.sleep(0.1)
    raise RuntimeError("the cluster's replicas did not sync within 30 s")


def ours(url: str) -> Callable[[], object]:
    from claude_health.tools.limiter.core import Limiter

    lim = Limiter.open(url, limits=HUGE, read_config=False, env={}, home=Path(tempfile.gettempdir()))

    def step() -> object:
        return lim.try_acquire("bench-model", 100, 100)

    return step


def raw_incr(ports: list[int]) -> Callable[[], object]:
    from redis.cluster import ClusterNode, RedisCluster

    client = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in ports])  # type: ignore[no-untyped-call]

    def step() -> object:
        return client.incr(SLOT_KEY)

    return step


def raw_incr_wait(ports: list[int]) -> Callable[[], object]:
    from redis.cluster import ClusterNode, RedisCluster

    client = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in ports])  # type: ignore[no-untyped-call]
    node = client.get_node_from_key(SLOT_KEY).redis_connection

    def step() -> object:
        pipe = node.pipeline(transaction=False)
        pipe.incr(SLOT_KEY)
        pipe.execute_command("WAIT", 1, 500)
        return pipe.execute()

    return step


def row(name: str, samples: list[float]) -> dict[str, Any]:
    return {
        "name": name,
        "median_ops_per_s": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        print("redis-server not found (apt-get install redis-server)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        procs, ports = start_cluster(Path(tmp))
        try:
            url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
            names = {
                "incr": "raw INCR round trip (RedisCluster, same slot)",
                "incr_wait": "raw INCR + WAIT 1, pipelined on the slot's master",
                "ours": "claude-health redis+cluster:// (EVALSHA + WAIT 1)",
                "ours_nowait": "claude-health redis+cluster://?wait_replicas=0",
            }
            samples: dict[str, list[float]] = {k: [] for k in names}
            for _ in range(args.repeats):
                steps = {
                    "incr": raw_incr(ports),
                    "incr_wait": raw_incr_wait(ports),
                    "ours": ours(url),
                    "ours_nowait": ours(url + "?wait_replicas=0"),
                }
                for key, rate in interleaved(steps, args.seconds, 20).items():
                    samples[key].append(rate)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)
    rows = [row(names[k], v) for k, v in samples.items()]
    paired = {
        "confirmed_time_vs_incr_wait": [
            w / o for w, o in zip(samples["incr_wait"], samples["ours"], strict=True)
        ],
        "unconfirmed_time_vs_incr": [
            i / o for i, o in zip(samples["incr"], samples["ours_nowait"], strict=True)
        ],
        "confirmation_cost": [n / o for n, o in zip(samples["ours_nowait"], samples["ours"], strict=True)],
    }
    checks = {k: statistics.median(v) for k, v in paired.items()}
    print(f"{'benchmark':<54} {'median ops/s':>13} {'min':>9} {'max':>9}")
    for r in rows:
        print(f"{r['name']:<54} {r['median_ops_per_s']:>13,.0f} {r['min']:>9,.0f} {r['max']:>9,.0f}")
    print()
    print(f"decision (confirmed) vs raw INCR + WAIT: {checks['confirmed_time_vs_incr_wait']:.2f}x the time")
    print(f"decision (unconfirmed) vs raw INCR:      {checks['unconfirmed_time_vs_incr']:.2f}x the time")
    print(f"replica confirmation costs:              {checks['confirmation_cost']:.2f}x the time")
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": multiprocessing.cpu_count(),
        "seconds_per_sample": args.seconds,
        "repeats": args.repeats,
        "cluster": "3 masters + 3 replicas on 127.0.0.1",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_at_end": load,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"meta": meta, "rows": rows, "checks": checks, "paired": paired}, indent=2) + "\n"
    )
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
