"""Registering claude-health with MCP clients: locate each client's config, edit it safely.

Pure file logic (no MCP imports): JSON/JSONC edited in place with spans, TOML tables edited as
text, atomic writes with a timestamped backup, and unified diffs for ``--dry-run``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_health.tools._lazy import lazy_exports

if TYPE_CHECKING:
    from claude_health.tools.registration.clients import CLIENTS, SERVER_NAME, RegistrationError
    from claude_health.tools.registration.plan import Applied, Change, apply, plan_install, plan_uninstall

__all__ = [
    "CLIENTS",
    "SERVER_NAME",
    "Applied",
    "Change",
    "RegistrationError",
    "apply",
    "plan_install",
    "plan_uninstall",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "CLIENTS": "clients",
        "SERVER_NAME": "clients",
        "RegistrationError": "clients",
        "Applied": "plan",
        "Change": "plan",
        "apply": "plan",
        "plan_install": "plan",
        "plan_uninstall": "plan",
    },
)
