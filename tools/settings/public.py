"""What may leave the process: results with every credential-looking value redacted."""

from __future__ import annotations

import copy
import re
from typing import Any

from claude_health.tools.redact import redact
from claude_health.tools.settings.envblock import looks_like_credential

# Tokens that look like keys inside command lines and URLs (sk-ant-..., ghp_..., long opaque runs).
_KEYISH = re.compile(
    r"(sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abp]-[A-Za-z0-9-]{10,}|[A-Za-z0-9_\-]{40,})"
)
_SECRET_HEADER = re.compile(r"(authorization|token|key|secret|cookie)", re.IGNORECASE)


def scrub_text(text: str) -> str:
    return _KEYISH.sub(lambda m: redact(m.group(0)), text)


def public_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of merged settings with env credentials and secret headers redacted."""
    out = copy.deepcopy(settings)
    env = out.get("env")
    if isinstance(env, dict):
        for name, value in env.items():
            if isinstance(value, str) and (looks_like_credential(name, value) or _KEYISH.search(value)):
                env[name] = redact(value)
    hooks = out.get("hooks")
    if isinstance(hooks, dict):
        for matchers in hooks.values():
            for matcher in matchers if isinstance(matchers, list) else []:
                for hook in matcher.get("hooks", []) if isinstance(matcher, dict) else []:
                    _scrub_headers(hook)
    return out


def _scrub_headers(hook: Any) -> None:
    if not isinstance(hook, dict):
        return
    headers = hook.get("headers")
    if isinstance(headers, dict):
        for key, value in headers.items():
            if isinstance(value, str) and "$" not in value and _SECRET_HEADER.search(key):
                headers[key] = redact(value)
    if isinstance(hook.get("command"), str):
        hook["command"] = scrub_text(hook["command"])
