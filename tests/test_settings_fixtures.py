"""Fixtures modelled on the SchemaStore test suite, plus property tests: nothing crashes the validator.

Positive fixtures must produce no `error` (a file Claude Code loads cleanly never gets one);
negative fixtures must produce findings. Where the schema and Claude Code 2.1.332 disagree, the
expectation follows Claude Code (checked against the real binary in test_settings_e2e.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_health.tools.findings import Severity
from claude_health.tools.paths import Workspace
from claude_health.tools.settings.effective import effective_settings
from claude_health.tools.settings.explain import explain_permission
from claude_health.tools.settings.validate import validate_workspace
from tests.conftest import Sandbox

POSITIVE: dict[str, dict[str, Any]] = {
    "empty": {},
    "schema": {"$schema": "https://json.schemastore.org/claude-code-settings.json"},
    "basic": {
        "model": "claude-sonnet-4-5",
        "cleanupPeriodDays": 20,
        "includeGitInstructions": False,
        "permissions": {"allow": ["Bash(npm run lint)", "Read(~/.zshrc)"], "deny": ["Read(./.env)"]},
    },
    "escaped parentheses (schema rejects, Claude Code accepts)": {
        "permissions": {"allow": ['Bash(python -c "print\\(1\\)")', "AskUserQuestion", "NotebookRead"]}
    },
    "hooks of every type": {
        "hooks": {
            "PreToolUse": [
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh", "timeout": 30}]},
                {"matcher": "Edit|Write", "hooks": [{"type": "http", "url": "http://127.0.0.1:9/h"}]},
            ],
            "PostToolUse": [
                {"matcher": "mcp__github__.*", "hooks": [{"type": "mcp_tool", "server": "s", "tool": "t"}]}
            ],
            "UserPromptSubmit": [{"hooks": [{"type": "prompt", "prompt": "Check $ARGUMENTS"}]}],
            "Stop": [{"hooks": [{"type": "agent", "prompt": "verify"}]}],
            "SessionStart": [{"matcher": "startup", "hooks": [{"type": "command", "command": "echo hi"}]}],
        }
    },
    "mcp filters": {
        "enableAllProjectMcpServers": False,
        "enabledMcpjsonServers": ["memory"],
        "allowedMcpServers": [{"serverName": "github"}, {"serverCommand": ["npx", "pkg"]}],
        "deniedMcpServers": [{"serverUrl": "https://*.evil.example/*"}],
    },
    "env": {"env": {"DISABLE_TELEMETRY": "1", "BASH_DEFAULT_TIMEOUT_MS": "60000"}},
    "enums": {
        "effortLevel": "xhigh",
        "autoUpdatesChannel": "rc",
        "defaultShell": "powershell",
        "permissions": {"defaultMode": "manual"},
        "theme": "dark-daltonized",
        "preferredNotifChannel": "notifications_disabled",
    },
    "sandbox": {
        "sandbox": {
            "enabled": True,
            "network": {"allowedDomains": ["*.example.com"], "httpProxyPort": 8080},
            "filesystem": {"denyRead": ["~/.ssh"]},
        }
    },
    "statusline and attribution": {
        "statusLine": {"type": "command", "command": "~/.claude/status.sh", "padding": 0},
        "attribution": {"commit": "", "pr": ""},
    },
}

NEGATIVE: dict[str, tuple[dict[str, Any], str]] = {
    "wrong types": ({"cleanupPeriodDays": "7", "fastMode": "yes"}, "S004"),
    "enum values": ({"defaultShell": "zsh", "tui": "x"}, "S004"),
    "delegate (schema allows, Claude Code rejects)": ({"permissions": {"defaultMode": "delegate"}}, "S004"),
    "hook type": ({"hooks": {"PreToolUse": [{"hooks": [{"type": "script", "command": "x"}]}]}}, "S201"),
    "hook shell": (
        {"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "shell": "zsh"}]}]}},
        "S201",
    ),
    "hook timeout": (
        {"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "timeout": -1}]}]}},
        "S201",
    ),
    "hook extra fields": (
        {
            "hooks": {
                "PreToolUse": [{"extraField": 1, "hooks": [{"type": "command", "command": "x", "other": 1}]}]
            }
        },
        "S204",
    ),
    "missing hook fields": ({"hooks": {"PostToolUse": [{"hooks": [{"type": "command"}]}]}}, "S201"),
    "permission rules": ({"permissions": {"allow": ["Bash()", "Edit(x"]}}, "S101"),
    "env names": ({"env": {"HAS SPACES": "x"}}, "S405"),
    "mcp server names": ({"allowedMcpServers": [{"serverName": "bad name"}]}, "S309"),
    "managed keys": ({"allowManagedMcpServersOnly": "yes"}, "S004"),
    "inline marketplace source": (
        {"extraKnownMarketplaces": {"t": {"source": {"name": "t", "source": "settings"}}}},
        "S005",
    ),
    "inline plugin source": (
        {
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
        "S004",
    ),
    "git url suffix": ({"blockedMarketplaces": [{"source": "git", "url": "https://github.com/o/r"}]}, "S014"),
    "tls terminate keys": ({"sandbox": {"network": {"tlsTerminate": {"caChainPath": "/x"}}}}, "S006"),
    "vim remap": ({"vimInsertModeRemaps": {"jjj": "<Esc>"}}, "S013"),
    "nested enum": ({"skillOverrides": {"x": "sometimes"}}, "S004"),
}


@pytest.mark.parametrize("name", list(POSITIVE))
def test_positive_fixture_has_no_error(sandbox: Sandbox, name: str) -> None:
    sandbox.project_settings(POSITIVE[name])
    v = validate_workspace(sandbox.workspace())
    assert not [f for f in v.findings if f.severity is Severity.ERROR], v.findings
    assert all(r.loaded for r in v.files if r.file.exists)


@pytest.mark.parametrize("name", list(NEGATIVE))
def test_negative_fixture_has_findings(sandbox: Sandbox, name: str) -> None:
    content, code = NEGATIVE[name]
    sandbox.project_settings(content)
    v = validate_workspace(sandbox.workspace())
    assert code in {f.code for f in v.findings}, [(f.code, f.message) for f in v.findings]


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
keys = st.sampled_from(
    ["permissions", "allow", "deny", "ask", "hooks", "PreToolUse", "PostToolUse", "matcher", "type",
     "command", "env", "mcpServers", "url", "args", "defaultMode", "model", "sandbox", "network",
     "statusLine", "timeout", "enabledPlugins", "extraKnownMarketplaces", "source", "plugins",
     "skillOverrides", "projects", "x"]
)  # fmt: skip
json_values = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(keys | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    settings_value=json_values,
    mcp_value=json_values,
    global_value=json_values,
    tool=st.sampled_from(["Bash", "Read", "Edit", "WebFetch", "mcp__a__b", "Agent", "x"]),
    tool_input=json_leaf | st.dictionaries(st.text(max_size=8), json_leaf, max_size=3),
)
def test_random_json_never_crashes(
    sandbox: Sandbox, settings_value: Any, mcp_value: Any, global_value: Any, tool: str, tool_input: Any
) -> None:
    sandbox.project_settings(json.dumps(settings_value))
    sandbox.write(sandbox.managed / "managed-settings.json", json.dumps(settings_value))
    sandbox.write(sandbox.project / ".mcp.json", json.dumps(mcp_value))
    sandbox.claude_json(json.dumps(global_value))
    ws: Workspace = sandbox.workspace()
    v = validate_workspace(ws)
    json.dumps(v.payload())
    json.dumps(effective_settings(v).to_json())
    given_input = tool_input if isinstance(tool_input, str | dict) else None
    assert explain_permission(v, tool, given_input).decision in ("allow", "ask", "deny")
    for f in v.findings:
        assert f.path and f.line and f.column


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(sandbox: Sandbox, data: bytes) -> None:
    sandbox.write(sandbox.project / ".claude" / "settings.local.json", data)
    v = validate_workspace(sandbox.workspace())
    local = next(r for r in v.files if r.file.scope == "local")
    if local.loaded is False:
        assert any(f.severity is Severity.ERROR for f in v.findings)
