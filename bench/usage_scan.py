"""Benchmark: claude-health usage vs ccusage on generated transcript trees, the issue's figures in one run.

    python bench/usage_scan.py [--size 200] [--size 1024] [--runs 3] [--ccusage PATH] [--workdir DIR]

For each ``--size`` (MiB; default 200) a tree is generated (tools/usage/synthetic.py: real-world
file size skew, streamed snapshots, subagent files, bulky tool results) and, side by side in
one run, interleaved (so both tools share the machine's load):

* cold: ``claude-health usage daily|blocks --json`` on an empty state database against
  ``ccusage claude daily|blocks --json --offline``: wall time, CPU time (user + system of the
  process and the children it waited for), totals equality, and the peak RSS of the process
  tree from one more run of each that samples it (a timed run is never sampled: see timed());
* warm, new process: the same after appending 1 MiB of new responses (timestamped up to now,
  as a live session writes them), claude-health reusing its ledger, ccusage re-reading all;
* warm, in the MCP server: ``open_session`` + the report inside this process after another
  1 MiB, with the ledger kept open as the server keeps it (``keep_ledgers_open``);
* the status line (``claude-health statusline``) with that ledger in place: median of 30.

Targets (issue 15): cold at most 0.6x ccusage's time with the same totals and less memory;
warm at most 0.10x as a new process and 0.05x in the server; status line median under 50 ms.
Run it from a regular (not editable) install, on a quiet machine: an editable install's
import hook costs a new process ~15 ms. Results: bench/results/usage_scan.json (200 MiB),
usage_scan_<size>m.json otherwise.

With ``--workdir`` the trees are kept between runs, each with a record beside it
(``claude-<size>m.sizes.json``: how it was generated, its transcripts' sizes then). Every run
appends to the tree; the next starts by cutting it back to those sizes, or generates it again
when the record does not match (see prepare_tree).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from claude_health.tools.usage.synthetic import assistant_record, line, user_record, write_tree

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "usage_scan.json"
APPEND_BYTES = 1024 * 1024
TARGETS = {"cold": 0.6, "warm": 0.10, "in_server": 0.05, "statusline_ms": 50.0}


def cli() -> str:
    beside = Path(sys.executable).with_name("claude-health")
    found = str(beside) if beside.exists() else shutil.which("claude-health")
    if not found:
        raise SystemExit("claude-health is not installed in this environment")
    return found


def editable_install() -> bool:
    import claude_health.tools

    return "site-packages" not in str(Path(str(claude_health.tools.__file__)).resolve())


def find_ccusage(arg: str | None) -> str:
    found = arg or os.environ.get("CLAUDE_HEALTH_CCUSAGE_BIN") or shutil.which("ccusage")
    if not found:
        raise SystemExit(
            "ccusage not found: npm install ccusage (20.0.24 has a linux-x64 native package); pass "
            "--ccusage or set CLAUDE_HEALTH_CCUSAGE_BIN"
        )
    return found


def ccusage_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else "unknown"


def _tree_rss_kib(pid: int) -> int:
    """Summed VmRSS of ``pid`` and its descendants (0 once it has exited)."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        proc = Path(f"/proc/{p}")
        try:
            for row in (proc / "status").read_text().splitlines():
                if row.startswith("VmRSS:"):
                    total += int(row.split()[1])
                    break
            for task in (proc / "task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def timed(
    argv: list[str], env: dict[str, str], stdin: bytes | None = None, *, sample_rss: bool = False
) -> dict[str, Any]:
    """Wall seconds, CPU seconds, peak RSS (KiB) and stdout of one child process.

    CPU is the child's user + system time including the children it waited for (the forked
    reader; ccusage's native binary under its launcher). Peak RSS is the kernel's figure
    (wait4: the largest single process) and, with ``sample_rss``, at least the summed RSS of
    the process tree sampled every 5 ms. The sampler is a thread of this process reading /proc
    for every process and thread of the tree 200 times a second: on two cores it competes with
    the run it measures (in an A/B on 200 MiB it slowed ccusage's cold run by 20-45% and ours
    by 3-16%), so timed runs never sample; memory comes from runs of their own.
    """
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.PIPE if stdin else None
        )
        if stdin and proc.stdin:
            proc.stdin.write(stdin)
            proc.stdin.close()
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.005):
                peak[0] = max(peak[0], _tree_rss_kib(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        if sample_rss:
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        if sample_rss:
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{argv} failed ({proc.returncode}): {stderr[-2000:]}")
        out.seek(0)
        return {
            "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime,
            "rss_kib": max(int(usage.ru_maxrss), peak[0]),
            "stdout": out.read().decode(),
        }


def warm_page_cache(tree: Path) -> None:
    for path in tree.rglob("*.jsonl"):
        with path.open("rb") as fh:
            while fh.read(16 * 1024 * 1024):
                pass


# Every warm phase appends to the tree (about 30 MiB a run), so a tree kept in --workdir grew
# with each run of the script and later runs measured more than their size said. How the tree
# was generated and its transcripts' sizes then are recorded beside it; each run starts from
# them and leaves them behind. (Cutting back resets the appended files' mtimes: they are the
# newest already, so append_mib picks the same files again.)
RECORD_SUFFIX = ".sizes.json"
SEED = 42


def tree_sizes(tree: Path) -> dict[str, int]:
    """Byte size of every transcript of ``tree``, by path relative to it."""
    return {p.relative_to(tree).as_posix(): p.stat().st_size for p in sorted(tree.rglob("*.jsonl"))}


def generator(size: int) -> dict[str, Any]:
    """What the tree's bytes depend on: the generator's arguments and source."""
    from claude_health.tools.usage import synthetic

    return {
        "size_bytes": size * 1024 * 1024,
        "seed": SEED,
        "days": max(30, size // 8),
        "synthetic_sha256": hashlib.sha256(Path(synthetic.__file__).read_bytes()).hexdigest(),
    }


def record_path(tree: Path) -> Path:
    return tree.with_name(tree.name + RECORD_SUFFIX)


def restore_tree(tree: Path, size: int) -> int | str:
    """Cut every transcript back to its size as generated: the bytes cut, or why the tree cannot
    be restored (it must be generated again)."""
    try:
        record = json.loads(record_path(tree).read_text())
    except (OSError, ValueError):
        return "no record of how it was generated"
    if not isinstance(record, dict) or record.get("generator") != generator(size):
        return "generated by another version of the generator or with other arguments"
    recorded = record.get("sizes")
    current = tree_sizes(tree)
    if not isinstance(recorded, dict) or current.keys() != recorded.keys():
        return "a transcript added or missing since it was generated"
    if not all(isinstance(size_, int) and current[name] >= size_ for name, size_ in recorded.items()):
        return "a transcript shorter than generated"
    cut = 0
    for name, size_ in current.items():
        if size_ > recorded[name]:
            os.truncate(tree / name, recorded[name])
            cut += size_ - recorded[name]
    return cut


def prepare_tree(tree: Path, size: int) -> int:
    """The tree as generated (cut back, or generated again); returns its transcripts' bytes."""
    if tree.exists():
        cut = restore_tree(tree, size)
        if isinstance(cut, str):
            print(f"{tree}: {cut}; generating it again", file=sys.stderr)
            record_path(tree).unlink(missing_ok=True)
            shutil.rmtree(tree)
        elif cut:
            print(f"{tree}: cut {cut / 2**20:.1f} MiB that earlier runs appended", file=sys.stderr)
    if not tree.exists():
        t0 = time.perf_counter()
        how = generator(size)
        stats = write_tree(tree, size_bytes=how["size_bytes"], seed=how["seed"], days=how["days"])
        record = {"generator": how, "sizes": tree_sizes(tree)}
        record_path(tree).write_text(json.dumps(record, indent=1) + "\n")
        print(
            f"generated {stats.files} files, {stats.bytes / 2**20:.1f} MiB, {stats.responses} responses "
            f"in {time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
        )
    return sum(tree_sizes(tree).values())


def append_mib(tree: Path, seed: str) -> int:
    """Append about 1 MiB of new responses to a few of the newest files, ending now.

    Timestamps are a millisecond apart and end at the moment of writing, so each batch follows
    the previous one, as a live session writes them.
    """
    files = sorted(tree.rglob("*.jsonl"), key=lambda p: p.stat().st_mtime)[-8:]
    end = datetime.now(UTC)

    def pair(i: int, at: datetime) -> str:
        path = files[i % len(files)]
        rec = assistant_record(
            session=path.stem,
            msg_id=f"msg_app{seed}_{i}",
            request_id=f"req_app{seed}_{i}",
            at=at,
            output_tokens=300 + i % 700,
            cache_read=40_000 + i,
            cache_5m=i % 3000,
            model="claude-sonnet-4-5-20250929",
        )
        return line(rec) + line(user_record(path.stem, at, "r" * 3000))

    count = -(-APPEND_BYTES // len(pair(0, end).encode()))
    written = 0
    for i in range(count):
        text = pair(i, end - timedelta(milliseconds=count - i))
        with files[i % len(files)].open("a", encoding="utf-8") as fh:
            fh.write(text)
        written += len(text.encode())
    return written


def totals_ccusage_daily(data: dict[str, Any]) -> tuple[int, int, int, int]:
    t = data["totals"]
    return t["inputTokens"], t["outputTokens"], t["cacheCreationTokens"], t["cacheReadTokens"]


def totals_ours_daily(data: dict[str, Any]) -> tuple[int, int, int, int]:
    t = data["totals"]
    return (
        t["input_tokens"],
        t["output_tokens"],
        t["cache_creation_input_tokens"],
        t["cache_read_input_tokens"],
    )


def blocks_ccusage(data: dict[str, Any]) -> list[tuple[str, int]]:
    return [(b["startTime"][:19], b["totalTokens"]) for b in data["blocks"] if not b["isGap"]]


def blocks_ours(data: dict[str, Any]) -> list[tuple[str, int]]:
    return [(b["start"][:19], b["total_tokens"]) for b in data["blocks"] if not b["is_gap"]]


def same_totals(report: str, mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, bool | None]:
    if report == "daily":
        cost = abs(mine["totals"]["cost_usd"] - theirs["totals"]["totalCost"]) < 1e-4 * max(
            1.0, theirs["totals"]["totalCost"]
        )
        return {"tokens": totals_ours_daily(mine) == totals_ccusage_daily(theirs), "cost": cost}
    return {"tokens": blocks_ours(mine) == blocks_ccusage(theirs), "cost": None}


def median(rows: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rows))


def summary(
    ours: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
    equal: dict[str, Any],
    memory: tuple[dict[str, Any], dict[str, Any]],
) -> dict[str, Any]:
    """Medians of the timed runs; peak memory from the sampled runs (``memory``: ours, theirs)."""
    row = {
        "ours_wall_s": median(ours, "wall"),
        "ccusage_wall_s": median(theirs, "wall"),
        "ours_cpu_s": median(ours, "cpu"),
        "ccusage_cpu_s": median(theirs, "cpu"),
        "ours_peak_rss_mib": memory[0]["rss_kib"] / 1024,
        "ccusage_peak_rss_mib": memory[1]["rss_kib"] / 1024,
        "ours_walls_s": [round(r["wall"], 4) for r in ours],
        "ccusage_walls_s": [round(r["wall"], 4) for r in theirs],
        "totals_equal": equal,
    }
    row["wall_ratio"] = row["ours_wall_s"] / row["ccusage_wall_s"]
    row["cpu_ratio"] = row["ours_cpu_s"] / row["ccusage_cpu_s"]
    row["rss_ratio"] = row["ours_peak_rss_mib"] / row["ccusage_peak_rss_mib"]
    return row


def bench_size(size: int, args: argparse.Namespace, ccusage: str, work: Path) -> dict[str, Any]:
    tree = work / f"claude-{size}m"
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    tree_bytes = prepare_tree(tree, size)
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(tree),
        "TZ": "UTC",
    }
    db = work / f"state-{size}m.db"
    ours_env = dict(base_env, CLAUDE_HEALTH_STATE_DB=str(db))
    commands = {
        "daily": (
            [cli(), "usage", "daily", "--json", "--timezone", "UTC"],
            [ccusage, "claude", "daily", "--json", "--offline", "--timezone", "UTC"],
        ),
        "blocks": (
            [cli(), "usage", "blocks", "--json"],
            [ccusage, "claude", "blocks", "--json", "--offline"],
        ),
    }
    result: dict[str, Any] = {
        "size_mib": size,
        "tree_bytes": tree_bytes,
        "phases": {},
        "load_average_1m_before": os.getloadavg()[0],
    }
    warm_page_cache(tree)

    def fresh_db() -> None:
        for suffix in ("", "-wal", "-shm", ".ledger"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    # Cold: an empty ledger each run.
    for report, (our_argv, their_argv) in commands.items():
        ours, theirs = [], []
        for _ in range(args.runs):
            fresh_db()
            ours.append(timed(our_argv, ours_env))
            theirs.append(timed(their_argv, base_env))
        equal = same_totals(report, json.loads(ours[-1]["stdout"]), json.loads(theirs[-1]["stdout"]))
        fresh_db()
        memory = (timed(our_argv, ours_env, sample_rss=True), timed(their_argv, base_env, sample_rss=True))
        result["phases"][f"cold {report}"] = summary(ours, theirs, equal, memory)
    # Warm, new process: the ledger is up to date, then 1 MiB arrives before each run.
    for our_argv, _ in commands.values():
        timed(our_argv, ours_env)
    warm: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {r: ([], []) for r in commands}
    appended = 0
    for run in range(args.runs):
        for report, (our_argv, their_argv) in commands.items():
            appended = append_mib(tree, f"{run}{report}{time.time_ns()}")
            warm_page_cache(tree)
            warm[report][0].append(timed(our_argv, ours_env))
            warm[report][1].append(timed(their_argv, base_env))
    for report, (ours, theirs) in warm.items():
        equal = same_totals(report, json.loads(ours[-1]["stdout"]), json.loads(theirs[-1]["stdout"]))
        our_argv, their_argv = commands[report]
        append_mib(tree, f"m{report}{time.time_ns()}")
        warm_page_cache(tree)
        memory = (timed(our_argv, ours_env, sample_rss=True), timed(their_argv, base_env, sample_rss=True))
        result["phases"][f"warm {report}"] = summary(ours, theirs, equal, memory)
    result["appended_bytes_per_warm_run"] = appended
    # Warm inside the MCP server: imports paid, the ledger's connection kept, 1 MiB new each time.
    from claude_health.tools.usage import reports
    from claude_health.tools.usage.session import close_ledgers, keep_ledgers_open, open_session
    from claude_health.tools.usage.timezones import resolve_tz

    keep_ledgers_open()
    try:
        session = open_session(ours_env, home)  # the server's first call
        session.close()
        in_server: dict[str, list[float]] = {"daily": [], "blocks": []}
        for run in range(max(args.runs, 5)):
            for report in ("daily", "blocks"):
                append_mib(tree, f"s{run}{report}{time.time_ns()}")
                warm_page_cache(tree)
                started = time.perf_counter()
                session = open_session(ours_env, home)
                if report == "daily":
                    reports.daily(session, resolve_tz("UTC"))
                else:
                    reports.blocks(session)
                session.close()
                in_server[report].append(time.perf_counter() - started)
    finally:
        close_ledgers()
    result["in_server_warm"] = {
        r: {
            "wall_s": statistics.median(v),
            "walls_s": [round(x, 4) for x in v],
            "ratio_vs_ccusage_warm": statistics.median(v) / result["phases"][f"warm {r}"]["ccusage_wall_s"],
        }
        for r, v in in_server.items()
    }
    # The status line with this ledger in place (it reads its own small file, never the ledger).
    from usage_statusline import payload  # bench/ is on the path when run as a script

    transcript = next(tree.rglob("*.jsonl"))
    line_runs = [
        timed([cli(), "statusline"], ours_env, payload(transcript)) for _ in range(args.statusline_runs)
    ]
    result["statusline"] = {
        "median_ms": median(line_runs, "wall") * 1000,
        "p90_ms": sorted(r["wall"] for r in line_runs)[int(0.9 * (len(line_runs) - 1))] * 1000,
        "peak_rss_mib": median(line_runs, "rss_kib") / 1024,
    }
    result["load_average_1m_after"] = os.getloadavg()[0]
    restore_tree(tree, size)  # the next run starts from the tree as generated (it checks that too)
    result["targets_met"] = {
        "cold_wall_at_most_0.6x": all(
            result["phases"][f"cold {r}"]["wall_ratio"] <= TARGETS["cold"] for r in commands
        ),
        "cold_less_memory": all(result["phases"][f"cold {r}"]["rss_ratio"] < 1 for r in commands),
        "same_totals": all(
            all(v is not False for v in p["totals_equal"].values()) for p in result["phases"].values()
        ),
        "warm_new_process_at_most_0.10x": all(
            result["phases"][f"warm {r}"]["wall_ratio"] <= TARGETS["warm"] for r in commands
        ),
        "warm_in_server_at_most_0.05x": all(
            v["ratio_vs_ccusage_warm"] <= TARGETS["in_server"] for v in result["in_server_warm"].values()
        ),
        "statusline_median_under_50ms": result["statusline"]["median_ms"] < TARGETS["statusline_ms"],
    }
    return result


def print_result(result: dict[str, Any], version: str) -> None:
    print(
        f"\nclaude-health usage vs {version}, {result['tree_bytes'] / 2**20:.1f} MiB tree as generated, "
        f"load average {result['load_average_1m_before']:.1f} -> {result['load_average_1m_after']:.1f} "
        f"on {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'phase':<13} {'ours s':>8} {'ccusage s':>10} {'wall x':>7} {'cpu x':>6} {'ours MiB':>9} "
        f"{'ccusage MiB':>12} {'totals equal':>13}"
    )
    for name, row in result["phases"].items():
        equal = all(v is not False for v in row["totals_equal"].values())
        print(
            f"{name:<13} {row['ours_wall_s']:>8.3f} {row['ccusage_wall_s']:>10.3f} {row['wall_ratio']:>7.3f} "
            f"{row['cpu_ratio']:>6.2f} {row['ours_peak_rss_mib']:>9.1f} {row['ccusage_peak_rss_mib']:>12.1f} "
            f"{equal!s:>13}"
        )
    for report, row in result["in_server_warm"].items():
        print(
            f"{'warm ' + report + ', in the MCP server':<34} {row['wall_s']:.4f} s = "
            f"{row['ratio_vs_ccusage_warm']:.3f}x ccusage's warm run"
        )
    line_ = result["statusline"]
    print(
        f"{'status line (ledger in place)':<34} median {line_['median_ms']:.1f} ms, "
        f"p90 {line_['p90_ms']:.1f} ms"
    )
    print("targets:", result["targets_met"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", type=int, action="append", help="tree size in MiB (repeatable; default 200)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--statusline-runs", type=int, default=30)
    parser.add_argument("--ccusage", default=None)
    parser.add_argument("--workdir", default=None, help="keep generated trees here (reused if present)")
    args = parser.parse_args()
    ccusage = find_ccusage(args.ccusage)
    version = ccusage_version(ccusage)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="usage-bench-"))
    editable = editable_install()
    if editable:
        print("warning: editable install; new-process figures include its import hook", file=sys.stderr)
    for size in args.size or [200]:
        result = bench_size(size, args, ccusage, work)
        result.update(
            {
                "ccusage": ccusage,
                "ccusage_version": version,
                "runs": args.runs,
                "editable_install": editable,
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        print_result(result, version)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        name = RESULTS if size == 200 else RESULTS.with_name(f"usage_scan_{size}m.json")
        name.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
