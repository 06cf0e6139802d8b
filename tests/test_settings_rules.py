"""One fixture tree per rule: each finding code, its severity, and whether the file still loads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from claude_health.tools.findings import Finding, Severity
from claude_health.tools.settings.validate import Validation, validate_workspace
from tests.conftest import Sandbox
from tests.fakes import fake_key


def run(sandbox: Sandbox) -> Validation:
    return validate_workspace(sandbox.workspace())


def found(v: Validation, code: str) -> list[Finding]:
    return [f for f in v.findings if f.code == code]


def loaded(v: Validation, path: str) -> bool | None:
    return next(r.loaded for r in v.files if str(r.file.path) == path)


# (settings content, expected code, severity, file still loaded by Claude Code)
CASES: list[tuple[str, Any, str, Severity, bool]] = [
    ("trailing comma", '{"model": "opus",}', "S001", Severity.ERROR, False),
    ("comment", '{\n  // note\n  "model": "opus"\n}', "S001", Severity.ERROR, False),
    ("array top level", "[]", "S003", Severity.ERROR, False),
    ("model number", {"model": 5}, "S004", Severity.ERROR, False),
    ("cleanup zero", {"cleanupPeriodDays": 0}, "S004", Severity.ERROR, False),
    ("cleanup string", {"cleanupPeriodDays": "30"}, "S004", Severity.ERROR, False),
    ("defaultMode yolo", {"permissions": {"defaultMode": "yolo"}}, "S004", Severity.ERROR, False),
    ("defaultMode delegate", {"permissions": {"defaultMode": "delegate"}}, "S004", Severity.ERROR, False),
    ("allow not array", {"permissions": {"allow": "Bash"}}, "S004", Severity.ERROR, False),
    ("statusLine without command", {"statusLine": {"type": "command"}}, "S004", Severity.ERROR, False),
    ("sandbox.enabled string", {"sandbox": {"enabled": "yes"}}, "S004", Severity.ERROR, False),
    ("includeCoAuthoredBy string", {"includeCoAuthoredBy": "yes"}, "S004", Severity.ERROR, False),
    ("autoUpdatesChannel bad", {"autoUpdatesChannel": "beta"}, "S004", Severity.ERROR, False),
    ("effortLevel caught", {"effortLevel": "ultra"}, "S005", Severity.WARNING, True),
    ("enabledMcpjsonServers string", {"enabledMcpjsonServers": "x"}, "S005", Severity.WARNING, True),
    ("unknown key", {"modle": "opus"}, "S006", Severity.INFO, True),
    ("deprecated", {"includeCoAuthoredBy": False}, "S007", Severity.INFO, True),
    ("managed-only in project", {"allowManagedHooksOnly": True}, "S008", Severity.INFO, True),
    ("invalid rule", {"permissions": {"allow": ["Bash(ls"]}}, "S101", Severity.WARNING, True),
    ("lowercase tool", {"permissions": {"allow": ["bash(ls)"]}}, "S101", Severity.WARNING, True),
    ("empty parens", {"permissions": {"allow": ["Bash()"]}}, "S101", Severity.WARNING, True),
    ("mcp parens", {"permissions": {"allow": ["mcp__x(y)"]}}, "S101", Severity.WARNING, True),
    ("wildcard allow", {"permissions": {"allow": ["mcp__*"]}}, "S101", Severity.WARNING, True),
    ("webfetch url", {"permissions": {"allow": ["WebFetch(https://x.com)"]}}, "S101", Severity.WARNING, True),
    ("websearch wildcard", {"permissions": {"allow": ["WebSearch(what?)"]}}, "S101", Severity.WARNING, True),
    ("read prefix", {"permissions": {"deny": ["Read(foo:*)"]}}, "S101", Severity.WARNING, True),
    ("non-string rule", {"permissions": {"allow": [5]}}, "S102", Severity.WARNING, True),
    ("write path rule", {"permissions": {"deny": ["Write(src/**)"]}}, "S103", Severity.WARNING, True),
    ("anchored path", {"permissions": {"deny": ["Read(/etc/passwd)"]}}, "S104", Severity.INFO, True),
    ("legacy prefix", {"permissions": {"allow": ["Bash(npm run test:*)"]}}, "S105", Severity.INFO, True),
    ("alias", {"permissions": {"deny": ["Task"]}}, "S106", Severity.INFO, True),
    ("unknown tool", {"permissions": {"deny": ["Frobnicate"]}}, "S107", Severity.INFO, True),
    ("bash everything", {"permissions": {"allow": ["Bash"]}}, "S109", Severity.WARNING, True),
    ("bash star", {"permissions": {"allow": ["Bash(*)"]}}, "S109", Severity.WARNING, True),
    ("bypass", {"permissions": {"defaultMode": "bypassPermissions"}}, "S109", Severity.WARNING, True),
    ("duplicate", {"permissions": {"deny": ["Bash(rm *)", "Bash(rm *)"]}}, "S110", Severity.INFO, True),
    (
        "pretooluse matcher without hooks",
        {"hooks": {"PreToolUse": [{"matcher": "Bash"}]}},
        "S201",
        Severity.ERROR,
        False,
    ),
    (
        "pretooluse unknown type",
        {"hooks": {"PreToolUse": [{"hooks": [{"type": "script", "command": "x"}]}]}},
        "S201",
        Severity.ERROR,
        False,
    ),
    (
        "permissionrequest missing command",
        {"hooks": {"PermissionRequest": [{"hooks": [{"type": "command"}]}]}},
        "S201",
        Severity.ERROR,
        False,
    ),
    (
        "posttooluse matcher without hooks",
        {"hooks": {"PostToolUse": [{"matcher": "Bash"}]}},
        "S201",
        Severity.WARNING,
        True,
    ),
    (
        "stop zero timeout",
        {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x", "timeout": 0}]}]}},
        "S201",
        Severity.WARNING,
        True,
    ),
    ("unknown event", {"hooks": {"PreTool": []}}, "S202", Severity.WARNING, True),
    ("hooks array", {"hooks": []}, "S203", Severity.WARNING, True),
    ("event object", {"hooks": {"Stop": {}}}, "S203", Severity.WARNING, True),
    (
        "blocking field",
        {
            "hooks": {
                "PreToolUse": [
                    {"matcher": "Bash", "hooks": [{"type": "command", "command": "x", "blocking": True}]}
                ]
            }
        },
        "S204",
        Severity.INFO,
        True,
    ),
    (
        "mcp server matcher",
        {
            "hooks": {
                "PreToolUse": [{"matcher": "mcp__gemini", "hooks": [{"type": "command", "command": "x"}]}]
            }
        },
        "S205",
        Severity.WARNING,
        True,
    ),
    (
        "invalid regex",
        {"hooks": {"PostToolUse": [{"matcher": "[", "hooks": [{"type": "command", "command": "x"}]}]}},
        "S205",
        Severity.WARNING,
        True,
    ),
    (
        "if on SessionStart",
        {"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "x", "if": "Bash(ls)"}]}]}},
        "S206",
        Severity.WARNING,
        True,
    ),
    (
        "phantom variable",
        {
            "hooks": {
                "PostToolUse": [
                    {"matcher": "Edit", "hooks": [{"type": "command", "command": "fmt $CLAUDE_FILE_PATHS"}]}
                ]
            }
        },
        "S207",
        Severity.WARNING,
        True,
    ),
    (
        "matcher on Stop",
        {"hooks": {"Stop": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "x"}]}]}},
        "S208",
        Severity.INFO,
        True,
    ),
    (
        "prompt on SessionStart",
        {"hooks": {"SessionStart": [{"hooks": [{"type": "prompt", "prompt": "hi"}]}]}},
        "S209",
        Severity.WARNING,
        True,
    ),
    ("bad filter entry", {"allowedMcpServers": [{"foo": 1}]}, "S309", Severity.WARNING, True),
    ("filter not array", {"deniedMcpServers": "x"}, "S309", Severity.WARNING, True),
    ("env number", {"env": {"N": 1}}, "S401", Severity.INFO, True),
    ("env object", {"env": {"N": {}}}, "S402", Severity.WARNING, True),
    (
        "env base url in project",
        {"env": {"ANTHROPIC_BASE_URL": "https://gw.example"}},
        "S404",
        Severity.WARNING,
        True,
    ),
    ("env bad name", {"env": {"a-b": "x"}}, "S405", Severity.INFO, True),
    ("committed helper", {"apiKeyHelper": "vault read key"}, "S406", Severity.INFO, True),
]


@pytest.mark.parametrize(
    ("name", "content", "code", "severity", "still_loaded"), CASES, ids=[c[0] for c in CASES]
)
def test_rule(
    sandbox: Sandbox, name: str, content: Any, code: str, severity: Severity, still_loaded: bool
) -> None:
    path = sandbox.project_settings(content)
    v = run(sandbox)
    hits = found(v, code)
    assert hits, f"{code} not reported for {name}: {[(f.code, f.message) for f in v.findings]}"
    assert {f.severity for f in hits} == {severity}
    assert all(f.path == str(path) and f.line and f.column for f in hits)
    assert loaded(v, str(path)) is still_loaded
    if still_loaded:
        assert not [f for f in v.findings if f.severity is Severity.ERROR]


def test_every_finding_points_at_the_offending_key(sandbox: Sandbox) -> None:
    sandbox.project_settings(
        '{\n  "model": "opus",\n  "permissions": {\n    "allow": [\n      "Bash(ls"\n    ]\n  }\n}'
    )
    (hit,) = found(run(sandbox), "S101")
    assert (hit.line, hit.column) == (5, 7)


def test_syntax_error_position(sandbox: Sandbox) -> None:
    sandbox.local_settings('{\n  "model": "opus",\n}\n')
    (hit,) = found(run(sandbox), "S001")
    assert (hit.line, hit.column) == (3, 1)
    assert "trailing comma" in hit.message


def test_bom_is_accepted(sandbox: Sandbox) -> None:
    path = sandbox.write(
        sandbox.project / ".claude" / "settings.json", "\ufeff" + json.dumps({"model": "opus"})
    )
    v = run(sandbox)
    assert loaded(v, str(path)) is True
    assert not v.findings


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x00\x01\x02", "binary"),
        (b"\xff\xfe{}", "UTF-8"),
    ],
)
def test_unreadable_files(sandbox: Sandbox, content: bytes, problem: str) -> None:
    sandbox.user_settings("{}")
    sandbox.write(sandbox.home / ".claude" / "settings.json", content)
    (hit,) = found(run(sandbox), "S002")
    assert problem in hit.message and hit.severity is Severity.ERROR


def test_directory_and_symlink_loop(sandbox: Sandbox) -> None:
    (sandbox.project / ".claude" / "settings.json").mkdir(parents=True)
    loop = sandbox.project / ".claude" / "settings.local.json"
    loop.symlink_to(loop)
    v = run(sandbox)
    assert len(found(v, "S002")) == 2


def test_unknown_key_is_never_an_error_and_suggests(sandbox: Sandbox) -> None:
    sandbox.project_settings({"permisions": {"allow": ["Bash(ls)"]}, "brandNewKey2099": True, "allow": []})
    v = run(sandbox)
    messages = [f.message for f in found(v, "S006")]
    assert any('Did you mean "permissions"' in m for m in messages)
    assert any('"permissions.allow"' in m for m in messages)
    assert all(f.severity is Severity.INFO for f in v.findings if f.code == "S006")


def test_managed_type_error_drops_only_that_key(sandbox: Sandbox) -> None:
    path = sandbox.managed_settings({"model": 5, "permissions": {"deny": ["Bash(rm *)"]}})
    v = run(sandbox)
    (hit,) = found(v, "S004")
    assert hit.severity is Severity.WARNING
    assert loaded(v, str(path)) is True


def test_managed_invalid_json_is_fatal(sandbox: Sandbox) -> None:
    sandbox.managed_settings("{")
    (hit,) = found(run(sandbox), "S001")
    assert "refuses to start" in hit.message


def test_managed_dropins_in_sorted_order(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.managed / "managed-settings.d" / "20-b.json", {"model": "b"})
    sandbox.write(sandbox.managed / "managed-settings.d" / "10-a.json", {"model": "a"})
    sandbox.write(sandbox.managed / "managed-settings.d" / ".hidden.json", {"model": "x"})
    sandbox.write(sandbox.managed / "managed-settings.d" / "notes.txt", "x")
    paths = [
        r.file.path.name
        for r in run(sandbox).files
        if r.file.scope == "managed" and r.file.kind == "settings"
    ]
    assert paths == ["managed-settings.json", "10-a.json", "20-b.json"]


def test_repo_managed_settings_is_reported_as_never_read(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / ".claude" / "managed-settings.json", {"allowManagedHooksOnly": True})
    (hit,) = found(run(sandbox), "S010")
    assert hit.severity is Severity.WARNING


def test_shadowed_allow_across_files(sandbox: Sandbox) -> None:
    user = sandbox.user_settings({"permissions": {"deny": ["Bash(git push *)"]}})
    sandbox.local_settings({"permissions": {"allow": ["Bash(git push origin main)", "Bash(git status)"]}})
    (hit,) = found(run(sandbox), "S108")
    assert "git push origin main" in hit.message and str(user) in hit.message


def test_untrusted_workspace_note_and_trust(sandbox: Sandbox) -> None:
    sandbox.project_settings({"permissions": {"allow": ["Bash(ls)"]}})
    assert found(run(sandbox), "S012")
    sandbox.claude_json({"projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}}})
    assert not found(run(sandbox), "S012")


def test_credential_in_env_is_redacted(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.project_settings({"env": {"ANTHROPIC_API_KEY": key}})
    v = run(sandbox)
    (hit,) = found(v, "S403")
    assert key not in json.dumps(v.payload())
    assert key[-4:] in hit.message


def test_legacy_keys_in_claude_json(sandbox: Sandbox) -> None:
    sandbox.claude_json({"projects": {str(sandbox.project): {"allowedTools": ["Bash(ls)"]}}})
    (hit,) = found(run(sandbox), "S011")
    assert hit.path == str(sandbox.home / ".claude.json")


def test_local_settings_at_git_root(sandbox: Sandbox) -> None:
    (sandbox.project / ".git").mkdir()
    sub = sandbox.project / "pkg"
    sub.mkdir()
    sandbox.write(
        sandbox.project / ".claude" / "settings.local.json", {"permissions": {"allow": ["Bash(ls"]}}
    )
    sandbox.project = sub
    v = run(sandbox)
    locals_ = [r for r in v.files if r.file.scope == "local"]
    assert [r.file.path for r in locals_] == [
        sub / ".claude" / "settings.local.json",
        sandbox.root / "project" / ".claude" / "settings.local.json",
    ]
    assert found(v, "S101")


def test_claude_config_dir_override(sandbox: Sandbox) -> None:
    config = sandbox.root / "cfg"
    sandbox.env["CLAUDE_CONFIG_DIR"] = str(config)
    path = sandbox.write(config / "settings.json", {"model": 5})
    v = run(sandbox)
    assert next(r for r in v.files if r.file.scope == "user").file.path == path
    assert found(v, "S004")


def test_windows_legacy_programdata_is_listed_only_when_present(sandbox: Sandbox) -> None:
    from claude_health.tools.paths import Workspace
    from claude_health.tools.settings.discovery import discover

    env = {k: v for k, v in sandbox.env.items() if k != "CLAUDE_HEALTH_MANAGED_DIR"}
    ws = Workspace.discover(project=sandbox.project, env=env, platform="win32")
    assert str(ws.managed_dir) == "C:\\Program Files\\ClaudeCode"
    assert not [f for f in discover(ws) if f.scope == "ignored"]  # nothing at C:\ProgramData here


def test_doctor_check(sandbox: Sandbox) -> None:
    from claude_health.tools.outcome import CheckOutcome
    from claude_health.tools.settings.check import run_check

    path = sandbox.project_settings({"model": 5})
    outcome = run_check(sandbox.workspace())
    assert isinstance(outcome, CheckOutcome)
    assert [f.code for f in outcome.findings] == ["S004"]
    assert outcome.findings[0].check == "settings"
    assert [f["path"] for f in outcome.data["files"]] == [str(path)]
    assert outcome.data["files"][0]["loaded"] is False
