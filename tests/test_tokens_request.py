"""Estimating Messages-shaped requests as count_tokens counts them."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from claude_health.tools.tokens.models import resolve_model
from claude_health.tools.tokens.request import RequestError, estimate_request
from tests.test_tokens_estimator import png

SONNET = resolve_model("claude-sonnet-4-6")
OPUS47 = resolve_model("claude-opus-4-7")
WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}
        },
        "required": ["location"],
    },
}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def test_hi_matches_the_measured_count() -> None:
    # Calibration row 12: one user message "Hi" counts 8 on a Claude 4.x model.
    est = estimate_request({"messages": [user("Hi")]}, SONNET).total
    assert est.low <= 8 <= est.high


def test_docs_example_system_and_user_is_in_band() -> None:
    est = estimate_request(
        {"system": "You are a scientist", "messages": [user("Hello, Claude")]}, SONNET
    ).total
    assert est.low <= 14 <= est.high  # the token-counting page's example


def test_tool_use_adds_the_documented_system_prompt() -> None:
    req = {"tools": [WEATHER], "messages": [user("What's the weather like in San Francisco?")]}
    auto = estimate_request(req, resolve_model("claude-opus-5"))
    assert auto.parts["tool_system_prompt"].tokens == 286
    forced = estimate_request({**req, "tool_choice": {"type": "any"}}, resolve_model("claude-opus-5"))
    assert forced.parts["tool_system_prompt"].tokens == 406
    assert auto.total.low <= 403 <= auto.total.high  # the page's 403 for this request
    assert estimate_request(req, OPUS47).parts["tool_system_prompt"].tokens == 675


def test_bash_and_text_editor_tools_use_fixed_costs() -> None:
    req = {"tools": [{"type": "bash_20250124", "name": "bash"}], "messages": [user("ls")]}
    assert estimate_request(req, OPUS47).parts["tools"].tokens == 325
    assert estimate_request(req, SONNET).parts["tools"].tokens == 244
    req = {
        "tools": [{"type": "text_editor_20250429", "name": "str_replace_based_edit_tool"}],
        "messages": [user("x")],
    }
    assert estimate_request(req, SONNET).parts["tools"].tokens == 700


def test_earlier_thinking_is_ignored_current_turn_counts() -> None:
    thinking = {"type": "thinking", "thinking": "Let me think about primes " * 50, "signature": "sig"}
    earlier = {
        "messages": [
            user("Are there infinitely many primes?"),
            {"role": "assistant", "content": [thinking, {"type": "text", "text": "Yes."}]},
            user("Prove it."),
        ]
    }
    out = estimate_request(earlier, SONNET)
    assert "thinking" not in out.parts
    assert any("thinking" in n for n in out.notes)
    current = {"messages": [user("Prove it."), {"role": "assistant", "content": [thinking]}]}
    assert estimate_request(current, SONNET).parts["thinking"].tokens > 100


def test_base64_image_uses_the_pixel_formula() -> None:
    data = base64.b64encode(png(1000, 1000)).decode()
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
    out = estimate_request({"messages": [user([block, {"type": "text", "text": "Describe"}])]}, SONNET)
    assert out.parts["images"].tokens == 1296 + 8  # formula + wrapper (calibration row 38: 1,304)
    assert out.images == 1


def test_url_image_is_a_wide_band() -> None:
    block = {"type": "image", "source": {"type": "url", "url": "https://example.invalid/a.png"}}
    out = estimate_request({"messages": [user([block])]}, OPUS47)
    assert out.parts["images"].low == 0 and out.parts["images"].high >= 4784
    assert any("unknown offline" in n for n in out.notes)


def test_documents_text_and_pdf() -> None:
    text_doc = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "A short memo."},
    }
    pdf = base64.b64encode(b"%PDF-1.4\n<< /Type /Page >>\n").decode()
    pdf_doc = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}}
    out = estimate_request({"messages": [user([text_doc, pdf_doc])]}, SONNET)
    assert out.documents == 2
    assert out.parts["documents"].tokens > 1575


def test_tool_use_and_results_are_counted() -> None:
    msgs = [
        user("weather?"),
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"location": "Paris"}}
            ],
        },
        user(
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "Sunny, 21 C"}],
                }
            ]
        ),
    ]
    out = estimate_request({"messages": msgs}, SONNET)
    assert out.parts["messages"].tokens > 5


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ([], "JSON object"),
        ({}, "messages must be a non-empty array"),
        ({"messages": [{"role": "system", "content": "x"}]}, "role"),
        ({"messages": [user(42)]}, "content must be"),
        ({"messages": [user([{"type": "text", "text": 1}])]}, "text must be a string"),
        ({"messages": [user("x")], "tools": {}}, "tools must be an array"),
        ({"messages": [user("x")], "system": 5}, "system must be"),
        ({"messages": [user([{"type": "image", "source": "x"}])]}, "source must be an object"),
    ],
)
def test_malformed_requests_say_where(request_body: Any, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        estimate_request(request_body, SONNET)


def test_deeply_nested_tool_results_are_refused() -> None:
    block: dict[str, Any] = {"type": "text", "text": "x"}
    for _ in range(100):
        block = {"type": "tool_result", "tool_use_id": "t", "content": [block]}
    with pytest.raises(RequestError, match="nested"):
        estimate_request({"messages": [user([block])]}, SONNET)


def test_unknown_block_types_are_estimated_with_a_note() -> None:
    out = estimate_request({"messages": [user([{"type": "hologram", "data": "abc"}])]}, SONNET)
    assert out.total.tokens > 0 and any("hologram" in n for n in out.notes)
