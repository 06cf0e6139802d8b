"""Exact counts through the fake API on 127.0.0.1: modes, cache, fallbacks, the limiter hook."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from claude_health.tools.anthropic import AuthenticationFailed, RateLimited, SpendLimitReached
from claude_health.tools.tokens.cache import TABLE, ExactCache, request_key
from claude_health.tools.tokens.counter import count_files, count_request, count_text
from claude_health.tools.tokens.exact import ExactUnavailable, LimiterHook
from tests.conftest import Sandbox
from tests.fake_anthropic import FakeAnthropic, Reply, fake_count
from tests.fakes import fake_key

MODEL = "claude-sonnet-4-6"


def env_for(sandbox: Sandbox, api: FakeAnthropic, key: str | None) -> dict[str, str]:
    env = {
        **sandbox.env,
        "ANTHROPIC_BASE_URL": api.base_url,
        "CLAUDE_HEALTH_STATE_DB": str(sandbox.root / "state.db"),
        # an in-memory limiter keeps tests independent of any shared store
        "CLAUDE_HEALTH_LIMITER_URL": "memory://",
    }
    if key:
        env["ANTHROPIC_API_KEY"] = key
    return env


def framing() -> int:
    return fake_count({"messages": [{"role": "user", "content": "."}]}) - 1


def test_auto_without_key_never_touches_the_network(sandbox: Sandbox, api: FakeAnthropic) -> None:
    result = count_text(
        "Hello, Claude", model=MODEL, mode="auto", env=env_for(sandbox, api, None), home=sandbox.home
    )
    assert result.method == "estimate"
    assert any("no API key" in n for n in result.notes)
    assert api.requests == []


def test_exact_without_key_fails_clearly_and_sends_nothing(sandbox: Sandbox, api: FakeAnthropic) -> None:
    with pytest.raises(ExactUnavailable, match="ANTHROPIC_API_KEY"):
        count_text("x", model=MODEL, mode="exact", env=env_for(sandbox, api, None), home=sandbox.home)
    assert api.requests == []


def test_estimate_mode_with_a_key_sends_nothing(sandbox: Sandbox, api: FakeAnthropic, key: str) -> None:
    result = count_text("hi", model=MODEL, mode="estimate", env=env_for(sandbox, api, key), home=sandbox.home)
    assert result.method == "estimate" and api.requests == []


def test_exact_text_and_cache(sandbox: Sandbox, api: FakeAnthropic, key: str) -> None:
    env = env_for(sandbox, api, key)
    text = "The quick brown fox jumps over the lazy dog every morning at sunrise"
    first = count_text(text, model=MODEL, mode="exact", env=env, home=sandbox.home)
    expected = fake_count({"messages": [{"role": "user", "content": text}]}) - framing()
    assert first.method == "exact" and first.tokens == expected and first.error_band == (expected, expected)
    assert first.cached is False
    sent = api.count()
    assert sent == 2  # the text and the one-off framing probe
    body = json.loads(api.requests[0].body)
    assert body["model"] == MODEL and body["messages"][0]["content"] == text
    second = count_text(text, model=MODEL, mode="exact", env=env, home=sandbox.home)
    assert second.tokens == expected and second.cached is True
    assert api.count() == sent  # recounting unchanged text costs nothing
    other = count_text(text, model="claude-opus-4-7", mode="exact", env=env, home=sandbox.home)
    assert other.cached is False  # the model is part of the key
    with sqlite3.connect(sandbox.root / "state.db") as db:
        assert db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0] >= 3  # noqa: S608


def test_exact_request_is_sent_as_given(sandbox: Sandbox, api: FakeAnthropic, key: str) -> None:
    req = {
        "model": "claude-opus-4-7",
        "max_tokens": 1024,
        "system": "You are a scientist",
        "messages": [{"role": "user", "content": "Hello, Claude"}],
    }
    result = count_request(req, mode="auto", env=env_for(sandbox, api, key), home=sandbox.home)
    assert result.method == "exact" and result.model == "claude-opus-4-7"
    sent = json.loads(api.requests[0].body)
    assert "max_tokens" not in sent and sent["system"] == "You are a scientist"
    assert result.tokens == fake_count(sent)
    assert result.parts is not None and "system" in result.parts  # offline breakdown kept


def test_exact_files_per_file_minus_framing(sandbox: Sandbox, api: FakeAnthropic, key: str) -> None:
    sandbox.write(sandbox.project / "a.md", "alpha " * 100)
    sandbox.write(sandbox.project / "src" / "b.py", "print('b')\n")
    result = count_files(
        ["a.md", "src"],
        sandbox.project,
        model=MODEL,
        mode="exact",
        env=env_for(sandbox, api, key),
        home=sandbox.home,
    )
    assert result.method == "exact" and result.files is not None
    by_path = {f.path: f for f in result.files}
    expected_a = fake_count({"messages": [{"role": "user", "content": "alpha " * 100}]}) - framing()
    assert by_path["a.md"].tokens == expected_a and by_path["a.md"].method == "exact"
    assert result.tokens == sum(f.tokens or 0 for f in result.files)
    assert [f.path for f in result.files] == ["a.md", "src/b.py"]  # largest first


def test_auto_falls_back_to_estimate_when_the_api_fails(
    sandbox: Sandbox, api: FakeAnthropic, key: str
) -> None:
    api.enqueue(Reply.spend_limit())
    result = count_text("hello", model=MODEL, mode="auto", env=env_for(sandbox, api, key), home=sandbox.home)
    assert result.method == "estimate"
    assert any("spend limit" in n and "not retried" in n for n in result.notes)
    assert api.count() == 1


def test_exact_mode_propagates_api_errors(sandbox: Sandbox, api: FakeAnthropic) -> None:
    wrong = fake_key("api_key")
    with pytest.raises(AuthenticationFailed) as exc:
        count_text("hello", model=MODEL, mode="exact", env=env_for(sandbox, api, wrong), home=sandbox.home)
    assert wrong not in str(exc.value)
    api.enqueue(Reply.spend_limit())
    with pytest.raises(SpendLimitReached):
        count_text(
            "hello", model=MODEL, mode="exact", env=env_for(sandbox, api, api.api_key), home=sandbox.home
        )


def test_malformed_count_is_not_trusted(sandbox: Sandbox, api: FakeAnthropic, key: str) -> None:
    api.enqueue(Reply(200, {"input_tokens": "many"}))
    result = count_text("hello", model=MODEL, mode="auto", env=env_for(sandbox, api, key), home=sandbox.home)
    assert result.method == "estimate" and any("input_tokens" in n for n in result.notes)


def test_cache_survives_a_broken_database(tmp_path: Path) -> None:
    bad = tmp_path / "state.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    cache = ExactCache(bad)
    assert cache.get(request_key({"a": 1})) is None
    cache.put(request_key({"a": 1}), MODEL, 5)  # no exception
    blocked = ExactCache(tmp_path / "file-not-dir" / "x.db")
    (tmp_path / "file-not-dir").write_text("")
    assert blocked.get("k") is None


def test_request_key_depends_on_content_and_model() -> None:
    a = request_key({"model": "m1", "messages": [{"role": "user", "content": "x"}]})
    assert a == request_key({"messages": [{"content": "x", "role": "user"}], "model": "m1"})
    assert a != request_key({"model": "m2", "messages": [{"role": "user", "content": "x"}]})


class FakeLimiter:
    def __init__(self, decisions: list[Any]) -> None:
        self.decisions = decisions
        self.calls: list[dict[str, Any]] = []
        self.observed: list[int | None] = []

    def try_acquire(self, model: str, input_tokens: int, max_output_tokens: int, **kw: Any) -> Any:
        self.calls.append({"model": model, **kw})
        return self.decisions.pop(0)

    def observe_headers(self, model: str, headers: Any, **kw: Any) -> None:
        self.observed.append(kw.get("status_code"))


def decision(allowed: bool, wait: float = 0.0) -> SimpleNamespace:
    return SimpleNamespace(allowed=allowed, retry_after=wait, binding="rpm", impossible=False)


def test_limiter_hook_waits_then_allows() -> None:
    slept: list[float] = []
    lim = FakeLimiter([decision(False, 0.5), decision(True)])
    hook = LimiterHook(lim, MODEL, sleep=slept.append)
    hook.before_request("POST", "/v1/messages/count_tokens", b"{}")
    assert slept == [0.5] and lim.calls[0]["endpoint"] == "count_tokens"
    hook.after_response("POST", "/v1/messages/count_tokens", 200, {})
    assert lim.observed == [200]


def test_limiter_hook_refuses_long_waits() -> None:
    hook = LimiterHook(FakeLimiter([decision(False, 45.0)]), MODEL, sleep=lambda s: None)
    with pytest.raises(RateLimited, match=r"retry after 45\.0 s"):
        hook.before_request("POST", "/v1/messages/count_tokens", b"{}")


def test_real_limiter_is_wired(
    sandbox: Sandbox, api: FakeAnthropic, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claude_health.tools.tokens.exact import open_limiter

    env = env_for(sandbox, api, key)
    limiter, why = open_limiter(env, sandbox.home)
    assert limiter is not None, why
    decisions: list[bool] = []
    original = LimiterHook.before_request

    def spy(self: LimiterHook, method: str, path: str, body: bytes | None) -> None:
        original(self, method, path, body)
        decisions.append(True)

    monkeypatch.setattr(LimiterHook, "before_request", spy)
    result = count_text("through the limiter", model=MODEL, mode="exact", env=env, home=sandbox.home)
    assert result.method == "exact"
    assert len(decisions) == api.count() == 2  # every HTTP attempt went through the real limiter


def test_exact_images_are_sent_as_image_blocks(sandbox: Sandbox, api: FakeAnthropic, key: str) -> None:
    from tests.test_tokens_estimator import png

    data = png(64, 32)
    sandbox.write(sandbox.project / "pic.png", data)
    result = count_files(
        ["pic.png"],
        sandbox.project,
        model=MODEL,
        mode="exact",
        env=env_for(sandbox, api, key),
        home=sandbox.home,
    )
    assert result.method == "exact" and result.files is not None
    sent = [json.loads(r.body) for r in api.requests]
    image_body = next(b for b in sent if isinstance(b["messages"][0]["content"], list))
    block = image_body["messages"][0]["content"][0]
    assert block["type"] == "image" and block["source"]["media_type"] == "image/png"
    assert base64.b64decode(block["source"]["data"]) == data
    assert result.files[0].tokens == fake_count(image_body) - framing()
