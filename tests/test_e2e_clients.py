"""claude-health through real MCP clients: the MCP Inspector CLI and Claude Code itself.

Both are installed from npm by `.ci/test`. Nothing here logs in or sends a prompt.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.external import claude_bin, claude_env, inspector_bin
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

pytestmark = pytest.mark.e2e


def inspector(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [inspector_bin(), "--cli", "-q", "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_inspector_lists_tools_over_stdio() -> None:
    proc = inspector(cli_path(), "serve", "--method", "tools/list")
    assert proc.returncode == 0, proc.stderr
    tools = {t["name"]: t for t in json.loads(proc.stdout)["result"]["tools"]}
    assert {"auth_status", "health_report"} <= set(tools)
    assert tools["auth_status"]["annotations"]["readOnlyHint"] is True
    assert "outputSchema" in tools["auth_status"]


@pytest.mark.parametrize(("era", "version"), [("legacy", "2025-11-25"), ("modern", "2026-07-28")])
def test_inspector_handshake_in_both_eras(era: str, version: str) -> None:
    proc = inspector("--protocol-era", era, cli_path(), "serve", "--method", "initialize")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["result"]
    assert result["protocolVersion"] == version
    assert result["serverInfo"]["name"] == "claude-health"
    assert "auth_status" in result["instructions"]


def test_inspector_calls_auth_status(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.credentials(
        {"claudeAiOauth": {"accessToken": "t" * 40, "scopes": ["user:inference"], "subscriptionType": "max"}}
    )
    proc = inspector(
        cli_path(),
        "serve",
        "-e",
        f"HOME={sandbox.home}",
        "-e",
        f"ANTHROPIC_API_KEY={key}",
        "--method",
        "tools/call",
        "--tool-name",
        "auth_status",
        "--tool-args-json",
        json.dumps({"project_dir": str(sandbox.project)}),
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["result"]
    assert result["isError"] is False
    auth = result["structuredContent"]["auth"]
    assert (auth["authMethod"], auth["billing"]) == ("api_key", "api")
    assert "A001" in {f["code"] for f in result["structuredContent"]["findings"]}
    assert key not in proc.stdout and key not in proc.stderr


def test_inspector_reports_tool_error_for_bad_project(tmp_path: Path) -> None:
    proc = inspector(
        cli_path(),
        "serve",
        "--method",
        "tools/call",
        "--tool-name",
        "auth_status",
        "--tool-args-json",
        json.dumps({"project_dir": str(tmp_path / "missing")}),
    )
    assert proc.returncode == 5  # the Inspector's exit code for a result with isError: true
    assert "not an existing directory" in proc.stdout


def claude_mcp_list(home: Path, project: Path) -> str:
    proc = subprocess.run(
        [claude_bin(), "mcp", "list"],
        cwd=project,
        env=claude_env(home),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_claude_code_connects_to_project_registration(sandbox: Sandbox) -> None:
    """The project's .mcp.json registers claude-health; `claude mcp list` must say Connected."""
    sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "claude-health": {"type": "stdio", "command": cli_path(), "args": ["serve"], "env": {}},
                "broken": {"type": "stdio", "command": "/bin/false", "args": []},
            }
        },
    )
    # Pre-approve project servers the way a user's own settings do (no login, no trust dialog).
    sandbox.user_settings({"enabledMcpjsonServers": ["claude-health", "broken"]})
    out = claude_mcp_list(sandbox.home, sandbox.project)
    lines = {line.split(":", 1)[0]: line for line in out.splitlines() if ":" in line}
    assert "claude-health" in lines, out
    assert "✔ Connected" in lines["claude-health"], out
    # The control case proves the check is real: a server that exits is reported as failed.
    assert "Failed" in lines["broken"], out
