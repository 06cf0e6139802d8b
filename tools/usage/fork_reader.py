"""A second reader for large first scans: one forked child, its result pickled back over a pipe.

Parsing JSON lines is what a first scan of a long history spends its time on, and it splits
cleanly by file. A fork (not a spawned interpreter) starts in a millisecond with every module
already imported. Forking is only done from a single-threaded process (the CLI), never inside
a server with threads running, and any failure of the child means its share is read in-process.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

# Below this many bytes to read, a fork costs more than it saves (warm runs read ~1 MiB).
MIN_BYTES = 16 * 1024 * 1024


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return hasattr(os, "fork") and _cpus() > 1 and threading.active_count() == 1


def split_point(sizes: Sequence[int]) -> int:
    """How many leading items (of these byte sizes) to hand to the child; 0 for no fork."""
    total = sum(sizes)
    if total < MIN_BYTES or len(sizes) < 2 or not can_fork():
        return 0
    running = 0
    for i, size in enumerate(sizes):
        running += size
        if running * 2 >= total:
            return max(1, min(i + 1, len(sizes) - 1))
    return len(sizes) - 1


class Forked(Generic[T]):
    """A running child; :meth:`result` waits for it."""

    def __init__(self, pid: int, fd: int) -> None:
        self._pid = pid
        self._fd = fd

    def result(self) -> T | None:
        """The child's return value, or None if it failed in any way."""
        with os.fdopen(self._fd, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(self._pid, 0)
        if status != 0 or not data:
            return None
        try:
            value: T = pickle.loads(data)  # noqa: S301 - our own child's output, over our own pipe
        except Exception:  # a torn payload means "read it here instead"
            return None
        return value


def start(work: Callable[[], T]) -> Forked[T] | None:
    """Run ``work`` in a forked child; None when forking is not possible."""
    if not can_fork():
        return None
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
