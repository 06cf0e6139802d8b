"""Token counting: an offline content-aware estimate, exact counts through the API, cost and fit,
and the per-turn context budget of a project.

>>> from claude_health.tools.tokens import count_text
>>> count_text("Hello, Claude", model="claude-opus-4-6").method
'estimate'

Names are imported on first use: the CLI and the MCP server import this package at start-up
(for the default model and the result schemas) and must not pay for httpx until they count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_health.tools._lazy import lazy_exports

if TYPE_CHECKING:
    from claude_health.tools.tokens.budget import context_budget
    from claude_health.tools.tokens.counter import Mode, count_files, count_request, count_text
    from claude_health.tools.tokens.estimator import Estimate, estimate_text
    from claude_health.tools.tokens.exact import ExactUnavailable
    from claude_health.tools.tokens.models import default_model, resolve_model
    from claude_health.tools.tokens.request import RequestError
    from claude_health.tools.tokens.results import ContextBudget, TokenCount

_LAZY = {
    "context_budget": "budget",
    "Mode": "counter",
    "count_files": "counter",
    "count_request": "counter",
    "count_text": "counter",
    "Estimate": "estimator",
    "estimate_text": "estimator",
    "ExactUnavailable": "exact",
    "default_model": "models",
    "resolve_model": "models",
    "RequestError": "request",
    "ContextBudget": "results",
    "TokenCount": "results",
}

__all__ = [
    "ContextBudget",
    "Estimate",
    "ExactUnavailable",
    "Mode",
    "RequestError",
    "TokenCount",
    "context_budget",
    "count_files",
    "count_request",
    "count_text",
    "default_model",
    "estimate_text",
    "resolve_model",
]


__getattr__ = lazy_exports(__name__, _LAZY)
