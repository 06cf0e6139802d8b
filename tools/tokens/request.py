"""Estimate a Messages-shaped request the way ``POST /v1/messages/count_tokens`` counts it.

Counted: system, messages (text, images, documents, tool use and results, the current assistant
turn's thinking), tool definitions plus the hidden tool-use system prompt, and the message
framing. Not counted, as the API does not: thinking blocks of earlier assistant turns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from claude_health.tools.tokens.estimator import ZERO, Estimate, band, estimate_text
from claude_health.tools.tokens.media import (
    decode_base64,
    estimate_image_bytes,
    estimate_pdf_bytes,
    unknown_image,
    unknown_pdf,
)
from claude_health.tools.tokens.models import Family, ModelInfo

# Framing: "Hi" as one user message counts 8 (calibration row 12) = 1 text token + 7. Each
# further message adds its role markers; each content block a separator.
FRAMING_BASE: dict[Family, int] = {"legacy": 7, "v2": 8}
FRAMING_PER_MESSAGE = 4
FRAMING_PER_BLOCK = 1
SYSTEM_FRAMING = 1
# Tool definitions the API expands into a known fixed prompt (pricing page 2026-08-21).
TEXT_EDITOR_TOKENS = 700
# Hidden tool-use prompt when the model is not in the table: the largest documented value.
FALLBACK_TOOL_PROMPT = (675, 804)

MAX_DEPTH = 64


class RequestError(ValueError):
    """The request is not Messages-shaped; the message says which field and why."""


@dataclass
class RequestEstimate:
    """Per-part estimates of one request and notes on what could not be counted exactly."""

    parts: dict[str, Estimate] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    images: int = 0
    documents: int = 0

    def add(self, part: str, est: Estimate) -> None:
        self.parts[part] = self.parts.get(part, ZERO) + est

    @property
    def total(self) -> Estimate:
        total = ZERO
        for est in self.parts.values():
            total = total + est
        return total


def _text(value: str, family: Family) -> Estimate:
    return estimate_text(value, family)


def _json_text(value: Any, family: Family) -> Estimate:
    try:
        dumped = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        dumped = str(value)
    return estimate_text(dumped, family)


def _source_bytes(source: dict[str, Any]) -> bytes | None:
    data = source.get("data")
    if source.get("type") == "base64" and isinstance(data, str):
        return decode_base64(data)
    return None


class _Counter:
    def __init__(self, model: ModelInfo) -> None:
        self.model = model
        self.family: Family = model.family
        self.out = RequestEstimate()

    def note(self, text: str) -> None:
        if text not in self.out.notes:
            self.out.notes.append(text)

    def block(self, block: Any, where: str, *, count_thinking: bool, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise RequestError(f"{where}: content nested more than {MAX_DEPTH} levels")
        fam = self.family
        if isinstance(block, str):
            self.out.add("messages", _text(block, fam))
            return
        if not isinstance(block, dict):
            raise RequestError(f"{where}: a content block must be an object or a string")
        kind = block.get("type")
        self.out.add("framing", Estimate.exact(FRAMING_PER_BLOCK))
        if kind == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise RequestError(f"{where}.text must be a string")
            self.out.add("messages", _text(text, fam))
        elif kind == "image":
            self.image(block, where)
        elif kind == "document":
            self.document(block, where)
        elif kind in ("thinking", "redacted_thinking"):
            if count_thinking:
                text = block.get("thinking") if kind == "thinking" else block.get("data")
                self.out.add("thinking", _text(text if isinstance(text, str) else "", fam))
            else:
                self.note("thinking blocks of earlier assistant turns are not counted (as the API does)")
        elif kind in ("tool_use", "server_tool_use"):
            self.out.add("messages", _text(str(block.get("name", "")), fam))
            self.out.add("messages", _json_text(block.get("input", {}), fam))
        elif kind == "tool_result" or kind == "web_search_tool_result":
            content = block.get("content")
            if isinstance(content, list):
                for i, sub in enumerate(content):
                    self.block(sub, f"{where}.content[{i}]", count_thinking=False, depth=depth + 1)
            elif content is not None:
                self.block(content, f"{where}.content", count_thinking=False, depth=depth + 1)
        else:
            self.note(f"{where}: block type {kind!r} estimated from its JSON")
            self.out.add("messages", _json_text(block, fam))

    def image(self, block: dict[str, Any], where: str) -> None:
        self.out.images += 1
        source = block.get("source")
        if not isinstance(source, dict):
            raise RequestError(f"{where}.source must be an object")
        data = _source_bytes(source)
        if data is None:
            self.out.add("images", unknown_image(self.family))
            self.note(f"{where}: image given by {source.get('type')!r}; its size is unknown offline")
            return
        est, note = estimate_image_bytes(data, self.family)
        self.out.add("images", est)
        if note:
            self.note(f"{where}: {note}")

    def document(self, block: dict[str, Any], where: str) -> None:
        self.out.documents += 1
        source = block.get("source")
        if not isinstance(source, dict):
            raise RequestError(f"{where}.source must be an object")
        stype = source.get("type")
        if stype == "text" and isinstance(source.get("data"), str):
            self.out.add("documents", _text(source["data"], self.family))
        elif stype == "content" and isinstance(source.get("content"), list | str):
            content = source["content"]
            items = content if isinstance(content, list) else [content]
            for i, sub in enumerate(items):
                self.block(sub, f"{where}.source.content[{i}]", count_thinking=False, depth=1)
        else:
            data = _source_bytes(source)
            if data is None:
                self.out.add("documents", unknown_pdf(self.family))
                self.note(f"{where}: document given by {stype!r}; its pages are unknown offline")
                return
            est, note = estimate_pdf_bytes(data, self.family)
            self.out.add("documents", est)
            self.note("PDF pages are counted as page image + a typical page of text (offline)")
            if note:
                self.note(f"{where}: {note}")
        for key in ("title", "context"):
            if isinstance(block.get(key), str):
                self.out.add("documents", _text(block[key], self.family))

    def tools(self, tools: Any, tool_choice: Any) -> None:
        if tools is None:
            return
        if not isinstance(tools, list):
            raise RequestError("tools must be an array")
        if not tools:
            return
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise RequestError(f"tools[{i}] must be an object")
            ttype = str(tool.get("type") or "custom")
            if ttype.startswith("bash_"):
                bash = self.model.bash_tool
                self.out.add("tools", Estimate(bash, bash, bash) if bash else band(325, 0.25))
            elif ttype.startswith("text_editor_"):
                self.out.add("tools", Estimate.exact(TEXT_EDITOR_TOKENS))
            else:
                if ttype != "custom":
                    self.note(f"tools[{i}]: server tool {ttype!r} estimated from its JSON")
                self.out.add("tools", _json_text(tool, self.family))
        choice = tool_choice.get("type") if isinstance(tool_choice, dict) else None
        forced = choice in ("any", "tool")
        prompt = self.model.tool_prompt
        if prompt is None:
            prompt = FALLBACK_TOOL_PROMPT
            self.note("tool-use system prompt of this model is not documented: the largest known value used")
            low = min(FALLBACK_TOOL_PROMPT) // 2
            n = prompt[1] if forced else prompt[0]
            self.out.add("tool_system_prompt", Estimate(n, low, n))
        else:
            self.out.add("tool_system_prompt", Estimate.exact(prompt[1] if forced else prompt[0]))


def estimate_request(request: Any, model: ModelInfo) -> RequestEstimate:
    """Estimate a ``count_tokens`` body (``model`` in the body is ignored: pass the resolved one)."""
    if not isinstance(request, dict):
        raise RequestError("the request must be a JSON object with `messages`")
    counter = _Counter(model)
    fam = model.family
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("request.messages must be a non-empty array")
    if len(messages) > 100_000:
        raise RequestError("request.messages has more than 100,000 messages (the API limit)")
    counter.out.add("framing", Estimate.exact(FRAMING_BASE[fam]))
    system = request.get("system")
    if isinstance(system, str):
        if system:
            counter.out.add("system", _text(system, fam) + Estimate.exact(SYSTEM_FRAMING))
    elif isinstance(system, list):
        for i, blk in enumerate(system):
            if not isinstance(blk, dict) or not isinstance(blk.get("text"), str):
                raise RequestError(f"system[{i}] must be a text block")
            counter.out.add("system", _text(blk["text"], fam) + Estimate.exact(SYSTEM_FRAMING))
    elif system is not None:
        raise RequestError("system must be a string or an array of text blocks")
    last = len(messages) - 1
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise RequestError(f"messages[{i}] must be an object")
        role = msg.get("role")
        if role not in ("user", "assistant"):
            raise RequestError(f"messages[{i}].role must be 'user' or 'assistant'")
        if i:
            counter.out.add("framing", Estimate.exact(FRAMING_PER_MESSAGE))
        content = msg.get("content")
        # Only the current (last) assistant turn's thinking counts.
        thinking = role == "assistant" and i == last
        if isinstance(content, str):
            counter.out.add("messages", _text(content, fam))
        elif isinstance(content, list):
            for j, blk in enumerate(content):
                counter.block(blk, f"messages[{i}].content[{j}]", count_thinking=thinking)
        else:
            raise RequestError(f"messages[{i}].content must be a string or an array of blocks")
    counter.tools(request.get("tools"), request.get("tool_choice"))
    return counter.out
