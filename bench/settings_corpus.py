"""Corpus check: claude-health's verdict vs the real Claude Code on real-world config files.

    python bench/settings_corpus.py [--corpus DIR] [--claude PATH] [--limit N]

For every file in ``../shared/reference/real-settings`` (settings, settings.local, managed-settings
and .mcp.json files from public repositories) a throw-away project is built with the file in
place, then:

- ``claude doctor`` (offline, scratch HOME, untrusted folder) says whether a settings file loaded
  ("Ignoring N permissions.allow entries from <file>" appears only for loaded files; a canary allow
  rule is appended so every file has one), which permission rules it skipped, which hook events
  it ignored, and which MCP servers it skipped;
- claude-health validates the same tree.

Prints agreement counts and every disagreement; writes bench/results/settings_corpus.json.
Managed files are checked as project settings (Claude Code reads managed settings only from the
OS directory, which a benchmark must not write to).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "settings_corpus.json"
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "reference" / "real-settings"
CANARY = "Bash(echo claude-health-canary)"


def claude_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "NO_COLOR": "1",
    }


def run_claude(claude: str, project: Path, home: Path) -> str:
    proc = subprocess.run(
        [claude, "doctor"],
        cwd=project,
        env=claude_env(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.stdout + proc.stderr


def with_canary(text: str) -> str:
    """Append the canary allow rule without reformatting a file that does not parse."""
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    perms = data.get("permissions")
    if perms is None:
        data["permissions"] = perms = {}
    if isinstance(perms, dict):
        allow = perms.get("allow")
        if allow is None:
            perms["allow"] = [CANARY]
        elif isinstance(allow, list):
            allow.append(CANARY)
    return json.dumps(data, indent=2)


def check_one(path: Path, claude: str) -> dict[str, Any]:
    from claude_health.tools.paths import Workspace
    from claude_health.tools.settings.validate import validate_workspace

    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        root = Path(tmp)
        home, project, managed = root / "home", root / "project", root / "managed"
        for d in (home, project / ".claude", managed):
            d.mkdir(parents=True)
        is_mcp = path.name.endswith(".mcp.json")
        text = path.read_text(encoding="utf-8", errors="replace")
        target = project / (".mcp.json" if is_mcp else ".claude/settings.json")
        target.write_text(text if is_mcp else with_canary(text))
        out = run_claude(claude, project, home)
        ws = Workspace.discover(
            project=project,
            env={
                "HOME": str(home),
                "PATH": os.environ.get("PATH", ""),
                "CLAUDE_HEALTH_MANAGED_DIR": str(managed),
            },
            platform="linux",
        )
        v = validate_workspace(ws)
        row: dict[str, Any] = {"file": path.name, "kind": "mcp" if is_mcp else "settings"}
        if is_mcp:
            cc_skipped = set(re.findall(r"mcpServers\.([^:\s]+): Skipped", out))
            ours_skipped = {s.name for s in v.servers if not s.valid}
            row.update(cc=sorted(cc_skipped), ours=sorted(ours_skipped), agree=cc_skipped == ours_skipped)
            return row
        cc_loaded = bool(re.search(r"Ignoring \d+ permissions\.allow entr\w+ from [^\n]*settings\.json", out))
        ours_loaded = next(r.loaded for r in v.files if r.file.path == target)
        cc_rules = {
            s.replace('\\"', '"')
            for s in re.findall(r'Invalid permission rule "((?:[^"\\]|\\.)*)" was skipped', out)
        }
        ours_rules = {
            m.group(1)
            for f in v.findings
            if f.code == "S101" and (m := re.search(r'rule "(.*)" is skipped', f.message))
        }
        cc_events = set(re.findall(r'Unknown hook event "([^"]+)" was ignored', out))
        ours_events = {
            m.group(1)
            for f in v.findings
            if f.code == "S202" and (m := re.search(r'event "([^"]+)"', f.message))
        }
        agree = cc_loaded == ours_loaded and (
            not cc_loaded or (cc_rules == ours_rules and cc_events == ours_events)
        )
        row.update(
            cc_loaded=cc_loaded,
            ours_loaded=ours_loaded,
            cc_skipped_rules=sorted(cc_rules),
            ours_skipped_rules=sorted(ours_rules),
            cc_ignored_events=sorted(cc_events),
            ours_ignored_events=sorted(ours_events),
            ours_errors=[f.message for f in v.findings if f.severity.value == "error"][:3],
            agree=agree,
        )
        return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--claude", default=os.environ.get("CLAUDE_HEALTH_CLAUDE_BIN") or shutil.which("claude")
    )
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    if not args.claude:
        print("claude not found: pass --claude PATH or set CLAUDE_HEALTH_CLAUDE_BIN", file=sys.stderr)
        return 2
    files = sorted(p for p in args.corpus.iterdir() if p.suffix == ".json")
    if args.limit:
        files = files[: args.limit]
    started = time.perf_counter()
    rows = [check_one(p, args.claude) for p in files]
    elapsed = time.perf_counter() - started
    agree = sum(r["agree"] for r in rows)
    settings_rows = [r for r in rows if r["kind"] == "settings"]
    print(f"{'kind':<10} {'files':>6} {'agree':>6}")
    for kind in ("settings", "mcp"):
        subset = [r for r in rows if r["kind"] == kind]
        print(f"{kind:<10} {len(subset):>6} {sum(r['agree'] for r in subset):>6}")
    rejected = sum(1 for r in settings_rows if not r["cc_loaded"])
    print(f"total      {len(rows):>6} {agree:>6}   (Claude Code rejected {rejected} settings files)")
    for r in rows:
        if not r["agree"]:
            print("DISAGREE", json.dumps(r)[:400])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"files": len(rows), "agree": agree, "seconds": round(elapsed, 1), "rows": rows}, indent=2)
        + "\n"
    )
    print(f"results: {RESULTS}")
    return 0 if agree == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
