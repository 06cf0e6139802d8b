"""Benchmark: ``claude-health statusline`` on every refresh vs ``ccusage statusline``.

    python bench/usage_statusline.py [--runs 30] [--ccusage PATH]

Pipes a real-shaped Claude Code status line payload (with rate_limits) into each command and
reports median wall time and peak RSS; writes bench/results/usage_statusline.json. Claude Code
runs the status line command on every refresh, so the budget is "well under 50 ms".
Variants: the full CLI (``claude-health statusline``, which builds every subcommand's parser)
and the import-light entry point (``python -m claude_health.server.commands.statusline``).
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
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "usage_statusline.json"


def payload(transcript: Path) -> bytes:
    now = int(time.time())
    return json.dumps(
        {
            "hook_event_name": "Status",
            "session_id": "1af7fc5e-8455-4414-9ccd-011d40f70b2a",
            "transcript_path": str(transcript),
            "cwd": str(transcript.parent),
            "model": {"id": "claude-opus-4-6", "display_name": "Opus 4.6"},
            "workspace": {"current_dir": str(transcript.parent), "project_dir": str(transcript.parent)},
            "version": "2.1.90",
            "cost": {"total_cost_usd": 1.23, "total_duration_ms": 45000},
            "context_window": {"context_window_size": 200000, "used_percentage": 26},
            "rate_limits": {
                "five_hour": {"used_percentage": 42, "resets_at": now + 7000},
                "seven_day": {"used_percentage": 36, "resets_at": now + 300000},
            },
        }
    ).encode()


def run(argv: list[str], data: bytes, env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    assert proc.stdin is not None
    proc.stdin.write(data)
    proc.stdin.close()
    _, _status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, int(usage.ru_maxrss)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--ccusage", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="statusline-bench-"))
    claude = work / "claude"
    transcript = claude / "projects" / "-home-user-p" / "1af7fc5e-8455-4414-9ccd-011d40f70b2a.jsonl"
    transcript.parent.mkdir(parents=True)
    transcript.write_text("")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work / "home"),
        "CLAUDE_CONFIG_DIR": str(claude),
        "CLAUDE_HEALTH_STATE_DB": str(work / "state.db"),
    }
    data = payload(transcript)
    cli = str(Path(sys.executable).with_name("claude-health"))
    variants = {
        "python -m ...commands.statusline": [
            sys.executable,
            "-m",
            "claude_health.server.commands.statusline",
        ],
        "claude-health statusline": [cli, "statusline"],
        "python -c pass (interpreter floor)": [sys.executable, "-c", "pass"],
    }
    ccusage = args.ccusage or os.environ.get("CLAUDE_HEALTH_CCUSAGE_BIN") or shutil.which("ccusage")
    if ccusage:
        variants["ccusage statusline --offline"] = [ccusage, "statusline", "--offline"]
    results: dict[str, dict[str, float]] = {}
    for name, argv in variants.items():
        run(argv, data, env)  # warm-up: page cache, state database created
        samples = [run(argv, data, env) for _ in range(args.runs)]
        results[name] = {
            "median_ms": statistics.median(s[0] for s in samples) * 1000,
            "p90_ms": sorted(s[0] for s in samples)[int(len(samples) * 0.9) - 1] * 1000,
            "peak_rss_mib": statistics.median(s[1] for s in samples) / 1024,
        }
    peer = results.get("ccusage statusline --offline")
    print(f"\nstatus line, {args.runs} runs each (median)\n")
    print(f"{'command':<38} {'median ms':>10} {'p90 ms':>8} {'RSS MiB':>8} {'vs ccusage':>11}")
    for name, row in results.items():
        ratio = f"{row['median_ms'] / peer['median_ms']:.2f}" if peer else "n/a"
        print(
            f"{name:<38} {row['median_ms']:>10.1f} {row['p90_ms']:>8.1f} "
            f"{row['peak_rss_mib']:>8.1f} {ratio:>11}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs")
    RESULTS.write_text(
        json.dumps({"runs": args.runs, "load_average_1m": load, "results": results}, indent=2) + "\n"
    )
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
