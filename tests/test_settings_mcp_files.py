"""MCP server entries in .mcp.json, managed-mcp.json and ~/.claude.json."""

from __future__ import annotations

import json
import sys

from claude_health.tools.findings import Severity
from claude_health.tools.settings.validate import Validation, validate_workspace
from tests.conftest import Sandbox
from tests.fakes import fake_key


def run(sandbox: Sandbox) -> Validation:
    return validate_workspace(sandbox.workspace())


def codes(v: Validation) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in v.findings:
        out.setdefault(f.code, []).append(f.message)
    return out


def status(v: Validation) -> dict[str, str]:
    return {s.name: s.to_json()["status"] for s in v.servers}


def test_servers_key_instead_of_mcpservers(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / ".mcp.json", {"servers": {"a": {"command": "true"}}})
    v = run(sandbox)
    assert "S301" in codes(v)
    assert v.servers == []


def test_entry_problems(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "url-only": {"url": "https://example.com/mcp"},
                "no-command": {"type": "stdio"},
                "bad-type": {"type": "websocket2", "url": "x"},
                "numeric-env": {"command": sys.executable, "env": {"PORT": 8080}},
                "bad args": {"command": sys.executable, "args": [1]},
                "ok": {"command": sys.executable, "args": ["-V"]},
            }
        },
    )
    v = run(sandbox)
    found = codes(v)
    assert len(found["S302"]) == 4
    assert len(found["S303"]) == 1
    assert any("bad args" in m for m in found["S311"])
    st = status(v)
    assert st["ok"] == "pending" and st["url-only"] == "invalid" and st["numeric-env"] == "invalid"
    assert all(f.severity is not Severity.ERROR for f in v.findings)


def test_variable_expansion(sandbox: Sandbox) -> None:
    sandbox.env["SET_TOKEN"] = "x"
    sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "a": {
                    "command": sys.executable,
                    "env": {
                        "A": "${SET_TOKEN}",
                        "B": "${UNSET_ONE}",
                        "C": "${UNSET_TWO:-fallback}",
                        "D": "$NO_BRACES",
                        "E": "${input:token}",
                    },
                }
            }
        },
    )
    found = codes(run(sandbox))
    assert len(found["S304"]) == 1 and "UNSET_ONE" in found["S304"][0]
    assert len(found["S305"]) == 2


def test_command_not_on_path_is_a_warning(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.project / ".mcp.json", {"mcpServers": {"a": {"command": "definitely-not-here-xyz"}}}
    )
    v = run(sandbox)
    (hit,) = [f for f in v.findings if f.code == "S306"]
    assert hit.severity is Severity.WARNING


def test_plain_http_to_remote_host(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "remote": {"type": "http", "url": "http://mcp.example.com/mcp"},
                "local": {"type": "http", "url": "http://127.0.0.1:8000/mcp"},
                "tls": {"type": "sse", "url": "https://mcp.example.com/sse"},
            }
        },
    )
    found = codes(run(sandbox))
    assert len(found["S307"]) == 1 and "mcp.example.com" in found["S307"][0]


def test_approval_states(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.project / ".mcp.json",
        {"mcpServers": {n: {"command": sys.executable} for n in ("pending1", "approved", "rejected")}},
    )
    sandbox.user_settings({"enabledMcpjsonServers": ["approved"]})
    sandbox.claude_json({"projects": {str(sandbox.project): {"disabledMcpjsonServers": ["rejected"]}}})
    v = run(sandbox)
    assert status(v) == {"pending1": "pending", "approved": "enabled", "rejected": "disabled"}


def test_project_settings_approval_ignored_until_trusted(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"a": {"command": sys.executable}}})
    sandbox.project_settings({"enableAllProjectMcpServers": True})
    assert status(run(sandbox)) == {"a": "pending"}
    sandbox.claude_json({"projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}}})
    assert status(run(sandbox)) == {"a": "enabled"}


def test_mcp_json_chain_from_root(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.root / ".mcp.json", {"mcpServers": {"outer": {"command": sys.executable}}})
    v = run(sandbox)
    paths = [r.file.path for r in v.files if r.file.kind == "mcp"]
    assert paths == [sandbox.root / ".mcp.json", sandbox.project / ".mcp.json"]
    assert [s.name for s in v.servers] == ["outer"]


def test_managed_mcp_exclusive_and_filters(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.managed / "managed-mcp.json", {"mcpServers": {"corp": {"command": sys.executable}}})
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"mine": {"command": sys.executable}}})
    sandbox.managed_settings({"deniedMcpServers": [{"serverName": "corp"}]})
    v = run(sandbox)
    assert "S310" in codes(v)
    assert status(v) == {"corp": "blocked", "mine": "ignored"}


def test_user_and_local_servers_in_claude_json(sandbox: Sandbox) -> None:
    sandbox.claude_json(
        {
            "mcpServers": {"u": {"type": "http", "url": "https://x.example/mcp"}},
            "projects": {str(sandbox.project): {"mcpServers": {"l": {"type": "stdio"}}}},
        }
    )
    v = run(sandbox)
    assert {(s.name, s.scope) for s in v.servers} == {("u", "user"), ("l", "local")}
    assert "S302" in codes(v)


def test_secrets_in_server_targets_are_redacted(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.write(
        sandbox.project / ".mcp.json",
        {"mcpServers": {"a": {"command": sys.executable, "args": ["--api-key", key]}}},
    )
    payload = json.dumps(run(sandbox).payload())
    assert key not in payload
    assert key[-4:] in payload


def test_same_name_precedence(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.root / ".mcp.json", {"mcpServers": {"dup": {"command": sys.executable}}})
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"dup": {"command": sys.executable}}})
    sandbox.claude_json(
        {"mcpServers": {"dup": {"command": sys.executable}, "solo": {"command": sys.executable}}}
    )
    v = run(sandbox)
    by_path = {(s.scope, s.path): s.to_json()["status"] for s in v.servers if s.name == "dup"}
    assert by_path[("project", str(sandbox.project / ".mcp.json"))] == "pending"
    assert by_path[("project", str(sandbox.root / ".mcp.json"))] == "overridden"
    assert by_path[("user", str(sandbox.home / ".claude.json"))] == "overridden"
    assert status(v)["solo"] == "enabled"
