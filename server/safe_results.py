"""Tool and resource results that can always be sent: no lone surrogate in any string.

A hostile repository can hold a file whose name is not UTF-8 (Python keeps the bytes as lone
surrogates) or JSON with a ``"\\ud800"`` escape; either string, in a result, makes the SDK's
serialisation fail, and the client gets "Error executing tool" instead of the findings. Every
tool and static resource function is wrapped once, at start-up: a result that serialises (all
of them, normally) passes untouched; one that does not has each lone surrogate written out
(``\\xff``, ``\\ud800``) and is then validated against the tool's output schema as usual.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import pydantic_core
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

from claude_health.tools.terminal import escape_surrogates


def _clean(value: Any) -> Any:
    """``value`` with every lone surrogate written out, its types kept: a result model's own
    serialiser (which leaves out empty fields, for one) must still be the one that runs."""
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return value.model_copy(update={name: _clean(getattr(value, name)) for name in fields})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(v) for v in value)
    return value


def sendable(result: Any) -> Any:
    """``result`` itself when it serialises as UTF-8 JSON; otherwise the same result, cleaned."""
    try:
        pydantic_core.to_json(result, fallback=str)
    except (pydantic_core.PydanticSerializationError, UnicodeError):
        return _clean(result)
    return result


_MARK = "__claude_health_sendable__"  # set on the wrappers made here, so a second pass leaves them alone


def _wrap(fn: Callable[..., Any], is_async: bool) -> Callable[..., Any]:
    if getattr(fn, _MARK, False):
        return fn
    if is_async:

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            return sendable(await fn(*args, **kwargs))

        wrapper: Callable[..., Any] = run_async
    else:

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            return sendable(fn(*args, **kwargs))

        wrapper = run
    setattr(wrapper, _MARK, True)
    return wrapper


def make_results_sendable(server: MCPServer) -> None:
    """Wrap every registered tool and static resource function of ``server`` not wrapped yet
    (call it after each registration: adapters may register one at a time)."""
    import inspect

    for tool in server._tool_manager.list_tools():
        tool.fn = _wrap(tool.fn, tool.is_async)
    for resource in server._resource_manager.list_resources():
        fn = getattr(resource, "fn", None)
        if fn is not None:
            resource.fn = _wrap(fn, inspect.iscoroutinefunction(fn))  # type: ignore[attr-defined]
