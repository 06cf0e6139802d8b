"""`--verify` against a real HTTP server on 127.0.0.1 that follows the API contract.

Only the base URL differs from production: the user's ANTHROPIC_BASE_URL points at the fake.
"""

from __future__ import annotations

import socket

from claude_health.tools.keys.report import ScanOptions, scan_keys
from claude_health.tools.keys.verify import OFFICIAL_BASE_URL, base_url
from tests.conftest import Sandbox
from tests.fake_anthropic import FakeAnthropic, Reply
from tests.fakes import fake_key


def verified(sandbox: Sandbox) -> dict[str, tuple[str, str]]:
    """fingerprint -> (code, message) of the verification findings."""
    report = scan_keys(sandbox.workspace(), ScanOptions(verify=True, verify_timeout=5))
    return {
        f.fingerprint or "": (f.code, f.message)
        for f in report.findings
        if f.code in {"K020", "K021", "K022"}
    }


def test_live_and_revoked_api_keys(sandbox: Sandbox) -> None:
    live, dead = fake_key(), fake_key()
    with FakeAnthropic(live) as api:
        sandbox.env["ANTHROPIC_BASE_URL"] = api.base_url
        sandbox.write(sandbox.project / "a.py", f"A = '{live}'\nB = '{dead}'\n")
        from claude_health.tools.redact import fingerprint

        result = verified(sandbox)
        assert result[fingerprint(live)][0] == "K020"
        assert result[fingerprint(dead)][0] == "K021"
        assert {r.path for r in api.requests} == {"/v1/models?limit=1"}
        assert all(r.headers["anthropic-version"] == "2023-06-01" for r in api.requests)
        assert {r.headers["x-api-key"] for r in api.requests} == {live, dead}
        for _, message in result.values():
            assert live not in message and dead not in message


def test_oauth_tokens_and_session_keys_are_never_sent(sandbox: Sandbox) -> None:
    tokens = [fake_key("oauth_access_token"), fake_key("oauth_refresh_token")]
    with FakeAnthropic(fake_key()) as api:
        sandbox.env["ANTHROPIC_BASE_URL"] = api.base_url
        sandbox.write(sandbox.project / "t.txt", "\n".join(tokens))
        assert verified(sandbox) == {}
        assert api.requests == []


def test_admin_key_uses_the_organization_endpoint(sandbox: Sandbox) -> None:
    with FakeAnthropic(fake_key()) as api:
        api.enqueue(Reply(200, {"id": "org_1", "type": "organization", "name": "Acme"}))
        sandbox.env["ANTHROPIC_BASE_URL"] = api.base_url
        sandbox.write(sandbox.project / "admin.env", f"K={fake_key('admin_key')}\n")
        [(code, message)] = verified(sandbox).values()
        assert code == "K020" and "admin API key" in message
        assert [r.path for r in api.requests] == ["/v1/organizations/me"]


def test_rate_limited_is_unknown_not_dead(sandbox: Sandbox) -> None:
    with FakeAnthropic(fake_key()) as api:
        api.enqueue(
            Reply.rate_limited(**{"retry-after-ms": "10"}), Reply.rate_limited(**{"retry-after-ms": "10"})
        )
        sandbox.env["ANTHROPIC_BASE_URL"] = api.base_url
        sandbox.write(sandbox.project / "k.txt", fake_key())
        [(code, message)] = verified(sandbox).values()
        assert code == "K022" and "429" in message


def test_unreachable_base_url_is_unknown(sandbox: Sandbox) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sandbox.env["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    sandbox.write(sandbox.project / "k.txt", fake_key())
    [(code, message)] = verified(sandbox).values()
    assert code == "K022" and "no answer" in message


def test_base_url_never_comes_from_project_files(sandbox: Sandbox) -> None:
    sandbox.project_settings({"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9/steal"}})
    sandbox.local_settings({"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9/steal"}})
    sandbox.write(sandbox.project / ".env", "ANTHROPIC_BASE_URL=http://127.0.0.1:9/steal\n")
    assert base_url(sandbox.workspace()) == OFFICIAL_BASE_URL
    sandbox.user_settings({"env": {"ANTHROPIC_BASE_URL": "https://gateway.example/"}})
    assert base_url(sandbox.workspace()) == "https://gateway.example"
    sandbox.env["ANTHROPIC_BASE_URL"] = "file:///etc/passwd"
    sandbox.user_settings({})
    assert base_url(sandbox.workspace()) == OFFICIAL_BASE_URL


def test_verify_is_off_by_default(sandbox: Sandbox) -> None:
    with FakeAnthropic(fake_key()) as api:
        sandbox.env["ANTHROPIC_BASE_URL"] = api.base_url
        sandbox.write(sandbox.project / "k.txt", fake_key())
        scan_keys(sandbox.workspace())
        assert api.requests == []


def test_a_429_holds_that_keys_checks_across_runs(sandbox: Sandbox) -> None:
    """--verify goes through the shared limiter: a retry-after from the API is honoured by the next run.

    The state database is the limiter's SQLite store in the sandbox home, as another process
    would find it; the second run must not send the held key at all.
    """
    held, other = fake_key(), fake_key()
    with FakeAnthropic(other) as api:
        api.enqueue(Reply.rate_limited(**{"retry-after": "60"}))
        sandbox.env["ANTHROPIC_BASE_URL"] = api.base_url
        sandbox.write(sandbox.project / "k.txt", held)
        [(code, message)] = verified(sandbox).values()
        assert code == "K022" and "429" in message
        sent = len(api.requests)
        sandbox.write(sandbox.project / "k.txt", f"{held}\n{other}\n")
        from claude_health.tools.redact import fingerprint

        second = verified(sandbox)
        code, message = second[fingerprint(held)]
        assert code == "K022" and "local rate limiter" in message and held not in message
        assert second[fingerprint(other)][0] == "K020"  # another key: its own namespace, not held
        assert [r.headers["x-api-key"] for r in api.requests[sent:]] == [other]
