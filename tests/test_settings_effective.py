"""Claude Code's merge, with the file behind every value."""

from __future__ import annotations

import json

from claude_health.tools.settings.effective import effective_settings
from claude_health.tools.settings.public import public_settings
from claude_health.tools.settings.validate import validate_workspace
from tests.conftest import Sandbox
from tests.fakes import fake_key


def merged(sandbox: Sandbox):  # type: ignore[no-untyped-def]
    return effective_settings(validate_workspace(sandbox.workspace()))


def test_deep_merge_concat_and_scalars(sandbox: Sandbox) -> None:
    user = sandbox.user_settings(
        {"model": "sonnet", "env": {"A": "1", "B": "u"}, "permissions": {"allow": ["Bash(ls)", "Bash(pwd)"]}}
    )
    project = sandbox.project_settings(
        {"model": "opus", "env": {"B": "p"}, "permissions": {"allow": ["Bash(ls)"]}}
    )
    local = sandbox.local_settings({"permissions": {"allow": ["Bash(make)"]}, "fallbackModel": ["a"]})
    e = merged(sandbox)
    assert e.settings["model"] == "opus"
    assert e.settings["env"] == {"A": "1", "B": "p"}
    assert e.settings["permissions"]["allow"] == ["Bash(ls)", "Bash(pwd)", "Bash(make)"]
    assert e.provenance["model"] == str(project)
    assert e.provenance["env.A"] == str(user)
    assert e.provenance["env.B"] == str(project)
    assert e.provenance["permissions.allow[0]"] == str(user)
    assert e.provenance["permissions.allow[2]"] == str(local)


def test_replaced_arrays_and_policy_overwrite(sandbox: Sandbox) -> None:
    sandbox.user_settings({"fallbackModel": ["a", "b"], "availableModels": ["x", "y"]})
    sandbox.local_settings({"fallbackModel": ["c"]})
    managed = sandbox.managed_settings({"availableModels": ["z"]})
    e = merged(sandbox)
    assert e.settings["fallbackModel"] == ["c"]
    assert e.settings["availableModels"] == ["z"]
    assert e.provenance["availableModels[0]"] == str(managed)


def test_rejected_files_and_dropped_entries_do_not_count(sandbox: Sandbox) -> None:
    sandbox.user_settings({"permissions": {"allow": ["Bash(ls", "Bash(ok)"]}, "effortLevel": "ultra"})
    sandbox.project_settings({"model": 5, "env": {"X": "1"}})
    e = merged(sandbox)
    assert e.settings["permissions"]["allow"] == ["Bash(ok)"]
    assert "effortLevel" not in e.settings
    assert "env" not in e.settings


def test_managed_switches(sandbox: Sandbox) -> None:
    sandbox.managed_settings(
        {
            "allowManagedHooksOnly": True,
            "allowManagedPermissionRulesOnly": True,
            "permissions": {"deny": ["Bash(rm *)"]},
        }
    )
    sandbox.user_settings(
        {
            "permissions": {"allow": ["Bash(ls)"], "defaultMode": "acceptEdits"},
            "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x"}]}]},
            "allowManagedHooksOnly": False,
        }
    )
    e = merged(sandbox)
    assert e.settings["permissions"] == {"deny": ["Bash(rm *)"], "defaultMode": "acceptEdits"}
    assert "hooks" not in e.settings
    assert e.settings["allowManagedHooksOnly"] is True
    assert any("allowManagedHooksOnly" in n for n in e.notes)


def test_dropins_merge_after_base_in_sorted_order(sandbox: Sandbox) -> None:
    sandbox.managed_settings({"model": "base"})
    sandbox.write(sandbox.managed / "managed-settings.d" / "b.json", {"model": "b"})
    last = sandbox.write(sandbox.managed / "managed-settings.d" / "a.json", {"model": "a", "env": {"Z": "1"}})
    e = merged(sandbox)
    assert e.settings["model"] == "b"
    assert e.provenance["env.Z"] == str(last)


def test_public_view_redacts_env_credentials(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.user_settings({"env": {"ANTHROPIC_API_KEY": key, "PLAIN": "1"}})
    public = public_settings(merged(sandbox).settings)
    assert key not in json.dumps(public)
    assert public["env"]["PLAIN"] == "1"


def test_hooks_as_claude_code_keeps_them(sandbox: Sandbox) -> None:
    sandbox.user_settings(
        {
            "hooks": {
                "PostToolUse": [
                    {
                        "matcher": "Edit",
                        "hooks": [
                            {"type": "command", "command": "fmt", "blocking": True},
                            {"type": "command"},
                        ],
                    }
                ],
                "PreTool": [{"hooks": [{"type": "command", "command": "x"}]}],
            }
        }
    )
    hooks = merged(sandbox).settings["hooks"]
    assert hooks == {"PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "fmt"}]}]}
