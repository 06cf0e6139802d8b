"""What may leave the process: results with every credential-looking value redacted."""

from __future__ import annotations

from typing import Any

from claude_health.tools.redact import is_redacted, redact
from claude_health.tools.settings.scrub import is_reference, scrub_text, secret_name

__all__ = ["public_effective", "public_settings", "public_value", "scrub_text"]

# Objects whose every member is a variable or a header: a credential is known by its name alone.
_NAMED_MAPS = frozenset({"env", "headers"})


def public_value(value: Any, *, named: bool = False) -> Any:
    """A copy of a JSON value with every string scrubbed, and redacted whole when its key names a
    credential: in ``env`` and ``headers`` maps (``named``) any such name, elsewhere a name that
    ends like one (``apiKey``, ``password``; not the ``apiKeyHelper`` command, which is scrubbed)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [public_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        public_key = scrub_text(key)
        credential = secret_name(key, anywhere=named)
        if isinstance(item, str) and item.strip() and credential and not is_reference(item):
            out[public_key] = item if is_redacted(item) else redact(item)
        else:
            out[public_key] = public_value(item, named=key in _NAMED_MAPS)
    return out


def public_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of merged settings with credentials redacted wherever they are."""
    result: dict[str, Any] = public_value(settings)
    return result


def public_effective(payload: dict[str, Any]) -> dict[str, Any]:
    """An :class:`Effective` JSON payload safe to show: settings, provenance paths, notes."""
    return {
        **payload,
        "settings": public_settings(payload.get("settings", {})),
        "provenance": {scrub_text(k): v for k, v in payload.get("provenance", {}).items()},
        "notes": [scrub_text(n) for n in payload.get("notes", [])],
    }
