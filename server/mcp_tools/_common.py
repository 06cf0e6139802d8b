"""What every MCP adapter shares: turning ``project_dir`` into a workspace, safely."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from claude_health.tools.paths import Workspace

MAX_PATH_CHARS = 4096

F = TypeVar("F", bound=Callable[..., object])


def clean_doc(fn: F) -> F:
    """Dedent a tool's docstring: MCPServer sends ``__doc__`` verbatim as the description."""
    if fn.__doc__:
        fn.__doc__ = inspect.cleandoc(fn.__doc__)
    return fn


ProjectDir = Annotated[
    str | None,
    Field(
        default=None,
        description="Absolute path of the user's project. Defaults to the server's working directory.",
        max_length=MAX_PATH_CHARS,
    ),
]


def workspace_for(project_dir: str | None) -> Workspace:
    """The workspace for a tool call; a bad ``project_dir`` is a ToolError the model can fix."""
    if project_dir is None or not project_dir.strip():
        return Workspace.discover()
    if "\x00" in project_dir:
        raise ToolError("project_dir must not contain NUL characters")
    path = Path(project_dir).expanduser()
    try:
        is_dir = path.is_dir()
    except OSError as exc:
        raise ToolError(f"project_dir {project_dir!r} cannot be accessed: {exc.strerror}") from None
    if not is_dir:
        raise ToolError(f"project_dir {project_dir!r} is not an existing directory")
    return Workspace.discover(project=path, env=os.environ)


def lean(result: BaseModel, *, trim: bool = True) -> CallToolResult:
    """A tool result without the fields that are not set, as structured content and as its JSON text.

    Claude Code hands a tool's ``structuredContent`` to the model, so every ``null`` and empty
    default is the user's context spent on nothing. The text block carries the same JSON, compact,
    for clients that read only text. ``trim`` also drops the findings' ``check`` and ``cause``.
    """
    data = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    if trim:
        data = _trim(data)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


# Finding fields a model never needs in a tool result: the check is the tool itself, and the cause
# key is what the doctor groups problems by (a problem already is that group).
_FINDING_NOISE = ("check", "cause")


def _trim(data: Any) -> Any:
    if isinstance(data, dict):
        out = {k: _trim(v) for k, v in data.items()}
        for key in ("findings",):
            items = out.get(key)
            if isinstance(items, list):
                out[key] = [
                    {k: v for k, v in item.items() if k not in _FINDING_NOISE}
                    if isinstance(item, dict)
                    else item
                    for item in items
                ]
        return out
    if isinstance(data, list):
        return [_trim(v) for v in data]
    return data
