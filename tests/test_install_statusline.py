"""`claude-health install --statusline`: real settings files, kept bytes, backups, round trips."""

from __future__ import annotations

import json

from tests.conftest import Sandbox
from tests.test_cli import run


def test_adds_statusline_to_missing_settings(sandbox: Sandbox) -> None:
    proc = run(sandbox, "install", "--statusline")
    assert proc.returncode == 0, proc.stderr
    settings = json.loads((sandbox.home / ".claude" / "settings.json").read_text())
    command = settings["statusLine"]["command"]
    assert settings["statusLine"]["type"] == "command"
    assert command.endswith(" statusline") and "claude-health" in command
    # idempotent: a second run changes nothing
    again = run(sandbox, "install", "--statusline")
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_keeps_unrelated_keys_and_wraps_existing_command(sandbox: Sandbox) -> None:
    original = (
        '{\n    "model": "opus",\n    "statusLine": {"type": "command", "command": "~/bin/my line.sh"},\n'
        '    "permissions": {"allow": ["Bash(ls)"]}\n}\n'
    )
    path = sandbox.user_settings(original)
    assert run(sandbox, "install", "--statusline").returncode == 0
    text = path.read_text()
    data = json.loads(text)
    assert data["model"] == "opus" and data["permissions"] == {"allow": ["Bash(ls)"]}
    assert "--wrap" in data["statusLine"]["command"] and "my line.sh" in data["statusLine"]["command"]
    assert text.startswith('{\n    "model": "opus",\n')  # untouched bytes stay as they were
    state = sandbox.home / ".local" / "state" / "claude-health" / "backups"
    backups = list(state.glob("*settings.json.claude-health-backup-*"))
    assert backups and backups[0].read_text() == original
    assert not list(path.parent.glob("settings.json.*"))  # nothing left among Claude Code's files
    assert run(sandbox, "uninstall", "--statusline").returncode == 0
    assert json.loads(path.read_text()) == json.loads(original)


def test_dry_run_writes_nothing(sandbox: Sandbox) -> None:
    path = sandbox.user_settings({"model": "sonnet"})
    before = path.read_bytes()
    proc = run(sandbox, "install", "--statusline", "--dry-run")
    assert proc.returncode == 0 and "+" in proc.stdout and "statusLine" in proc.stdout
    assert path.read_bytes() == before


def test_refuses_invalid_settings_untouched(sandbox: Sandbox) -> None:
    path = sandbox.user_settings('{"model": "opus",}')
    proc = run(sandbox, "install", "--statusline")
    assert proc.returncode == 1 and "not valid JSON" in proc.stderr
    assert path.read_text() == '{"model": "opus",}'


def test_needs_exactly_one_target(sandbox: Sandbox) -> None:
    assert run(sandbox, "install").returncode == 2
    assert run(sandbox, "install", "--statusline", "--client", "cursor").returncode == 2
