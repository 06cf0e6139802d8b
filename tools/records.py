"""Plain dataclass records as JSON-ready data.

The domain library keeps its results as stdlib dataclasses: importing pydantic and building its
validators costs about 0.1 s, more than a whole key scan of a small project, and the CLI runs on
every commit. The MCP layer embeds these records in its pydantic output models, which read the
``description`` in each field's metadata for the tools' output schema.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any


def describe(text: str, **constraints: Any) -> dict[str, Any]:
    """Field metadata: a JSON Schema description (and constraints such as ``ge``) for pydantic."""
    return {"description": text, **constraints}


def to_json(value: Any, *, exclude_none: bool = False) -> Any:
    """``value`` with dataclasses turned into dicts and enums into their values, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None and exclude_none:
                continue
            out[f.name] = to_json(item, exclude_none=exclude_none)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_json(v, exclude_none=exclude_none) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v, exclude_none=exclude_none) for k, v in value.items()}
    return value
