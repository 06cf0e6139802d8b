"""`claude-health install --hooks` / `uninstall --hooks`: real settings files, kept bytes, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_health.tools.guard.dispatch import EVENTS
from claude_health.tools.registration.hooks import hook_command, is_ours
from claude_health.tools.registration.launch import Launch
from tests.conftest import Sandbox
from tests.test_cli import run

THEIRS = {"type": "command", "command": "echo theirs"}


def our_commands(path: Path) -> dict[str, list[str]]:
    hooks = json.loads(path.read_text()).get("hooks", {})
    return {
        event: [h["command"] for g in hooks.get(event, []) for h in g["hooks"] if is_ours(h.get("command"))]
        for event in EVENTS
    }


def test_fresh_install_adds_one_entry_per_event_and_is_idempotent(sandbox: Sandbox) -> None:
    proc = run(sandbox, "install", "--hooks")
    assert proc.returncode == 0, proc.stderr
    path = sandbox.home / ".claude" / "settings.json"
    commands = our_commands(path)
    assert all(len(commands[e]) == 1 and commands[e][0].endswith(f" hook {e}") for e in EVENTS)
    entry = json.loads(path.read_text())["hooks"]["SessionStart"][0]["hooks"][0]
    assert entry["type"] == "command" and entry["timeout"] == 15
    assert Path(entry["command"].split(" ")[0]).is_absolute()  # hooks run with a minimal PATH
    before = path.read_bytes()
    again = run(sandbox, "install", "--hooks")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert path.read_bytes() == before


def test_keeps_every_other_byte_and_hook_and_round_trips(sandbox: Sandbox) -> None:
    original = (
        '{\n    "model": "opus",\n    "hooks": {\n        "SessionStart": [\n'
        '            {"matcher": "startup", "hooks": [{"type": "command", "command": "echo hi"}]}\n'
        '        ],\n        "Stop": [{"hooks": [{"type": "command", "command": "true"}]}]\n    },\n'
        '    "permissions": {"deny": ["Bash(rm *)"]}\n}\n'
    )
    path = sandbox.user_settings(original)
    assert run(sandbox, "install", "--hooks").returncode == 0
    text = path.read_text()
    data = json.loads(text)
    assert text.startswith('{\n    "model": "opus",\n    "hooks": {\n        "SessionStart": [\n')
    assert data["hooks"]["SessionStart"][0] == {
        "matcher": "startup",
        "hooks": [{"type": "command", "command": "echo hi"}],
    }
    assert data["hooks"]["Stop"] == [{"hooks": [{"type": "command", "command": "true"}]}]
    assert data["permissions"] == {"deny": ["Bash(rm *)"]}
    backups = list(path.parent.glob("settings.json.claude-health-backup-*"))
    assert len(backups) == 1 and backups[0].read_text() == original
    assert run(sandbox, "uninstall", "--hooks").returncode == 0
    assert path.read_text() == original  # byte for byte
    again = run(sandbox, "uninstall", "--hooks")
    assert again.returncode == 0 and "not registered" in again.stdout


def test_dry_run_shows_the_diff_and_writes_nothing(sandbox: Sandbox) -> None:
    path = sandbox.user_settings({"model": "sonnet"})
    before = path.read_bytes()
    proc = run(sandbox, "install", "--hooks", "--dry-run")
    assert proc.returncode == 0
    assert "Would edit" in proc.stdout and '+    "UserPromptSubmit": [' in proc.stdout
    assert path.read_bytes() == before
    assert not list(path.parent.glob("*backup*"))


@pytest.mark.parametrize(
    ("scope", "relative"),
    [("project", ".claude/settings.json"), ("local", ".claude/settings.local.json")],
)
def test_project_and_local_scopes(sandbox: Sandbox, scope: str, relative: str) -> None:
    proc = run(sandbox, "install", "--hooks", "--scope", scope, "--project", str(sandbox.project))
    assert proc.returncode == 0, proc.stderr
    assert all(our_commands(sandbox.project / relative).values())
    assert not (sandbox.home / ".claude" / "settings.json").exists()


def test_reinstall_from_another_path_replaces_the_old_entry(sandbox: Sandbox) -> None:
    assert run(sandbox, "install", "--hooks", "--command", "/old/bin/claude-health").returncode == 0
    assert run(sandbox, "install", "--hooks", "--command", "/new/bin/claude-health").returncode == 0
    commands = our_commands(sandbox.home / ".claude" / "settings.json")
    assert commands == {e: [f"/new/bin/claude-health hook {e}"] for e in EVENTS}


def test_mixed_group_keeps_the_other_hook(sandbox: Sandbox) -> None:
    ours = {"type": "command", "command": "/x/claude-health hook SessionStart"}
    path = sandbox.user_settings({"hooks": {"SessionStart": [{"hooks": [THEIRS, ours]}]}})
    assert run(sandbox, "uninstall", "--hooks").returncode == 0
    assert json.loads(path.read_text()) == {"hooks": {"SessionStart": [{"hooks": [THEIRS]}]}}


def test_appends_to_empty_and_one_line_arrays_and_keeps_crlf(sandbox: Sandbox) -> None:
    theirs = '{"hooks": [{"type": "command", "command": "a"}]}'
    text = '{"hooks": {"SessionStart": [], "UserPromptSubmit": [' + theirs + "]}}"
    path = sandbox.user_settings(text.replace("{", "{\r\n", 1))
    assert run(sandbox, "install", "--hooks").returncode == 0
    data = json.loads(path.read_text())
    assert data["hooks"]["UserPromptSubmit"][0] == {"hooks": [{"type": "command", "command": "a"}]}
    assert all(our_commands(path).values())
    assert "\r\n" in path.read_bytes().decode()
    assert run(sandbox, "uninstall", "--hooks").returncode == 0
    assert json.loads(path.read_text()) == {
        "hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "a"}]}]}
    }


@pytest.mark.parametrize(
    "content",
    [
        '{"model": "opus",}',
        '{"hooks": []}',
        '{"hooks": {"SessionStart": {"hooks": []}}}',
        "[1, 2]",
    ],
)
def test_refuses_what_it_cannot_edit_safely(sandbox: Sandbox, content: str) -> None:
    path = sandbox.user_settings(content)
    proc = run(sandbox, "install", "--hooks")
    assert proc.returncode == 1 and proc.stderr.startswith("claude-health install:")
    assert "nothing was changed" in proc.stderr or "fix it by hand" in proc.stderr
    assert path.read_text() == content
    assert not list(path.parent.glob("*backup*"))


def test_target_and_scope_errors_are_usage_errors(sandbox: Sandbox) -> None:
    assert run(sandbox, "install", "--hooks", "--statusline").returncode == 2
    assert run(sandbox, "install", "--client", "cursor", "--scope", "local").returncode == 2
    assert run(sandbox, "uninstall", "--hooks", "--client", "claude-code").returncode == 2


def test_written_hooks_are_valid_settings_for_the_validator(sandbox: Sandbox) -> None:
    """One truth: the entries install writes pass the same validator that judges users' files."""
    from claude_health.tools.settings.validate import validate_workspace

    assert (
        run(sandbox, "install", "--hooks", "--scope", "project", "--project", str(sandbox.project)).returncode
        == 0
    )
    validation = validate_workspace(sandbox.workspace())
    assert [f.code for f in validation.findings if f.code.startswith("S2")] == []


def test_launch_forms_are_recognised() -> None:
    for launch in (
        Launch("/opt/ch/bin/claude-health", [], "executable"),
        Launch("uvx", [], "uvx"),
        Launch("/usr/bin/python3", [], "python-module"),
        Launch("/path with space/claude-health", [], "explicit"),
    ):
        assert is_ours(hook_command(launch, "SessionStart")), launch
    assert not is_ours("claude-health statusline")
    assert not is_ours("echo claude-health hook SessionStart")  # an argument here, not the program
    assert not is_ours("unbalanced 'quote")
