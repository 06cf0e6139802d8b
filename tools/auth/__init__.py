"""The auth route: which credential Claude Code will use, and therefore who pays.

>>> from claude_health.tools.auth.check import auth_route
>>> from claude_health.tools.paths import Workspace
>>> result = auth_route(Workspace.discover())  # doctest: +SKIP
>>> result.status.billing  # doctest: +SKIP
'subscription'

Names are imported from the module that defines them (``check``, ``models``, ``route``): the MCP
server imports the result model at start-up and must not load the route with it.
"""
