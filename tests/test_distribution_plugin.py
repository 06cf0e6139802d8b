"""The Claude Code plugin (plugins/health-guard) and the marketplace at the repository root.

Checked with the real Claude Code CLI pinned in .ci/npm: `claude plugin validate --strict` on both,
`claude plugin marketplace add <this checkout>` and `claude plugin install` into a scratch HOME,
`claude plugin details` for the projected context cost, and `claude mcp list` for the plugin's
server. The hooks run `claude-health hook EVENT`; these tests check that the plugin declares
them and that Claude Code accepts them, not what the hook command does (tests/ of the guard).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools import __version__
from claude_health.tools.guard.dispatch import EVENTS
from tests.external import REPO, claude_bin, claude_env
from tests.mcp_helpers import cli_path

PLUGIN_NAME = "health-guard"
MARKETPLACE_NAME = "claude-health"
PLUGIN_ID = f"{PLUGIN_NAME}@{MARKETPLACE_NAME}"
PLUGIN = REPO / "plugins" / PLUGIN_NAME
GUARD_EVENTS = EVENTS  # the plugin carries every event the guard handles
# The always-on context the plugin may add to every session (`claude plugin details`).
ALWAYS_ON_BUDGET = 60


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def claude(
    home: Path, *args: str, path: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = claude_env(home, CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL="1")
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [claude_bin(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


# -- the files, as data ---------------------------------------------------------------------------


def test_plugin_and_marketplace_agree_on_name_and_version() -> None:
    plugin = load(PLUGIN / ".claude-plugin" / "plugin.json")
    market = load(REPO / ".claude-plugin" / "marketplace.json")
    assert plugin["name"] == PLUGIN_NAME and market["name"] == MARKETPLACE_NAME
    (entry,) = market["plugins"]
    assert entry["name"] == PLUGIN_NAME
    assert (REPO / entry["source"]).resolve() == PLUGIN.resolve()
    assert plugin["version"] == entry["version"] == __version__


def test_plugin_runs_the_claude_health_server() -> None:
    servers = load(PLUGIN / ".mcp.json")["mcpServers"]
    assert servers == {"claude-health": {"type": "stdio", "command": "claude-health", "args": ["serve"]}}


def test_plugin_hooks_are_the_guard_and_never_block() -> None:
    hooks = load(PLUGIN / "hooks" / "hooks.json")["hooks"]
    assert tuple(hooks) == GUARD_EVENTS
    for event, groups in hooks.items():
        (group,) = groups
        (hook,) = group["hooks"]
        # Exit 2 would block the prompt; an older or missing claude-health must not.
        assert hook == {"type": "command", "command": f"claude-health hook {event} || true", "timeout": 15}


def test_health_command_names_a_tool_the_server_has() -> None:
    from claude_health.server.app import build_server

    text = (PLUGIN / "commands" / "health.md").read_text(encoding="utf-8")
    front, body = text.split("---\n")[1:3]
    assert "description:" in front
    named = set(re.findall(r"`([a-z_]+)` tool", body))
    tools = {tool.name for tool in asyncio.run(build_server().list_tools())}
    assert named and named <= tools
    assert "claude-health install --statusline" in body  # the status line is offered, never forced


# -- the real CLI ---------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("target", [PLUGIN, REPO], ids=["plugin", "marketplace"])
def test_claude_validates_strictly(tmp_path: Path, target: Path) -> None:
    proc = claude(tmp_path, "plugin", "validate", "--strict", "--json", str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["success"] is True
    assert report["manifest"]["errors"] == [] and report["manifest"]["warnings"] == []


@pytest.mark.e2e
def test_claude_rejects_a_broken_plugin(tmp_path: Path) -> None:
    """The check above can fail: the same CLI refuses a reserved name."""
    broken = tmp_path / "plugin"
    (broken / ".claude-plugin").mkdir(parents=True)
    manifest = {**load(PLUGIN / ".claude-plugin" / "plugin.json"), "name": "claude-health"}
    (broken / ".claude-plugin" / "plugin.json").write_text(json.dumps(manifest))
    proc = claude(tmp_path / "home", "plugin", "validate", "--strict", "--json", str(broken))
    assert proc.returncode == 1
    assert "reserved" in json.dumps(json.loads(proc.stdout)["manifest"]["errors"])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch HOME with the marketplace of this checkout added and the plugin installed."""
    home = tmp_path_factory.mktemp("plugin-home")
    added = claude(home, "plugin", "marketplace", "add", "--json", str(REPO))
    assert added.returncode == 0, added.stdout + added.stderr
    assert json.loads(added.stdout.splitlines()[-1])["marketplace"] == MARKETPLACE_NAME
    done = claude(home, "plugin", "install", "--json", PLUGIN_ID)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["outcome"] == "ok"
    return home


@pytest.mark.e2e
def test_plugin_installs_from_the_local_marketplace(installed: Path) -> None:
    proc = claude(installed, "plugin", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    (ours,) = [p for p in json.loads(proc.stdout) if p["id"] == PLUGIN_ID]
    assert ours["enabled"] is True and ours["version"] == __version__
    assert ours["mcpServers"] == load(PLUGIN / ".mcp.json")["mcpServers"]
    settings = load(installed / ".claude" / "settings.json")
    assert settings["enabledPlugins"] == {PLUGIN_ID: True}


@pytest.mark.e2e
def test_details_projects_a_small_context_cost_stated_in_the_readme(installed: Path) -> None:
    proc = claude(installed, "plugin", "details", PLUGIN_ID)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for event in GUARD_EVENTS:
        assert event in out
    assert re.search(r"MCP servers \(1\)\s+claude-health", out)
    always_on = int(re.search(r"Always-on:\s+~(\d+) tok", out).group(1))  # type: ignore[union-attr]
    assert always_on <= ALWAYS_ON_BUDGET
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"`claude plugin details`: ~(\d+) tokens always-on", readme)
    assert stated is not None, "the README must state the plugin's projected context cost"
    assert int(stated.group(1)) == always_on


@pytest.mark.e2e
def test_plugin_server_connects_with_claude_health_on_path(installed: Path, tmp_path: Path) -> None:
    on_path = f"{Path(cli_path()).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    proc = claude(installed, "mcp", "list", path=on_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"plugin:{PLUGIN_NAME}:claude-health: claude-health serve - ✔ Connected" in proc.stdout


@pytest.mark.e2e
def test_plugin_server_needs_claude_health_on_path(installed: Path, tmp_path: Path) -> None:
    """Without claude-health installed the server does not start (the README's install line adds it)."""
    bare = os.pathsep.join(
        d
        for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if not Path(d, "claude-health").exists()
    )
    proc = claude(installed, "mcp", "list", path=bare, cwd=tmp_path)
    line = next(s for s in proc.stdout.splitlines() if s.startswith(f"plugin:{PLUGIN_NAME}:claude-health"))
    assert "✘ Failed to connect" in line and "✔" not in line
