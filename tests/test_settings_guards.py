"""Verdicts Claude Code 2.1.332 reaches that depend on where a file comes from (unit level).

Guard hooks (PreToolUse, PermissionRequest, PreSkillShellCommand) that cannot be loaded: the whole
user/project/local file is ignored, a managed file loses its whole `hooks` field. Managed settings
fail closed. managed-settings.d files skipped by name are reported. Each case here was observed
with the real binary (tests/test_settings_e2e.py and tests/test_settings_e2e_managed.py run the
same kinds of case against it).
"""

from __future__ import annotations

from typing import Any

import pytest

from claude_health.tools.findings import Finding, Severity
from claude_health.tools.settings.effective import effective_settings
from claude_health.tools.settings.explain import explain_permission
from claude_health.tools.settings.validate import FileResult, Validation, validate_workspace
from tests.conftest import Sandbox

CMD = {"type": "command", "command": "true"}
HTTP = {"type": "http", "url": "https://hooks.test/h"}
MCP = {"type": "mcp_tool", "server": "s", "tool": "t"}
MATCHER = {"matcher": "Bash", "hooks": [CMD]}


def run(sandbox: Sandbox) -> Validation:
    return validate_workspace(sandbox.workspace())


def result(v: Validation, name: str) -> FileResult:
    return next(r for r in v.files if r.file.path.name == name and r.file.exists)


def codes(v: Validation) -> list[tuple[str, Severity]]:
    return [(f.code, f.severity) for f in v.findings]


def hook_field(hook: dict[str, Any], event: str = "PreToolUse") -> dict[str, Any]:
    return {"hooks": {event: [{"matcher": "Bash", "hooks": [hook]}]}}


# (content of a project settings file, does Claude Code still load it)
PROJECT: list[tuple[str, dict[str, Any], bool]] = [
    ("PreToolUse as an object", {"hooks": {"PreToolUse": MATCHER}}, False),
    ("PreToolUse as a string", {"hooks": {"PreToolUse": "x"}}, False),
    ("PreToolUse null", {"hooks": {"PreToolUse": None}}, True),
    ("PermissionRequest as an object", {"hooks": {"PermissionRequest": {}}}, False),
    ("PreSkillShellCommand as an object", {"hooks": {"PreSkillShellCommand": {}}}, False),
    ("PreSkillShellCommand matcher without hooks", {"hooks": {"PreSkillShellCommand": [{}]}}, False),
    ("PostToolUse as an object", {"hooks": {"PostToolUse": MATCHER}}, True),
    ("Stop holding PreToolUse", {"hooks": {"Stop": {"PreToolUse": [MATCHER]}}}, False),
    ("Stop as a single matcher", {"hooks": {"Stop": MATCHER}}, True),
    ("SessionStart entry holding guards", {"hooks": {"SessionStart": [{"PreToolUse": [MATCHER]}]}}, False),
    ("hooks as an array of matchers", {"hooks": [MATCHER]}, False),
    ("hooks as an array of strings", {"hooks": ["x"]}, True),
    ("hooks as a single matcher", {"hooks": MATCHER}, False),
    ("unknown event holding PreToolUse", {"hooks": {"Foo": {"PreToolUse": [MATCHER]}}}, False),
    ("unknown event with matchers", {"hooks": {"PreTool": [MATCHER]}}, True),
    ("PreToolUse at the top level", {"PreToolUse": [MATCHER]}, False),
    ("empty PreToolUse at the top level", {"PreToolUse": []}, True),
    ("matcher under another key", {"foo": MATCHER}, False),
    ("PreToolUse inside env", {"env": {"PreToolUse": "x"}}, True),
    ("PreToolUse null entry", {"hooks": {"PreToolUse": [None]}}, False),
    ("PostToolUse null entry", {"hooks": {"PostToolUse": [None]}}, True),
    ("PreToolUse hook once string", hook_field({**CMD, "once": "x"}), False),
    ("PreToolUse hook async string", hook_field({**CMD, "async": "yes"}), False),
    ("PreToolUse hook if number", hook_field({**CMD, "if": 5}), False),
    ("PostToolUse hook if number", hook_field({**CMD, "if": 5}, "PostToolUse"), True),
    ("PreToolUse hook onFailure bad", hook_field({**CMD, "onFailure": "x"}), False),
    ("PreToolUse hook onFailure block", hook_field({**CMD, "onFailure": "block"}), True),
    ("PreToolUse hook args string", hook_field({**CMD, "args": "x"}), False),
    ("PreToolUse hook cloud bad is caught", hook_field({**CMD, "cloud": 5}), True),
    ("PreToolUse http hook bad url", hook_field({**HTTP, "url": "example.com/h"}), False),
    ("PreToolUse http hook host:port url", hook_field({**HTTP, "url": "localhost:8080"}), True),
    ("PreToolUse http headers number", hook_field({**HTTP, "headers": {"a": 1}}), False),
    ("PreToolUse mcp_tool onFailure anything", hook_field({**MCP, "onFailure": 5}), True),
    ("PreToolUse mcp_tool input string", hook_field({**MCP, "input": "x"}), False),
    ("PreToolUse prompt model number", hook_field({"type": "prompt", "prompt": "p", "model": 5}), False),
    ("PreToolUse hook without type", hook_field({"command": "x"}), False),
    ("workflowSizeGuideline is no longer caught", {"workflowSizeGuideline": "huge"}, False),
    ("theme of the wrong type is caught", {"theme": 5}, True),
    ("subagentStatusLine without command is caught", {"subagentStatusLine": {"type": "command"}}, True),
    ("worktree.bgIsolation bad is caught", {"worktree": {"bgIsolation": "x"}}, True),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "loads"), PROJECT, ids=[c[0] for c in PROJECT])
def test_project_verdict(sandbox: Sandbox, name: str, content: dict[str, Any], loads: bool) -> None:
    sandbox.project_settings(content)
    v = run(sandbox)
    assert result(v, "settings.json").loaded is loads, codes(v)
    errors = [f for f in v.findings if f.severity is Severity.ERROR]
    assert bool(errors) is (not loads), codes(v)


def test_guard_hook_in_user_and_local_files_rejects_them_too(sandbox: Sandbox) -> None:
    user = sandbox.user_settings({"hooks": {"PreToolUse": [{"matcher": "Bash"}]}})
    local = sandbox.local_settings({"hooks": {"PreToolUse": {}}})
    v = run(sandbox)
    assert result(v, user.name).loaded is False and result(v, local.name).loaded is False


def test_ignored_file_drops_its_deny_rule(sandbox: Sandbox) -> None:
    """Case (a) of issue 12: the deny rule beside a broken PreToolUse event does not apply."""
    sandbox.project_settings({"hooks": {"PreToolUse": MATCHER}, "permissions": {"deny": ["Read(./.env)"]}})
    v = run(sandbox)
    (hit,) = [f for f in v.findings if f.code == "S203"]
    assert hit.severity is Severity.ERROR and "ignores this whole file" in hit.message
    assert explain_permission(v, "Read", {"file_path": str(sandbox.project / ".env")}).decision != "deny"


def test_misplaced_guard_is_reported_once(sandbox: Sandbox) -> None:
    sandbox.project_settings({"PreToolUse": [MATCHER]})
    assert codes(run(sandbox)) == [("S210", Severity.ERROR)]


# -- managed settings ----------------------------------------------------------------------------


def test_managed_guard_hook_drops_the_hooks_field_not_the_file(sandbox: Sandbox) -> None:
    """Case (b): a PreToolUse matcher with no hooks array in managed settings."""
    path = sandbox.managed_settings(
        {
            "hooks": {"PreToolUse": [{"matcher": "Bash"}], "SessionStart": [{"hooks": [CMD]}]},
            "permissions": {"deny": ["Bash(rm *)"]},
        }
    )
    v = run(sandbox)
    managed = result(v, path.name)
    assert managed.loaded is True
    assert "hooks" not in (managed.data or {})
    (hit,) = [f for f in v.findings if f.code == "S201"]
    assert hit.severity is Severity.WARNING and "whole `hooks` field" in hit.message
    assert not [f for f in v.findings if f.severity is Severity.ERROR]
    merged = effective_settings(v).to_json()
    assert "hooks" not in merged["settings"]
    assert explain_permission(v, "Bash", {"command": "rm -rf x"}).decision == "deny"


@pytest.mark.parametrize(
    "hooks",
    [{"PreToolUse": MATCHER}, [MATCHER], MATCHER, {"Foo": {"PreToolUse": [MATCHER]}}],
    ids=["event object", "array of matchers", "single matcher", "unknown event holding guards"],
)
def test_managed_guard_shapes_drop_the_hooks_field(sandbox: Sandbox, hooks: Any) -> None:
    path = sandbox.managed_settings({"hooks": hooks, "model": "opus"})
    v = run(sandbox)
    managed = result(v, path.name)
    assert managed.loaded is True and managed.data == {"model": "opus"}


def test_managed_non_guard_defect_drops_only_the_matcher(sandbox: Sandbox) -> None:
    path = sandbox.managed_settings(
        {"hooks": {"Stop": [{"matcher": "x"}], "SessionStart": [{"hooks": [CMD]}]}}
    )
    managed = result(run(sandbox), path.name)
    assert managed.data == {"hooks": {"Stop": [], "SessionStart": [{"hooks": [CMD]}]}}


def test_managed_guard_outside_hooks_keeps_the_hooks(sandbox: Sandbox) -> None:
    path = sandbox.managed_settings({"PreToolUse": [MATCHER], "hooks": {"SessionStart": [{"hooks": [CMD]}]}})
    v = run(sandbox)
    managed = result(v, path.name)
    assert managed.loaded is True and "hooks" in (managed.data or {})
    assert codes(v) == [("S210", Severity.WARNING)]


def test_managed_locks_fail_closed(sandbox: Sandbox) -> None:
    path = sandbox.managed_settings(
        {
            "permissions": {"defaultMode": "yolo", "disableBypassPermissionsMode": True, "deny": "Bash"},
            "sandbox": {
                "enabled": "yes",
                "network": {"allowManagedDomainsOnly": "yes", "allowedDomains": "x"},
            },
            "allowManagedHooksOnly": "yes",
            "availableModels": "opus",
            "statusLine": {"type": "command"},
            "model": 5,
        }
    )
    v = run(sandbox)
    assert result(v, path.name).data == {
        "permissions": {"defaultMode": "default", "disableBypassPermissionsMode": "disable"},
        "sandbox": {"enabled": True, "network": {"allowManagedDomainsOnly": True}},
        "allowManagedHooksOnly": True,
        "availableModels": [],
    }
    by_key = {f.message.split("`")[1]: f for f in v.findings if f.code == "S004"}
    assert "restrictive value" in by_key["sandbox.enabled"].message
    assert "empty allowlist" in by_key["availableModels"].message
    assert "drops this key" in by_key["permissions.deny"].message
    assert all(f.severity is Severity.WARNING for f in v.findings)


def test_managed_container_of_the_wrong_type_keeps_its_locks(sandbox: Sandbox) -> None:
    path = sandbox.managed_settings({"permissions": "x", "attribution": 5})
    v = run(sandbox)
    assert result(v, path.name).data == {
        "permissions": {
            "defaultMode": "default",
            "disableBypassPermissionsMode": "disable",
            "disableAutoMode": "disable",
        },
        "attribution": {"sessionUrl": False},
    }


def test_managed_nested_problem_drops_the_whole_object(sandbox: Sandbox) -> None:
    path = sandbox.managed_settings({"statusLine": {"type": "command", "command": "x", "padding": "wide"}})
    assert result(run(sandbox), path.name).data == {}


def test_managed_invalid_allowed_mcp_servers_admits_none(sandbox: Sandbox) -> None:
    sandbox.managed_settings({"allowedMcpServers": "github"})
    sandbox.user_settings({"enableAllProjectMcpServers": True})
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"a": {"command": "true"}}})
    v = run(sandbox)
    assert {s.name: s.to_json()["status"] for s in v.servers} == {"a": "blocked"}
    (hit,) = [f for f in v.findings if f.code == "S309"]
    assert "no MCP server is admitted" in hit.message


def test_managed_mcp_servers_is_an_object_keyed_by_name(sandbox: Sandbox) -> None:
    sandbox.managed_settings({"managedMcpServers": {"srv": {"type": "http", "url": "https://127.0.0.1/x"}}})
    assert not run(sandbox).findings


# -- managed-settings.d names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "severity"),
    [
        ("10-policy.JSON", Severity.WARNING),
        ("Policy.Json", Severity.WARNING),
        (".hidden.json", Severity.INFO),
        ("10-policy.json.bak", Severity.INFO),
    ],
)
def test_dropin_skipped_by_name_is_reported(sandbox: Sandbox, name: str, severity: Severity) -> None:
    path = sandbox.write(sandbox.managed / "managed-settings.d" / name, {"permissions": {"deny": ["Bash"]}})
    v = run(sandbox)
    hits: list[Finding] = [f for f in v.findings if f.code == "S022"]
    assert [(f.path, f.severity) for f in hits] == [(str(path), severity)]
    assert result(v, name).loaded is False
    assert explain_permission(v, "Bash", {"command": "ls"}).decision != "deny"


def test_dropins_claude_code_reads_or_that_are_not_settings_are_not_reported(sandbox: Sandbox) -> None:
    for name in ("10-a.json", "README.md", ".DS_Store", "UPPER.json"):
        sandbox.write(sandbox.managed / "managed-settings.d" / name, "{}")
    (sandbox.managed / "managed-settings.d" / "dir.JSON").mkdir()
    assert not [f for f in run(sandbox).findings if f.code == "S022"]
