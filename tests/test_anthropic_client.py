"""The shared Anthropic client against a real HTTP server on 127.0.0.1 (tests/fake_anthropic.py).

Same code path as production; only the base URL differs. ``sleep`` is injected to record the
waits the retry policy asks for instead of sleeping them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from claude_health.tools.anthropic import (
    AnthropicClient,
    AuthenticationFailed,
    ConnectionFailed,
    Credential,
    Overloaded,
    PermissionDenied,
    RateLimited,
    RequestTimedOut,
    RequestTooLarge,
    ResponseMalformed,
    ServerError,
    SpendLimitReached,
)
from claude_health.tools.anthropic.errors import APIStatusError
from claude_health.tools.anthropic.retry import backoff_delay, retry_after_header, should_retry
from tests.fake_anthropic import COUNT_TOKENS, FakeAnthropic, Reply, fake_count
from tests.fakes import fake_key

BODY = {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "Hello, Claude"}]}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(api: FakeAnthropic, key: str, sleeps: Sleeps | None = None, **kw: Any) -> AnthropicClient:
    return AnthropicClient(
        credential=Credential(api_key=key),
        base_url=api.base_url,
        sleep=sleeps if sleeps is not None else Sleeps(),
        **kw,
    )


def test_success_sends_documented_headers_and_returns_body(api: FakeAnthropic, key: str) -> None:
    with client(api, key) as c:
        resp = c.post_json(COUNT_TOKENS, BODY)
    assert resp.status == 200
    assert resp.body == {"input_tokens": fake_count(BODY)}
    assert resp.retries_taken == 0
    assert resp.request_id and resp.request_id.startswith("req_fake_")
    assert resp.headers["anthropic-ratelimit-requests-limit"] == "2000"
    sent = api.requests[0].headers
    assert sent["x-api-key"] == key
    assert sent["anthropic-version"] == "2023-06-01"
    assert sent["content-type"] == "application/json"


def test_base_url_and_key_come_from_the_environment(api: FakeAnthropic, key: str) -> None:
    c = AnthropicClient.from_env({"ANTHROPIC_API_KEY": key, "ANTHROPIC_BASE_URL": api.base_url + "/"})
    assert c is not None
    with c:
        assert c.get("/v1/models").body["data"][0]["id"] == "claude-opus-5"
    assert AnthropicClient.from_env({"ANTHROPIC_BASE_URL": api.base_url}) is None


def test_bearer_token_is_sent_as_authorization(api: FakeAnthropic, key: str) -> None:
    c = AnthropicClient.from_env({"ANTHROPIC_AUTH_TOKEN": key, "ANTHROPIC_BASE_URL": api.base_url})
    assert c is not None
    with c:
        assert c.post_json(COUNT_TOKENS, BODY).body["input_tokens"] > 0
    assert api.requests[0].headers["authorization"] == f"Bearer {key}"
    assert "x-api-key" not in api.requests[0].headers


def test_401_is_clear_not_retried_and_never_shows_the_key(api: FakeAnthropic, key: str) -> None:
    wrong = fake_key("api_key")
    with client(api, wrong) as c, pytest.raises(AuthenticationFailed) as exc:
        c.post_json(COUNT_TOKENS, BODY)
    text = str(exc.value)
    assert "401" in text and "ANTHROPIC_API_KEY" in text and "authentication_error" in text
    assert wrong not in text and wrong[-20:] not in text and wrong not in repr(exc.value.__dict__)
    assert api.count() == 1


def test_403_is_permission_denied(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply.error(403, "permission_error", "model not allowed"))
    with client(api, key) as c, pytest.raises(PermissionDenied, match="not allowed"):
        c.post_json(COUNT_TOKENS, BODY)
    assert api.count() == 1


def test_local_413_precheck_sends_nothing(api: FakeAnthropic, key: str) -> None:
    big = {**BODY, "system": "x" * 2000}
    with client(api, key) as c, pytest.raises(RequestTooLarge, match="not sent"):
        c.post_json(COUNT_TOKENS, big, max_body_bytes=1000)
    assert api.requests == []


def test_server_413_is_not_retried(key: str) -> None:
    with FakeAnthropic(key, max_body_bytes=500) as small, client(small, key) as c:
        with pytest.raises(RequestTooLarge) as exc:
            c.post_json(COUNT_TOKENS, {**BODY, "system": "y" * 2000})
        assert exc.value.status == 413 and exc.value.error_type == "request_too_large"
        assert small.count() == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
    ],
)
def test_429_waits_as_the_server_says(
    api: FakeAnthropic, key: str, headers: dict[str, str], expected: float
) -> None:
    api.enqueue(Reply.rate_limited(**headers))
    sleeps = Sleeps()
    with client(api, key, sleeps) as c:
        resp = c.post_json(COUNT_TOKENS, BODY)
    assert resp.retries_taken == 1
    assert sleeps == [pytest.approx(expected)]
    assert [r.headers["x-stainless-retry-count"] for r in api.requests] == ["0", "1"]


def test_429_with_http_date_retry_after(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply.rate_limited(**{"retry-after": Reply.http_date(5)}))
    sleeps = Sleeps()
    with client(api, key, sleeps) as c:
        c.post_json(COUNT_TOKENS, BODY)
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 6.0


def test_429_without_header_uses_jittered_backoff(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply.rate_limited(), Reply.rate_limited())
    sleeps = Sleeps()
    with client(api, key, sleeps) as c:
        resp = c.post_json(COUNT_TOKENS, BODY)
    assert resp.retries_taken == 2
    assert 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0


def test_429_longer_than_the_bound_is_reported_not_waited(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply.rate_limited(**{"retry-after": "120"}))
    sleeps = Sleeps()
    with client(api, key, sleeps, max_retry_wait=30) as c, pytest.raises(RateLimited) as exc:
        c.post_json(COUNT_TOKENS, BODY)
    assert exc.value.retry_after == 120 and "Retry after 120 s" in str(exc.value)
    assert sleeps == [] and api.count() == 1


def test_spend_limit_is_not_retried_and_says_so(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply.spend_limit())
    sleeps = Sleeps()
    with client(api, key, sleeps) as c, pytest.raises(SpendLimitReached) as exc:
        c.post_json(COUNT_TOKENS, BODY)
    assert "not retried" in str(exc.value) and "spend limit" in str(exc.value)
    assert exc.value.error_code == "enforced_spend_limit_reached"
    assert isinstance(exc.value, RateLimited)
    assert api.count() == 1 and sleeps == []


def test_529_retries_twice_then_overloaded(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply.overloaded(), Reply.overloaded(), Reply.overloaded())
    with client(api, key) as c, pytest.raises(Overloaded) as exc:
        c.post_json(COUNT_TOKENS, BODY)
    assert api.count() == 3 and exc.value.retries_taken == 2 and "after 2 retries" in str(exc.value)


@pytest.mark.parametrize("status", [408, 409, 500, 503])
def test_transient_statuses_retry(api: FakeAnthropic, key: str, status: int) -> None:
    api.enqueue(Reply.error(status, "api_error"))
    with client(api, key) as c:
        assert c.post_json(COUNT_TOKENS, BODY).retries_taken == 1


def test_x_should_retry_overrides_the_status(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply.error(500, "api_error", **{"x-should-retry": "false"}))
    with client(api, key) as c, pytest.raises(ServerError):
        c.post_json(COUNT_TOKENS, BODY)
    assert api.count() == 1
    api.enqueue(Reply.error(400, "invalid_request_error", **{"x-should-retry": "true"}))
    with client(api, key) as c:
        assert c.post_json(COUNT_TOKENS, BODY).retries_taken == 1


def test_400_is_not_retried(api: FakeAnthropic, key: str) -> None:
    with client(api, key) as c, pytest.raises(APIStatusError, match="model: Field required"):
        c.post_json(COUNT_TOKENS, {"messages": []})
    assert api.count() == 1


def test_malformed_success_body(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply(200, raw=b"<html>gateway</html>"))
    with client(api, key) as c, pytest.raises(ResponseMalformed, match="not JSON"):
        c.post_json(COUNT_TOKENS, BODY)


def test_malformed_error_body_still_maps_by_status(api: FakeAnthropic, key: str) -> None:
    api.enqueue(*[Reply(502, raw=b"Bad gateway")] * 3)
    with client(api, key) as c, pytest.raises(ServerError, match="502"):
        c.post_json(COUNT_TOKENS, BODY)
    assert api.count() == 3


def test_slow_response_times_out_after_retries(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply(delay=1.0), Reply(delay=1.0))
    timeout = httpx.Timeout(0.2, connect=1.0)
    with client(api, key, max_retries=1, timeout=timeout) as c, pytest.raises(RequestTimedOut) as exc:
        c.post_json(COUNT_TOKENS, BODY)
    assert exc.value.retries_taken == 1 and "timeout" in str(exc.value)


def test_slow_response_then_success(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply(delay=1.0))
    with client(api, key, timeout=httpx.Timeout(0.2, connect=1.0)) as c:
        assert c.post_json(COUNT_TOKENS, BODY).retries_taken == 1


def test_dropped_connection_is_retried(api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply(drop=True))
    with client(api, key) as c:
        assert c.post_json(COUNT_TOKENS, BODY).retries_taken == 1


def test_dropped_every_time_is_a_connection_error(api: FakeAnthropic, key: str) -> None:
    api.enqueue(*[Reply(drop=True)] * 3)
    with client(api, key) as c, pytest.raises(ConnectionFailed, match="3 attempt"):
        c.post_json(COUNT_TOKENS, BODY)


def test_unreachable_server(key: str) -> None:
    c = AnthropicClient(credential=Credential(api_key=key), base_url="http://127.0.0.1:9", sleep=Sleeps())
    with c, pytest.raises(ConnectionFailed, match="cannot reach"):
        c.post_json(COUNT_TOKENS, BODY)


class Hook:
    def __init__(self) -> None:
        self.before: list[str] = []
        self.after: list[int] = []
        self.remaining: list[str] = []

    def before_request(self, method: str, path: str, body: bytes | None) -> None:
        self.before.append(f"{method} {path}")

    def after_response(self, method: str, path: str, status: int, headers: Mapping[str, str]) -> None:
        self.after.append(status)
        self.remaining.append(headers.get("anthropic-ratelimit-requests-remaining", ""))


def test_hooks_see_every_attempt(api: FakeAnthropic, key: str) -> None:
    hook = Hook()
    api.enqueue(Reply.rate_limited(**{"retry-after-ms": "10"}))
    with client(api, key, hooks=[hook]) as c:
        c.post_json(COUNT_TOKENS, BODY)
    assert hook.before == [f"POST {COUNT_TOKENS}"] * 2
    assert hook.after == [429, 200] and hook.remaining == ["1999", "1999"]


def test_a_hook_can_refuse(api: FakeAnthropic, key: str) -> None:
    class Refuse(Hook):
        def before_request(self, method: str, path: str, body: bytes | None) -> None:
            raise RateLimited("local limiter: token counting RPM used up", retry_after=2.0)

    with client(api, key, hooks=[Refuse()]) as c, pytest.raises(RateLimited, match="local limiter"):
        c.post_json(COUNT_TOKENS, BODY)
    assert api.requests == []


def test_credential_repr_hides_the_secret(key: str) -> None:
    assert key not in repr(Credential(api_key=key))
    c = AnthropicClient(credential=Credential(api_key=key))
    assert key not in repr(c)


def test_policy_functions_match_the_sdk() -> None:
    assert should_retry(429, {}) and should_retry(529, {}) and should_retry(408, {}) and should_retry(409, {})
    assert not should_retry(400, {}) and not should_retry(413, {}) and not should_retry(404, {})
    assert should_retry(400, {"x-should-retry": "true"}) and not should_retry(
        503, {"x-should-retry": "false"}
    )
    spend = {"error": {"type": "rate_limit_error", "details": {"error_code": "enforced_spend_limit_reached"}}}
    assert not should_retry(429, {}, spend)
    assert retry_after_header({"retry-after-ms": "abc", "retry-after": "2"}) == 2.0
    assert retry_after_header({"retry-after": "-1"}) is None
    assert retry_after_header({"retry-after": "soon"}) is None
    assert backoff_delay(0, lambda: 0.0) == 0.5
    assert backoff_delay(10, lambda: 1.0) == pytest.approx(6.0)  # capped at 8 s, minus 25 % jitter
