"""Live settings: watch every discovered config file and tell subscribed clients when results change.

Both protocol eras are served (notes mcp-sdk §1.2):

* 2026-07-28 clients listen with ``subscriptions/listen``; we publish ``ResourceUpdated`` on the
  server's subscription bus, which works outside any request.
* 2025-era clients send ``resources/subscribe``; MCPServer does not wire it, so
  :func:`install_watcher` registers the handlers on the low-level server and keeps the sessions,
  then sends ``notifications/resources/updated`` to each.

The watcher runs inside the server's lifespan (wrapped by :func:`install_watcher`), re-validates on
every debounced change and notifies only when a resource's content actually changed, so a
half-written file produces at most one extra update and never an exception.

It starts with the first subscription to a resource, of either era, and the subscription is
acknowledged once the first validation (what later changes are compared with) is done. A session
that never subscribes to a resource pays nothing for it: no validation racing the client's first
requests. Claude Code 2.1.332 opens a ``subscriptions/listen`` stream at start-up, but for list
changes only (seen through a real session: tests/test_watcher_claude_code.py).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

logger = logging.getLogger(__name__)

FINDINGS_URI = "settings://findings"
EFFECTIVE_URI = "settings://effective"
WATCH_ENV = "CLAUDE_HEALTH_WATCH"  # "0" turns the watcher off
READY_TIMEOUT_S = 10.0  # longest a subscription waits for the first validation


@dataclass
class LegacySubscriptions:
    """2025-era subscribers: (session, uri) pairs registered through resources/subscribe."""

    entries: list[tuple[Any, str]] = field(default_factory=list)

    def add(self, session: Any, uri: str) -> None:
        if not any(s is session and u == uri for s, u in self.entries):
            self.entries.append((session, uri))

    def remove(self, session: Any, uri: str) -> None:
        self.entries = [(s, u) for s, u in self.entries if not (s is session and u == uri)]

    async def notify(self, uri: str) -> None:
        for session, subscribed in list(self.entries):
            if subscribed != uri:
                continue
            try:
                await session.send_resource_updated(uri)
            except Exception:  # a closed session must not stop the others
                logger.debug("dropping legacy subscriber for %s", uri, exc_info=True)
                self.remove(session, uri)


def snapshot(project: str | None = None) -> dict[str, str]:
    """The current JSON of each watched resource (what a client would read)."""
    from claude_health.tools.paths import Workspace
    from claude_health.tools.settings.public import public_effective
    from claude_health.tools.view import view_of

    view = view_of(Workspace.discover(project=project))  # a new snapshot per event: one view
    payload = public_effective(view.settings.to_json())
    return {
        FINDINGS_URI: json.dumps(view.validation.payload(), sort_keys=True),
        EFFECTIVE_URI: json.dumps(payload, sort_keys=True),
    }


@dataclass
class SettingsWatcher:
    server: MCPServer
    project: str | None = None
    legacy: LegacySubscriptions = field(default_factory=LegacySubscriptions)
    last: dict[str, str] = field(default_factory=dict)
    ready: anyio.Event = field(default_factory=anyio.Event)
    # Set by the lifespan while the server runs: starts :meth:`run` in the lifespan's task group.
    starter: Callable[[], object] | None = None
    started: bool = False

    async def ensure_running(self) -> None:
        """Start watching (once) and wait for the first validation; at once when not watching."""
        if self.starter is None:  # CLAUDE_HEALTH_WATCH=0, or the server is not running
            return
        if not self.started:
            self.started = True
            self.starter()
        # Bounded: a discovery stuck on a slow disk must not hang the client's subscribe.
        with anyio.move_on_after(READY_TIMEOUT_S):
            await self.ready.wait()

    async def publish(self, uri: str) -> None:
        from mcp.server.subscriptions import ResourceUpdated

        bus = self.server._subscriptions
        await bus.publish(ResourceUpdated(uri=uri))
        await self.legacy.notify(uri)

    async def refresh(self) -> list[str]:
        """Re-validate; publish and return the URIs whose content changed."""
        try:
            current = await anyio.to_thread.run_sync(snapshot, self.project)
        except Exception:  # the watcher must outlive any surprise in a file
            logger.exception("settings re-validation failed")
            return []
        changed = [uri for uri, text in current.items() if self.last.get(uri) != text]
        self.last = current
        for uri in changed:
            await self.publish(uri)
        return changed

    async def run(self, stop: anyio.Event) -> None:
        from claude_health.tools.paths import Workspace
        from claude_health.tools.settings.watch import awatch_changes

        ws: Workspace | None = None
        ready = self.ready  # this run's: a later server run has its own
        try:
            ws = Workspace.discover(project=self.project)
            self.last = await anyio.to_thread.run_sync(snapshot, self.project)
        except Exception:  # one bad file must not take the whole server down at start-up
            logger.exception("initial settings validation failed; watching from an empty state")
            self.last = {}
        finally:
            ready.set()
        if ws is None:
            return
        try:
            async for changed in awatch_changes(ws, stop):
                logger.info("settings changed: %s", sorted(map(str, changed)))
                await self.refresh()
        except Exception:
            logger.exception("settings watcher stopped")


def _register_legacy_subscribe(server: MCPServer, watcher: SettingsWatcher) -> None:
    legacy = watcher.legacy

    async def subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        await watcher.ensure_running()
        legacy.add(ctx.session, str(params.uri))
        return EmptyResult()

    async def unsubscribe(
        ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        legacy.remove(ctx.session, str(params.uri))
        return EmptyResult()

    lowlevel = server._lowlevel_server
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)


def _start_on_listen(server: MCPServer, watcher: SettingsWatcher) -> None:
    """2026-07-28 clients subscribe with ``subscriptions/listen``: start the watcher before the
    SDK's handler acknowledges a stream that asks for resource updates. Claude Code (2.1.332)
    listens at start-up for list changes only: that stream does not start it."""
    lowlevel = server._lowlevel_server
    entry = lowlevel.get_request_handler("subscriptions/listen")
    if entry is None:  # subscriptions switched off: nobody can listen
        return
    listen = entry.handler

    async def start_then_listen(ctx: ServerRequestContext[Any, Any], params: Any) -> Any:
        wanted = getattr(getattr(params, "notifications", None), "resource_subscriptions", None)
        if wanted:
            await watcher.ensure_running()
        return await listen(ctx, params)

    lowlevel.add_request_handler("subscriptions/listen", entry.params_type, start_then_listen)


def install_watcher(server: MCPServer, project: str | None = None) -> SettingsWatcher:
    """Wire live settings into ``server``: legacy subscribe handlers plus a watcher in the lifespan.

    Called by ``build_server``; set CLAUDE_HEALTH_WATCH=0 to skip the file
    watcher (the subscribe handlers stay, so clients never see Method not found).
    """
    watcher = SettingsWatcher(server=server, project=project)
    _register_legacy_subscribe(server, watcher)
    server.settings_watcher = watcher  # type: ignore[attr-defined]
    if os.environ.get(WATCH_ENV, "1") == "0":
        return watcher
    _start_on_listen(server, watcher)
    lowlevel = server._lowlevel_server
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = lowlevel.lifespan

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        try:
            async with inner(app) as state, anyio.create_task_group() as tg:
                stop = anyio.Event()
                watcher.starter = lambda: tg.start_soon(watcher.run, stop)
                try:
                    yield state
                finally:
                    watcher.starter = None
                    stop.set()
                    tg.cancel_scope.cancel()
        finally:
            # After the run is cancelled: a server run again (one in-memory client after
            # another) starts afresh, with a first validation of its own.
            watcher.started, watcher.ready = False, anyio.Event()

    lowlevel.lifespan = lifespan
    return watcher


async def publish_resource_updated(server: MCPServer, uri: str) -> None:
    """Tell every subscriber of ``uri``, in both protocol eras, that it changed.

    Usable from outside a request (any task), for any resource of this server.
    """
    watcher: SettingsWatcher | None = getattr(server, "settings_watcher", None)
    if watcher is not None:
        await watcher.publish(uri)
        return
    from mcp.server.subscriptions import ResourceUpdated

    await server._subscriptions.publish(ResourceUpdated(uri=uri))
