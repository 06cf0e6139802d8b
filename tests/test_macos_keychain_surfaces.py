"""The macOS Keychain login through every surface: the CLI in each output format, and MCP.

The interface other checks rely on: with ``CLAUDE_HEALTH_PLATFORM=darwin`` and a ``security`` on
PATH that prints a claude.ai credentials JSON, ``claude-health auth --json`` reports the login,
its plan and who pays, and no token appears in any output or in the logs at ``-vv``.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path
from tests.test_macos_keychain import Mac


@pytest.fixture
def mac(sandbox: Sandbox) -> Mac:
    return Mac(sandbox)


def run(mac: Mac, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [cli_path(), *args, "--project", str(mac.sandbox.project), "-vv"],
        env=mac.sandbox.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    mac.assert_no_secret(proc.stdout)
    mac.assert_no_secret(proc.stderr)
    return proc


def test_auth_json_reports_the_keychain_subscription(mac: Mac) -> None:
    mac.keychain_login("max")
    proc = run(mac, "auth", "--json")
    auth = json.loads(proc.stdout)["auth"]
    assert (auth["loggedIn"], auth["authMethod"], auth["subscriptionType"], auth["billing"]) == (
        True,
        "claude.ai",
        "max",
        "subscription",
    )
    assert proc.returncode == 0
    assert "macOS Keychain item" in proc.stderr  # the -vv log says where it looked, not what it found


def test_auth_json_with_a_key_overriding_the_keychain_login(mac: Mac) -> None:
    mac.keychain_login("pro")
    mac.sandbox.env["ANTHROPIC_API_KEY"] = key = fake_key()
    mac.secrets.append(key)
    proc = run(mac, "auth", "--json")
    data = json.loads(proc.stdout)
    assert (data["auth"]["authMethod"], data["auth"]["billing"]) == ("api_key", "api")
    assert "A001" in {f["code"] for f in data["findings"]} and proc.returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        ("auth",),
        ("doctor", "--only", "auth"),
        ("doctor", "--only", "auth", "--json"),
        ("doctor", "--only", "auth", "--sarif"),
        ("doctor", "--json"),
    ],
)
def test_no_token_in_any_output_format(mac: Mac, args: tuple[str, ...]) -> None:
    mac.keychain_login("max")
    mac.file_login("pro")  # a stale file too: both documents' tokens must stay hidden
    proc = run(mac, *args)
    assert proc.stdout.strip()


def test_locked_keychain_on_the_command_line(mac: Mac) -> None:
    mac.keychain_login("max")
    mac.security.set_mode("locked")
    proc = run(mac, "auth")
    assert "A020" in proc.stdout and "A002" not in proc.stdout
    assert "security unlock-keychain" in proc.stdout  # the fix is printed with the finding


async def test_mcp_auth_status_reads_the_keychain(mac: Mac) -> None:
    mac.keychain_login("max")
    params = StdioServerParameters(
        command=cli_path(), args=["serve", "-vv"], env=mac.sandbox.env, cwd=str(mac.sandbox.project)
    )
    async with Client(params) as client:
        result = await client.call_tool("auth_status", {"project_dir": str(mac.sandbox.project)})
    assert result.is_error is False and result.structured_content is not None
    auth = result.structured_content["auth"]
    assert (auth["authMethod"], auth["subscriptionType"]) == ("claude.ai", "max")
    assert auth["billing"] == "subscription"
    mac.assert_no_secret(json.dumps(result.structured_content))
    mac.assert_no_secret("".join(getattr(c, "text", "") for c in result.content))
