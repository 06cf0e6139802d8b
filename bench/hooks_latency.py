"""Benchmark: the guard's hooks as Claude Code runs them, beside the bare interpreter start.

    python bench/hooks_latency.py [--runs 40]

Pipes real-shaped hook input (Claude Code 2.1.332's fields) into ``claude-health hook EVENT`` in
a throw-away HOME with a Max login, project settings and a status line snapshot, and reports the
median and p90 wall time of each; writes bench/results/hooks_latency.json. Target: at most 100 ms
median for SessionStart and UserPromptSubmit (they run before every session and every prompt).
Variants run round-robin, so a load spike on a shared machine hits them all alike.

- SessionStart, nothing changed: the usual start (the cached verdict, its inputs re-checked);
- SessionStart, warning: the same with an API key overriding the plan (the warning is printed);
- SessionStart, inputs changed: who pays and what the settings lose decided again (auth route,
  settings), which happens after a new variable or a settings edit; the key scan's part is the
  cached one (its own inputs did not change);
- SessionStart, project file changed: the same plus the key scan of a small project, which happens
  after an edit to a file it reads (.env, committed config), a commit, or an hour;
- UserPromptSubmit: the official snapshot read, thresholds checked, nothing to say.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "hooks_latency.json"


def make_project(project: Path) -> None:
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "settings.json").write_text(
        json.dumps({"permissions": {"deny": ["Bash(rm *)", "Read(./.env)"], "ask": ["Bash(git push *)"]}})
    )
    for i in range(40):
        (project / f"module_{i}.py").write_text("def f():\n    return 1\n" * 20)


def setup(work: Path) -> dict[str, str]:
    home = work / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / ".credentials.json").write_text(
        json.dumps(
            {
                "claudeAiOauth": {
                    "accessToken": "bench-" + secrets.token_hex(20),
                    "scopes": ["user:inference"],
                    "subscriptionType": "max",
                    "expiresAt": int((time.time() + 86400) * 1000),
                }
            }
        )
    )
    (home / ".claude" / "settings.json").write_text(
        json.dumps({"model": "opus", "permissions": {"allow": []}})
    )
    (home / ".claude.json").write_text(json.dumps({"numStartups": 3}))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    state = home / ".cache" / "claude-health"
    state.mkdir(parents=True)
    from claude_health.tools.usage.snapshot import Snapshot, WindowUsage, open_db, store

    conn = open_db(str(state / "statusline.db"))
    now = time.time()
    store(
        conn,
        Snapshot(now, "s", "Opus", WindowUsage(42.0, int(now + 7000)), WindowUsage(30.0, int(now + 300000))),
    )
    conn.close()
    return env


def run(argv: list[str], data: bytes, env: dict[str, str]) -> tuple[float, float]:
    """Wall time, and the CPU time (user + system) the hook's process used: the CPU time barely
    moves with the machine's load, so it tells a real difference between variants from a spike."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        argv, input=data, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hooks-bench-"))
    env = setup(work)
    cli = str(Path(sys.executable).with_name("claude-health"))
    # One project per SessionStart variant: each project keeps its own cached verdict, as a user's
    # projects do (alternating environments in one project would invalidate it every time).
    projects = {name: work / name for name in ("healthy", "warning", "changing", "scanning")}
    for project in projects.values():
        make_project(project)

    def payload(project: Path, event: str, **extra: str) -> bytes:
        common = {"session_id": "bench", "cwd": str(project), "transcript_path": str(work / "t.jsonl")}
        return json.dumps({**common, "hook_event_name": event, **extra}).encode()

    def in_project(name: str, **extra: str) -> dict[str, str]:
        return {**env, "CLAUDE_PROJECT_DIR": str(projects[name]), **extra}

    start = {name: payload(p, "SessionStart", source="startup") for name, p in projects.items()}
    prompt = payload(projects["healthy"], "UserPromptSubmit", prompt="go on")
    key = "bench-not-a-key-" + secrets.token_hex(16)
    counter = iter(range(10**9))

    def changed_env() -> dict[str, str]:
        # Any variable the verdict depends on forces a recomputation (a new base URL here).
        return in_project("changing", ANTHROPIC_BASE_URL=f"http://127.0.0.1:{next(counter)}")

    def changed_file() -> dict[str, str]:
        # A file the key scan reads changed (the project's .env): the scan runs again too.
        (projects["scanning"] / ".env").write_text(f"# edit {next(counter)}\n")
        return in_project("scanning")

    variants: dict[str, tuple[list[str], bytes, Callable[[], dict[str, str]]]] = {
        "python -c pass (interpreter floor)": ([sys.executable, "-c", "pass"], b"", lambda: env),
        "SessionStart, nothing changed": (
            [cli, "hook", "SessionStart"],
            start["healthy"],
            lambda: in_project("healthy"),
        ),
        "SessionStart, warning (API key over plan)": (
            [cli, "hook", "SessionStart"],
            start["warning"],
            lambda: in_project("warning", ANTHROPIC_API_KEY=key),
        ),
        "SessionStart, inputs changed (recomputed)": (
            [cli, "hook", "SessionStart"],
            start["changing"],
            changed_env,
        ),
        "SessionStart, project file changed (+ key scan)": (
            [cli, "hook", "SessionStart"],
            start["scanning"],
            changed_file,
        ),
        "UserPromptSubmit": ([cli, "hook", "UserPromptSubmit"], prompt, lambda: in_project("healthy")),
    }
    for argv, data, env_for in variants.values():  # warm-up: page cache, state files, cached verdicts
        run(argv, data, env_for())
    samples: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, (argv, data, env_for) in variants.items():
            wall, used = run(argv, data, env_for())
            samples[name].append(wall)
            cpu[name].append(used)
    results = {
        name: {
            "median_ms": statistics.median(values) * 1000,
            "p90_ms": sorted(values)[int(len(values) * 0.9) - 1] * 1000,
            "cpu_median_ms": statistics.median(cpu[name]) * 1000,
        }
        for name, values in samples.items()
    }
    conn = sqlite3.connect(work / "home" / ".cache" / "claude-health" / "guard.db")
    failures = conn.execute("SELECT COUNT(*) FROM guard_runs WHERE ok = 0").fetchone()[0]
    conn.close()
    floor = results["python -c pass (interpreter floor)"]["median_ms"]
    print(f"\nhooks, {args.runs} runs each, round-robin\n")
    print(f"{'command':<48} {'median ms':>10} {'p90 ms':>8} {'over floor':>11} {'CPU ms':>7}")
    for name, row in results.items():
        print(
            f"{name:<48} {row['median_ms']:>10.1f} {row['p90_ms']:>8.1f} "
            f"{row['median_ms'] - floor:>+11.1f} {row['cpu_median_ms']:>7.1f}"
        )
    load = os.getloadavg()[0]
    print(
        f"load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs; failed hook runs: {failures}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"runs": args.runs, "load_average_1m": load, "failed_hook_runs": failures, "results": results},
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
