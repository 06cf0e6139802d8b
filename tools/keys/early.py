"""The CLI's tree scan, started before anything else: a forked child lists the tree and scans it.

Starting the workers only once this process has listed the tree puts the imports they need
(the scanner, git's file list) and the listing itself before any parallel work. Here a child is
forked first, with nothing but the workspace loaded: it imports what it needs, lists the tree,
writes the list to an anonymous memory file, fills the batch queue and starts scanning. This
process meanwhile imports and runs the other checks, then reads the list and takes the batches
still waiting. Everything falls back to this process doing it all: no fork (threads running,
one CPU, no ``memfd_create``), or a child that died before its list was written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from claude_health.tools import forked

if TYPE_CHECKING:
    from claude_health.tools.keys.report import ScanOptions
    from claude_health.tools.keys.tree import FileList, Progress, TreeScan, _Share
    from claude_health.tools.paths import Workspace

Listing = tuple["FileList", list[str]]  # what the tree scan lists, and the files it scans


def _child(
    list_tree: Callable[[], Listing], listing_fd: int, queue_fds: tuple[int, int], workers: int | None
) -> _Share:
    import pickle

    from claude_health.tools.keys.tree import _BatchQueue, _scan_batch, _Share, default_workers

    read_fd, write_fd = queue_fds
    listing = list_tree()
    data = memoryview(pickle.dumps(listing, protocol=pickle.HIGHEST_PROTOCOL))
    while data:
        data = data[os.write(listing_fd, data) :]
    files = listing[1]
    queue = _BatchQueue(files, read_fd)
    if not queue.fill(write_fd):
        # The numbers did not fit the pipe (it cannot happen with a page of them): scan it all.
        queue.close()
        share = _Share()
        for number in range(queue.count):
            share.scan.merge(_scan_batch(queue.batch(number)))
            share.batches.append(number)
        return share
    # More CPUs than this child and the parent: helpers forked from here (the list is in their
    # memory already) take batches too; what a failed one took, the parent scans again.
    extra = (default_workers(len(files)) if workers is None else workers) - 2
    helpers = [h for h in (forked.start(queue.drain) for _ in range(max(extra, 0))) if h is not None]
    if helpers:
        _stop_helpers_with_this_child(helpers)
    share = queue.drain()
    for helper in helpers:
        part = helper.result()
        if isinstance(part, _Share) and not set(share.batches) & set(part.batches):
            share.scan.merge(part.scan)
            share.batches.extend(part.batches)
    return share


def _stop_helpers_with_this_child(helpers: list[forked.Forked[_Share]]) -> None:
    """When the parent stops this child (a check failed, see :meth:`EarlyScan.close`), stop the
    helpers too: they would otherwise scan the rest of the tree for a process that has left."""
    import contextlib
    import signal

    def stop(signum: int, frame: object) -> None:
        for helper in helpers:
            with contextlib.suppress(OSError):  # already gone
                os.kill(helper.pid, signal.SIGTERM)
        os._exit(1)

    signal.signal(signal.SIGTERM, stop)


class EarlyScan:
    """A listing and scan under way in a child; :meth:`finish` waits for them and helps."""

    def __init__(
        self, list_tree: Callable[[], Listing], child: forked.Forked[_Share], listing_fd: int, queue_fd: int
    ) -> None:
        self._list_tree = list_tree
        self._child: forked.Forked[_Share] | None = child
        self._listing_fd: int | None = listing_fd
        self._queue_fd: int | None = queue_fd

    def finish(self, progress: Progress | None = None) -> tuple[FileList, list[str], TreeScan]:
        """The listing and the whole scan: this process takes the batches still waiting."""
        import pickle

        from claude_health.tools.keys.tree import _BatchQueue, collect, scan_files

        assert self._listing_fd is not None and self._queue_fd is not None and self._child is not None
        # The child writes the list, then the batch numbers: a number read (or the end of the
        # queue, the child done or dead) means the list is complete, or will never be.
        token = os.read(self._queue_fd, 4)
        first = int.from_bytes(token, "little") if len(token) == 4 else None
        size = os.fstat(self._listing_fd).st_size
        raw = os.pread(self._listing_fd, size, 0) if size else b""
        try:
            listing: Listing = pickle.loads(raw)  # noqa: S301 - our own child's, in our own memory file
        except Exception:  # the child died before its list was complete: do it all here
            self.close()
            listing = self._list_tree()
            return listing[0], listing[1], scan_files(listing[1], progress=progress, workers=1)
        files = listing[1]
        total, done = len(files), 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, total)

        queue = _BatchQueue(files, self._queue_fd)
        self._queue_fd = None  # the queue owns it now
        try:
            scanned = collect(queue, [self._child], advance, first)
        finally:
            queue.close()
            self.close()
        return listing[0], files, scanned

    def close(self) -> None:
        """Stop and reap the child if it still runs; close the pipe and the memory file."""
        if self._child is not None:
            self._child.kill()
            self._child = None
        for fd in (self._listing_fd, self._queue_fd):
            if fd is not None:
                os.close(fd)
        self._listing_fd = self._queue_fd = None

    def __enter__(self) -> EarlyScan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start(list_tree: Callable[[], Listing], workers: int | None = None) -> EarlyScan | None:
    """Fork the child that lists and scans the tree; None where that is not possible.

    ``workers``: processes scanning, this one included (default: one per CPU for large trees).
    """
    if not forked.can_fork() or not hasattr(os, "memfd_create") or workers == 1:
        return None
    try:
        listing_fd = os.memfd_create("claude-health-keys-listing", os.MFD_CLOEXEC)
    except OSError:  # ENOSYS (an old kernel, a seccomp sandbox), EMFILE: the usual scan instead
        return None
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        os.close(listing_fd)
        return None
    child = forked.start(partial(_child, list_tree, listing_fd, (read_fd, write_fd), workers))
    os.close(write_fd)  # only the child writes batch numbers: the end of the queue is its close
    if child is None:
        os.close(read_fd)
        os.close(listing_fd)
        return None
    return EarlyScan(list_tree, child, listing_fd, read_fd)


# What a listing depends on besides the workspace: a scan started for one request serves only
# a scan_keys call that asks for the same files (transcripts, shell histories, workers).
Request = tuple[bool, bool, "int | None"]
# The scan the CLI started before it parsed its arguments (:func:`prestart`), until the
# scan_keys call it was started for takes it (:func:`claim`) or the command ends (:func:`discard`).
_prestarted: tuple[Workspace, Request, EarlyScan] | None = None


def _request(options: ScanOptions) -> Request:
    return options.transcripts, options.shell_history, options.workers


def prestart(ws: Workspace, options: ScanOptions) -> bool:
    """Fork the child for the scan ``scan_keys(ws, options)`` will run, now; False if not forked.

    The CLI calls this as soon as it has read its arguments, before it imports its output
    layer, logging and the other checks: the child lists and reads the tree meanwhile. What the
    child needs (the workspace, the listing and the scanner) is imported first, here, so that
    both processes share it instead of each importing it.
    """
    global _prestarted
    discard()
    from claude_health.tools.keys import dedicated, tree  # noqa: F401 - loaded for the child
    from claude_health.tools.keys.report import _listing

    started = start(partial(_listing, ws, options), options.workers)
    if started is not None:
        _prestarted = (ws, _request(options), started)
    return started is not None


def claim(ws: Workspace, options: ScanOptions) -> EarlyScan | None:
    """The scan :func:`prestart` started for this workspace and these options, if any.

    A scan started for anything else (another folder, environment or option) is stopped: the
    caller lists and scans again, so a wrong start costs time, never a finding.
    """
    global _prestarted
    if _prestarted is None:
        return None
    held, request, started = _prestarted
    _prestarted = None
    if held == ws and request == _request(options):
        return started
    started.close()
    return None


def discard() -> None:
    """Stop and reap a prestarted scan nobody claimed (the command failed, or asked for another)."""
    global _prestarted
    if _prestarted is not None:
        started, _prestarted = _prestarted[2], None
        started.close()
