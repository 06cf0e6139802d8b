"""Benchmark: key scanning of a >= 100 MB source tree, claude-health vs detect-secrets vs ripgrep.

    python bench/keys_scan.py [--size-mb 100] [--runs 5] [--ds-runs 1] [--skip-ds] [--keep]

The tree is generated at run time into a temp dir: copies of this interpreter's standard
library ``*.py`` files, with fake keys (random bodies, built here, never committed) planted
as lines in random files and in 16 config-file contexts (.env, settings, .mcp.json, YAML, CI,
Dockerfile, notebook, markdown URL, JS template, Terraform, CSV, ...), plus placeholder and
look-alike decoys that must not be reported.

claude-health runs with a home like a Claude Code user's (settings.json with an env block and
hooks, ~/.claude.json, ~/.bashrc, about 8 MB of session transcripts and bash and zsh histories),
so its environment, settings, transcript and shell-history checks do their real work; keys are
planted in transcript lines (a prompt, a tool result) and history lines (zsh extended history
with metafied bytes, bash with timestamps) and must be found too. Transcripts and histories are
read incrementally: the first run reads them, later runs only what was appended (nothing, here),
as for a user who runs the check again. ``claude-health --no-transcripts --no-shell-history`` is
the tree-only run, the same work as ripgrep's.

Every tool scans the same tree, every file (no ignore rules: the tree is not a git repository,
ripgrep gets --no-ignore --hidden, detect-secrets gets --all-files):

- ``claude-health keys --json`` (the installed console script: interpreter start included; run
  the benchmark with a regular, not editable, install, as users have);
- ``rg`` with the same regex (Rust regex has no look-around, so the boundaries are classes);
- ``detect-secrets scan --all-files`` 1.5.0 from a separate venv (``--ds-python``, default
  /tmp/bench-venv/bin/detect-secrets). It has no Anthropic rule: a planted key counts as found
  when it reports anything on the key's line.

Two comparisons, measured side by side: the default run (tree, transcripts and histories)
against ripgrep over the tree plus the same home files (``ripgrep, tree + home``), and the
tree-only run against ripgrep over the tree. Wall time is the median of ``--runs`` warm runs,
taken round-robin (each tool once per round, so load that comes and goes hits every tool
alike). detect-secrets takes minutes (about 280 s here), so ``--ds-runs`` defaults to 1 and
``--skip-ds`` leaves it out of development runs; the default run includes it. Peak memory: the
largest process (GNU time's %M) and the process tree (sum of RSS over the tree, sampled every
20 ms in one more run of each tool: timed runs are never sampled, see measure()). Results go to
bench/results/keys_scan.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "keys_scan.json"
ALPHABET = string.ascii_letters + string.digits + "_-"
PREFIX = "sk-ant-"
KIND_PREFIX = {
    "api_key": "api03",
    "admin_key": "admin01",
    "oauth_access_token": "oat01",
    "oauth_refresh_token": "ort01",
}

# The rule claude-health uses, in ripgrep's dialect (no look-around: boundaries as classes).
RG_PATTERN = (
    r"(?:^|[^A-Za-z0-9_-])(sk-ant-(?:(?:api03|admin01)-[A-Za-z0-9_-]{93}AA|(?:oat01|ort01)-[A-Za-z0-9_-]{95}))"
    r"(?:[^A-Za-z0-9_-]|$)"
)
KEY_RE = re.compile(r"sk-ant-(?:(?:api03|admin01)-[A-Za-z0-9_-]{93}AA|(?:oat01|ort01)-[A-Za-z0-9_-]{95})")

CONTEXTS = [
    (".env", "ANTHROPIC_API_KEY={k}\n"),
    (".claude/settings.json", '{{"env": {{"ANTHROPIC_API_KEY": "{k}"}}}}\n'),
    (".claude/settings.local.json", '{{"env": {{"ANTHROPIC_AUTH_TOKEN": "{k}"}}}}\n'),
    (".mcp.json", '{{"mcpServers": {{"a": {{"command": "x", "env": {{"KEY": "{k}"}}}}}}}}\n'),
    (
        "mcp-http.json",
        '{{"mcpServers": {{"a": {{"url": "https://x/mcp", "headers": {{"x-api-key": "{k}"}}}}}}}}\n',
    ),
    ("config.yaml", "anthropic:\n  api_key: {k}\n"),
    (".github/workflows/ci.yml", "env:\n  ANTHROPIC_API_KEY: {k}\n"),
    ("dot-bashrc", "export ANTHROPIC_API_KEY={k}\n"),
    ("Dockerfile", "FROM python:3.11\nENV ANTHROPIC_API_KEY={k}\n"),
    ("analysis.ipynb", '{{"cells": [{{"source": ["key = \\"{k}\\"\\n"]}}]}}\n'),
    ("app.log", "2026-01-01 DEBUG sending x-api-key={k} to upstream\n"),
    ("README.md", "See https://example.com/v1?key={k}&x=1 for details\n"),
    ("client.js", "const key = `{k}`;\n"),
    ("main.tf", 'variable "key" {{ default = "{k}" }}\n'),
    ("keys.csv", "name,{k},2026\n"),
    ("credentials.json", '{{"claudeAiOauth": {{"accessToken": "{k}"}}}}\n'),
]
DECOYS = [
    PREFIX + "api03-" + "x" * 93 + "AA",
    PREFIX + "api03-...",
    PREFIX + "admin01-" + ("abc123XYZ-" * 10)[:93] + "AA",
    "ANTHROPIC_API_KEY=<your key>",
]


def fake_key(rng: random.Random, kind: str) -> str:
    while True:
        body = "".join(rng.choice(ALPHABET) for _ in range(93))
        if len(set(body)) >= 35:
            return f"{PREFIX}{KIND_PREFIX[kind]}-{body}AA"


@dataclass
class Tree:
    root: Path
    files: int
    bytes: int
    planted: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (rel path, line)


def stdlib_sources() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts and p.is_file())


def generate(root: Path, size_mb: int, n_keys: int, seed: int) -> Tree:
    rng = random.Random(seed)
    sources = stdlib_sources()
    target = size_mb * 1024 * 1024
    tree = Tree(root, 0, 0)
    copy = 0
    written: list[Path] = []
    while tree.bytes < target:
        for src in sources:
            if tree.bytes >= target:
                break
            rel = Path(f"copy{copy}") / src.relative_to(src.parents[len(src.parents) - 1])
            dest = root / Path(*rel.parts[:1], *rel.parts[-4:])
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                data = src.read_bytes()
            except OSError:
                continue
            dest.write_bytes(data)
            written.append(dest)
            tree.bytes += len(data)
            tree.files += 1
        copy += 1
    kinds = list(KIND_PREFIX)
    # Keys as lines inside source files, in several quoting styles.
    styles = ["KEY = '{k}'", 'token = "{k}"', "# token: {k}", "    headers={{'x-api-key': '{k}'}}", "{k}"]
    n_inline = n_keys - len(CONTEXTS) * 4
    for i in range(n_inline):
        path = rng.choice(written)
        lines = path.read_text("utf-8", "surrogateescape").split("\n")
        key = fake_key(rng, kinds[i % 4])
        at = rng.randrange(len(lines) + 1)
        lines.insert(at, rng.choice(styles).format(k=key))
        # Earlier planted keys below this line in the same file move down by one.
        rel = path.relative_to(root).as_posix()
        for k, (r, ln) in list(tree.planted.items()):
            if r == rel and ln >= at + 1:
                tree.planted[k] = (r, ln + 1)
        path.write_text("\n".join(lines), "utf-8", "surrogateescape")
        tree.planted[key] = (rel, at + 1)
        tree.bytes += len(key) + 10
    for j in range(4):
        for name, template in CONTEXTS:
            key = fake_key(rng, kinds[(j + len(name)) % 4])
            dest = root / f"configs{j}" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            text = template.format(k=key)
            dest.write_text(text)
            line = text[: text.index(key)].count("\n") + 1
            tree.planted[key] = (dest.relative_to(root).as_posix(), line)
            tree.files += 1
            tree.bytes += len(text)
    decoy_file = root / "decoys.txt"
    decoy_file.write_text("\n".join(DECOYS) + "\n")
    tree.files += 1
    return tree


# -- measuring ----------------------------------------------------------------------------------


def _tree_rss_kb(root_pid: int) -> int:
    """Sum of VmRSS over root_pid and its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for proc_dir in Path("/proc").iterdir():
        entry = proc_dir.name
        if not entry.isdigit():
            continue
        try:
            with (proc_dir / "status").open() as fh:
                ppid = kb = 0
                for line in fh:
                    if line.startswith("PPid:"):
                        ppid = int(line.split()[1])
                    elif line.startswith("VmRSS:"):
                        kb = int(line.split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = kb
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


@dataclass
class Run:
    wall_s: float
    max_rss_mb: float  # largest single process
    tree_rss_mb: float  # whole process tree, sampled
    stdout: bytes


def measure(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, *, sample_rss: bool = False
) -> Run:
    """Wall time, the largest process's max RSS (GNU time %M) and, with ``sample_rss``, the tree's
    RSS sampled every 20 ms (0 without). The sampler reads every /proc entry in a thread of this
    process: on two cores it competes with the run it measures, so timed runs never sample and
    the tree's memory comes from one more run of each tool."""
    out_path = Path(tempfile.mkstemp(prefix="bench-out-")[1])
    rss_path = Path(tempfile.mkstemp(prefix="bench-rss-")[1])
    with out_path.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", str(rss_path), *argv],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss_kb(proc.pid))
                stop.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        if sample_rss:
            sampler.start()
        proc.wait()
        wall = time.perf_counter() - started
        stop.set()
        if sample_rss:
            sampler.join()
    data = out_path.read_bytes()
    out_path.unlink()
    max_rss_kb = int(rss_path.read_text().split()[-1])
    rss_path.unlink()
    return Run(wall, max_rss_kb / 1024, peak / 1024, data)


IN_PROCESS = """
import json, resource, sys, time
from claude_health.tools.keys.report import ScanOptions, scan_keys
from claude_health.tools.paths import Workspace
ws = Workspace.discover(sys.argv[1])
walls, report = [], None
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    report = scan_keys(ws, ScanOptions(workers=1))
    walls.append(time.perf_counter() - started)
print(json.dumps({"walls": walls, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "payload": {"findings": [f.to_json() for f in report.findings]}}))
"""


SESSION = "0b9e3c1f-4d2a-4b8e-9f6a-7c5d3e2b1a09"


def _transcript_line(kind: str, text: str, at: int) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(at))
    record = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/user/app",
        "sessionId": SESSION,
        "version": "2.1.90",
        "type": kind,
        "message": {"role": kind, "content": text}
        if kind == "user"
        else {
            "id": f"msg_{at}",
            "model": "claude-sonnet-4-5-20250929",
            "role": "assistant",
            "content": [{"type": "text", "text": text}],
            "usage": {"input_tokens": 3, "output_tokens": 40, "cache_read_input_tokens": 9000},
        },
        "requestId": f"req_{at}",
        "timestamp": stamp,
    }
    return json.dumps(record) + "\n"


def plant_home(home: Path, rng: random.Random) -> dict[str, str]:
    """Transcripts (about 8 MB) and shell histories with keys in them; returns key -> where."""
    planted: dict[str, str] = {}
    kinds = list(KIND_PREFIX)
    project = home / ".claude" / "projects" / "-home-user-app"
    project.mkdir(parents=True)
    now = int(time.time()) - 86_400
    filler = "".join(rng.choice(string.ascii_letters + " .,\n") for _ in range(4000))
    for s in range(8):
        lines = []
        for i in range(250):
            at = now + s * 3600 + i * 10
            lines.append(_transcript_line("user", filler, at))
            lines.append(_transcript_line("assistant", filler[:2000], at + 5))
        for j in range(2):  # a pasted key, and one printed by a command the model ran
            key = fake_key(rng, kinds[(s + j) % 4])
            lines.insert(
                rng.randrange(len(lines)), _transcript_line("user", f"use {key} please", now + s * 3600)
            )
            planted[key] = f"transcript {s}"
        (project / f"{SESSION[:-2]}{s:02d}.jsonl").write_text("".join(lines))
    zsh = b""
    for i in range(400):
        zsh += f": {now + i}:0;git log --oneline -n {i}\n".encode()
    zkey = fake_key(rng, "oauth_access_token")
    zsh += (
        f": {now + 500}:0;echo ".encode() + bytes([0x83, 0x92 ^ 0x20]) + f" && export TOKEN={zkey}\n".encode()
    )
    (home / ".zsh_history").write_bytes(zsh)
    planted[zkey] = "zsh history"
    bkey = fake_key(rng, "api_key")
    bash = (
        "".join(f"#{now + i}\nls -la /tmp/{i}\n" for i in range(300))
        + f"#{now + 400}\ncurl -H 'x-api-key: {bkey}'\n"
    )
    (home / ".bash_history").write_text(bash)
    planted[bkey] = "bash history"
    return planted


def home_files(home: Path) -> list[Path]:
    """What claude-health reads in the home besides the tree (for ripgrep's side of the default run)."""
    names = [".claude/projects", ".claude/settings.json", ".claude.json", ".bashrc"]
    names += [".zsh_history", ".bash_history"]
    return [home / n for n in names if (home / n).exists()]


def make_home(home: Path) -> None:
    """A home like a Claude Code user's, so the settings and environment checks do real work."""
    claude = home / ".claude"
    claude.mkdir(parents=True)
    (claude / "settings.json").write_text(
        json.dumps(
            {
                "model": "sonnet",
                "permissions": {
                    "allow": ["Bash(git status:*)", "Read(~/notes/**)"],
                    "deny": ["Read(./.env)"],
                },
                "env": {"BASH_DEFAULT_TIMEOUT_MS": "120000"},
                "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]},
            },
            indent=2,
        )
    )
    (home / ".claude.json").write_text(
        json.dumps({"numStartups": 42, "hasCompletedOnboarding": True, "projects": {"/src/app": {}}})
    )
    (home / ".bashrc").write_text("export PATH=$HOME/.local/bin:$PATH\nalias ll='ls -l'\n")


def in_process(root: Path, runs: int, env: dict[str, str]) -> tuple[list[float], float, bytes]:
    """scan_keys timed inside one warm interpreter: what an MCP tool call costs (no start-up)."""
    out = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(root), str(runs)], env=env, capture_output=True, check=True
    ).stdout
    data = json.loads(out)
    return data["walls"], data["maxrss_kb"] / 1024, json.dumps(data["payload"]).encode()


def found_by_claude_health(stdout: bytes, tree: Tree) -> tuple[int, int]:
    """(planted keys found, findings that match no planted key) by path and line, in the tree."""
    payload = json.loads(stdout)
    located = {
        (Path(f["path"]).relative_to(tree.root).as_posix(), f["line"])
        for f in payload["findings"]
        if f.get("kind") and f.get("path") and f.get("line") and Path(f["path"]).is_relative_to(tree.root)
    }
    planted = set(tree.planted.values())
    return len(planted & located), len(located - planted)


def found_in_home(stdout: bytes, planted: dict[str, str]) -> tuple[int, int]:
    """(keys planted in transcripts and histories found, K015/K016 findings of no planted key)."""
    from claude_health.tools.redact import fingerprint

    wanted = {fingerprint(k) for k in planted}
    seen = {f["fingerprint"] for f in json.loads(stdout)["findings"] if f["code"] in {"K015", "K016"}}
    return len(wanted & seen), len(seen - wanted)


def found_by_rg(stdout: bytes, tree: Tree) -> tuple[int, int]:
    keys = set(KEY_RE.findall(stdout.decode("utf-8", "replace")))
    return len(keys & set(tree.planted)), len(keys - set(tree.planted))


def found_by_ds(stdout: bytes, tree: Tree) -> tuple[int, int, int]:
    """(planted keys with a finding on their line, findings total, findings on other lines)."""
    payload = json.loads(stdout)
    located = {(path, r["line_number"]) for path, results in payload["results"].items() for r in results}
    total = sum(len(r) for r in payload["results"].values())
    planted = set(tree.planted.values())
    return len(planted & located), total, len(located - planted)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ds-runs", type=int, default=1)
    parser.add_argument("--skip-ds", action="store_true")
    parser.add_argument("--ds", default="/tmp/bench-venv/bin/detect-secrets")
    parser.add_argument("--keep", action="store_true", help="keep the generated tree")
    args = parser.parse_args()

    cli = Path(sys.executable).with_name("claude-health")
    rg = shutil.which("rg")
    if not cli.exists():
        sys.exit(f"claude-health is not installed beside {sys.executable}")
    if rg is None:
        sys.exit("ripgrep (rg) is not installed: apt-get install ripgrep")
    workdir = Path(tempfile.mkdtemp(prefix="keys-bench-"))
    root = workdir / "tree"
    home = workdir / "home"
    root.mkdir()
    home.mkdir()
    make_home(home)
    home_keys = plant_home(home, random.Random(args.seed + 1))
    t0 = time.perf_counter()
    tree = generate(root, args.size_mb, args.keys, args.seed)
    print(
        f"tree: {tree.files:,} files, {tree.bytes / 1e6:.1f} MB, {len(tree.planted)} planted keys, "
        f"{len(DECOYS)} decoys (generated in {time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    tools: dict[str, dict[str, object]] = {}
    try:
        # Warm the page cache once so every tool reads from memory.
        subprocess.run(
            [rg, "-c", "--no-ignore", "--hidden", "-F", "sk-ant-", "."], cwd=root, capture_output=True
        )
        rg_argv = [rg, "--no-config", "-n", "--no-heading", "-o", "--hidden", "--no-ignore", "-e", RG_PATTERN]
        commands = {
            "claude-health": [str(cli), "keys", "--project", str(root), "--json"],
            "claude-health, tree only": [
                str(cli),
                "keys",
                "--project",
                str(root),
                "--json",
                "--no-transcripts",
                "--no-shell-history",
            ],
            "claude-health -j1": [str(cli), "keys", "--project", str(root), "--json", "--jobs", "1"],
            "ripgrep": [*rg_argv, "."],
            # The default run's peer: the tree plus every file of the home claude-health reads
            # (transcripts, histories, settings, ~/.claude.json, ~/.bashrc), not its state DB.
            "ripgrep, tree + home": [*rg_argv, ".", *(str(p) for p in home_files(home))],
        }
        # The first run reads the transcripts and histories (later runs only what was appended).
        first = measure(commands["claude-health"], root, env)
        first_run = {
            "wall_s": round(first.wall_s, 3),
            "home_found": found_in_home(first.stdout, home_keys)[0],
        }
        # Round-robin: every tool once per round, so load that comes and goes hits them alike.
        measured: dict[str, list[Run]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                measured[name].append(measure(argv, root, env))
        memory = {name: measure(argv, root, env, sample_rss=True) for name, argv in commands.items()}
        for name, runs in measured.items():
            if name.startswith("claude-health"):
                found, extra = found_by_claude_health(runs[-1].stdout, tree)
            else:
                found, extra = found_by_rg(runs[-1].stdout, tree)
            tools[name] = _summary(runs, found, extra, len(tree.planted), memory[name])
            if name.startswith("claude-health") and "tree only" not in name:
                home_found, home_extra = found_in_home(runs[-1].stdout, home_keys)
                tools[name]["home_keys_found"] = home_found
                tools[name]["home_keys_planted"] = len(home_keys)
                tools[name]["home_extra"] = home_extra
            if name == "ripgrep, tree + home":  # the home's keys are found, not extra
                in_home = set(KEY_RE.findall(runs[-1].stdout.decode("utf-8", "replace"))) & set(home_keys)
                tools[name]["home_keys_found"] = len(in_home)
                tools[name]["home_keys_planted"] = len(home_keys)
                tools[name]["extra"] = extra - len(in_home)
            if name == "claude-health":
                tools[name]["first_run"] = first_run
            print(f"{name}: {tools[name]}", flush=True)
        walls, rss, payload = in_process(root, args.runs, env)
        found, extra = found_by_claude_health(payload, tree)
        tools["claude-health (in-process)"] = {
            "runs": len(walls),
            "wall_s": [round(w, 3) for w in walls],
            "wall_s_median": round(statistics.median(walls), 3),
            "max_rss_mb": round(rss, 1),
            "tree_rss_mb": round(rss, 1),
            "found": found,
            "planted": len(tree.planted),
            "extra": extra,
        }
        print(f"claude-health (in-process): {tools['claude-health (in-process)']}", flush=True)
        if not args.skip_ds:
            ds = Path(args.ds)
            if not ds.exists():
                sys.exit(f"{ds} not found: pip install detect-secrets==1.5.0 into a separate venv")
            ds_argv = [str(ds), "scan", "--all-files", "."]
            runs = [measure(ds_argv, root, env) for _ in range(args.ds_runs)]
            found, total, other = found_by_ds(runs[-1].stdout, tree)
            ds_memory = measure(ds_argv, root, env, sample_rss=True)
            tools["detect-secrets"] = _summary(runs, found, other, len(tree.planted), ds_memory)
            tools["detect-secrets"]["findings_total"] = total
            print(f"detect-secrets: {tools['detect-secrets']}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"tree kept at {root}")

    ch = float(tools["claude-health"]["wall_s_median"])  # type: ignore[arg-type]
    ratios = {name: round(float(t["wall_s_median"]) / ch, 2) for name, t in tools.items()}  # type: ignore[arg-type]
    print()
    header = ("tool", "wall (median)", "runs", "max RSS", "tree RSS", "found", "extra", "time vs ch")
    print("{:<28}{:>15}{:>6}{:>10}{:>10}{:>10}{:>7}{:>12}".format(*header))
    for name, t in tools.items():
        print(
            f"{name:<28}{t['wall_s_median']:>13.3f} s{t['runs']:>6}{t['max_rss_mb']:>8.1f}MB"
            f"{t['tree_rss_mb']:>8.1f}MB{str(t['found']) + '/' + str(len(tree.planted)):>10}{t['extra']:>7}"
            f"{ratios[name]:>11.2f}x"
        )
    verdict = {
        "every_planted_key_found": tools["claude-health"]["found"] == len(tree.planted)
        and tools["claude-health"]["home_keys_found"] == len(home_keys),
        "no_decoy_or_stray_finding": tools["claude-health"]["extra"] == 0,
        # The default run (tree, transcripts, histories) against ripgrep over the same files.
        "cli_at_most_3x_ripgrep": ch <= 3 * float(tools["ripgrep, tree + home"]["wall_s_median"]),  # type: ignore[arg-type]
        "cli_tree_only_at_most_3x_ripgrep": float(tools["claude-health, tree only"]["wall_s_median"])  # type: ignore[arg-type]
        <= 3 * float(tools["ripgrep"]["wall_s_median"]),  # type: ignore[arg-type]
        "in_process_at_most_3x_ripgrep": float(tools["claude-health (in-process)"]["wall_s_median"])  # type: ignore[arg-type]
        <= 3 * float(tools["ripgrep, tree + home"]["wall_s_median"]),  # type: ignore[arg-type]
    }
    if "detect-secrets" in tools:
        verdict["at_least_20x_faster_than_detect_secrets"] = ratios["detect-secrets"] >= 20
    rg_tree = float(tools["ripgrep"]["wall_s_median"])  # type: ignore[arg-type]
    rg_home = float(tools["ripgrep, tree + home"]["wall_s_median"])  # type: ignore[arg-type]
    tree_only = float(tools["claude-health, tree only"]["wall_s_median"])  # type: ignore[arg-type]
    vs_ripgrep = {
        "default run / ripgrep over tree + home": round(ch / rg_home, 2),
        "tree only / ripgrep over the tree": round(tree_only / rg_tree, 2),
        "in-process (tree and home) / ripgrep over tree + home": round(
            float(tools["claude-health (in-process)"]["wall_s_median"]) / rg_home,  # type: ignore[arg-type]
            2,
        ),
    }
    for what, ratio in vs_ripgrep.items():
        print(f"{what}: {ratio:.2f}x")
    print("targets:", verdict)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "tree": {
                    "files": tree.files,
                    "bytes": tree.bytes,
                    "planted": len(tree.planted),
                    "decoys": len(DECOYS),
                },
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": sys.version.split()[0],
                    "load_average_1m_at_end": os.getloadavg()[0],
                },
                "home": {"planted_keys": len(home_keys), "where": sorted(set(home_keys.values()))},
                "tools": tools,
                "time_ratio_vs_claude_health": ratios,
                "time_vs_ripgrep": vs_ripgrep,
                "targets": verdict,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")
    return 0


def _summary(runs: list[Run], found: int, extra: int, planted: int, memory: Run) -> dict[str, object]:
    """Wall times of the timed runs; the tree's memory from the sampled run ``memory``."""
    return {
        "runs": len(runs),
        "wall_s": [round(r.wall_s, 3) for r in runs],
        "wall_s_median": round(statistics.median(r.wall_s for r in runs), 3),
        "max_rss_mb": round(max(r.max_rss_mb for r in [*runs, memory]), 1),
        "tree_rss_mb": round(memory.tree_rss_mb, 1),
        "found": found,
        "planted": planted,
        "extra": extra,
    }


if __name__ == "__main__":
    raise SystemExit(main())
