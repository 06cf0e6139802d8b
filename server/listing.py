"""What ``tools/list``, ``resources/list`` and ``prompts/list`` answer, recorded once per install.

Registering the tools costs about 100 ms of every start, most of it pydantic generating each
tool's input and output JSON schemas, and a client's first request, ``tools/list``, needs them
all. So the first start of an install records the three listings, and which adapter module
registers each entry, in claude-health's cache directory. Later starts answer from that record and
register an adapter only when one of its tools, resources or prompts is used
(:class:`claude_health.server.app.ClaudeHealthServer`).

The record is keyed by everything its content depends on: the interpreter, the versions of mcp,
pydantic and pydantic-core, and the size and modification time of every claude_health source file
(an editable install changes code without changing the version). A record under another key, or
one that does not parse, is never used: the server registers everything, as without a cache, and
records again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pydantic
import pydantic_core
from mcp.server.mcpserver import MCPServer
from mcp.types import Prompt, Resource, ResourceTemplate, Tool
from pydantic import TypeAdapter, ValidationError

import claude_health.server
import claude_health.tools
from claude_health.tools import __version__

logger = logging.getLogger(__name__)

FORMAT = 1  # bump when the record's layout changes
PREFIX = "server-listing-"
TEMP_PREFIX = f".{PREFIX}"  # write_atomically's temporary files: .<record name>.*
STALE_AFTER_S = 30 * 86400  # other installs' records are removed when this old

# What a recorded entry is keyed by in ``Listing.owners``: one namespace per kind of entry.
TOOL, RESOURCE, TEMPLATE, PROMPT = "tool", "resource", "template", "prompt"


def owner_key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


@dataclass(frozen=True)
class Listing:
    """The server's three listings as a client receives them, and each entry's adapter module."""

    tools: list[Tool]
    resources: list[Resource]
    templates: list[ResourceTemplate]
    prompts: list[Prompt]
    owners: dict[str, str]  # owner_key(kind, name) -> adapter module name

    def owner(self, kind: str, name: str) -> str | None:
        return self.owners.get(owner_key(kind, name))

    def to_json(self) -> dict[str, Any]:
        def dump(items: Iterable[pydantic.BaseModel]) -> list[dict[str, Any]]:
            return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]

        return {
            "tools": dump(self.tools),
            "resources": dump(self.resources),
            "templates": dump(self.templates),
            "prompts": dump(self.prompts),
            "owners": self.owners,
        }


_TOOLS = TypeAdapter(list[Tool])
_RESOURCES = TypeAdapter(list[Resource])
_TEMPLATES = TypeAdapter(list[ResourceTemplate])
_PROMPTS = TypeAdapter(list[Prompt])
_OWNERS = TypeAdapter(dict[str, str])


def listing_from_json(data: Any) -> Listing:
    """A :class:`Listing` from :meth:`Listing.to_json`'s form; ValueError when it is not that."""
    if not isinstance(data, dict):
        raise ValueError("a listing is a JSON object")
    try:
        return Listing(
            tools=_TOOLS.validate_python(data["tools"]),
            resources=_RESOURCES.validate_python(data["resources"]),
            templates=_TEMPLATES.validate_python(data["templates"]),
            prompts=_PROMPTS.validate_python(data["prompts"]),
            owners=_OWNERS.validate_python(data["owners"]),
        )
    except (KeyError, ValidationError) as exc:
        raise ValueError(f"not a listing: {exc}") from None


def _complete(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (MCPServer's list methods read in-memory managers).

    ``build_server`` may be called with or without a running event loop, so none is started here.
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a list method suspended; the listing cannot be recorded synchronously")


def record(server: MCPServer, owners: dict[str, str]) -> Listing:
    """What ``server`` answers to the three list requests now, by the SDK's own conversion."""
    return Listing(
        tools=_complete(server.list_tools()),
        resources=_complete(server.list_resources()),
        templates=_complete(server.list_resource_templates()),
        prompts=_complete(server.list_prompts()),
        owners=dict(owners),
    )


def source_roots() -> list[str]:
    # The subpackages' own paths: in an editable install the namespace's path is an import hook.
    return [*claude_health.server.__path__, *claude_health.tools.__path__]


def _source_files(roots: Iterable[str]) -> Iterable[os.DirEntry[str]]:
    stack = list(roots)
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                elif entry.name.endswith((".py", ".json")):
                    yield entry


def fingerprint(roots: Iterable[str] | None = None) -> str:
    """The key of a record that fits this process: interpreter, dependency versions, source files
    (every ``.py`` and ``.json`` under ``roots``, by default claude_health's own)."""
    digest = hashlib.blake2b(digest_size=12)
    parts = [
        f"format={FORMAT}",
        f"python={sys.version}",
        f"claude-health={__version__}",
        f"mcp={metadata.version('mcp')}",
        f"pydantic={pydantic.VERSION}",
        f"pydantic-core={pydantic_core.__version__}",
    ]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for entry in sorted(_source_files(source_roots() if roots is None else roots), key=lambda e: e.path):
        st = entry.stat()
        digest.update(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode(errors="surrogateescape"))
    return digest.hexdigest()


def record_path(cache_dir: str, key: str) -> Path:
    return Path(cache_dir, f"{PREFIX}{key}.json")


def load(cache_dir: str, key: str) -> Listing | None:
    """The record under ``key``, or None when there is none or it cannot be used."""
    path = record_path(cache_dir, key)
    try:
        return listing_from_json(json.loads(path.read_bytes()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # a damaged record costs one slower start, nothing else
        logger.info("not using the recorded listing %s: %s", path, exc)
        return None


def save(cache_dir: str, key: str, listing: Listing) -> None:
    """Write the record atomically (a racing start reads the old one or this one, never half)."""
    from claude_health.tools.files import write_atomically  # an install's first start only

    data = json.dumps(listing.to_json(), separators=(",", ":")).encode()
    try:
        Path(cache_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(record_path(cache_dir, key), data)
    except OSError as exc:  # a read-only cache: every start registers, nothing is lost
        logger.info("cannot record the server listing in %s: %s", cache_dir, exc)
        return
    _prune(cache_dir, keep=record_path(cache_dir, key))


def _prune(cache_dir: str, keep: Path) -> None:
    """Remove other installs' records written over a month ago (several venvs may share one cache;
    one whose record goes records again at its next start)."""
    cutoff = time.time() - STALE_AFTER_S
    try:
        with os.scandir(cache_dir) as entries:
            for entry in entries:
                # a temp file (TEMP_PREFIX) is what a start killed while writing its record leaves
                ours = entry.name.startswith((PREFIX, TEMP_PREFIX))
                if ours and entry.name != keep.name and entry.stat().st_mtime < cutoff:
                    Path(entry.path).unlink()
    except OSError:
        pass
