"""Counting text, files and Messages requests: offline estimate, or exact through the API.

Modes: ``estimate`` never touches the network; ``exact`` needs ``ANTHROPIC_API_KEY`` (or
``ANTHROPIC_AUTH_TOKEN``) and fails with :class:`ExactUnavailable` or an
:class:`~claude_health.tools.anthropic.AnthropicError` when it cannot count; ``auto`` counts exactly
when a credential exists and falls back to the estimate (saying why) when the call fails.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from claude_health.tools.anthropic import AnthropicClient, AnthropicError
from claude_health.tools.tokens.cache import ExactCache
from claude_health.tools.tokens.cost import cost_of, fit_of
from claude_health.tools.tokens.estimator import ZERO, Estimate, estimate_features, estimate_text, measure
from claude_health.tools.tokens.exact import ExactCounter, ExactUnavailable, LimiterHook, open_limiter
from claude_health.tools.tokens.inputs import collect
from claude_health.tools.tokens.media import estimate_image_bytes, estimate_pdf_bytes, image_size
from claude_health.tools.tokens.models import ModelInfo, resolve_model
from claude_health.tools.tokens.request import estimate_request
from claude_health.tools.tokens.results import FileCount, TokenCount

Mode = Literal["estimate", "exact", "auto"]
# In auto mode, more files than this are estimated rather than sent one call each.
AUTO_EXACT_MAX_FILES = 50
_BINARY_SNIFF = 8192


class _Session:
    """The exact counter for one command/tool call, or the reason there is none."""

    def __init__(self, mode: Mode, model: ModelInfo, env: Mapping[str, str], home: Path) -> None:
        self.mode = mode
        self.model = model
        self.notes: list[str] = []
        self.exact: ExactCounter | None = None
        self.failed: str | None = None
        self._client: AnthropicClient | None = None
        if mode == "estimate":
            return
        client = AnthropicClient.from_env(env)
        if client is None:
            if mode == "exact":
                raise ExactUnavailable(
                    "an exact count needs ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in the environment; "
                    "none is set, so nothing was sent"
                )
            self.notes.append("no API key in the environment: offline estimate (nothing was sent)")
            return
        limiter, why = open_limiter(env, home)
        if limiter is not None:
            client.hooks.append(LimiterHook(limiter, model.id))
        elif why:
            self.notes.append(why)
        self._client = client
        self.exact = ExactCounter(client, ExactCache.for_env(env, home))

    def fail(self, exc: AnthropicError) -> None:
        """In auto mode an API failure falls back to the estimate; in exact mode it propagates."""
        if self.mode == "exact":
            raise exc
        self.failed = str(exc)
        self.notes.append(f"exact count failed, offline estimate used instead: {exc}")
        self.exact = None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            for hook in self._client.hooks:
                if isinstance(hook, LimiterHook):
                    hook.limiter.close()
        if self.exact is not None and self.exact.cache is not None:
            self.exact.cache.close()


def _finish(
    model: ModelInfo,
    est: Estimate,
    method: Literal["estimate", "exact"],
    *,
    request_bytes: int | None,
    notes: list[str],
    **extra: Any,
) -> TokenCount:
    if not model.known:
        notes = [*notes, model.note]
    return TokenCount(
        tokens=est.tokens,
        method=method,
        model=model.id,
        family=model.family,
        error_band=(est.low, est.high),
        notes=notes,
        cost=cost_of(model, est.tokens),
        # An unknown model has no known window: no fit rather than a made-up one.
        fit=fit_of(model, est.tokens, request_bytes) if model.known else None,
        **extra,
    )


def count_text(
    text: str,
    *,
    model: str | None = None,
    mode: Mode = "estimate",
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> TokenCount:
    """Tokens of ``text`` alone (no message framing)."""
    info = resolve_model(model)
    session = _Session(mode, info, env or {}, home or Path.home())
    try:
        notes = list(session.notes)
        if session.exact is not None:
            try:
                result = session.exact.count_text(text, info.id)
                return _finish(
                    info,
                    Estimate.exact(result.tokens),
                    "exact",
                    request_bytes=len(text.encode("utf-8", "surrogatepass")),
                    notes=notes,
                    cached=result.cached,
                )
            except AnthropicError as exc:
                session.fail(exc)
                notes = list(session.notes)
        m = measure(text)
        if m.sampled:
            notes.append("large text: features measured on evenly spaced samples and scaled")
        est = estimate_features(m.features, info.family) if text else ZERO
        return _finish(
            info, est, "estimate", request_bytes=len(text.encode("utf-8", "surrogatepass")), notes=notes
        )
    finally:
        session.close()


def _file_estimate(data: bytes, info: ModelInfo) -> tuple[Estimate | None, str | None, str | None]:
    """(estimate, text-or-None, skipped reason) for one file's bytes."""
    if image_size(data) is not None:
        est, note = estimate_image_bytes(data, info.family)
        return est, None, note
    if data[:5] == b"%PDF-":
        est, note = estimate_pdf_bytes(data, info.family)
        return est, None, note
    if b"\x00" in data[:_BINARY_SNIFF]:
        return None, None, "binary file (not text, image or PDF)"
    text = data.decode("utf-8", "replace")
    return estimate_text(text, info.family), text, None


_MEDIA_TYPES = {
    b"\x89PNG": "image/png",
    b"GIF8": "image/gif",
    b"\xff\xd8\xff": "image/jpeg",
    b"RIFF": "image/webp",
}


def _media_block(data: bytes) -> dict[str, Any]:
    """The content block the API takes for an image or PDF file (base64 source)."""
    encoded = base64.b64encode(data).decode("ascii")
    if data[:5] == b"%PDF-":
        return {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": encoded},
        }
    media = next((m for magic, m in _MEDIA_TYPES.items() if data.startswith(magic)), "image/png")
    return {"type": "image", "source": {"type": "base64", "media_type": media, "data": encoded}}


def count_files(
    args: list[str],
    project: Path,
    *,
    model: str | None = None,
    mode: Mode = "estimate",
    confine: bool = False,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    stdin_text: str | None = None,
) -> TokenCount:
    """Per-file counts (largest first) and their total; ``stdin_text`` is counted as ``-``."""
    info = resolve_model(model)
    collected = collect([a for a in args if a != "-"], project, confine=confine)
    session = _Session(mode, info, env or {}, home or Path.home())
    try:
        notes = list(collected.problems)
        if session.exact is not None and mode == "auto" and len(collected.files) > AUTO_EXACT_MAX_FILES:
            notes.append(
                f"{len(collected.files)} files: estimated offline (auto mode counts exactly up to "
                f"{AUTO_EXACT_MAX_FILES}; use exact mode to send them all)"
            )
            session.exact = None
        rows: list[FileCount] = []
        total = ZERO
        all_exact = True
        counted = 0
        sources: list[tuple[str, int, bytes | None, str | None]] = [
            (f.display, f.size, f.data, f.skipped) for f in collected.files
        ]
        if stdin_text is not None:
            raw = stdin_text.encode("utf-8", "surrogatepass")
            sources.insert(0, ("-", len(raw), raw, None))
        for display, size, data, skipped in sources:
            if data is None:
                rows.append(FileCount(path=display, bytes=size, skipped=skipped or "not read"))
                continue
            est, text, problem = _file_estimate(data, info)
            if est is None:
                rows.append(FileCount(path=display, bytes=size, skipped=problem))
                continue
            if problem:
                notes.append(f"{display}: {problem}")
            method: Literal["estimate", "exact"] = "estimate"
            if session.exact is not None:
                try:
                    if text is not None:
                        exact = session.exact.count_text(text, info.id).tokens
                    else:
                        exact = session.exact.count_block(_media_block(data), info.id).tokens
                    est = Estimate.exact(exact)
                    method = "exact"
                except AnthropicError as exc:
                    session.fail(exc)
                    notes.extend(n for n in session.notes if n not in notes)
            if method == "estimate":
                all_exact = False
            counted += 1
            total = total + est
            rows.append(
                FileCount(
                    path=display, tokens=est.tokens, error_band=(est.low, est.high), bytes=size, method=method
                )
            )
        notes = [*session.notes, *(n for n in notes if n not in session.notes)]
        rows.sort(key=lambda r: (-(r.tokens or 0), r.path))
        method_all: Literal["estimate", "exact"] = "exact" if counted and all_exact else "estimate"
        if counted == 0 and not rows:
            notes.append("nothing to count")
        return _finish(
            info,
            total,
            method_all,
            request_bytes=sum(r.bytes for r in rows if r.tokens is not None),
            notes=notes,
            files=rows,
        )
    finally:
        session.close()


def count_request(
    request: dict[str, Any],
    *,
    model: str | None = None,
    mode: Mode = "estimate",
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> TokenCount:
    """A Messages-shaped request, counted as ``count_tokens`` would (``model`` overrides the body's)."""
    wanted = model or (request.get("model") if isinstance(request.get("model"), str) else None)
    info = resolve_model(wanted)
    breakdown = estimate_request(request, info)  # validates the shape before anything is sent
    body = {
        k: v
        for k, v in request.items()
        if k
        not in (
            "max_tokens",
            "stream",
            "temperature",
            "top_p",
            "top_k",
            "stop_sequences",
            "metadata",
            "service_tier",
        )
    }
    body["model"] = info.id if info.known else str(wanted or info.id)
    try:
        size = len(json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError, RecursionError):
        size = None
    session = _Session(mode, info, env or {}, home or Path.home())
    try:
        notes = list(session.notes)
        parts = {k: v.tokens for k, v in breakdown.parts.items()}
        if session.exact is not None:
            try:
                result = session.exact.count(body)
                return _finish(
                    info,
                    Estimate.exact(result.tokens),
                    "exact",
                    request_bytes=size,
                    notes=notes,
                    cached=result.cached,
                    parts=parts,
                )
            except AnthropicError as exc:
                session.fail(exc)
                notes = list(session.notes)
        return _finish(
            info,
            breakdown.total,
            "estimate",
            request_bytes=size,
            notes=[*notes, *breakdown.notes],
            parts=parts,
        )
    finally:
        session.close()
