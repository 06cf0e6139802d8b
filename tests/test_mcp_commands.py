"""Can Claude Code start an MCP server's command? One answer for S306 (settings) and P001 (probe).

The differential test runs the real `claude mcp list` on the same cases: our verdict (starts or
not) must be Claude Code's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from claude_health.server.probe import probe_servers
from claude_health.tools.runtime.commands import check_command
from claude_health.tools.settings.validate import validate_workspace
from tests.conftest import Sandbox
from tests.external import claude_bin, claude_env
from tests.mcp_helpers import cli_path


def _server_script(path: Path, executable: bool = True) -> Path:
    """A real MCP server behind a shell script: claude-health's own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\nexec {cli_path()} serve\n")
    path.chmod(0o755 if executable else 0o644)
    return path


def test_absolute_missing_command_is_said_not_to_exist(tmp_path: Path) -> None:
    check = check_command("/opt/nowhere/bin/mcp-thing", "/usr/bin:/bin", tmp_path)
    assert not check.found
    assert check.problem is not None and "does not exist" in check.problem
    assert check.fix is not None and "absolute path" not in check.fix  # it already is one
    assert "command -v mcp-thing" in check.fix


def test_relative_paths_resolve_from_the_project(tmp_path: Path) -> None:
    _server_script(tmp_path / "bin" / "srv")
    assert check_command("./bin/srv", "", tmp_path).path == str(tmp_path / "bin" / "srv")
    assert check_command("bin/srv", "", tmp_path).found
    other = tmp_path / "elsewhere"
    other.mkdir()
    missing = check_command("./bin/srv", "", other)
    assert missing.problem is not None and f"relative to {other}" in missing.problem


def test_tilde_is_not_expanded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _server_script(home / "bin" / "srv")
    check = check_command("~/bin/srv", "/usr/bin:/bin", tmp_path, home)
    assert not check.found
    assert check.problem is not None and "does not expand" in check.problem
    assert check.fix == f"Write the full path ({home / 'bin' / 'srv'})."


def test_directory_and_not_executable(tmp_path: Path) -> None:
    script = _server_script(tmp_path / "srv", executable=False)
    check = check_command(str(script), "", tmp_path)
    if check.found:  # root ignores missing execute bits only when some x bit is set; none is here
        pytest.fail("a file without any execute bit was judged startable")
    assert check.problem is not None and "not executable" in check.problem
    assert check.fix == f"Make it executable: `chmod +x {script}`."
    folder = check_command(str(tmp_path), "", tmp_path)
    assert folder.problem is not None and "is a directory" in folder.problem


def test_bare_names_use_path(tmp_path: Path) -> None:
    _server_script(tmp_path / "bin" / "my-server")
    assert check_command("my-server", str(tmp_path / "bin"), tmp_path).found
    missing = check_command("my-server", "/usr/bin:/bin", tmp_path)
    assert missing.problem == "command 'my-server' is not found on PATH here"
    assert missing.fix is not None and "absolute path" in missing.fix


async def test_settings_and_probe_say_the_same_thing(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.project / ".mcp.json",
        {"mcpServers": {"missing": {"command": "/opt/nowhere/bin/mcp-thing", "args": []}}},
    )
    sandbox.user_settings({"enableAllProjectMcpServers": True})
    ws = sandbox.workspace()
    (s306,) = [f for f in validate_workspace(ws).findings if f.code == "S306"]
    outcome = await probe_servers(ws, timeout=2)
    (p001,) = [f for f in outcome.findings if f.code == "P001"]
    for finding in (s306, p001):
        assert "'/opt/nowhere/bin/mcp-thing' does not exist" in finding.message
        assert "PATH here" not in finding.message
        assert finding.hint is not None and "absolute path" not in finding.hint
    assert s306.hint == p001.hint


@pytest.mark.e2e
def test_verdicts_match_claude_mcp_list(sandbox: Sandbox) -> None:
    """Each case's verdict is Claude Code's own: `claude mcp list` connects to exactly the found ones."""
    _server_script(sandbox.home / "bin" / "srv")
    _server_script(sandbox.project / "bin" / "srv")
    _server_script(sandbox.project / "bin" / "noexec", executable=False)
    cases = {
        "tilde": "~/bin/srv",
        "relative": "./bin/srv",
        "relative-bare": "bin/srv",
        "noexec": "./bin/noexec",
        "absolute": str(sandbox.home / "bin" / "srv"),
        "absent": str(sandbox.home / "bin" / "absent"),
    }
    sandbox.write(
        sandbox.project / ".mcp.json", {"mcpServers": {name: {"command": c} for name, c in cases.items()}}
    )
    sandbox.user_settings({"enabledMcpjsonServers": list(cases)})
    proc = subprocess.run(
        [claude_bin(), "mcp", "list"],
        cwd=sandbox.project,
        env=claude_env(sandbox.home),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = {line.split(":", 1)[0]: line for line in proc.stdout.splitlines() if ":" in line}
    theirs = {name: "✔ Connected" in lines[name] for name in cases}
    ours = {
        name: check_command(c, "/usr/bin:/bin", sandbox.project, sandbox.home).found
        for name, c in cases.items()
    }
    assert ours == theirs, proc.stdout
    assert theirs == {
        "tilde": False,
        "relative": True,
        "relative-bare": True,
        "noexec": False,
        "absolute": True,
        "absent": False,
    }
