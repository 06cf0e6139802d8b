"""The ``claude-health`` command line as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from claude_health.server.cli import COMMAND_MODULES
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path


def run(sandbox: Sandbox, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli_path(), *args],
        env={**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=sandbox.project,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", [*COMMAND_MODULES, None])
def test_help_everywhere(sandbox: Sandbox, command: str | None) -> None:
    proc = run(sandbox, *([command] if command else []), "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: claude-health" in proc.stdout


def test_no_command_is_a_usage_error(sandbox: Sandbox) -> None:
    proc = run(sandbox)
    assert proc.returncode == 2
    assert "COMMAND" in proc.stderr


def test_unknown_option_is_a_usage_error(sandbox: Sandbox) -> None:
    proc = run(sandbox, "auth", "--bogus")
    assert proc.returncode == 2
    assert "unrecognized arguments: --bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_project_dir_is_a_usage_error(sandbox: Sandbox) -> None:
    proc = run(sandbox, "auth", "--project", str(sandbox.root / "nope"))
    assert proc.returncode == 2
    assert "not a directory" in proc.stderr


def test_auth_json_interface(sandbox: Sandbox) -> None:
    sandbox.credentials(
        {"claudeAiOauth": {"accessToken": "t" * 40, "scopes": ["user:inference"], "subscriptionType": "max"}}
    )
    key = fake_key()
    sandbox.env["ANTHROPIC_API_KEY"] = key
    proc = run(sandbox, "auth", "--json")
    assert proc.returncode == 1  # problems found: the billing trap
    payload = json.loads(proc.stdout)
    assert set(payload) == {"auth", "findings", "summary"}
    auth = payload["auth"]
    assert (auth["loggedIn"], auth["authMethod"], auth["apiKeySource"], auth["billing"]) == (
        True,
        "api_key",
        "ANTHROPIC_API_KEY",
        "api",
    )
    assert auth["apiProvider"] == "firstParty"
    finding = next(f for f in payload["findings"] if f["code"] == "A001")
    assert {"code", "severity", "title", "message", "hint"} <= set(finding)
    assert payload["summary"]["warnings"] >= 1 and payload["summary"]["healthy"] is False
    assert key not in proc.stdout and key not in proc.stderr


def test_auth_healthy_subscription_exits_zero(sandbox: Sandbox) -> None:
    sandbox.credentials(
        {"claudeAiOauth": {"accessToken": "t" * 40, "scopes": ["user:inference"], "subscriptionType": "pro"}}
    )
    proc = run(sandbox, "auth")
    assert proc.returncode == 0, proc.stdout
    assert "subscription" in proc.stdout
    assert "\033[" not in proc.stdout  # not a TTY: no colour


def test_colour_can_be_forced(sandbox: Sandbox) -> None:
    proc = run(sandbox, "auth", "--color", "always")
    assert "\033[" in proc.stdout


def test_doctor_on_a_bare_machine_is_useful(sandbox: Sandbox) -> None:
    proc = run(sandbox, "doctor")
    assert proc.returncode == 1
    assert "A002" in proc.stdout and "fix:" in proc.stdout
    report = json.loads(run(sandbox, "doctor", "--json").stdout)
    assert {"checks", "problems", "findings", "summary"} <= set(report)
    assert all(c["ran"] for c in report["checks"])
    checks = {c["name"]: c for c in report["checks"]}
    # A check is ok only when it found no problem: auth holds A002 (no credentials), an error.
    assert checks["auth"]["ok"] is False and checks["auth"]["status"] == "error"
    checks_line = next(line for line in proc.stdout.splitlines() if line.strip().startswith("checks:"))
    assert "auth errors" in checks_line and "auth ok" not in checks_line


def test_doctor_only_rejects_unknown_check(sandbox: Sandbox) -> None:
    proc = run(sandbox, "doctor", "--only", "nonsense")
    assert proc.returncode == 2
    assert "unknown check" in proc.stderr


def test_rules_catalogue(sandbox: Sandbox) -> None:
    listing = json.loads(run(sandbox, "rules", "--json").stdout)["rules"]
    codes = [r["code"] for r in listing]
    assert codes == sorted(set(codes))
    assert all(r["what"] and r["why"] and r["fix"] for r in listing)
    one = run(sandbox, "rules", "a001")
    assert one.returncode == 0 and "Why:" in one.stdout and "Fix:" in one.stdout
    assert run(sandbox, "rules", "Z999").returncode == 2


def test_module_entry_point(sandbox: Sandbox) -> None:
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "claude_health.server", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("claude-health ")


def test_doctor_ranks_every_check_and_never_shows_a_key(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.credentials(
        {"claudeAiOauth": {"accessToken": "t" * 40, "scopes": ["user:inference"], "subscriptionType": "max"}}
    )
    sandbox.env["ANTHROPIC_API_KEY"] = key
    sandbox.project_settings(
        {"permissions": {"allow": ["Bash(npm run test:*)"]}, "env": {"ANTHROPIC_API_KEY": key}}
    )
    sandbox.write(sandbox.project / "config.py", f'ANTHROPIC_API_KEY = "{key}"\n')
    proc = run(sandbox, "doctor", "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    names = {c["name"] for c in report["checks"]}
    assert {"auth", "settings", "keys", "runtime", "limits", "usage", "tokens"} <= names
    assert all(c["ran"] for c in report["checks"]), report["checks"]
    for check in report["checks"]:
        worst = {f["severity"] for f in report["findings"] if f.get("check") == check["name"]}
        assert check["ok"] is not bool(worst & {"error", "warning"}), check
    codes = [f["code"] for f in report["findings"]]
    assert "A001" in codes and any(c.startswith("K") for c in codes)
    ranks = {"error": 0, "warning": 1, "info": 2}
    severities = [ranks[f["severity"]] for f in report["findings"]]
    assert severities == sorted(severities)  # most severe first
    for text in (proc.stdout, proc.stderr, run(sandbox, "doctor").stdout):
        assert key not in text


def test_doctor_sarif(sandbox: Sandbox) -> None:
    sandbox.project_settings('{"permissions": {"allow": ["Bash(ls)"],}}')  # trailing comma: invalid
    proc = run(sandbox, "doctor", "--sarif")
    sarif = json.loads(proc.stdout)
    assert sarif["version"] == "2.1.0"
    (sarif_run,) = sarif["runs"]
    assert sarif_run["tool"]["driver"]["name"] == "claude-health"
    located = {r["ruleId"]: r for r in sarif_run["results"]}
    assert "S001" in located
    where = located["S001"]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == ".claude/settings.json"
    assert where["region"]["startLine"] == 1
    # findings with no file (A002: no credentials) cannot be placed in code scanning
    assert sarif_run["properties"]["omittedResults"] >= 1
    assert run(sandbox, "doctor", "--sarif", "--json").returncode == 2
