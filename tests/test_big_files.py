"""Size caps never change a verdict about a file Claude Code reads whole.

Claude Code reads ``~/.claude.json``, settings files, ``.mcp.json``, the credentials file and
memory files whole, however big. A real ``~/.claude.json`` grows to tens of MiB with project
history; here a generated 20+ MiB one, with the facts that matter placed *after* the history,
must give every check the same verdict as a small file holding the same facts -- and the same
verdict as the real ``claude auth status --json``. Past claude-health's own safety limit a file
is "too large to judge": its own finding, never "ignored", never "no credentials".
"""

from __future__ import annotations

import functools
import json
import os
import random
import string
import subprocess
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.auth.check import auth_route
from claude_health.tools.files import MAX_JSON_VALUES, SAFETY_LIMIT, read_json_object
from claude_health.tools.redact import suffix20
from claude_health.tools.registration import plan as registration_plan
from claude_health.tools.registration.launch import Launch
from claude_health.tools.runtime.mcp_servers import configured_servers
from claude_health.tools.settings.validate import validate_workspace
from claude_health.tools.tokens.budget import context_budget
from tests.conftest import Sandbox
from tests.external import claude_bin, claude_env
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

BIG = 20 * 1024 * 1024


@functools.cache
def history_projects(total: int, seed: int = 7) -> dict[str, Any]:
    """Project entries of the shape Claude Code writes, about ``total`` bytes of them (made once)."""
    rnd = random.Random(seed)
    letters = string.ascii_letters + "  ,.;"
    text = "".join(rnd.choice(letters) for _ in range(200_000))
    projects: dict[str, Any] = {}
    size = 0
    i = 0
    while size < total:
        entry = {
            "allowedTools": [],
            "history": [
                {"display": text[(i * 40 + j) * 37 % 199_000 :][:160], "pastedContents": {}}
                for j in range(40)
            ],
            "mcpContextUris": [],
            "mcpServers": {},
            "hasTrustDialogAccepted": False,
            "lastCost": 0.12,
            "lastSessionId": f"{i:032x}",
        }
        projects[f"/home/someone/src/project-{i}"] = entry
        size += len(json.dumps(entry))
        i += 1
    return projects


def global_config(sandbox: Sandbox, key: str, *, padding: int) -> dict[str, Any]:
    """``~/.claude.json`` with ``padding`` bytes of history first, then what the checks need."""
    projects = dict(history_projects(padding)) if padding else {}
    projects[str(sandbox.project)] = {
        "hasTrustDialogAccepted": True,
        "mcpServers": {"late-local": {"command": "true"}},
    }
    return {
        "numStartups": 412,
        "projects": projects,
        "mcpServers": {"late-user": {"type": "http", "url": "http://127.0.0.1:9/mcp"}},
        "hasCompletedOnboarding": True,
        "customApiKeyResponses": {"approved": [suffix20(key)], "rejected": []},
        "primaryApiKey": key,
    }


def write_pair(small: Sandbox, big: Sandbox) -> str:
    key = fake_key()
    small.claude_json(global_config(small, key, padding=0))
    path = big.home / ".claude.json"
    path.write_text(json.dumps(global_config(big, key, padding=BIG), indent=2))
    assert path.stat().st_size > BIG
    return key


def verdict(sandbox: Sandbox) -> dict[str, Any]:
    result = auth_route(sandbox.workspace())
    status = result.status.to_json()
    for volatile in ("configDirectory", "projectsDirectory"):
        status.pop(volatile)
    for cred in status.get("credentials", []):
        cred.pop("location", None)
    return {"status": status, "codes": sorted(f.code for f in result.findings)}


def test_a_20_mib_claude_json_gets_the_small_files_verdicts(make_sandbox: Any) -> None:
    small, big = make_sandbox(), make_sandbox()
    write_pair(small, big)
    assert verdict(big) == verdict(small)
    assert verdict(big)["status"]["billing"] == "api"
    assert verdict(big)["status"]["apiKeySource"] == "/login managed key"
    # Settings: read whole, nothing unreadable, the trusted flag at the end is seen.
    validation = validate_workspace(big.workspace())
    assert not [f for f in validation.findings if f.code in ("S002", "S015")]
    assert validation.trusted is True
    # MCP servers at the end of the file: configured and in the context budget.
    names = {entry.name for entry in configured_servers(big.workspace())}
    assert {"late-user", "late-local"} <= names
    budget_servers = {s.name for s in context_budget(big.workspace()).mcp_servers}
    assert {"late-user", "late-local"} <= budget_servers


def test_a_20_mib_claude_json_through_the_cli(make_sandbox: Any) -> None:
    small, big = make_sandbox(), make_sandbox()
    write_pair(small, big)
    outputs = []
    for box in (small, big):
        env = {**os.environ, **box.env, "CLAUDE_HEALTH_MANAGED_DIR": str(box.managed)}
        done = subprocess.run(
            [cli_path(), "auth", "--json"],
            env=env,
            cwd=box.project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        data = json.loads(done.stdout)
        outputs.append((data["auth"]["authMethod"], data["auth"]["billing"], done.returncode))
    assert outputs[0] == outputs[1] == ("api_key", "api", 0)


@pytest.mark.e2e
def test_a_20_mib_claude_json_agrees_with_claude_code(make_sandbox: Any) -> None:
    big = make_sandbox()
    key = write_pair(make_sandbox(), big)
    env = claude_env(big.home)

    def run(argv: list[str], extra: dict[str, str]) -> dict[str, Any]:
        done = subprocess.run(
            argv,
            env={**env, **extra},
            cwd=big.project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    # Ours first: Claude Code prunes the project history of the file it reads.
    ours = run([cli_path(), "auth", "--json"], {"CLAUDE_HEALTH_MANAGED_DIR": str(big.managed)})
    claude_code = run([claude_bin(), "auth", "status", "--json"], {})
    for name in ("loggedIn", "authMethod", "apiProvider", "apiKeySource"):
        assert ours["auth"].get(name) == claude_code.get(name), name
    assert claude_code["authMethod"] == "api_key"
    assert key not in json.dumps(ours)


def test_a_large_memory_file_counts_in_the_budget(sandbox: Sandbox) -> None:
    """CLAUDE.md over the old 4 MiB cap: counted (and flagged as large), not "unreadable"."""
    line = "Keep functions small and name them for what they do; test behaviour, not code.\n"
    sandbox.write(sandbox.project / "CLAUDE.md", line * (6 * 1024 * 1024 // len(line) + 1))
    budget = context_budget(sandbox.workspace())
    codes = {f.code for f in budget.findings}
    assert "T005" not in codes and "T001" in codes
    assert sum(item.tokens for item in budget.items) > 1_000_000


# -- past the safety limit: too large to judge -----------------------------------------------


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (it is never read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def test_a_claude_json_past_the_safety_limit_is_unknown_not_ignored(sandbox: Sandbox) -> None:
    path = sparse(sandbox.home / ".claude.json", SAFETY_LIMIT + 1)
    read = read_json_object(path)
    assert read.too_large and read.data is None and "too large to judge" in (read.problem or "")
    result = auth_route(sandbox.workspace())
    codes = {f.code for f in result.findings}
    assert "A013" in codes
    assert not codes & {"A002", "A004"}  # never "no credentials", never "ignored"
    assert result.status.billing == "unknown"
    assert "too large to judge" in result.status.billingExplanation
    settings = {f.code for f in validate_workspace(sandbox.workspace()).findings}
    assert "S015" in settings and "S002" not in settings


@pytest.mark.parametrize("where", ["user", "credentials"])
def test_other_files_past_the_safety_limit_make_billing_unknown(sandbox: Sandbox, where: str) -> None:
    sandbox.claude_json({"hasCompletedOnboarding": True})
    target = sandbox.home / ".claude" / ("settings.json" if where == "user" else ".credentials.json")
    sparse(target, SAFETY_LIMIT + 1)
    result = auth_route(sandbox.workspace())
    codes = {f.code for f in result.findings}
    assert "A013" in codes and not codes & {"A002", "A004", "A011"}
    assert result.status.billing == "unknown"


def test_a_json_file_with_more_values_than_the_limit_is_too_large_to_judge(sandbox: Sandbox) -> None:
    """``[[],[],...]``: few bytes, many values (memory the parse would take is bounded)."""
    count = MAX_JSON_VALUES // 2 + 1  # "[]," is two separators' worth: over the limit
    sandbox.write(sandbox.project / ".mcp.json", "[" + "[]," * count + "[]]")
    read = read_json_object(sandbox.project / ".mcp.json")
    assert read.too_large and "JSON values" in (read.problem or "")
    findings = [f for f in validate_workspace(sandbox.workspace()).findings if f.code == "S015"]
    assert len(findings) == 1 and ".mcp.json" in findings[0].message


def test_install_reads_a_20_mib_claude_json_whole(make_sandbox: Any) -> None:
    """Registering claude-code edits ~/.claude.json: a big one is planned, not refused."""
    small, big = make_sandbox(), make_sandbox()
    write_pair(small, big)
    path = big.home / ".claude.json"
    before = json.loads(path.read_bytes())
    launch = Launch("/opt/ch/bin/claude-health", ["serve"])
    registration_plan.apply(
        registration_plan.plan_install(big.workspace(), "claude-code", scope="user", launch=launch)
    )
    after = json.loads(path.read_bytes())
    assert after.pop("mcpServers")["claude-health"]["command"] == launch.command
    before.pop("mcpServers")
    assert after == before  # every byte of history kept
