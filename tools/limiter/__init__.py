"""A client-side mirror of Anthropic's rate limits, shared by every session and machine.

>>> from claude_health.tools.limiter import Limiter
>>> lim = Limiter.open("memory://", limits={"my-model": {"rpm": 500, "itpm": 30000, "otpm": 8000}})
>>> lim.try_acquire(model="my-model", input_tokens=1200, max_output_tokens=512).allowed
True

Names load on first use, so importing :mod:`claude_health.tools.limiter.models` (the MCP
adapter's result types) does not pull in the stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_health.tools._lazy import lazy_exports

if TYPE_CHECKING:
    from claude_health.tools.limiter.core import Limiter, LimiterUnavailable
    from claude_health.tools.limiter.models import Decision, LimiterStatus
    from claude_health.tools.limiter.stores import StoreError

__all__ = ["Decision", "Limiter", "LimiterStatus", "LimiterUnavailable", "StoreError"]

_WHERE = {
    "Limiter": "core",
    "LimiterUnavailable": "core",
    "Decision": "models",
    "LimiterStatus": "models",
    "StoreError": "stores",
}


__getattr__ = lazy_exports(__name__, _WHERE)
