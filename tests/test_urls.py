"""Malformed URLs in user files and the environment: one parser, a finding, never a traceback."""

from __future__ import annotations

import json
import subprocess

import pytest

from claude_health.tools.anthropic.client import AnthropicClient, Credential
from claude_health.tools.anthropic.errors import AnthropicError
from claude_health.tools.auth.check import auth_route
from claude_health.tools.keys.verify import OFFICIAL_BASE_URL, base_url
from claude_health.tools.limiter.stores import StoreError, open_store
from claude_health.tools.settings.validate import validate_workspace
from claude_health.tools.urls import BadUrl, parse_url, try_url
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

BROKEN = (
    "http://[::1",
    "http://[::1/mcp",
    "http://h:abc/",
    "http://h:99999/",
    "http://[vv]/",
    "http://a\x00b/",
)


@pytest.mark.parametrize("url", BROKEN)
def test_a_broken_url_is_a_bad_url_not_a_crash(url: str) -> None:
    with pytest.raises(BadUrl) as caught:
        parse_url(url)
    assert str(caught.value)
    assert try_url(url) is None


def test_good_urls_keep_their_parts() -> None:
    url = parse_url(" HTTPS://User:pw@[::1]:8443/mcp?x=1 ")
    assert (url.scheme, url.host, url.port, url.hostport, url.path) == (
        "https",
        "::1",
        8443,
        "[::1]:8443",
        "/mcp",
    )
    assert url.has_password
    assert parse_url("unix:///tmp/redis.sock").host == ""
    for bad in ("", "   ", "no-scheme", "https:///path-only", "http://a b/"):
        assert try_url(bad) is None, bad


def _run(sandbox: Sandbox, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli_path(), *args, "--project", str(sandbox.project)],
        env={**sandbox.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_command_reports_an_unbalanced_ipv6_url(sandbox: Sandbox) -> None:
    """.mcp.json, ~/.claude.json and ANTHROPIC_BASE_URL all hold ``http://[::1``."""
    sandbox.write(
        sandbox.project / ".mcp.json", {"mcpServers": {"proj": {"type": "http", "url": "http://[::1"}}}
    )
    sandbox.claude_json({"mcpServers": {"user": {"type": "sse", "url": "http://[::1/sse"}}})
    for command in ("settings", "doctor", "auth", "keys"):
        done = _run(sandbox, command, "--json", ANTHROPIC_BASE_URL="http://[::1")
        assert "Traceback" not in done.stderr + done.stdout, (command, done.stderr[-2000:])
        assert done.returncode in (0, 1), (command, done.returncode, done.stderr[-500:])
        codes = [f["code"] for f in json.loads(done.stdout)["findings"]]
        if command in ("settings", "doctor"):
            assert codes.count("S313") == 2, (command, codes)
        if command in ("auth", "doctor"):
            assert "A014" in codes, (command, codes)


def test_the_url_finding_says_what_and_where(sandbox: Sandbox) -> None:
    path = sandbox.write(
        sandbox.project / ".mcp.json", {"mcpServers": {"x": {"type": "http", "url": "http://h:abc"}}}
    )
    found = [f for f in validate_workspace(sandbox.workspace()).findings if f.code == "S313"]
    assert len(found) == 1
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '"url"' in text)
    assert found[0].path == str(path) and found[0].line == line
    assert "'x'" in found[0].message and "http://h:abc" in found[0].message


def test_an_unset_variable_in_a_url_is_not_a_url_finding(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.project / ".mcp.json", {"mcpServers": {"x": {"type": "http", "url": "${NOPE_URL}"}}}
    )
    codes = [f.code for f in validate_workspace(sandbox.workspace()).findings]
    assert "S304" in codes and "S313" not in codes


def test_a_broken_base_url_is_an_auth_error_that_names_its_source(sandbox: Sandbox) -> None:
    sandbox.user_settings({"env": {"ANTHROPIC_BASE_URL": "http://[::1"}})
    sandbox.env["ANTHROPIC_API_KEY"] = fake_key()
    result = auth_route(sandbox.workspace())
    found = [f for f in result.findings if f.code == "A014"]
    assert len(found) == 1 and "user settings env" in found[0].message
    assert result.status.billing == "api"
    assert not any(f.code == "A003" for f in result.findings)  # not called a gateway


def test_key_verification_never_sends_to_a_broken_base_url(sandbox: Sandbox) -> None:
    sandbox.env["ANTHROPIC_BASE_URL"] = "http://[::1"
    assert base_url(sandbox.workspace()) == OFFICIAL_BASE_URL


@pytest.mark.parametrize("url", ["http://[::1", "http://h:abc", "http://\u2028x/"])
def test_the_api_client_refuses_a_broken_base_url_before_sending(url: str) -> None:
    client = AnthropicClient(credential=Credential(api_key=fake_key()), base_url=url, max_retries=0)
    with pytest.raises(AnthropicError, match=r"not a valid URL.*nothing was sent"):
        client.get("/v1/models")
    client.close()


def test_tokens_exact_with_a_broken_base_url_is_a_clear_error(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "a.txt", "hello")
    done = _run(
        sandbox,
        "tokens",
        "--exact",
        str(sandbox.project / "a.txt"),
        ANTHROPIC_API_KEY=fake_key(),
        ANTHROPIC_BASE_URL="http://[::1",
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "not a valid URL" in done.stderr


@pytest.mark.parametrize("url", ["redis://[::1", "redis://h:abc/0", "redis:///0"])
def test_a_broken_redis_url_is_a_store_error(url: str) -> None:
    with pytest.raises(StoreError, match="not a valid URL"):
        open_store(url)


def test_limits_with_a_broken_store_url_is_a_usage_error(sandbox: Sandbox) -> None:
    done = _run(sandbox, "limits", "--store", "redis://[::1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "redis://[::1" in done.stderr and "not a valid URL" in done.stderr
