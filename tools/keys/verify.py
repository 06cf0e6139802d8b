"""Opt-in liveness check of found API and admin keys against the Anthropic API.

Keys go only to the official API or to the ANTHROPIC_BASE_URL the user configured for Claude
Code (shell environment, user or managed settings; never project settings and never a URL read
from a scanned file). OAuth tokens and session keys are never sent anywhere. Endpoints spend
no tokens: ``GET /v1/models?limit=1`` for API keys, ``GET /v1/organizations/me`` for admin keys.
Status mapping follows the API's error docs: 200/402/403 mean the key is live, 401/404 mean it
is not, anything else (429, 5xx, timeouts) is unknown. Requests go through the shared client
(:mod:`claude_health.tools.anthropic`): its headers, SDK retry rules and error mapping; and
through the core limiter's ``other`` bucket, one namespace per key (each key may be another
organisation): every claude-health process on the machine shares the pace, and a 429's
``retry-after`` holds that key's checks for all of them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx

from claude_health.tools import causes
from claude_health.tools.anthropic.client import AnthropicClient, Credential
from claude_health.tools.anthropic.errors import AnthropicError, LimiterRefused
from claude_health.tools.findings import Finding, Rule
from claude_health.tools.keys.formats import label
from claude_health.tools.keys.places import effective_env
from claude_health.tools.keys.rules import KEY_LIVE, KEY_REJECTED, KEY_UNVERIFIED
from claude_health.tools.limiter.hook import LimiterHook, open_limiter
from claude_health.tools.paths import Workspace
from claude_health.tools.redact import redact
from claude_health.tools.urls import try_url

OFFICIAL_BASE_URL = "https://api.anthropic.com"
ENDPOINTS = {"api_key": "/v1/models", "admin_key": "/v1/organizations/me"}
PARAMS = {"api_key": {"limit": "1"}}
MAX_KEYS = 20
# Pace when the limiter cannot open: one request per second, the limiter's own default rate.
INTERVAL = 1.0

NOT_SENT = "not checked: "
LIVE = {200: "accepted", 402: "accepted (billing problem on the account)", 403: "accepted (no permission)"}
DEAD = {401: "rejected: invalid, revoked or expired", 404: "rejected: disabled or not found"}


def base_url(ws: Workspace) -> str:
    """The official API, or the user's own ANTHROPIC_BASE_URL (never project-scoped settings)."""
    values, _ = effective_env(ws)
    configured = (values.get("ANTHROPIC_BASE_URL") or "").strip().rstrip("/")
    parsed = try_url(configured) if configured else None
    if parsed is not None and parsed.scheme in {"http", "https"}:
        return configured
    return OFFICIAL_BASE_URL


def _verdict(client: AnthropicClient, kind: str) -> tuple[Rule, str]:
    try:
        client.get(ENDPOINTS[kind], params=PARAMS.get(kind))
    except LimiterRefused as exc:  # refused here, not by the API: nothing was sent
        return KEY_UNVERIFIED, f"{NOT_SENT}{exc}"
    except AnthropicError as exc:
        status = exc.status
        if status in LIVE:
            return KEY_LIVE, LIVE[status]
        if status in DEAD:
            return KEY_REJECTED, DEAD[status]
        if status is None:
            return KEY_UNVERIFIED, f"no answer ({type(exc).__name__})"
        return KEY_UNVERIFIED, f"HTTP {status}, no verdict"
    return KEY_LIVE, LIVE[200]


def _limiter_hook(ws: Workspace, fp: str, timeout: float) -> LimiterHook | None:
    limiter, _why = open_limiter(ws.env, ws.home, namespace=f"key:{fp}")
    return LimiterHook(limiter, "", endpoint="other", max_wait=timeout) if limiter is not None else None


def verify_keys(
    ws: Workspace,
    vault: Mapping[str, tuple[str, str]],
    *,
    timeout: float = 10.0,
    interval: float = INTERVAL,
) -> list[Finding]:
    """One finding per API/admin key: live (K020), rejected (K021) or unknown (K022)."""
    base = base_url(ws)
    parsed = try_url(base)
    host = parsed.hostport if parsed is not None else base
    candidates = [(fp, kind, secret) for fp, (kind, secret) in vault.items() if kind in ENDPOINTS]
    findings: list[Finding] = []
    for i, (fp, kind, secret) in enumerate(candidates[:MAX_KEYS]):
        hook = _limiter_hook(ws, fp, timeout)
        if hook is None and i and interval:
            time.sleep(interval)
        shown = redact(secret)
        client = AnthropicClient(
            credential=Credential(api_key=secret),
            base_url=base,
            max_retries=1,
            max_retry_wait=timeout,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            hooks=[hook] if hook is not None else [],
        )
        try:
            with client:
                rule, verdict = _verdict(client, kind)
        finally:
            if hook is not None:
                hook.limiter.close()
        findings.append(
            rule.finding(
                f"{label(kind)} {shown} (fingerprint {fp}): "
                + (f"{verdict}." if verdict.startswith(NOT_SENT) else f"{host} says {verdict}."),
                kind=kind,
                redacted=shown,
                fingerprint=fp,
                cause=causes.key(fp),
            )
        )
    if len(candidates) > MAX_KEYS:
        findings.append(
            KEY_UNVERIFIED.finding(
                f"{len(candidates) - MAX_KEYS} more keys were not verified (limit {MAX_KEYS})."
            )
        )
    return findings
