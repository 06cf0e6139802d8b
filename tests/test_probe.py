"""`doctor --probe-servers` against real tiny MCP servers that work, crash, hang and speak garbage."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from claude_health.server.probe import probe_servers, run_probe
from claude_health.tools.runtime.mcp_servers import (
    EntryError,
    ServerEntry,
    configured_servers,
    expand,
    launch_of,
)
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import http_server

SCRIPTS = {
    "works": (
        "from mcp.server import MCPServer\n"
        "server = MCPServer('tiny')\n\n"
        "@server.tool()\n"
        "def echo(text: str) -> str:\n"
        "    return text\n\n"
        "server.run()\n"
    ),
    "crash": "import sys\nsys.stderr.write('boom: missing config file\\n')\nsys.exit(3)\n",
    "hang": "import time\ntime.sleep(120)\n",
    "garbage": (
        "import sys\nfor line in sys.stdin:\n"
        "    sys.stdout.write('hello, this is not JSON-RPC\\n')\n    sys.stdout.flush()\n"
    ),
}


def servers(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    folder = sandbox.root / "servers"
    folder.mkdir(exist_ok=True)
    out = {}
    for name, code in SCRIPTS.items():
        path = folder / f"{name}.py"
        path.write_text(code)
        out[name] = {"type": "stdio", "command": sys.executable, "args": [str(path)]}
    return out


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in data["servers"]}


async def test_working_crashing_hanging_and_garbage_servers(sandbox: Sandbox) -> None:
    sandbox.claude_json({"mcpServers": servers(sandbox)})
    outcome = await probe_servers(sandbox.workspace(), timeout=4)
    results = by_name(outcome.data)
    assert results["works"]["status"] == "ok"
    assert results["works"]["tools"] == ["echo"]
    assert results["works"]["protocol_versions"] == {"auto": "2026-07-28", "legacy": "2025-11-25"}
    codes = {f.message.split("`")[1]: f.code for f in outcome.findings}
    assert codes == {"crash": "P002", "hang": "P003", "garbage": "P004"}
    crash = next(f for f in outcome.findings if f.code == "P002")
    assert "boom: missing config file" in crash.message
    assert outcome.data["failed"] == 3 and outcome.data["probed"] == 4


async def test_command_not_found_is_reported_without_spawning(sandbox: Sandbox) -> None:
    sandbox.claude_json({"mcpServers": {"ghost": {"command": "no-such-mcp-server-xyz", "args": []}}})
    outcome = await probe_servers(sandbox.workspace(), timeout=4)
    assert [f.code for f in outcome.findings] == ["P001"]
    assert "no-such-mcp-server-xyz" in outcome.findings[0].message


async def test_project_servers_need_approval(sandbox: Sandbox) -> None:
    entries = servers(sandbox)
    sandbox.write(
        sandbox.project / ".mcp.json", {"mcpServers": {"pending": entries["works"], "ok": entries["works"]}}
    )
    sandbox.user_settings({"enabledMcpjsonServers": ["ok"]})
    outcome = await probe_servers(sandbox.workspace(), timeout=8)
    results = by_name(outcome.data)
    assert results["pending"]["status"] == "pending"
    assert results["ok"]["status"] == "ok"
    assert [f.code for f in outcome.findings] == ["P006"]


def test_scopes_precedence_and_approval_sources(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.project / ".mcp.json",
        {"mcpServers": {"a": {"command": "p"}, "b": {"command": "p"}, "c": {"command": "p"}}},
    )
    sandbox.claude_json(
        {
            "mcpServers": {"a": {"command": "u"}, "u": {"command": "u"}},
            "projects": {
                str(sandbox.project): {
                    "mcpServers": {"b": {"command": "l"}},
                    "disabledMcpjsonServers": ["c"],
                }
            },
        }
    )
    sandbox.project_settings({"enableAllProjectMcpServers": True})  # checked in, folder not trusted
    entries = {e.name: e for e in configured_servers(sandbox.workspace())}
    assert (entries["a"].scope, entries["a"].approval) == ("project", "pending")
    assert (entries["b"].scope, entries["b"].config["command"]) == ("local", "l")
    assert entries["c"].approval == "rejected"
    assert entries["u"].scope == "user"


def test_env_expansion_and_bad_entries() -> None:
    env = {"HOME": "/h", "TOKEN": "abc"}
    assert expand("${HOME}/x ${MISSING:-dflt}", env) == "/h/x dflt"
    with pytest.raises(EntryError, match=r"\$\{NOPE\}"):
        expand("${NOPE}", env)
    entry = ServerEntry(
        "x", "user", "f", {"type": "http", "url": "http://h/${TOKEN}", "headers": {"A": "${TOKEN}"}}
    )
    launch = launch_of(entry, env)
    assert launch.url == "http://h/abc" and launch.headers == {"A": "abc"}
    for bad in ({"command": 3}, {"command": "x", "args": "not-a-list"}, {"type": "http"}, {"type": "ws"}):
        with pytest.raises(EntryError):
            launch_of(ServerEntry("x", "user", "f", bad), env)


async def test_bad_entry_and_unset_variable_become_p008(sandbox: Sandbox) -> None:
    sandbox.claude_json(
        {"mcpServers": {"nocmd": {"args": ["x"], "type": "stdio"}, "var": {"command": "${UNSET_X}"}}}
    )
    outcome = await probe_servers(sandbox.workspace(), timeout=4)
    assert sorted(f.code for f in outcome.findings) == ["P008", "P008"]


async def test_remote_server_through_http(sandbox: Sandbox) -> None:
    with http_server(sandbox.env) as (url, _proc):
        sandbox.claude_json(
            {
                "mcpServers": {
                    "remote": {"type": "http", "url": url},
                    "dead": {"type": "http", "url": "http://127.0.0.1:9/mcp"},
                }
            }
        )
        outcome = await probe_servers(sandbox.workspace(), timeout=8)
    results = by_name(outcome.data)
    assert results["remote"]["status"] == "ok"
    assert "health_report" in results["remote"]["tools"]
    assert [f.code for f in outcome.findings] == ["P005"]


def test_secrets_in_stderr_are_redacted(sandbox: Sandbox) -> None:
    key = fake_key()
    script = sandbox.write(
        sandbox.root / "leak.py", f"import sys\nsys.stderr.write('bad key {key}\\n')\nsys.exit(1)\n"
    )
    sandbox.claude_json({"mcpServers": {"leak": {"command": sys.executable, "args": [str(script)]}}})
    outcome = run_probe(sandbox.workspace(), timeout=4)
    message = outcome.findings[0].message
    assert outcome.findings[0].code == "P002"
    assert key not in message and key[-4:] in message


def test_no_servers_is_an_empty_report(sandbox: Sandbox) -> None:
    outcome = run_probe(sandbox.workspace(), timeout=1)
    assert outcome.findings == [] and outcome.data["servers"] == []


def test_probe_rules_are_documented() -> None:
    from claude_health.tools.catalogue import all_rules

    documented = all_rules()
    for code in ("P001", "P002", "P003", "P004", "P005", "P006", "P007", "P008"):
        assert documented[code].check == "probe"


def test_stderr_scrub_hides_config_lines_urls_and_other_providers() -> None:
    import secrets

    from claude_health.server.probe import _last_line

    github, openai, pw = (
        "ghp_" + secrets.token_hex(18),
        "sk-proj-" + secrets.token_hex(20),
        secrets.token_hex(9),
    )
    for line in (
        f'GITHUB_TOKEN = "{github}"',
        f"env: OPENAI_API_KEY={openai}",
        f'{{"GITHUB_PAT": "{github}"}}',
        f"connect https://u:{pw}@db.example/x?api_key={openai} failed",
    ):
        shown = _last_line(f"starting\n{line}\n")
        assert github not in shown and openai not in shown and pw not in shown, shown


def _doctor_probe(sandbox: Sandbox, *, stderr_tty: bool) -> tuple[int, str, str]:
    """`doctor --probe-servers` as a user runs it, stderr on a terminal (a pty) or a pipe."""
    import os
    import pty
    import subprocess

    from tests.mcp_helpers import cli_path

    env = {**sandbox.env, "PATH": os.environ["PATH"]}
    command = [cli_path(), "doctor", "--only", "settings", "--probe-servers", "--probe-timeout", "4"]
    if not stderr_tty:
        proc = subprocess.run(
            command, cwd=sandbox.project, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        return proc.returncode, proc.stdout, proc.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(
        command, cwd=sandbox.project, env=env, stdout=subprocess.PIPE, stderr=follower, text=True
    ) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        out = proc.stdout.read() if proc.stdout else ""
        code = proc.wait(timeout=120)
    os.close(leader)
    return code, out, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def test_probe_progress_on_a_terminal_and_the_servers_that_work(sandbox: Sandbox) -> None:
    entries = servers(sandbox)
    sandbox.write(
        sandbox.project / ".mcp.json",
        {"mcpServers": {"works": entries["works"], "hang": entries["hang"]}},
    )
    sandbox.user_settings({"enableAllProjectMcpServers": True})
    code, out, err = _doctor_probe(sandbox, stderr_tty=True)
    assert code == 1  # the hanging server is an error
    assert "Probing 2 MCP server(s), up to 4 s per handshake: hang, works" in err
    assert "still waiting for: hang (" in err  # it hangs for at least 4 s; a line comes every 3 s
    assert "ok       works: 1 tool, protocol 2026-07-28" in err
    assert "failed   hang: no handshake within 4 s" in err
    # Each result is a line of its own after the opening one (in the order they land, which
    # depends on the machine's load, so not asserted).
    assert err.index("Probing") < min(err.index("ok       works"), err.index("failed   hang"))
    assert "MCP servers that work: works (1 tool)" in out
    assert "MCP servers failed: hang" in out
    # Not a terminal: stderr stays quiet (logs only), the report still lists the working servers.
    code, out, err = _doctor_probe(sandbox, stderr_tty=False)
    assert code == 1 and "Probing" not in err and "still waiting" not in err
    assert "MCP servers that work: works (1 tool)" in out
