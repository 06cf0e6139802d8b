"""The auth route: which credential Claude Code will use, and therefore who pays.

>>> from claude_health.tools.auth import auth_route
>>> from claude_health.tools.paths import Workspace
>>> result = auth_route(Workspace.discover())  # doctest: +SKIP
>>> result.status.billing  # doctest: +SKIP
'subscription'

Names load on first use, so the MCP adapter's import of the result model stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_health.tools._lazy import lazy_exports

if TYPE_CHECKING:
    from claude_health.tools.auth.check import auth_route
    from claude_health.tools.auth.models import AuthStatus, Credential
    from claude_health.tools.auth.route import AuthResult

__all__ = ["AuthResult", "AuthStatus", "Credential", "auth_route"]

__getattr__ = lazy_exports(
    __name__,
    {"auth_route": "check", "AuthStatus": "models", "Credential": "models", "AuthResult": "route"},
)
