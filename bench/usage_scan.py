"""Benchmark: claude-health usage vs ccusage on generated transcript trees.

    python bench/usage_scan.py [--size 200] [--runs 3] [--ccusage PATH] [--workdir DIR]

Generates a tree of ``--size`` MiB (tools/usage/synthetic.py: real-world file size skew, streamed
snapshots, subagent files, bulky tool results), then times, each ``--runs`` times (medians):

* cold: ``claude-health usage daily --json`` / ``usage blocks --json`` with an empty state
  database, and ``ccusage claude daily|blocks --json --offline``;
* warm: the same after appending 1 MiB to the tree, claude-health reusing its state database
  (it reads only the appended bytes), ccusage re-reading everything (it keeps no state).

Also times the floor of any warm run by a new Python process (``FLOOR``). Reports wall time, peak
RSS (of the process tree, see ``timed``) and whether totals are equal, and
writes bench/results/usage_scan.json. Page cache is warmed before timing for both tools.
"""

from __future__ import annotations

import argparse
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

# The floor of any warm run by a new Python process: start CPython, import sqlite3, check every
# transcript for change and sum the stored quarter-hour totals per day, parsing nothing and
# printing no report. If this alone exceeds 5% of ccusage's time, so must a full report.
FLOOR = """
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for path, size in db.execute("SELECT path, size FROM usage_files"):
    try:
        os.stat(path)
    except OSError:
        pass
db.execute("SELECT q / 96, model, project, SUM(input), SUM(output), SUM(cc), SUM(cread)"
           " FROM usage_quarters GROUP BY 1, 2, 3").fetchall()
"""


def cli() -> str:
    beside = Path(sys.executable).with_name("claude-health")
    found = str(beside) if beside.exists() else shutil.which("claude-health")
    if not found:
        raise SystemExit("claude-health is not installed in this environment")
    return found


def find_ccusage(arg: str | None) -> str:
    found = arg or os.environ.get("CLAUDE_HEALTH_CCUSAGE_BIN") or shutil.which("ccusage")
    if not found:
        raise SystemExit(
            "ccusage not found: npm install ccusage@20.0.24; pass --ccusage or set CLAUDE_HEALTH_CCUSAGE_BIN"
        )
    return found


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


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in KiB, stdout) of one child process.

    Peak RSS is the larger of the kernel's figure for the process (wait4; for a process that
    forks a helper it is the larger of the two, not their sum) and the summed RSS of its whole
    process tree sampled every 5 ms, so a forked reader's memory is counted too.
    """
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.PIPE)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.005):
                peak[0] = max(peak[0], _tree_rss_kib(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{argv} failed ({proc.returncode}): {stderr[-2000:]}")
        out.seek(0)
        return wall, max(int(usage.ru_maxrss), peak[0]), out.read().decode()


def warm_page_cache(tree: Path) -> None:
    for path in tree.rglob("*.jsonl"):
        with path.open("rb") as fh:
            while fh.read(16 * 1024 * 1024):
                pass


def append_mib(tree: Path, seed: int) -> int:
    """Append about 1 MiB of new responses to a few of the newest files."""
    files = sorted(tree.rglob("*.jsonl"), key=lambda p: p.stat().st_mtime)[-8:]
    now = datetime.now(UTC) - timedelta(minutes=30)
    written = 0
    i = 0
    while written < APPEND_BYTES:
        path = files[i % len(files)]
        sid = path.stem
        at = now + timedelta(seconds=i)
        rec = assistant_record(
            session=sid,
            msg_id=f"msg_app{seed}_{i}",
            request_id=f"req_app{seed}_{i}",
            at=at,
            output_tokens=300 + i % 700,
            cache_read=40_000 + i,
            cache_5m=i % 3000,
            model="claude-sonnet-4-5-20250929",
        )
        text = line(rec) + line(user_record(sid, at, "r" * 3000))
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text)
        written += len(text.encode())
        i += 1
    return written


def token_totals_ccusage_daily(data: dict[str, Any]) -> tuple[int, int, int, int]:
    t = data["totals"]
    return t["inputTokens"], t["outputTokens"], t["cacheCreationTokens"], t["cacheReadTokens"]


def token_totals_ours_daily(data: dict[str, Any]) -> tuple[int, int, int, int]:
    t = data["totals"]
    return (
        t["input_tokens"],
        t["output_tokens"],
        t["cache_creation_input_tokens"],
        t["cache_read_input_tokens"],
    )


def blocks_sig_ccusage(data: dict[str, Any]) -> list[tuple[str, int]]:
    return [(b["startTime"][:19], b["totalTokens"]) for b in data["blocks"] if not b["isGap"]]


def blocks_sig_ours(data: dict[str, Any]) -> list[tuple[str, int]]:
    return [(b["start"][:19], b["total_tokens"]) for b in data["blocks"] if not b["is_gap"]]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", type=int, default=200, help="tree size in MiB (200 default; 1024 for 1 GiB)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ccusage", default=None)
    parser.add_argument("--workdir", default=None, help="keep the generated tree here (reused if present)")
    args = parser.parse_args()
    ccusage = find_ccusage(args.ccusage)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="usage-bench-"))
    tree = work / f"claude-{args.size}m"
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    if not tree.exists():
        t0 = time.perf_counter()
        stats = write_tree(tree, size_bytes=args.size * 1024 * 1024, seed=42, days=max(30, args.size // 8))
        print(
            f"generated {stats.files} files, {stats.bytes / 2**20:.1f} MiB, {stats.responses} responses "
            f"in {time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
        )
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(tree),
        "TZ": "UTC",
    }
    db = work / "state.db"
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
    results: dict[str, Any] = {"size_mib": args.size, "runs": args.runs, "ccusage": ccusage, "phases": {}}
    warm_page_cache(tree)

    def measure(phase: str, fresh_db: bool) -> None:
        for report, (our_argv, their_argv) in commands.items():
            ours_t: list[tuple[float, int]] = []
            theirs_t: list[tuple[float, int]] = []
            our_out = their_out = ""
            for _ in range(args.runs):
                if fresh_db:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{db}{suffix}").unlink(missing_ok=True)
                w, m, our_out = timed(our_argv, ours_env)
                ours_t.append((w, m))
                w, m, their_out = timed(their_argv, base_env)
                theirs_t.append((w, m))
            mine, theirs = json.loads(our_out), json.loads(their_out)
            if report == "daily":
                equal = token_totals_ours_daily(mine) == token_totals_ccusage_daily(theirs)
                cost_equal = abs(mine["totals"]["cost_usd"] - theirs["totals"]["totalCost"]) < 1e-4 * max(
                    1.0, theirs["totals"]["totalCost"]
                )
            else:
                equal = blocks_sig_ours(mine) == blocks_sig_ccusage(theirs)
                cost_equal = None
            row = {
                "ours_wall_s": statistics.median(t[0] for t in ours_t),
                "ours_peak_rss_mib": statistics.median(t[1] for t in ours_t) / 1024,
                "ccusage_wall_s": statistics.median(t[0] for t in theirs_t),
                "ccusage_peak_rss_mib": statistics.median(t[1] for t in theirs_t) / 1024,
                "token_totals_equal": equal,
                "cost_equal": cost_equal,
            }
            row["wall_ratio"] = row["ours_wall_s"] / row["ccusage_wall_s"]
            row["rss_ratio"] = row["ours_peak_rss_mib"] / row["ccusage_peak_rss_mib"]
            results["phases"][f"{phase} {report}"] = row

    measure("cold", fresh_db=True)
    # Warm: the state database is already up to date; new bytes arrive, as they do between calls.
    for our_argv, _ in commands.values():
        timed(our_argv, ours_env)
    appended = 0
    for run in range(args.runs):
        appended = append_mib(tree, seed=run)
        warm_page_cache(tree)
        saved = args.runs
        args.runs = 1
        measure(f"warm{run}", fresh_db=False)
        args.runs = saved
    for report in commands:
        rows = [results["phases"].pop(f"warm{r} {report}") for r in range(args.runs)]
        merged = {k: statistics.median(r[k] for r in rows) for k in rows[0] if isinstance(rows[0][k], float)}
        merged["token_totals_equal"] = all(r["token_totals_equal"] for r in rows)
        merged["cost_equal"] = rows[-1]["cost_equal"]
        results["phases"][f"warm {report}"] = merged
    results["appended_bytes_per_warm_run"] = appended
    # The MCP server's steady state: imports already paid, state database up to date, 1 MiB new.
    from claude_health.tools.usage import service
    from claude_health.tools.usage.timezones import resolve_tz

    in_process: dict[str, list[float]] = {"daily": [], "blocks": []}
    for run in range(args.runs):
        append_mib(tree, seed=100 + run)
        warm_page_cache(tree)
        for report in ("daily", "blocks"):
            started = time.perf_counter()
            session = service.open_session(ours_env, home)
            if report == "daily":
                service.daily(session, resolve_tz("UTC"))
            else:
                service.blocks(session)
            session.close()
            in_process[report].append(time.perf_counter() - started)
            if report == "daily":  # new bytes again, so the blocks call has something to read too
                append_mib(tree, seed=200 + run)
    warm_ccusage = {r: results["phases"][f"warm {r}"]["ccusage_wall_s"] for r in commands}
    floor = statistics.median(
        timed([sys.executable, "-c", FLOOR, str(db)], base_env)[0] for _ in range(max(args.runs, 5))
    )
    results["python_floor"] = {
        "what": "new CPython process: import sqlite3, stat every transcript, sum quarter-hour totals",
        "wall_s": floor,
        "ratio_vs_ccusage_warm_daily": floor / warm_ccusage["daily"],
    }
    results["in_process_warm"] = {
        r: {"wall_s": statistics.median(v), "ratio_vs_ccusage": statistics.median(v) / warm_ccusage[r]}
        for r, v in in_process.items()
    }
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_average_1m_at_end": os.getloadavg()[0],
    }

    print(
        f"\nclaude-health usage vs ccusage 20.0.24, {args.size} MiB tree, medians of {args.runs} runs, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'phase':<14} {'ours s':>8} {'ccusage s':>10} {'ratio':>7} {'ours MiB':>9} {'ccusage MiB':>12} "
        f"{'ratio':>6} {'totals equal':>13}"
    )
    for name, row in results["phases"].items():
        print(
            f"{name:<14} {row['ours_wall_s']:>8.3f} {row['ccusage_wall_s']:>10.3f} {row['wall_ratio']:>7.3f} "
            f"{row['ours_peak_rss_mib']:>9.1f} {row['ccusage_peak_rss_mib']:>12.1f} {row['rss_ratio']:>6.2f} "
            f"{row['token_totals_equal']!s:>13}"
        )
    for report, row in results["in_process_warm"].items():
        print(
            f"{'warm ' + report + ' (in-process, MCP server)':<40} {row['wall_s']:.3f} s = "
            f"{row['ratio_vs_ccusage'] * 100:.1f}% of ccusage's warm wall time"
        )
    print(
        f"{'python floor (no parse, no report)':<40} {floor:.3f} s = "
        f"{floor / warm_ccusage['daily'] * 100:.1f}% of ccusage's warm daily"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    name = RESULTS if args.size == 200 else RESULTS.with_name(f"usage_scan_{args.size}m.json")
    name.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
