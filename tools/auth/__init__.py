"""The auth route: which credential Claude Code will use, and therefore who pays.

>>> from claude_health.tools.auth import auth_route
>>> from claude_health.tools.paths import Workspace
>>> result = auth_route(Workspace.discover())  # doctest: +SKIP
>>> result.status.billing  # doctest: +SKIP
'subscription'
"""

from __future__ import annotations

from claude_health.tools.auth.check import auth_route
from claude_health.tools.auth.models import AuthStatus, Credential
from claude_health.tools.auth.route import AuthResult

__all__ = ["AuthResult", "AuthStatus", "Credential", "auth_route"]
