"""Key hygiene: Anthropic credentials where they should not be, and who pays for them.

Exports resolve lazily: the MCP adapter imports :mod:`claude_health.tools.keys.models` at server
start, and that must not pull in the scanner, git and process-pool machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claude_health.tools.keys.models import KeyReport, ScanStats
    from claude_health.tools.keys.report import KeysUsageError, ScanOptions, scan_keys

__all__ = ["KeyReport", "KeysUsageError", "ScanOptions", "ScanStats", "scan_keys"]

_HOMES = {
    "KeyReport": "models",
    "ScanStats": "models",
    "KeysUsageError": "report",
    "ScanOptions": "report",
    "scan_keys": "report",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"claude_health.tools.keys.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
