"""Work in a forked child, its result pickled back over a pipe: the CLI's way to use two cores.

A fork (not a spawned interpreter, not multiprocessing) starts in a millisecond with every module
already imported; importing multiprocessing and starting a pool costs 20 ms, a sixth of a whole
key scan of a 100 MB tree. Forking is only done from a single-threaded process (the CLI), never
inside a server with threads running, and any failure of the child means its share is done
in-process by the caller: a child can cost time, never results.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def cpus() -> int:
    """CPUs this process may run on (the affinity mask, where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    # Forking a process that runs other threads (the MCP server's worker threads) can deadlock
    # the child on a lock held by a thread that does not exist there.
    return hasattr(os, "fork") and cpus() > 1 and threading.active_count() == 1


class Forked(Generic[T]):
    """A running child; :meth:`result` waits for it."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self._fd: int | None = fd

    def result(self) -> T | None:
        """The child's return value, or None if it failed in any way."""
        if self._fd is None:
            return None
        fd, self._fd = self._fd, None
        with os.fdopen(fd, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(self.pid, 0)
        if status != 0 or not data:
            return None
        import pickle  # (loaded by start() already: a dictionary lookup)

        try:
            value: T = pickle.loads(data)  # noqa: S301 - our own child's output, over our own pipe
        except Exception:  # a torn payload means "read it here instead"
            return None
        return value

    def kill(self) -> None:
        """Stop the child if it still runs and reap it (after an error or an interrupt)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.close(fd)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGTERM)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)


def start(work: Callable[[], T]) -> Forked[T] | None:
    """Run ``work`` in a forked child; None when forking is not possible."""
    if not can_fork():
        return None
    import pickle  # before the fork, for both sides; not at the top: the SessionStart hook imports
    # this module (through the key scan) and forks nothing on a small tree

    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # the child: compute, write, and leave without running the parent's cleanup
        code = 1
        try:
            os.close(read_fd)
            payload = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return Forked(pid, read_fd)
