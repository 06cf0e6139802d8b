"""Decisions per second of the core limiter next to its peers, in one run.

Rows (allow path: limits far above what a run can use):
  memory  claude-health three-bucket (RPM+ITPM+OTPM) decision vs `limits` 5.x FixedWindow and
          MovingWindow (memory storage, 100 keys) and `aiolimiter` AsyncLimiter.acquire
  sqlite  claude-health on one SQLite file from 1 process and from 4 processes (aggregate)
  redis   claude-health (one Lua EVALSHA per decision) vs a raw INCR round trip on the same
          redis-py client, on a redis-server this script starts on a free 127.0.0.1 port and stops
          by PID

Targets (issue 6): memory >= 2x limits fixed window; SQLite >= 10,000/s; Redis within 1.3x of INCR.
Needs the bench-only packages: pip install limits aiolimiter.
Usage: python bench/limiter_decisions.py [--seconds 1.0] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
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

HUGE = {"bench-model": {"rpm": 10**11, "itpm": 10**11, "otpm": 10**11}}
RESULTS = Path(__file__).parent / "results" / "limiter_decisions.json"


def timed(step: Callable[[], object], seconds: float, batch: int = 200) -> float:
    """Operations per second of ``step`` over about ``seconds`` (checked every ``batch`` calls)."""
    for _ in range(batch):
        step()
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            step()
        n += batch
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def interleaved(steps: dict[str, Callable[[], object]], seconds: float, batch: int) -> dict[str, float]:
    """Operations per second of each step, timed in alternating batches over the same ``seconds``.

    Other jobs on the machine come and go within a second; alternating small batches makes
    every step see the same load, so the ratios of one round compare like with like.
    """
    spent = dict.fromkeys(steps, 0.0)
    for step in steps.values():
        for _ in range(batch):
            step()
    rounds = 0
    deadline = time.perf_counter() + seconds * len(steps)
    while time.perf_counter() < deadline:
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(batch):
                step()
            spent[name] += time.perf_counter() - start
        rounds += 1
    return {name: rounds * batch / spent[name] for name in steps}


def repeat(
    make: Callable[[], Callable[[], object]], seconds: float, repeats: int, batch: int = 200
) -> list[float]:
    return [timed(make(), seconds, batch) for _ in range(repeats)]


def ours(url: str) -> Callable[[], Callable[[], object]]:
    from claude_health.tools.limiter.core import Limiter

    def make() -> Callable[[], object]:
        lim = Limiter.open(url, limits=HUGE, read_config=False, env={}, home=Path(tempfile.gettempdir()))
        acquire = lim.try_acquire

        def step() -> object:
            d = acquire("bench-model", 1000, 1000)
            assert d.allowed
            return d

        return step

    return make


def limits_strategy(kind: str) -> Callable[[], Callable[[], object]]:
    from limits import parse, storage, strategies

    def make() -> Callable[[], object]:
        store = storage.MemoryStorage()
        cls = strategies.FixedWindowRateLimiter if kind == "fixed" else strategies.MovingWindowRateLimiter
        limiter = cls(store)
        item = parse("1000000000/minute")
        keys = [f"k{i}" for i in range(100)]
        counter = iter(range(10**12))

        def step() -> object:
            return limiter.hit(item, keys[next(counter) % 100])

        return step

    return make


def aiolimiter_rate(seconds: float) -> float:
    from aiolimiter import AsyncLimiter

    async def run() -> float:
        lim = AsyncLimiter(10**12, 60)
        for _ in range(1000):
            await lim.acquire()
        n = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(200):
                await lim.acquire()
            n += 200
        return n / (time.perf_counter() - start)

    return asyncio.run(run())


def _worker(url: str, seconds: float, barrier: Any, queue: Any) -> None:
    from claude_health.tools.limiter.core import Limiter

    lim = Limiter.open(url, limits=HUGE, read_config=False, env={}, home=Path(tempfile.gettempdir()))
    for _ in range(200):
        lim.try_acquire("bench-model", 1000, 1000)
    barrier.wait()
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            assert lim.try_acquire("bench-model", 1000, 1000).allowed
        n += 50
    queue.put((n, time.perf_counter() - start))


def sqlite_processes(url: str, workers: int, seconds: float) -> float:
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, seconds, barrier, queue)) for _ in range(workers)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    return sum(n for n, _ in results) / max(t for _, t in results)


def start_redis() -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    return None


def raw_incr(url: str) -> Callable[[], Callable[[], object]]:
    """INCR on the very client (and connection pool) the limiter's Redis store uses."""
    from claude_health.tools.limiter.core import Limiter

    def make() -> Callable[[], object]:
        lim = Limiter.open(url, limits=HUGE, read_config=False, env={}, home=Path(tempfile.gettempdir()))
        client = getattr(lim.store, "client")  # noqa: B009 (RedisStore only; the Store protocol has none)
        keys = [f"incr:{i}" for i in range(100)]
        counter = iter(range(10**12))

        def step() -> object:
            return client.incr(keys[next(counter) % 100])

        return step

    return make


def row(group: str, name: str, samples: list[float]) -> dict[str, Any]:
    return {
        "group": group,
        "name": name,
        "median_ops_per_s": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sec, rep = args.seconds, args.repeats
    rows: list[dict[str, Any]] = []
    # Peers are timed in alternating batches within each round (see ``interleaved``) so that load
    # from other jobs on the machine hits both alike; ratios are medians of the per-round ratios.
    memory_makers = {
        "claude-health memory:// RPM+ITPM+OTPM": ours("memory://"),
        "limits FixedWindow (memory, 100 keys)": limits_strategy("fixed"),
        "limits MovingWindow (memory, 100 keys)": limits_strategy("moving"),
    }
    samples: dict[str, list[float]] = {name: [] for name in memory_makers}
    samples["aiolimiter AsyncLimiter.acquire"] = []
    for _ in range(rep):
        rates = interleaved({name: make() for name, make in memory_makers.items()}, sec, 500)
        for name, rate in rates.items():
            samples[name].append(rate)
        samples["aiolimiter AsyncLimiter.acquire"].append(aiolimiter_rate(sec))
    rows.extend(row("memory", name, values) for name, values in samples.items())
    paired: dict[str, list[float]] = {
        "memory_vs_limits_fixed": [
            a / b
            for a, b in zip(
                samples["claude-health memory:// RPM+ITPM+OTPM"],
                samples["limits FixedWindow (memory, 100 keys)"],
                strict=True,
            )
        ]
    }
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(
            row(
                "sqlite",
                "claude-health sqlite:// 1 process",
                repeat(ours(f"sqlite://{tmp}/one.db"), sec, rep, 50),
            )
        )
        rows.append(
            row(
                "sqlite",
                "claude-health sqlite:// 4 processes (aggregate)",
                [sqlite_processes(f"sqlite://{tmp}/four.db", 4, sec) for _ in range(max(3, rep // 2))],
            )
        )
    started = start_redis()
    if started is None:
        print("redis-server not found: Redis rows skipped", file=sys.stderr)
    else:
        proc, url = started
        try:
            incr, evalsha = [], []
            for _ in range(rep):
                rates = interleaved({"incr": raw_incr(url)(), "ours": ours(url)()}, sec, 20)
                incr.append(rates["incr"])
                evalsha.append(rates["ours"])
            rows.append(row("redis", "raw redis-py INCR round trip", incr))
            rows.append(row("redis", "claude-health redis:// (one EVALSHA)", evalsha))
            paired["redis_time_vs_incr"] = [i / e for i, e in zip(incr, evalsha, strict=True)]
        finally:
            proc.terminate()
            proc.wait(10)

    by = {r["name"]: r["median_ops_per_s"] for r in rows}
    mem = by["claude-health memory:// RPM+ITPM+OTPM"]
    checks: dict[str, Any] = {
        "memory_vs_limits_fixed": statistics.median(paired["memory_vs_limits_fixed"]),
        "memory_vs_limits_fixed_of_medians": mem / by["limits FixedWindow (memory, 100 keys)"],
        "memory_target": 2.0,
        "sqlite_1_process": by["claude-health sqlite:// 1 process"],
        "sqlite_4_processes": by["claude-health sqlite:// 4 processes (aggregate)"],
        "sqlite_target": 10_000,
    }
    if "raw redis-py INCR round trip" in by:
        checks["redis_time_vs_incr"] = statistics.median(paired["redis_time_vs_incr"])
        checks["redis_target"] = 1.3

    print(f"{'group':<7} {'benchmark':<48} {'median ops/s':>13} {'min':>11} {'max':>11}")
    for r in rows:
        median, low, high = r["median_ops_per_s"], r["min"], r["max"]
        print(f"{r['group']:<7} {r['name']:<48} {median:>13,.0f} {low:>11,.0f} {high:>11,.0f}")
    print()
    print(
        f"memory: {checks['memory_vs_limits_fixed']:.2f}x limits FixedWindow (median of paired rounds; "
        f"per round {', '.join(f'{r:.2f}' for r in paired['memory_vs_limits_fixed'])}; target >= 2.0x)"
    )
    print(
        f"sqlite: {checks['sqlite_1_process']:,.0f}/s one process, "
        f"{checks['sqlite_4_processes']:,.0f}/s four (target >= 10,000/s)"
    )
    if "redis_time_vs_incr" in checks:
        print(
            f"redis:  {checks['redis_time_vs_incr']:.2f}x the time of a raw INCR round trip (paired rounds "
            f"{', '.join(f'{r:.2f}' for r in paired['redis_time_vs_incr'])}; target <= 1.3x)"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": multiprocessing.cpu_count(),
        "seconds_per_sample": sec,
        "repeats": rep,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    meta["load_average_at_end"] = load
    payload = {"meta": meta, "rows": rows, "checks": checks, "paired_ratios": paired}
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
