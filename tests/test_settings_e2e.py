"""Differential tests: our verdict against the real Claude Code, offline (no login, no prompt).

`claude doctor` in an untrusted project prints "Ignoring N permissions.allow entries from <files>"
for the files it loaded, lists every rule it skipped and every hook event it ignored, and its MCP
diagnostics name every skipped server; `claude mcp list` names the servers it would run. Each
case below must get the same answer from claude-health.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.findings import Severity
from claude_health.tools.settings.validate import Validation, validate_workspace
from tests.conftest import Sandbox
from tests.external import claude_bin, claude_env, print_session
from tests.fake_messages import TOOL_COMMAND, FakeMessages, bash_once
from tests.fakes import fake_key

pytestmark = pytest.mark.e2e

CANARY = "Bash(echo canary)"


def claude(sandbox: Sandbox, *args: str) -> str:
    proc = subprocess.run(
        [claude_bin(), *args],
        cwd=sandbox.project,
        env=claude_env(sandbox.home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.stdout + proc.stderr


def ours(sandbox: Sandbox) -> Validation:
    return validate_workspace(sandbox.workspace())


SETTINGS_CASES: dict[str, Any] = {
    "clean": {"model": "opus"},
    "trailing comma": '{"permissions": {"allow": ["Bash(echo canary)"]},}',
    "comment": '{\n// c\n"permissions": {"allow": ["Bash(echo canary)"]}}',
    "bom": '\ufeff{"permissions": {"allow": ["Bash(echo canary)"]}}',
    "model number": {"model": 5},
    "cleanup zero": {"cleanupPeriodDays": 0},
    "cleanup string": {"cleanupPeriodDays": "30"},
    "defaultMode yolo": {"permissions": {"defaultMode": "yolo"}},
    "defaultMode delegate": {"permissions": {"defaultMode": "delegate"}},
    "defaultMode manual": {"permissions": {"defaultMode": "manual"}},
    "deny string": {"permissions": {"deny": "Bash"}},
    "statusLine no command": {"statusLine": {"type": "command"}},
    "effortLevel caught": {"effortLevel": "ultra"},
    "teammateMode caught": {"teammateMode": "x"},
    "unknown key": {"brandNewKey": 1, "modle": "x"},
    "env number": {"env": {"N": 1}},
    "env object": {"env": {"N": {}}},
    "autoUpdatesChannel bad": {"autoUpdatesChannel": "beta"},
    "enabledPlugins bad": {"enabledPlugins": {"a@b": "x"}},
    "enabledMcpjsonServers string": {"enabledMcpjsonServers": "x"},
    "allowedMcpServers bad": {"allowedMcpServers": [{"foo": 1}]},
    "allowedMcpServers string": {"allowedMcpServers": "x"},
    "pre matcher without hooks": {"hooks": {"PreToolUse": [{"matcher": "Bash"}]}},
    "post matcher without hooks": {"hooks": {"PostToolUse": [{"matcher": "Bash"}]}},
    "pre unknown type": {"hooks": {"PreToolUse": [{"hooks": [{"type": "script", "command": "x"}]}]}},
    "stop unknown type": {"hooks": {"Stop": [{"hooks": [{"type": "script", "command": "x"}]}]}},
    "permission request no command": {"hooks": {"PermissionRequest": [{"hooks": [{"type": "command"}]}]}},
    "session start no command": {"hooks": {"SessionStart": [{"hooks": [{"type": "command"}]}]}},
    "pre matcher number": {
        "hooks": {"PreToolUse": [{"matcher": 5, "hooks": [{"type": "command", "command": "x"}]}]}
    },
    "pre zero timeout": {
        "hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "timeout": 0}]}]}
    },
    "user prompt zero timeout": {
        "hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "x", "timeout": 0}]}]}
    },
    "hooks array": {"hooks": []},
    "pre hook shell": {
        "hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "shell": "zsh"}]}]}
    },
    "stop hook shell": {
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x", "shell": "zsh"}]}]}
    },
    "skillOverrides enum": {"skillOverrides": {"s": "sometimes"}},
    "sandbox network bool": {"sandbox": {"network": {"allowManagedDomainsOnly": "yes"}}},
    "marketplace plugin git": {
        "extraKnownMarketplaces": {
            "t": {
                "source": {
                    "name": "t",
                    "source": "settings",
                    "plugins": [{"name": "p", "source": {"source": "git", "url": "https://h/x.git"}}],
                }
            }
        }
    },
    "marketplace no plugins": {
        "extraKnownMarketplaces": {"t": {"source": {"name": "t", "source": "settings"}}}
    },
    "vim remap": {"vimInsertModeRemaps": {"jjj": "<Esc>"}},
    "env string": {"env": "x"},
    "statusLine string": {"statusLine": "x"},
    "additionalDirectories number": {"permissions": {"additionalDirectories": [1]}},
    "fallbackModel mixed": {"fallbackModel": ["a", 1]},
    "apiKeyHelper number": {"apiKeyHelper": 5},
    "worktree baseRef": {"worktree": {"baseRef": "x"}},
    "spinnerVerbs without verbs": {"spinnerVerbs": {"mode": "append"}},
    "voice mode": {"voice": {"mode": "x"}},
    "hook if on pre": {
        "hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "if": "Bash(git *)"}]}]}
    },
    "event object": {"hooks": {"Stop": {}}},
    # Guard hooks (PreToolUse, PermissionRequest, PreSkillShellCommand) Claude Code 2.1.332 cannot
    # load make it ignore the whole file; the same shapes elsewhere drop only the entry.
    "pre event object": {
        "hooks": {"PreToolUse": {"matcher": "Bash", "hooks": [{"type": "command", "command": "x"}]}}
    },
    "pre event null": {"hooks": {"PreToolUse": None}},
    "permission request string": {"hooks": {"PermissionRequest": "x"}},
    "pre skill shell object": {"hooks": {"PreSkillShellCommand": {}}},
    "post event single matcher": {
        "hooks": {"PostToolUse": {"matcher": "Bash", "hooks": [{"type": "command", "command": "x"}]}}
    },
    "stop holding pre": {
        "hooks": {"Stop": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x"}]}]}}
    },
    "hooks array of matchers": {
        "hooks": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "x"}]}]
    },
    "hooks single matcher": {"hooks": {"matcher": "Bash", "hooks": [{"type": "command", "command": "x"}]}},
    "unknown event holding pre": {
        "hooks": {"Foo": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x"}]}]}}
    },
    "top-level PreToolUse": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x"}]}]},
    "pre hook bad url": {"hooks": {"PreToolUse": [{"hooks": [{"type": "http", "url": "hooks.test/x"}]}]}},
    "pre hook once string": {
        "hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "once": "y"}]}]}
    },
    "post hook if number": {
        "hooks": {"PostToolUse": [{"hooks": [{"type": "command", "command": "x", "if": 5}]}]}
    },
    "workflowSizeGuideline bad": {"workflowSizeGuideline": "huge"},
    "theme number": {"theme": 5},
    "unknown event": {"hooks": {"PreTool": [], "PostToolUse": []}},
    "blocking field": {
        "hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "blocking": True}]}]}
    },
    "rules": {
        "permissions": {
            "allow": [
                "Bash(ls",
                "bash(ls)",
                "Bash()",
                "mcp__x(y)",
                "*",
                "mcp__*",
                "Bash(foo:*bar)",
                "WebSearch(*)",
                "WebSearch(what?)",
                "WebFetch(https://x.com)",
                "WebFetch(x.com)",
                "Read(foo:*)",
                "Bash(:*)",
                "Bash(x) y",
                "Bash(foo())",
                "Bash(ls))",
                "Bash((ls)",
                'Bash(python -c "help\\(x\\)")',
                "Agent(model:opus)",
                "Write(src/**)",
                "Task",
                "Bash(ls:*)",
                5,
            ],
            "deny": ["*", "mcp__*", "mcp__a__*"],
        }
    },
}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    data = json.loads(json.dumps(content))
    perms = data.setdefault("permissions", {})
    perms.setdefault("allow", []).append(CANARY)
    return json.dumps(data, indent=2)


@pytest.mark.parametrize("name", list(SETTINGS_CASES))
def test_project_settings_verdict_matches_claude(sandbox: Sandbox, name: str) -> None:
    path = sandbox.project_settings(_text(SETTINGS_CASES[name]))
    out = claude(sandbox, "doctor")
    assert "Claude Code doctor" in out, out
    cc_loaded = bool(
        re.search(r"Ignoring \d+ permissions\.allow entr\w+ from [^\n]*\.claude/settings\.json", out)
    )
    v = ours(sandbox)
    our_loaded = next(r.loaded for r in v.files if r.file.path == path)
    assert our_loaded is cc_loaded, f"{name}: claude loaded={cc_loaded}, ours={our_loaded}\n{out}"
    assert any(f.severity is Severity.ERROR for f in v.findings) is (not cc_loaded)
    if not cc_loaded:
        return
    skipped = set(re.findall(r'Invalid permission rule "((?:[^"\\]|\\.)*)" was skipped', out))
    skipped = {s.replace('\\"', '"').replace("\\\\", "\\") for s in skipped}
    our_skipped = {
        m.group(1)
        for f in v.findings
        if f.code == "S101" and (m := re.search(r'rule "(.*)" is skipped', f.message))
    }
    assert our_skipped == skipped, out
    events = set(re.findall(r'Unknown hook event "([^"]+)" was ignored', out))
    our_events = {
        m.group(1) for f in v.findings if f.code == "S202" and (m := re.search(r'event "([^"]+)"', f.message))
    }
    assert our_events == events, out
    non_string = "Non-string value in allow array was removed" in out
    assert any(f.code == "S102" for f in v.findings) is non_string


def _mcp_project(sandbox: Sandbox) -> Path:
    return sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "url-only": {"url": "https://x.example/mcp"},
                "numeric-env": {"command": "true", "env": {"P": 1}},
                "ok": {"command": "true"},
                "remote": {"type": "http", "url": "https://mcp.example.com/mcp"},
                "unknown-type": {"type": "grpc", "url": "x"},
                "missing-var": {"command": "${NOPE_VAR_FOR_TEST}"},
                "no-command": {"type": "stdio"},
            }
        },
    )


def test_mcp_servers_match_claude(sandbox: Sandbox) -> None:
    _mcp_project(sandbox)
    listed = claude(sandbox, "mcp", "list")
    names = set(re.findall(r"^([A-Za-z0-9_-]+): .* - ", listed, re.MULTILINE))
    diagnostics = claude(sandbox, "doctor")
    skipped = set(re.findall(r"mcpServers\.([A-Za-z0-9_-]+): Skipped", diagnostics))
    missing = set(
        re.findall(r"mcpServers\.[A-Za-z0-9_-]+: Missing environment variables: ([A-Z0-9_, ]+)", diagnostics)
    )
    v = ours(sandbox)
    assert {s.name for s in v.servers if s.valid} == names, listed
    assert {s.name for s in v.servers if not s.valid} == skipped, diagnostics
    assert all(s.to_json()["status"] == "pending" for s in v.servers if s.valid)
    assert "⏸ Pending approval" in listed
    our_missing = {
        m.group(1) for f in v.findings if f.code == "S304" and (m := re.search(r"\$\{(\w+)\}", f.message))
    }
    assert our_missing == {n.strip() for group in missing for n in group.split(",")}


def test_mcp_approval_from_user_settings_matches_claude(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.project / ".mcp.json", {"mcpServers": {"a": {"command": "true"}, "b": {"command": "true"}}}
    )
    sandbox.user_settings({"enabledMcpjsonServers": ["a"], "disabledMcpjsonServers": ["b"]})
    listed = claude(sandbox, "mcp", "list")
    v = ours(sandbox)
    statuses = {s.name: s.to_json()["status"] for s in v.servers}
    assert statuses == {"a": "enabled", "b": "disabled"}
    assert re.search(r"^a: .*(Connected|Failed)", listed, re.MULTILINE), listed
    assert re.search(r"^b: .*Rejected", listed, re.MULTILINE) or not re.search(
        r"^b: ", listed, re.MULTILINE
    ), listed


def _session(sandbox: Sandbox, api: FakeMessages) -> dict[str, Any]:
    proc = print_session(sandbox.project, sandbox.home, api.base_url, fake_key())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_session_skips_a_project_file_with_a_broken_pretooluse_event(sandbox: Sandbox) -> None:
    """Case (a) of issue 12 in a real session: PreToolUse given as an object makes Claude Code
    ignore the whole project file, so none of its other hooks run. The control run, the same
    file with PreToolUse as an array, shows that they do run once it loads."""
    markers = sandbox.root / "markers"
    markers.mkdir()

    def touch(name: str) -> list[dict[str, Any]]:
        return [{"hooks": [{"type": "command", "command": f"touch {markers / name}"}]}]

    pre = {"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}
    for pre_value, loads in ((pre, False), ([pre], True)):
        path = sandbox.project_settings(
            {
                "hooks": {
                    "PreToolUse": pre_value,
                    "SessionStart": touch("start"),
                    "PostToolUse": touch("post"),
                },
                "permissions": {"allow": [f"Bash({TOOL_COMMAND})"]},
            }
        )
        with FakeMessages(bash_once()) as api:
            _session(sandbox, api)
            assert len(api.requests) >= 2
        assert sorted(p.name for p in markers.iterdir()) == (["post", "start"] if loads else [])
        assert next(r.loaded for r in ours(sandbox).files if r.file.path == path) is loads
