"""Credentials written into settings never leave redacted form: not in findings, not in the merged
settings, not in a permission explanation, not in the CLI's JSON or text output."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.server.watcher import EFFECTIVE_URI, FINDINGS_URI
from claude_health.tools.redact import redact
from claude_health.tools.settings.scrub import scrub_text
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

MODES = ("legacy", "auto")


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class Planted:
    """Secrets of several shapes, and where each one's secret part starts."""

    api: str = ""
    oauth: str = ""
    hex_a: str = ""
    hex_b: str = ""
    uuid: str = ""
    password: str = ""
    short: str = ""

    def __post_init__(self) -> None:
        self.api = fake_key()
        self.oauth = fake_key("oauth_access_token")
        self.hex_a = _random("0123456789abcdef", 32)
        self.hex_b = _random("0123456789abcdef", 32)
        self.uuid = str(uuid.uuid4())
        self.password = _random(string.ascii_letters + string.digits, 14)
        self.short = _random(string.ascii_letters + string.digits, 10)

    def bodies(self) -> dict[str, str]:
        return {
            "api": self.api.removeprefix("sk-ant-api03-"),
            "oauth": self.oauth.removeprefix("sk-ant-oat01-"),
            "hex_a": self.hex_a,
            "hex_b": self.hex_b,
            "uuid": self.uuid,
            "password": self.password,
            "short": self.short,
        }

    def leaks(self, text: str) -> list[str]:
        """Secrets of which any 8 consecutive characters appear (a redaction shows at most 4)."""
        found = []
        for name, body in self.bodies().items():
            if any(body[i : i + 8] in text for i in range(len(body) - 7)):
                found.append(name)
        return found


def plant(sandbox: Sandbox) -> Planted:
    k = Planted()
    sandbox.claude_json(
        {
            "projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}},
            "mcpServers": {
                "remote": {
                    "type": "http",
                    "url": f"https://mcp.example.com/mcp?api_key={k.hex_a}",
                    "headers": {"Authorization": f"Bearer {k.api}"},
                },
                "userinfo": {"type": "sse", "url": f"https://bot:{k.password}@mcp.example.com/sse"},
                "local": {
                    "command": "node",
                    "args": ["srv.js", "--token", k.uuid],
                    "env": {"API_KEY": k.api},
                },
            },
        }
    )
    sandbox.user_settings(
        {
            "permissions": {
                "deny": ["Bash(curl:*)"],
                "allow": [
                    f'Bash(curl -H "x-api-key: {k.api}" https://api.anthropic.com/v1/models)',
                    f"Bash(export ANTHROPIC_API_KEY={k.api})",
                    f"Bash(tool --api-key {k.uuid})",
                    f"Bash({k.oauth}",  # malformed: quoted back in its finding
                ],
            },
            "apiKeyHelper": f"echo {k.hex_b}",
            "statusLine": {"type": "command", "command": f"ANTHROPIC_API_KEY={k.api} ccusage statusline"},
            "otelHeadersHelper": f"echo Authorization={k.oauth}",
            "env": {"MY_PW": k.short, "SENTRY_DSN": k.password, "OPENAI_KEY": k.hex_a},
            "hooks": {
                "Stop": [
                    {"hooks": [{"type": "http", "url": f"https://hooks.example.com/x?token={k.hex_b}"}]}
                ],
                "PreToolUse": [
                    {
                        "matcher": "Bash",
                        "hooks": [{"type": "command", "command": f"guard --secret={k.short}"}],
                    }
                ],
            },
            "unknownKey": k.oauth,
            k.hex_a: "a secret as a key name",
        }
    )
    sandbox.write(
        sandbox.project / ".mcp.json",
        {"mcpServers": {"proj": {"type": "http", "url": f"https://user:{k.short}@proj.example.com/mcp"}}},
    )
    return k


def test_scrub_text_shapes() -> None:
    k = Planted()
    cases = [
        f"export ANTHROPIC_API_KEY={k.api}",
        f"curl -H 'x-api-key: {k.api}' https://x",
        f"curl -H 'Authorization: Bearer {k.password}' https://x",
        f"echo {k.hex_a}",
        f"node s.js --api-key {k.uuid}",
        f"node s.js --token={k.short}",
        f"https://h.example/p?a=1&access_token={k.short}&b=2",
        f"https://h.example/p?key={k.password}",
        f"postgres://app:{k.password}@db.example/x",
        f"MY_PASSWORD={k.short} run",
        f"SENTRY_DSN={k.password} run",
    ]
    for text in cases:
        assert not k.leaks(scrub_text(text)), text
    # What is not a credential stays readable.
    for text in (
        "Bash(git push origin main)",
        "Authorization: Bearer $TOKEN",
        "https://h.example/x?api_key=${KEY}",
        "`permissions.allow[1]`: expected string, received number",
        "MAX_THINKING_TOKENS=8000",
    ):
        assert scrub_text(text) == text
    assert scrub_text(f"x {k.api}") == f"x {redact(k.api)}"


@pytest.mark.parametrize("mode", MODES)
async def test_mcp_tools_never_show_planted_keys(
    sandbox: Sandbox, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.chdir(sandbox.project)
    k = plant(sandbox)
    project = str(sandbox.project)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("validate_settings", {"project_dir": project}),
        ("effective_settings", {"project_dir": project}),
        ("explain_permission", {"tool": "Bash", "tool_input": f"export ANTHROPIC_API_KEY={k.api}"}),
        ("explain_permission", {"tool": "Bash", "tool_input": f"ls && curl -H 'x-api-key: {k.api}' x"}),
        ("explain_permission", {"tool": "Bash", "tool_input": {"command": f"tool --api-key {k.uuid}"}}),
    ]
    async with Client(build_server(), mode=mode) as c:
        results = {}
        for i, (name, arguments) in enumerate(calls):
            r = await c.call_tool(name, {"project_dir": project, **arguments})
            assert not r.is_error, r.content
            results[i] = r
            text = json.dumps(r.structured_content) + "".join(getattr(b, "text", "") for b in r.content)
            assert not k.leaks(text), (name, k.leaks(text))
        for uri in (FINDINGS_URI, EFFECTIVE_URI):
            contents = (await c.read_resource(uri)).contents[0]
            assert not k.leaks(getattr(contents, "text", "")), uri
    # The results are still useful: the rules are recognisable and decide what they should.
    validation = results[0].structured_content or {}
    codes = {f["code"] for f in validation["findings"]}
    assert {"S101", "S108"} <= codes  # the malformed rule, the allow rule the curl deny shadows
    export = results[2].structured_content or {}
    assert export["decision"] == "allow"
    assert export["matched"][0]["rule"] == f"Bash(export ANTHROPIC_API_KEY={redact(k.api)})"
    settings = (results[1].structured_content or {})["settings"]
    assert settings["env"]["MY_PW"] == redact(k.short)
    assert settings["statusLine"]["command"] == f"ANTHROPIC_API_KEY={redact(k.api)} ccusage statusline"


def test_cli_json_and_text_never_show_planted_keys(sandbox: Sandbox) -> None:
    k = plant(sandbox)
    env = {**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for extra in (["--json"], ["--color", "never"]):
        proc = subprocess.run(
            [cli_path(), "settings", "--project", str(sandbox.project), *extra],
            env=env,
            cwd=sandbox.project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        assert not k.leaks(proc.stdout + proc.stderr), (extra, k.leaks(proc.stdout + proc.stderr))
        assert "S101" in proc.stdout  # the malformed rule is still reported, key redacted
