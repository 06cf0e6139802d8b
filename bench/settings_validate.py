"""Benchmark: full settings validation vs SchemaStore schema validation with ``jsonschema`` (Draft 7).

    python bench/settings_validate.py [--runs 50] [--schema PATH]

A realistic project is generated in a temp dir: user, project, local and managed settings plus
two managed-settings.d drop-ins, ~/.claude.json with user and local MCP servers, a project
.mcp.json; 200 permission rules spread over the scopes, hooks on several events, 10 MCP servers.

Measured (median of ``--runs`` warm runs each, interleaved round by round so that background
load affects every contender alike):

- ``in-process``: ``validate_workspace`` (discovery, reading, position-aware parsing, every rule
  including permissions/hooks/MCP/env and the cross-file checks) + ``effective_settings``;
- ``mcp stdio``: one ``validate_settings`` tool call over a live stdio session to
  ``claude-health serve`` (client round trip included, server start excluded);
- ``jsonschema``: reading + ``json.loads`` + ``Draft7Validator.iter_errors`` of the six settings
  files against the SchemaStore schema (validator built once, outside the timing: the peer's best
  case). The schema covers settings files only, so ours does strictly more work.

Needs ``pip install jsonschema`` (bench-only). The schema defaults to ../shared/reference.
Results go to bench/results/settings_validate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "settings_validate.json"
DEFAULT_SCHEMA = HERE.parent.parent / "shared" / "reference" / "claude-code-settings.schema.json"

TOOLS = ["Bash", "Read", "Edit", "WebFetch", "Grep"]


def _rules(n: int, offset: int) -> list[str]:
    out = []
    for i in range(n):
        kind = TOOLS[(i + offset) % len(TOOLS)]
        if kind == "Bash":
            out.append(f"Bash(npm run task{offset}-{i} *)")
        elif kind == "WebFetch":
            out.append(f"WebFetch(domain:host{offset}-{i}.example.com)")
        elif kind == "Grep":
            out.append(f"mcp__server{i % 10}__tool{offset}_{i}")
        else:
            out.append(f"{kind}(src/pkg{offset}/mod{i}/**)")
    return out


def _hooks(tag: str) -> dict[str, Any]:
    cmd = {"type": "command", "command": f"./scripts/{tag}.sh", "timeout": 30}
    return {
        "PreToolUse": [{"matcher": "Bash", "hooks": [cmd]}, {"matcher": "Edit|Write", "hooks": [cmd]}],
        "PostToolUse": [{"matcher": "mcp__server1__.*", "hooks": [cmd]}],
        "SessionStart": [{"matcher": "startup", "hooks": [cmd]}],
        "Stop": [{"hooks": [{"type": "prompt", "prompt": "Did the task finish? $ARGUMENTS"}]}],
    }


def build_project(root: Path) -> dict[str, str]:
    home, project, managed = root / "home", root / "project", root / "managed"
    (project / ".git").mkdir(parents=True)

    def write(path: Path, data: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))

    write(
        home / ".claude" / "settings.json",
        {
            "$schema": "https://json.schemastore.org/claude-code-settings.json",
            "model": "opus",
            "permissions": {"allow": _rules(60, 1), "deny": _rules(10, 2)},
            "hooks": _hooks("user"),
            "env": {"DISABLE_TELEMETRY": "1", "BASH_DEFAULT_TIMEOUT_MS": "60000"},
            "enabledMcpjsonServers": [f"proj{i}" for i in range(4)],
        },
    )
    write(
        project / ".claude" / "settings.json",
        {
            "permissions": {"allow": _rules(60, 3), "ask": _rules(10, 4), "defaultMode": "acceptEdits"},
            "hooks": _hooks("project"),
            "sandbox": {"enabled": True, "network": {"allowedDomains": ["*.example.com"]}},
        },
    )
    write(
        project / ".claude" / "settings.local.json",
        {"permissions": {"allow": _rules(30, 5)}, "env": {"LOCAL_FLAG": "1"}},
    )
    write(
        managed / "managed-settings.json", {"permissions": {"deny": _rules(20, 6)}, "cleanupPeriodDays": 30}
    )
    write(managed / "managed-settings.d" / "10-hooks.json", {"hooks": _hooks("managed")})
    write(managed / "managed-settings.d" / "20-models.json", {"availableModels": ["opus", "sonnet"]})
    python = sys.executable
    write(
        project / ".mcp.json",
        {
            "mcpServers": {
                f"proj{i}": {"command": python, "args": ["-V"], "env": {"T": "${HOME}"}} for i in range(4)
            }
        },
    )
    write(
        home / ".claude.json",
        {
            "mcpServers": {
                f"user{i}": {"type": "http", "url": f"https://mcp{i}.example.com/mcp"} for i in range(3)
            },
            "projects": {
                str(project): {
                    "hasTrustDialogAccepted": True,
                    "mcpServers": {f"local{i}": {"command": python} for i in range(3)},
                }
            },
        },
    )
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CLAUDE_HEALTH_MANAGED_DIR": str(managed),
        "project": str(project),
    }


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def in_process(env: dict[str, str]) -> tuple[Callable[[], object], Callable[[], object], dict[str, Any]]:
    from claude_health.tools.paths import Workspace
    from claude_health.tools.settings.effective import effective_settings
    from claude_health.tools.settings.validate import validate_workspace

    ws = Workspace.discover(project=env["project"], env=env, platform="linux")

    def validate() -> dict[str, Any]:
        return validate_workspace(ws).payload()

    def with_effective() -> None:
        effective_settings(validate_workspace(ws))

    return validate, with_effective, validate()


def settings_files(env: dict[str, str]) -> list[Path]:
    home, project, managed = Path(env["HOME"]), Path(env["project"]), Path(env["CLAUDE_HEALTH_MANAGED_DIR"])
    return [
        home / ".claude" / "settings.json",
        project / ".claude" / "settings.json",
        project / ".claude" / "settings.local.json",
        managed / "managed-settings.json",
        *sorted((managed / "managed-settings.d").glob("*.json")),
    ]


def schema_validation(env: dict[str, str], schema_path: Path) -> Callable[[], int]:
    import jsonschema

    validator = jsonschema.Draft7Validator(json.loads(schema_path.read_text()))
    files = settings_files(env)

    def once() -> int:
        return sum(sum(1 for _ in validator.iter_errors(json.loads(p.read_text()))) for p in files)

    return once


def measure(
    env: dict[str, str], schema_path: Path, runs: int
) -> tuple[dict[str, list[float]], dict[str, Any], int]:
    """Interleave the contenders round by round, so background load hits all of them alike."""
    import anyio
    from mcp import Client, StdioServerParameters

    validate, with_effective, payload = in_process(env)
    schema = schema_validation(env, schema_path)
    schema_errors = schema()
    cli = Path(sys.executable).with_name("claude-health")
    child_env = {k: v for k, v in env.items() if k != "project"}
    child_env["CLAUDE_HEALTH_WATCH"] = "0"
    params = StdioServerParameters(command=str(cli), args=["serve"], env=child_env, cwd=env["project"])
    times: dict[str, list[float]] = {"in_process": [], "with_effective": [], "stdio": [], "jsonschema": []}

    async def main() -> None:
        async with Client(params) as client:
            args = {"project_dir": env["project"]}
            result = await client.call_tool("validate_settings", args)  # warm
            assert not result.is_error, result.content
            with_effective()
            for _ in range(runs):
                times["in_process"].append(_timed(validate))
                times["with_effective"].append(_timed(with_effective))
                times["jsonschema"].append(_timed(schema))
                start = time.perf_counter()
                await client.call_tool("validate_settings", args)
                times["stdio"].append((time.perf_counter() - start) * 1000)

    anyio.run(main)
    return times, payload, schema_errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    args = parser.parse_args()
    if not args.schema.is_file():
        print(f"SchemaStore schema not found at {args.schema}; pass --schema PATH", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-settings-") as tmp:
        env = build_project(Path(tmp))
        times, payload, schema_errors = measure(env, args.schema, args.runs)
    ours_ms = statistics.median(times["in_process"])
    effective_ms = statistics.median(times["with_effective"])
    stdio_ms = statistics.median(times["stdio"])
    schema_ms = statistics.median(times["jsonschema"])
    rules = 200
    rows = [
        ("claude-health in-process (all files, all rules)", ours_ms),
        ("claude-health in-process + effective_settings", effective_ms),
        ("claude-health via MCP stdio tool call", stdio_ms),
        ("jsonschema Draft7 (settings files only)", schema_ms),
    ]
    print(f"Realistic project: 6 settings files, {rules} permission rules, hooks, 10 MCP servers")
    print(f"median of {args.runs} warm runs each")
    print(f"{'what':<52} {'median ms':>10} {'ratio vs jsonschema':>20}")
    for name, ms in rows:
        print(f"{name:<52} {ms:>10.2f} {ms / schema_ms:>20.2f}")
    print(
        f"claude-health findings: {payload['summary']['total']} "
        f"({payload['summary']['errors']} errors); jsonschema errors: {schema_errors}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "runs": args.runs,
                "permission_rules": rules,
                "mcp_servers": 10,
                "in_process_ms": round(ours_ms, 3),
                "in_process_with_effective_ms": round(effective_ms, 3),
                "mcp_stdio_ms": round(stdio_ms, 3),
                "jsonschema_draft7_ms": round(schema_ms, 3),
                "ratio_in_process": round(ours_ms / schema_ms, 3),
                "ratio_mcp_stdio": round(stdio_ms / schema_ms, 3),
                "findings": payload["summary"],
                "jsonschema_errors": schema_errors,
                "python": sys.version.split()[0],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
