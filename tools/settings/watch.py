"""Which paths to watch for settings changes, and change streams built on ``watchfiles``.

Directories are watched non-recursively (the ``.mcp.json`` chain reaches the filesystem root), and
the watch set is recomputed whenever a directory that matters appears or disappears.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from watchfiles import awatch, watch

from claude_health.tools.paths import Workspace
from claude_health.tools.settings.discovery import discover, watch_targets

DEBOUNCE_MS = 300


def _existing(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        try:
            if p.is_dir():
                out.append(p)
        except OSError:
            continue
    return out


class WatchPlan:
    """The directories to watch and a filter that keeps only changes that can matter."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.targets = watch_targets(ws)
        self.dirs = _existing(self.targets)
        self.files = {f.path for f in discover(ws)}
        self.dropins = ws.managed_dropin_dir

    def relevant(self, path: Path) -> bool:
        if path in self.files or path in self.targets:
            return True
        if path.parent == self.dropins and path.suffix == ".json":
            return True
        return path.name in (".mcp.json", "settings.json", "settings.local.json", ".claude.json")

    def stale(self) -> bool:
        """True when a watched directory appeared or vanished, so the watch must restart."""
        return _existing(self.targets) != self.dirs

    def watch_filter(self, _change: Any, path: str) -> bool:
        return self.relevant(Path(path))


def watch_changes(ws: Workspace, stop: threading.Event | None = None) -> Iterator[set[Path]]:
    """Blocking stream of sets of changed paths (debounced) until ``stop`` is set."""
    while stop is None or not stop.is_set():
        plan = WatchPlan(ws)
        if not plan.dirs:
            return
        for changes in watch(
            *plan.dirs,
            watch_filter=plan.watch_filter,
            recursive=False,
            debounce=DEBOUNCE_MS,
            stop_event=stop,
            raise_interrupt=False,
        ):
            yield {Path(p) for _, p in changes}
            if plan.stale():
                break
        else:
            return


async def awatch_changes(ws: Workspace, stop: Any = None) -> AsyncIterator[set[Path]]:
    """Async stream of changed paths; ``stop`` is an ``anyio.Event``/``asyncio.Event``."""
    while stop is None or not stop.is_set():
        plan = WatchPlan(ws)
        if not plan.dirs:
            return
        async for changes in awatch(
            *plan.dirs,
            watch_filter=plan.watch_filter,
            recursive=False,
            debounce=DEBOUNCE_MS,
            stop_event=stop,
        ):
            yield {Path(p) for _, p in changes}
            if plan.stale():
                break
        else:
            return
