"""Settings ``env`` blocks: names and values as Claude Code coerces them, and committed credentials."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from claude_health.tools import causes
from claude_health.tools.jsonspan import JsonPath as Path
from claude_health.tools.redact import redact
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.context import FileContext
from claude_health.tools.settings.keys import json_type

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CREDENTIAL_NAMES = frozenset(
    {
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "ANTHROPIC_FOUNDRY_API_KEY",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }
)
_CREDENTIAL_SUFFIX = re.compile(
    r"(?:_API_KEY|_AUTH_TOKEN|_ACCESS_TOKEN|_SECRET|_SECRET_KEY|_PASSWORD|_TOKEN)$"
)
# Not applied from project or local settings by Claude Code 2.1.332 (notes §6).
PROJECT_IGNORED = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")
_REFERENCE = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}?$")


def coerce(value: Any) -> str:
    """The string JavaScript's ``String(value)`` gives, which is what Claude Code stores."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):  # a literal past Python's int digit limit (see tools/jsonspan.py)
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return ",".join("" if v is None else coerce(v) for v in value)
    return "[object Object]"


def looks_like_credential(name: str, value: str) -> bool:
    if not value.strip() or _REFERENCE.match(value.strip()):
        return False
    if name in CREDENTIAL_NAMES:
        return True
    return bool(_CREDENTIAL_SUFFIX.search(name)) and len(value) >= 16 and " " not in value


def validate_env(ctx: FileContext, value: Any, at: Path) -> dict[str, str] | None:
    if not isinstance(value, dict):
        ctx.emit(R.WRONG_TYPE, f"`env` must be an object of strings; received {json_type(value)}.", at)
        return None
    kept: dict[str, str] = {}
    for name, raw in value.items():
        where = (*at, name)
        cause = causes.setting_env(ctx.file.path, name)
        if not _NAME.match(name):
            ctx.emit(
                R.ENV_NAME,
                f"Environment variable name {name!r} is not a valid shell name.",
                where,
                key=True,
                cause=cause,
            )
        if isinstance(raw, dict | list) or raw is None:
            ctx.emit(
                R.ENV_BAD_VALUE,
                f"env {name} is {json_type(raw)}; Claude Code sets it to {json.dumps(coerce(raw))}.",
                where,
                cause=cause,
            )
        elif not isinstance(raw, str):
            ctx.emit(
                R.ENV_COERCED,
                f"env {name} is a {json_type(raw)}; Claude Code uses {coerce(raw)!r}.",
                where,
                cause=cause,
            )
        text = coerce(raw)
        kept[name] = text
        if ctx.scope in ("project", "local") and name in PROJECT_IGNORED:
            ctx.emit(
                R.ENV_NOT_APPLIED,
                f"{name} in {ctx.scope} settings `env` is not applied by Claude Code"
                + (" and redirects every contributor's traffic." if name == "ANTHROPIC_BASE_URL" else "."),
                where,
                key=True,
                cause=cause,
            )
        if isinstance(raw, str) and looks_like_credential(name, raw):
            ctx.emit(
                R.ENV_CREDENTIAL,
                f"env {name} holds a literal credential ({redact(raw)}) in {ctx.scope} settings.",
                where,
                cause=cause,
            )
    return kept
