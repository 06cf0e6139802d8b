"""Registering claude-health with MCP clients: locate each client's config, edit it safely.

Pure file logic (no MCP imports): JSON/JSONC edited in place with spans, TOML tables edited as
text, atomic writes with a timestamped backup, and unified diffs for ``--dry-run``.
"""

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
