"""``doctor --probe-servers``: start each approved MCP server, shake hands in both eras, list tools.

Opt-in, because it runs the commands in the user's configuration. Each server gets a timeout per
handshake; failures are classified the way a user can act on them: command not found, crashed
(with the last line of its stderr), timed out, protocol error, unreachable URL.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from claude_health.tools import causes
from claude_health.tools.findings import Finding
from claude_health.tools.keys.literals import scrub_line
from claude_health.tools.outcome import CheckOutcome
from claude_health.tools.paths import Workspace
from claude_health.tools.redact import redact_text
from claude_health.tools.runtime import rules
from claude_health.tools.runtime.commands import check_command
from claude_health.tools.runtime.mcp_servers import (
    EntryError,
    Launch,
    ServerEntry,
    configured_servers,
    launch_of,
)

DEFAULT_TIMEOUT = 10.0
MODES = ("auto", "legacy")
MODERN = "2026-07-28"
_PARALLEL = 4
_NOISY_LOGGERS = ("mcp.client.stdio", "mcp.client.streamable_http", "mcp.shared.jsonrpc_dispatcher", "httpx2")


@dataclass
class ProbeResult:
    name: str
    scope: str
    source: str
    transport: str = "stdio"
    status: str = "ok"  # ok | failed | pending | rejected | blocked | skipped
    protocol_versions: dict[str, str] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)
    reason: str | None = None
    duration_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], {})}


class _WatchedRead:
    """Wraps a transport's read stream to notice lines that were not JSON-RPC."""

    def __init__(self, inner: Any, seen: list[Exception]) -> None:
        self.inner = inner
        self.seen = seen

    async def receive(self) -> Any:
        item = await self.inner.receive()
        if isinstance(item, Exception):
            self.seen.append(item)
        return item

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@asynccontextmanager
async def _watched(transport: Any, seen: list[Exception]) -> AsyncIterator[Any]:
    async with transport as (read_stream, write_stream):
        yield _WatchedRead(read_stream, seen), write_stream


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(_leaves(inner))
        return out
    return [exc]


def scrub(text: str) -> str:
    """A probed server's words as they may be shown: credentials in config syntax, URLs, known
    token formats and any long key-like token redacted (its stderr can echo its environment)."""
    return redact_text(scrub_line(text))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return scrub(lines[-1])[:200] if lines else ""


@dataclass
class _Failure:
    rule: Any
    reason: str


def _classify(exc: BaseException, seen: list[Exception], stderr: str, timeout: float) -> _Failure:
    leaves = _leaves(exc)
    last = _last_line(stderr)
    said = f"; its stderr ends with: {last}" if last else ""
    if seen:
        sample = scrub(str(seen[0]).splitlines()[0])[:160]
        return _Failure(rules.PROBE_PROTOCOL, f"wrote output that is not MCP JSON-RPC ({sample})")
    for leaf in leaves:
        if isinstance(leaf, TimeoutError):
            return _Failure(rules.PROBE_TIMEOUT, f"no handshake within {timeout:g} s{said}")
        if isinstance(leaf, FileNotFoundError):
            return _Failure(rules.PROBE_NOT_FOUND, f"could not be started: {leaf.strerror or leaf}")
        if isinstance(leaf, MCPError) and "closed" in str(leaf).lower():
            return _Failure(rules.PROBE_CRASHED, f"exited before completing the handshake{said}")
        if isinstance(leaf, OSError):
            return _Failure(rules.PROBE_CRASHED, f"could not be started: {leaf.strerror or leaf}")
        name = type(leaf).__name__
        if "Connect" in name or "HTTPStatus" in name or "Network" in name:
            return _Failure(rules.PROBE_UNREACHABLE, f"{name}: {scrub(str(leaf))[:200]}")
        if isinstance(leaf, MCPError):
            return _Failure(rules.PROBE_PROTOCOL, f"rejected the handshake: {scrub(str(leaf))[:200]}")
    first = leaves[0] if leaves else exc
    return _Failure(rules.PROBE_PROTOCOL, f"{type(first).__name__}: {scrub(str(first))[:200]}")


async def _handshake(
    launch: Launch, mode: str, env: dict[str, str], cwd: Path, timeout: float
) -> tuple[str, list[str]]:
    """(protocol version, tool names); raises whatever the attempt raised."""
    seen: list[Exception] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            with anyio.fail_after(timeout):
                if launch.transport == "stdio":
                    params = StdioServerParameters(
                        command=launch.command or "", args=launch.args, env={**env, **launch.env}, cwd=cwd
                    )
                    transport: Any = _watched(stdio_client(params, errlog=errlog), seen)
                    async with Client(transport, mode=mode) as client:
                        tools = await client.list_tools()
                        return client.protocol_version or "", [t.name for t in tools.tools]
                http = create_mcp_http_client(headers=launch.headers or None)
                async with (
                    http,
                    Client(streamable_http_client(launch.url or "", http_client=http), mode=mode) as client,
                ):
                    tools = await client.list_tools()
                    return client.protocol_version or "", [t.name for t in tools.tools]
        except BaseException as exc:
            if isinstance(exc, anyio.get_cancelled_exc_class()) and not isinstance(exc, TimeoutError):
                raise
            errlog.seek(0)
            raise _ProbeFailed(_classify(exc, seen, errlog.read()[-4000:], timeout)) from None


class _ProbeFailed(Exception):
    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


async def _probe_one(entry: ServerEntry, ws: Workspace, timeout: float) -> tuple[ProbeResult, list[Finding]]:
    result = ProbeResult(entry.name, entry.scope, entry.source)
    where = f"`{entry.name}` ({entry.scope} scope, {entry.source})"
    if entry.approval == "pending":
        result.status = "pending"
        why = f": {entry.approval_note}" if entry.approval_note else ""
        result.reason = entry.approval_note or "not approved"
        return result, [
            rules.PROBE_PENDING.finding(
                f"{where} is not approved, so it was not started{why}.", path=entry.source
            )
        ]
    if entry.approval in ("rejected", "blocked"):
        result.status = entry.approval
        result.reason = entry.approval_note
        return result, []
    env = dict(ws.env)
    try:
        launch = launch_of(entry, env)
    except EntryError as exc:
        result.status, result.reason = "failed", str(exc)
        return result, [rules.PROBE_BAD_ENTRY.finding(f"{where} {exc}.", path=entry.source)]
    result.transport = launch.transport
    if launch.transport == "sse":
        result.status, result.reason = (
            "skipped",
            "SSE transport is not probed (superseded by streamable HTTP)",
        )
        return result, []
    if launch.transport == "stdio":
        command = launch.command or ""
        lookup = check_command(command, {**env, **launch.env}.get("PATH", ""), ws.project, ws.home)
        if not lookup.found:
            result.status, result.reason = "failed", lookup.problem
            return result, [
                rules.PROBE_NOT_FOUND.finding(
                    f"{where}: {lookup.problem}.", path=entry.source, hint=lookup.fix
                )
            ]
    started = time.perf_counter()
    findings: list[Finding] = []
    try:
        for mode in MODES:
            version, tools = await _handshake(launch, mode, env, ws.project, timeout)
            result.protocol_versions[mode] = version
            result.tools = result.tools or tools
        if result.protocol_versions.get("auto") != MODERN:
            findings.append(
                rules.PROBE_LEGACY_ONLY.finding(
                    f"{where} negotiated {result.protocol_versions.get('auto')} when offered {MODERN}.",
                    path=entry.source,
                )
            )
    except _ProbeFailed as failed:
        result.status, result.reason = "failed", failed.failure.reason
        findings.append(failed.failure.rule.finding(f"{where} {failed.failure.reason}.", path=entry.source))
    result.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return result, findings


@contextmanager
def _quiet_sdk_logs() -> Iterator[None]:
    """The SDK logs a traceback per garbage line; the probe reports it as a finding instead."""
    saved = {name: logging.getLogger(name).level for name in _NOISY_LOGGERS}
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


Progress = Callable[[str], None]
# How often a terminal hears which servers are still being waited for.
_TICK_SECONDS = 3.0


def _tools(count: int) -> str:
    return f"{count} tool{'s' if count != 1 else ''}"


def describe(result: ProbeResult) -> str:
    """One line for one server: what a person needs to know about it."""
    if result.status == "ok":
        protocol = result.protocol_versions.get("auto")
        took = result.duration_ms / 1000
        return f"{result.name}: {_tools(len(result.tools))}, protocol {protocol} ({took:.1f} s)"
    if result.status == "pending":
        return f"{result.name}: not approved, not started"
    if result.status == "rejected":
        return f"{result.name}: disabled, not started"
    return f"{result.name}: {result.reason or result.status}"


def summary_lines(data: dict[str, Any]) -> list[str]:
    """The probe section of the human doctor report: the servers that work, then the others."""
    servers = data.get("servers") or []
    if not servers:
        return ["MCP servers: none configured for this project"]
    by_status: dict[str, list[dict[str, Any]]] = {}
    for server in servers:
        by_status.setdefault(server.get("status", "?"), []).append(server)
    lines = []
    working = by_status.pop("ok", [])
    names = ", ".join(f"{s['name']} ({_tools(len(s.get('tools', [])))})" for s in working)
    lines.append(f"MCP servers that work: {names or 'none'}")
    for status, label in (
        ("failed", "failed"),
        ("pending", "not approved"),
        ("rejected", "disabled"),
        ("skipped", "not probed"),
    ):
        group = by_status.pop(status, [])
        if group:
            lines.append(f"MCP servers {label}: {', '.join(s['name'] for s in group)}")
    return lines


async def _tick(progress: Progress, running: dict[str, float]) -> None:
    """Every few seconds, name the servers still starting (a hanging one must not look like a hang)."""
    while True:
        await anyio.sleep(_TICK_SECONDS)
        if running:
            now = time.perf_counter()
            waiting = ", ".join(f"{name} ({now - since:.0f} s)" for name, since in sorted(running.items()))
            progress(f"  still waiting for: {waiting}")


async def probe_servers(
    ws: Workspace, timeout: float = DEFAULT_TIMEOUT, progress: Progress | None = None
) -> CheckOutcome:
    """Probe every configured MCP server of the workspace; findings P001-P008 and a ``probe`` section.

    ``progress`` (the CLI passes one on a terminal) hears a line when probing starts, when each
    server's answer lands, and every few seconds the names of the servers still being waited for.
    """
    entries = configured_servers(ws)
    outcomes: dict[str, tuple[ProbeResult, list[Finding]]] = {}
    limiter = anyio.CapacityLimiter(_PARALLEL)
    running: dict[str, float] = {}

    async def run(entry: ServerEntry) -> None:
        async with limiter:
            running[entry.name] = time.perf_counter()
            try:
                outcomes[entry.name] = await _probe_one(entry, ws, timeout)
            finally:
                running.pop(entry.name, None)
        if progress is not None:
            result = outcomes[entry.name][0]
            progress(f"  {result.status:<8} {describe(result)}")

    if progress is not None and entries:
        progress(
            f"Probing {len(entries)} MCP server(s), up to {timeout:g} s per handshake: "
            + ", ".join(e.name for e in entries)
        )
    with _quiet_sdk_logs():
        async with anyio.create_task_group() as group:
            if progress is not None:
                group.start_soon(_tick, progress, running)
            async with anyio.create_task_group() as probes:
                for entry in entries:
                    probes.start_soon(run, entry)
            group.cancel_scope.cancel()  # stops the ticker; every probe has finished
    results = [outcomes[e.name][0] for e in entries]
    # Every probe finding is about its server: one problem with the settings findings on it.
    findings = [f.replace(cause=causes.mcp_server(e.name)) for e in entries for f in outcomes[e.name][1]]
    return CheckOutcome(
        findings=findings,
        data={
            "servers": [r.to_json() for r in results],
            "probed": sum(1 for r in results if r.status in ("ok", "failed")),
            "failed": sum(1 for r in results if r.status == "failed"),
            "working": [r.name for r in results if r.status == "ok"],
            "timeout_s": timeout,
        },
    )


def run_probe(
    ws: Workspace, timeout: float = DEFAULT_TIMEOUT, progress: Progress | None = None
) -> CheckOutcome:
    """Synchronous entry point for the CLI (`doctor --probe-servers`)."""
    outcome: CheckOutcome = anyio.run(probe_servers, ws, timeout, progress)
    return outcome
