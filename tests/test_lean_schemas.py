"""Every tool result leaves out the fields that are not set (server/mcp_tools/_common.lean), and the
SDK validates what is sent against the tool's output schema: so no field may be both required and
nullable. One such field made `limit_status` fail whenever a bucket's limit was unknown."""

from __future__ import annotations

import asyncio
from typing import Any

from claude_health.server.app import build_server


def _required_nullable(schema: Any, defs: dict[str, Any], seen: set[str], out: set[str]) -> None:
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            _required_nullable(defs.get(name), defs, seen, out)
        return
    required = set(schema.get("required", []))
    for key, sub in schema.get("properties", {}).items():
        options = sub.get("anyOf", [])
        if key in required and (sub.get("type") == "null" or any(o.get("type") == "null" for o in options)):
            out.add(f"{schema.get('title')}.{key}")
        _required_nullable(sub, defs, seen, out)
    for key in ("items", "additionalProperties"):
        _required_nullable(schema.get(key), defs, seen, out)
    for sub in [*schema.get("anyOf", []), *schema.get("allOf", [])]:
        _required_nullable(sub, defs, seen, out)


def test_no_output_field_is_required_and_nullable() -> None:
    tools = asyncio.run(build_server().list_tools())
    assert tools
    found: set[str] = set()
    for tool in tools:
        schema = tool.output_schema or {}
        _required_nullable(schema, schema.get("$defs", {}), set(), found)
    assert found == set(), f"lean() drops these when null, and the SDK then rejects the result: {found}"
