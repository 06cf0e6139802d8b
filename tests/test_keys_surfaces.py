"""Every surface of the key check: CLI text/JSON/SARIF, the MCP tool, the doctor, the catalogue.

The leak test plants one key of every kind in every place and asserts that no output of any
surface (stdout, stderr, logs, structured results, errors) contains a full key.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.server.cli import main
from claude_health.server.sarif import to_sarif
from claude_health.tools.catalogue import all_rules
from claude_health.tools.keys.check import run_check
from claude_health.tools.keys.rules import RULES
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import MODES, cli_path

FUTURE_MS = int((time.time() + 86_400) * 1000)


def run_cli(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli_path(), "keys", "--project", str(sandbox.project), *args],
        env={**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=sandbox.project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def plant_everywhere(sandbox: Sandbox) -> list[str]:
    """A key of every kind in every place the check looks; returns the planted keys."""
    keys: list[str] = []

    def new(kind: str = "api_key") -> str:
        keys.append(fake_key(kind))
        return keys[-1]

    subprocess.run(["git", "init", "-q"], cwd=sandbox.project, check=True)
    sandbox.write(sandbox.project / "app.py", f"KEY = '{new()}'\nADMIN = '{new('admin_key')}'\n")
    sandbox.write(sandbox.project / "notes.md", f"{new('oauth_access_token')} {new('oauth_refresh_token')}\n")
    sandbox.write(sandbox.project / ".env", f"ANTHROPIC_API_KEY={new()}\n")
    sandbox.project_settings({"env": {"ANTHROPIC_API_KEY": new()}})
    sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "x": {"command": "x", "env": {"K": new()}, "headers": {"x-api-key": new("admin_key")}}
            }
        },
    )
    sandbox.local_settings({"env": {"ANTHROPIC_AUTH_TOKEN": new("oauth_access_token")}})
    sandbox.user_settings({"env": {"ANTHROPIC_API_KEY": new()}})
    sandbox.claude_json({"mcpServers": {"y": {"command": "y", "env": {"K": new()}}}})
    sandbox.write(sandbox.home / ".bashrc", f"export ANTHROPIC_API_KEY={new()}\n")
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": new("oauth_access_token"),
                "refreshToken": new("oauth_refresh_token"),
                "expiresAt": FUTURE_MS,
                "scopes": ["user:inference"],
                "subscriptionType": "max",
            }
        }
    )
    (sandbox.home / ".claude" / ".credentials.json").chmod(0o644)
    sandbox.env["ANTHROPIC_API_KEY"] = new()
    sandbox.env["OTHER_ADMIN"] = new("admin_key")
    return keys


def assert_no_key(text: str, keys: list[str]) -> None:
    for key in keys:
        assert key not in text, "a full key leaked"
        # Nor a large piece of it (the body minus the 4 characters shown).
        assert key[13:40] not in text


def test_cli_json_interface(sandbox: Sandbox) -> None:
    keys = plant_everywhere(sandbox)
    proc = run_cli(sandbox, "--json")
    assert proc.returncode == 1, proc.stderr
    payload = json.loads(proc.stdout)
    assert set(payload) >= {"findings", "summary"} and payload["summary"]["healthy"] is False
    codes = {f["code"] for f in payload["findings"]}
    assert codes >= {"K001", "K002", "K004", "K005", "K006", "K007", "K008", "K009", "K011"}
    for f in payload["findings"]:
        if f["code"] in {"K001", "K002", "K006", "K007"}:
            assert {"kind", "redacted", "fingerprint", "path", "line", "column"} <= set(f)
            assert f["line"] >= 1 and f["column"] >= 1
            assert re.fullmatch(r"sk-ant-[a-z]+\d\d-…[A-Za-z0-9_-]{4}", f["redacted"])
    # The same key in two places shares a fingerprint.
    app_key = keys[0]
    from claude_health.tools.redact import fingerprint

    assert fingerprint(app_key) in {f.get("fingerprint") for f in payload["findings"]}
    assert_no_key(proc.stdout + proc.stderr, keys)


def test_cli_exit_codes(sandbox: Sandbox) -> None:
    clean = run_cli(sandbox)
    assert clean.returncode == 0 and "No problems found." in clean.stdout
    assert run_cli(sandbox, "--json", "--sarif").returncode == 2
    staged = run_cli(sandbox, "--staged")
    assert staged.returncode == 2 and "git repository" in staged.stderr and "Traceback" not in staged.stderr
    missing = subprocess.run(
        [cli_path(), "keys", "--project", str(sandbox.root / "nope")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2


def validate_sarif(log: dict[str, Any]) -> None:
    """The fields SARIF 2.1.0 requires, and those GitHub code scanning needs."""
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert isinstance(driver["name"], str) and driver["name"]
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"none", "note", "warning", "error"}
    for result in run["results"]:
        assert result["message"]["text"]
        assert result["ruleId"] == rule_ids[result["ruleIndex"]]
        assert result["level"] in {"none", "note", "warning", "error"}
        assert result["locations"], "GitHub rejects results without a location"
        for loc in result["locations"]:
            art = loc["physicalLocation"]["artifactLocation"]
            assert not art["uri"].startswith("/") and art["uriBaseId"] == "%SRCROOT%"
            region = loc["physicalLocation"].get("region", {})
            assert region.get("startLine", 1) >= 1 and region.get("startColumn", 1) >= 1
        assert all(isinstance(v, str) for v in result["partialFingerprints"].values())
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_cli_sarif(sandbox: Sandbox) -> None:
    keys = plant_everywhere(sandbox)
    proc = run_cli(sandbox, "--sarif")
    assert proc.returncode == 1, proc.stderr
    log = json.loads(proc.stdout)
    validate_sarif(log)
    run = log["runs"][0]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert {"app.py", "notes.md", ".env", ".mcp.json", ".claude/settings.json"} <= uris
    # Environment and home-directory findings cannot be placed in the repository.
    assert run["properties"]["omittedResults"] > 0
    assert_no_key(proc.stdout + proc.stderr, keys)


def test_sarif_converter_is_generic(tmp_path: Path) -> None:
    from claude_health.tools.findings import Rule, Severity

    rule = Rule("Z001", "Demo", Severity.INFO, "what", "why", "fix", "demo")
    findings = [
        rule.finding("in the tree", path=str(tmp_path / "a b.txt"), line=3),
        rule.finding("nowhere"),
        rule.finding("outside", path="/elsewhere/x"),
    ]
    log = to_sarif(findings, base_dir=tmp_path, rules={"Z001": rule})
    validate_sarif(log)
    [result] = log["runs"][0]["results"]
    assert result["level"] == "note"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a%20b.txt"
    assert log["runs"][0]["properties"]["omittedResults"] == 2
    everything = to_sarif(findings, base_dir=tmp_path, rules={"Z001": rule}, require_location=False)
    assert len(everything["runs"][0]["results"]) == 3


def test_cli_text_and_logs_never_show_a_key(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys = plant_everywhere(sandbox)
    for name in [n for n in os.environ if n.startswith("ANTHROPIC_")]:
        monkeypatch.delenv(name)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    for args in ([], ["--json"], ["--sarif"], ["--history"], ["--color", "always", "-vv"]):
        code = main(["keys", "--project", str(sandbox.project), *args])
        assert code == 1
    out = capsys.readouterr()
    assert "K001" in out.out
    assert_no_key(out.out + out.err + caplog.text, keys)


def test_doctor_check(sandbox: Sandbox) -> None:
    keys = plant_everywhere(sandbox)
    outcome = run_check(sandbox.workspace())
    assert {"K001", "K005"} <= {f.code for f in outcome.findings}
    assert outcome.data["in_git"] is True and outcome.data["files_scanned"] >= 3
    assert_no_key(json.dumps([f.to_json() for f in outcome.findings]) + json.dumps(outcome.data), keys)


def test_rules_are_documented_once() -> None:
    catalogue = all_rules()
    for rule in RULES:
        assert catalogue[rule.code] is rule
        assert re.fullmatch(r"K\d{3}", rule.code) and rule.what and rule.why and rule.fix
        assert rule.check == "keys"


@pytest.mark.parametrize("mode", MODES)
async def test_mcp_tool(mode: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = plant_everywhere(sandbox)
    for i in range(300):  # enough files for progress notifications
        sandbox.write(sandbox.project / "pkg" / f"m{i}.py", f"x = {i}\n")
    for name in [n for n in os.environ if n.startswith("ANTHROPIC_")]:
        monkeypatch.delenv(name)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(build_server(), mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        tool = tools["check_key_hygiene"]
        assert set(tool.input_schema["properties"]) == {
            "project_dir",
            "history",
            "verify",
            "transcripts",
            "shell_history",
        }
        assert tool.output_schema is not None and "findings" in tool.output_schema["properties"]
        assert tool.annotations is not None and tool.annotations.read_only_hint is True

        result = await client.call_tool(
            "check_key_hygiene",
            {"project_dir": str(sandbox.project), "history": True},
            progress_callback=on_progress,
        )
        assert result.is_error is False
        data = result.structured_content
        assert data is not None
        assert {"K001", "K002", "K005", "K007"} <= {f["code"] for f in data["findings"]}
        assert data["stats"]["files_scanned"] >= 300 and data["summary"]["healthy"] is False
        assert_no_key(json.dumps(data) + "".join(getattr(c, "text", "") for c in result.content), keys)
        assert seen and seen[-1][0] == seen[-1][1]

        for bad in (str(sandbox.root / "missing"), "x\x00y", "../" * 2000):
            err = await client.call_tool("check_key_hygiene", {"project_dir": bad})
            assert err.is_error is True
        wrong_type = await client.call_tool("check_key_hygiene", {"history": "yes please"})
        assert wrong_type.is_error is True


def test_pre_commit_hook_blocks_a_staged_key(sandbox: Sandbox) -> None:
    manifest = (Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text()
    entry = re.search(r"^\s*entry:\s*(.+)$", manifest, re.M)
    assert entry is not None and "pass_filenames: false" in manifest
    argv = entry.group(1).split()
    assert argv[:3] == ["claude-health", "keys", "--staged"]
    env = {**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q"], cwd=sandbox.project, check=True, env=env)
    key = fake_key()
    sandbox.write(sandbox.project / "ok.py", "x = 1\n")
    subprocess.run(["git", "add", "ok.py"], cwd=sandbox.project, check=True, env=env)

    def hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cli_path(), *argv[1:]], cwd=sandbox.project, env=env, capture_output=True, text=True, check=False
        )

    assert hook().returncode == 0
    sandbox.write(sandbox.project / "leak.py", f"KEY = '{key}'\n")
    subprocess.run(["git", "add", "leak.py"], cwd=sandbox.project, check=True, env=env)
    blocked = hook()
    assert blocked.returncode == 1 and "leak.py:1:8" in blocked.stdout
    assert_no_key(blocked.stdout + blocked.stderr, [key])


async def test_mcp_tool_errors_never_quote_the_failure(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception may carry file content; the tool reports only its type."""
    key = fake_key()

    def explode(*args: object, **kwargs: object) -> None:
        raise ValueError(f"boom near {key}")

    import claude_health.tools.keys.report as keys_report

    monkeypatch.setattr(keys_report, "scan_keys", explode)
    async with Client(build_server()) as client:
        result = await client.call_tool("check_key_hygiene", {"project_dir": str(sandbox.project)})
    assert result.is_error is True
    text = "".join(getattr(c, "text", "") for c in result.content)
    assert "ValueError" in text and key not in text and "boom" not in text


@pytest.mark.parametrize("mode", MODES)
async def test_mcp_tool_with_a_not_utf8_file_name(mode: str, sandbox: Sandbox) -> None:
    key = fake_key()
    (sandbox.project / os.fsdecode(b"bad\xff.txt")).write_text(key + "\n")
    async with Client(build_server(), mode=mode) as client:
        result = await client.call_tool("check_key_hygiene", {"project_dir": str(sandbox.project)})
    assert result.is_error is False
    data = result.structured_content
    assert data is not None
    [f] = [f for f in data["findings"] if f["code"] == "K001"]
    assert f["path"].endswith("bad\\xff.txt") and key not in json.dumps(data)


def test_sarif_cli_with_a_not_utf8_file_name(sandbox: Sandbox) -> None:
    key = fake_key()
    (sandbox.project / os.fsdecode(b"notes-" + key.encode() + b"-\xff.txt")).write_text(key + "\n")
    proc = run_cli(sandbox, "--sarif")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [result] = json.loads(proc.stdout)["runs"][0]["results"]
    out = proc.stdout + proc.stderr
    assert key not in out, out[max(0, out.find(key) - 200) : out.find(key)]
    assert "%5Cxff" in json.dumps(result["locations"])


def test_keys_cli_does_not_import_pydantic(sandbox: Sandbox) -> None:
    """Findings are plain dataclasses: a pre-commit scan must not pay for pydantic's import."""
    probe = (
        "import sys\n"
        "from claude_health.server.cli import main\n"
        f"code = main(['keys', '--project', {str(sandbox.project)!r}, '--json'])\n"
        "sys.stderr.write('PYDANTIC %s\\n' % ('pydantic' in sys.modules))\n"
    )
    sandbox.write(sandbox.project / "app.py", "print('hello')\n")
    done = subprocess.run(
        [sys.executable, "-c", probe], env=sandbox.env, capture_output=True, timeout=60, check=False
    )
    assert b"PYDANTIC False" in done.stderr, done.stderr.decode()
    assert json.loads(done.stdout)["stats"]["files_scanned"] >= 1
