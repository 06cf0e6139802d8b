"""Secrets never leave redacted form, whatever shape they arrive in.

Fake keys (built at run time) are planted in every input shape claude-health reads: settings
`env` values behind a prefix ("…", "x", "Bearer …"), permission rules, file and directory names,
JSON-escaped keys in `.mcp.json` (one escaped dash, every character escaped), URL query values,
shell start-up files, `.env`, git history, CLAUDE.md, transcript paths, the environment, a
request body, and a gateway at ANTHROPIC_BASE_URL that echoes whatever it receives in its error
body and response headers. Every CLI command in every format (human, --json, --sarif, -vv) and
every MCP tool, resource and prompt then runs, and no output may hold any 12 consecutive
characters of a planted key's body, plain or after decoding escapes (a redaction shows 4).

Decided, and documented in docs/security-secrets-and-exec.md: base64 and URL percent-encoding
are not decoded (no client turns them into a live key on its own).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.tools.redact import scrub
from claude_health.tools.usage.synthetic import assistant_record, line
from tests.conftest import Sandbox
from tests.fake_anthropic import FakeAnthropic, Reply, error_body
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

WINDOW = 12
_ESCAPES = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|U([0-9a-fA-F]{8}))")


def _decoded(text: str) -> str:
    """The test's own escape decoder (independent of the code under test)."""
    return _ESCAPES.sub(lambda m: chr(int(m.group(1) or m.group(2) or m.group(3), 16)), text)


def _escape_all(key: str, form: str = "u") -> str:
    width = {"u": 4, "x": 2, "U": 8}[form]
    return "".join(f"\\{form}{ord(c):0{width}x}" for c in key)


@dataclass
class Planted:
    keys: dict[str, str] = field(default_factory=dict)

    def new(self, label: str, kind: str = "api_key") -> str:
        self.keys[label] = fake_key(kind)
        return self.keys[label]

    def leaks(self, text: str) -> list[str]:
        """Labels of the keys of which any 12 consecutive body characters appear."""
        views = (text, _decoded(text))
        found = []
        for label, key in self.keys.items():
            body = key.split("-", 3)[3]
            windows = {body[i : i + WINDOW] for i in range(len(body) - WINDOW + 1)}
            if any(w in view for view in views for w in windows):
                found.append(label)
        return found


class EchoGateway(FakeAnthropic):
    """An ANTHROPIC_BASE_URL gateway that echoes the credential and the request it received."""

    def default_reply(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        key = headers.get("x-api-key") or headers.get("authorization", "")
        said = (
            f"invalid x-api-key {key!r} (body {key.split('-', 3)[-1]}); "
            f"request was: {body[:400].decode('utf-8', 'replace')}; "
            f"upstream key {_escape_all(self.api_key)}"
        )
        return Reply(
            401,
            error_body("authentication_error", said),
            headers={"x-echo-key": key, "x-echo-body": key.split("-", 3)[-1], "request-id": "req_echo"},
        )


def plant(sandbox: Sandbox, gateway_url: str | None = None) -> tuple[Planted, dict[str, str]]:
    k = Planted()
    home, project = sandbox.home, sandbox.project
    sandbox.user_settings(
        {
            "env": {
                "ANTHROPIC_API_KEY": "…" + k.new("user-env-ellipsis"),
                "NOTE": "x" + k.new("user-env-glued"),
                "OTHER_HEADER": "Bearer …" + k.new("user-env-bearer"),
            }
        }
    )
    sandbox.claude_json(
        {
            "projects": {str(project): {"hasTrustDialogAccepted": True}},
            "primaryApiKey": k.new("primary"),
            "mcpServers": {
                "remote": {
                    "type": "http",
                    "url": "https://mcp.example/mcp?key=" + k.new("url-query"),
                    "headers": {"X-Thing": "Bearer " + k.new("header")},
                },
                "tool": {"command": "/bin/true", "args": ["--token", k.new("args", "oauth_access_token")]},
            },
        }
    )
    sandbox.write(home / ".bashrc", f'export MY_THING="prefix{k.new("bashrc")}"\n')
    escaped_dash = k.new("mcp-escaped-dash").replace("-", "\\u002d")
    every_char = _escape_all(k.new("mcp-escaped-all"))
    sandbox.write(
        project / ".mcp.json",
        '{\n  "mcpServers": {\n    "svc": {\n      "command": "svc",\n'
        f'      "args": ["{every_char}"],\n'
        f'      "env": {{"TOKEN": "{escaped_dash}"}}\n'
        "    }\n  }\n}\n",
    )
    sandbox.project_settings(
        {
            "permissions": {"allow": [f"Bash(export ANTHROPIC_API_KEY={k.new('rule')})"]},
            "env": {"X": "…" + k.new("project-env")},
            "apiKeyHelper": f"echo {k.new('helper')}",
        }
    )
    sandbox.local_settings({"env": {"ANTHROPIC_AUTH_TOKEN": "Bearer …" + k.new("local-env")}})
    sandbox.write(project / f"notes-{k.new('file-name')}.md", "hello\n")
    sandbox.write(project / k.new("dir-name") / "x.py", "print(1)\n")
    sandbox.write(project / "app.py", f"KEY = '{k.new('tree')}'\n")
    sandbox.write(project / "CLAUDE.md", f"Use {k.new('claude-md')} for tests.\n")
    sandbox.write(project / ".env", f"ANTHROPIC_API_KEY={k.new('dotenv')}\n")
    sandbox.write(project / "request.json", json.dumps(_request(k.new("request-body"))))
    _git_history(sandbox, k.new("history"))
    _transcript(sandbox, k.new("transcript-path"))
    env = {
        **sandbox.env,
        "PATH": os.environ["PATH"],
        "ANTHROPIC_API_KEY": k.new("process-env"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(sandbox.root / "gitconfig"),
    }
    if gateway_url:
        env["ANTHROPIC_BASE_URL"] = gateway_url
    return k, env


def _request(key: str) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "system": f"The key is {key}.",
        "messages": [{"role": "user", "content": "hi"}],
    }


def _git_history(sandbox: Sandbox, key: str) -> None:
    p = sandbox.project
    cfg = ["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "core.hooksPath=/dev/null"]
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(sandbox.root / "gitconfig")}

    def g(*args: str) -> None:
        subprocess.run(["git", *cfg, *args], cwd=p, env=env, check=True, capture_output=True)

    g("init", "-q")
    (p / "old.txt").write_text(f"key={key}\n")
    g("add", "old.txt")
    g("commit", "-qm", "add")
    (p / "old.txt").unlink()
    g("commit", "-qam", "remove")
    g("add", "app.py")  # staged: what `keys --staged` reads


def _transcript(sandbox: Sandbox, key: str) -> None:
    folder = sandbox.home / ".claude" / "projects" / f"-home-user-{key}"
    record = assistant_record(
        session="s1", msg_id="msg_1", request_id="req_1", at=datetime.now(UTC) - timedelta(minutes=5)
    )
    record["cwd"] = f"/home/user/{key}"
    folder.mkdir(parents=True)
    (folder / "s1.jsonl").write_text(line(record))


@pytest.fixture
def gateway(sandbox: Sandbox) -> Any:
    with EchoGateway(fake_key()) as g:
        yield g


CLI_RUNS: list[tuple[str, ...]] = [
    ("doctor",),
    ("doctor", "--json"),
    ("doctor", "--sarif"),
    ("doctor", "-vv"),
    ("auth",),
    ("auth", "--json"),
    ("settings",),
    ("settings", "--json"),
    ("keys",),
    ("keys", "--json"),
    ("keys", "--sarif"),
    ("keys", "--json", "--history"),
    ("keys", "--json", "--staged"),
    ("keys", "--json", "--verify"),
    ("keys", "--verify", "-vv"),
    ("tokens", "."),
    ("tokens", "--json", "."),
    ("tokens", "--exact", "."),
    ("tokens", "--exact", "--json", "-vv", "app.py"),
    ("tokens", "--exact", "--request", "request.json"),
    ("tokens", "--exact", "--json", "--request", "request.json"),
    ("tokens", "--budget"),
    ("tokens", "--budget", "--json"),
    ("limits",),
    ("limits", "--json"),
    ("usage",),
    ("usage", "--json"),
    ("usage", "daily", "--json"),
    ("usage", "blocks"),
    ("install", "--client", "claude-code", "--scope", "project", "--dry-run"),
    ("install", "--client", "claude-code", "--scope", "user", "--dry-run"),
    ("rules", "K002"),
]


@pytest.mark.parametrize("args", CLI_RUNS, ids=lambda a: " ".join(a))
def test_no_cli_output_holds_a_key(sandbox: Sandbox, gateway: EchoGateway, args: tuple[str, ...]) -> None:
    planted, env = plant(sandbox, gateway.base_url)
    done = subprocess.run(
        [cli_path(), *args, "--project", str(sandbox.project)],
        cwd=sandbox.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert planted.leaks(out) == [], out[-3000:]
    if args[:2] == ("keys", "--json") and len(args) == 2:
        messages = " ".join(f["message"] for f in json.loads(done.stdout)["findings"])
        assert ".mcp.json" in messages  # the JSON-escaped keys were found, not only hidden
    if "--exact" in args:
        assert gateway.requests, "the exact count went to the echoing gateway"


def test_statusline_output_holds_no_key(sandbox: Sandbox) -> None:
    planted = Planted()
    key = planted.new("statusline-input")
    payload = {
        "model": {"id": "claude-opus-4-6", "display_name": f"Opus {key}"},
        "workspace": {"current_dir": f"/home/{key}"},
        "cwd": f"/x/{key}",
        "transcript_path": f"/t/{key}.jsonl",
        "session_id": key,
    }
    done = subprocess.run(
        [cli_path(), "statusline"],
        input=json.dumps(payload),
        env={**sandbox.env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert planted.leaks(done.stdout + done.stderr) == [], done.stdout


def test_keys_finds_what_only_decoding_reveals(sandbox: Sandbox) -> None:
    planted, env = plant(sandbox)
    done = subprocess.run(
        [cli_path(), "keys", "--json", "--project", str(sandbox.project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    from claude_health.tools.redact import fingerprint

    found = {f.get("fingerprint") for f in json.loads(done.stdout)["findings"]}
    for label in ("mcp-escaped-dash", "mcp-escaped-all", "user-env-ellipsis", "user-env-glued", "bashrc"):
        assert fingerprint(planted.keys[label]) in found, label


# -- MCP: every tool, resource and prompt ---------------------------------------------------------


async def _everything(project: str, planted: Planted) -> list[tuple[str, str]]:
    missing_dir = f"/nonexistent/{planted.new('tool-argument')}"
    calls: list[tuple[str, dict[str, Any]]] = [
        ("auth_status", {"project_dir": project}),
        ("health_report", {"project_dir": project}),
        ("check_key_hygiene", {"project_dir": project, "history": True, "verify": True}),
        ("limit_status", {"project_dir": project}),
        ("check_request", {"model": "claude-sonnet-4-5", "input_tokens": 10, "max_tokens": 10}),
        (
            "record_response",
            {"model": "claude-sonnet-4-5", "headers": {"x-echo": planted.new("record-headers")}},
        ),
        ("validate_settings", {"project_dir": project}),
        ("effective_settings", {"project_dir": project}),
        (
            "explain_permission",
            {
                "tool": "Bash",
                "tool_input": {"command": f"export K={planted.new('explain')}"},
                "project_dir": project,
            },
        ),
        ("count_tokens", {"paths": ["."], "project_dir": project}),
        ("count_tokens", {"paths": ["app.py"], "mode": "exact", "project_dir": project}),
        (
            "count_tokens",
            {"text": f"say {planted.new('count-text')}", "mode": "exact", "project_dir": project},
        ),
        (
            "count_tokens",
            {"request": _request(planted.new("count-request")), "mode": "exact", "project_dir": project},
        ),
        ("context_budget", {"project_dir": project}),
        ("plan_usage", {"project_dir": project}),
        ("health_report", {"project_dir": missing_dir}),  # a ToolError that quotes its argument
    ]
    seen: list[tuple[str, str]] = []
    for mode in ("legacy", "auto"):
        async with Client(build_server(), mode=mode) as c:
            for name, arguments in calls:
                result = await c.call_tool(name, arguments)
                seen.append((name, json.dumps(result.structured_content) + str(result.content)))
            for resource in (await c.list_resources()).resources:
                seen.append((str(resource.uri), str(await c.read_resource(str(resource.uri)))))
            seen.append(("diagnose", str(await c.get_prompt("diagnose", {"project_dir": project}))))
    return seen


def test_no_mcp_result_holds_a_key(
    sandbox: Sandbox, gateway: EchoGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted, env = plant(sandbox, gateway.base_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.chdir(sandbox.project)
    seen = anyio.run(_everything, str(sandbox.project), planted)
    leaks = {name: planted.leaks(text) for name, text in seen if planted.leaks(text)}
    assert leaks == {}
    assert gateway.requests, "exact counts went to the echoing gateway"


# -- the scrubber itself --------------------------------------------------------------------------


def test_scrub_catches_every_shape_and_is_idempotent() -> None:
    planted = Planted()
    key = planted.new("k")
    shapes = [
        key,
        "…" + key,
        "x" + key,
        f"notes-{key}.md",
        key.replace("-", "\\u002d"),
        key.replace("-", "\\u002D"),
        _escape_all(key),
        _escape_all(key, "x"),
        _escape_all(key, "U"),
        f'{{"K": "{key}"}}',
        f"Authorization: Bearer {key}",
    ]
    for text in shapes:
        once = scrub(text)
        assert planted.leaks(once) == [], text[:40]
        assert scrub(once) == once
        assert "…" in once


def test_registered_secrets_are_scrubbed_in_any_shape() -> None:
    from claude_health.tools.redact import register_secret

    for n in range(200):  # a long-lived process that met many credentials keeps the newest
        register_secret(f"older-credential-{n:04d}-abcdef")
    opaque = "gw-" + "".join(f"{i % 10}{chr(97 + i % 26)}" for i in range(20))  # no known shape
    register_secret(opaque)
    assert opaque[5:] not in scrub(f"echo: {opaque}!")
    key = fake_key()
    register_secret(key)
    body = key.removeprefix("sk-ant-api03-")
    assert body[5:-5] not in scrub(f"the gateway said {body}")


def test_scrub_leaves_ordinary_text_alone() -> None:
    text = (
        "commit 3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6d7e8f9a0 added sk-ant-api03-…WXYZ to app.py:3:9; "
        "task-assessment-2024-quarterly-report.md; 42% used; C:\\\\Users\\\\me; fingerprint a1b2c3d4e5f6"
    )
    assert scrub(text) == text


def test_logging_and_tracebacks_are_scrubbed(sandbox: Sandbox) -> None:
    """A key in an exception message reaches stderr only redacted (log formatter and stream)."""
    planted = Planted()
    key = planted.new("traceback")
    code = (
        "import logging, sys\n"
        "from claude_health.server.cli import configure_logging\n"
        "from claude_health.server.redacting import protect_process_output\n"
        "protect_process_output()\n"
        "configure_logging(2)\n"
        f"key = {key!r}\n"
        "logging.getLogger('x').warning('echo %s', key)\n"
        "try:\n    raise ValueError('bad ' + key)\n"
        "except ValueError:\n    logging.getLogger('x').exception('failed')\n"
        "sys.stdout.write(key[:50]); sys.stdout.write(key[50:] + '\\n')\n"
        "sys.stdout.buffer.write(key.encode() + b'\\n')\n"
        "raise RuntimeError('uncaught ' + key)\n"
    )
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "RuntimeError" in done.stderr and "echo" in done.stderr
    assert planted.leaks(done.stdout + done.stderr) == [], done.stdout + done.stderr


# -- each check redacts at its source too (no boundary involved) ----------------------------------


def test_effective_settings_redact_a_key_behind_any_prefix(sandbox: Sandbox) -> None:
    from claude_health.tools.settings.effective import effective_settings
    from claude_health.tools.settings.public import public_effective
    from claude_health.tools.settings.validate import validate_workspace

    planted = Planted()
    values = {
        "ANTHROPIC_API_KEY": "…" + planted.new("ellipsis"),
        "ANTHROPIC_AUTH_TOKEN": "sk-ant-api03-…WXYZ" + planted.new("fake-redaction-then-key"),
        "API_TOKEN": "***" + planted.new("stars"),
        "PLAIN": "see " + planted.new("plain-name"),
    }
    sandbox.user_settings({"env": values})
    payload = public_effective(effective_settings(validate_workspace(sandbox.workspace())).to_json())
    assert planted.leaks(json.dumps(payload, ensure_ascii=False)) == []


def test_a_gateway_echo_never_reaches_the_error_message(sandbox: Sandbox) -> None:
    from claude_health.tools.anthropic import AnthropicClient, AnthropicError
    from claude_health.tools.anthropic.client import Credential

    planted = Planted()
    sent = planted.new("sent")
    with EchoGateway(planted.new("gateway")) as gateway:
        client = AnthropicClient(Credential(api_key=sent), base_url=gateway.base_url, max_retries=0)
        with client, pytest.raises(AnthropicError) as caught:
            client.post_json("/v1/messages/count_tokens", _request(planted.new("request")))
    error = caught.value
    shown = " ".join([str(error), error.message, json.dumps(error.headers)])
    assert "authentication_error" in shown
    assert planted.leaks(shown) == []


def test_token_counts_show_file_names_redacted(sandbox: Sandbox) -> None:
    from claude_health.tools.tokens.counter import count_files

    planted = Planted()
    sandbox.write(sandbox.project / f"notes-{planted.new('file')}.md", "hello\n")
    sandbox.write(sandbox.project / planted.new("dir") / "a.py", "x = 1\n")
    result = count_files(["."], sandbox.project, mode="estimate", env={}, home=sandbox.home)
    assert len(result.files or []) == 2
    assert planted.leaks(result.model_dump_json()) == []


def test_install_diff_hides_a_json_escaped_key(sandbox: Sandbox) -> None:
    from claude_health.tools.registration.plan import plan_install

    planted = Planted()
    escaped = planted.new("dash").replace("-", "\\u002d")
    every = _escape_all(planted.new("all"))
    sandbox.write(
        sandbox.project / ".mcp.json",
        f'{{"mcpServers": {{"svc": {{"command": "x", "args": ["{every}"], '
        f'"env": {{"A": "{escaped}"}}}}}}}}\n',
    )
    diff = plan_install(sandbox.workspace(), "claude-code", scope="project").diff()
    assert "svc" in diff and planted.leaks(diff) == []
