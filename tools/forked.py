"""Work in a forked child, its result pickled back over a pipe: the CLI's way to use two cores.

A fork (not a spawned interpreter, not multiprocessing) starts in a millisecond with every module
already imported; importing multiprocessing and starting a pool costs 20 ms, a sixth of a whole
key scan of a 100 MB tree. Forking is only done from a single-threaded process (the CLI), never
inside a server with threads running, and any failure of the child means its share is done
in-process by the caller: a child can cost time, never results.
"""

from __future__ import annotations

import contextlib
import io
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
        payload: bytearray | None = None
        buffers: list[bytearray] = []
        try:
            with os.fdopen(fd, "rb", buffering=0) as fh:
                payload, buffers = _receive(fh)
        except (OSError, ValueError, MemoryError, OverflowError):  # a length no child of ours sends
            payload, buffers = None, []
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGTERM)  # it may still be writing: stop it to reap it
        finally:
            _, status = os.waitpid(self.pid, 0)
        if status != 0 or payload is None:
            return None
        import pickle  # (loaded by start() already: a dictionary lookup)

        try:
            value: T = pickle.loads(payload, buffers=buffers)  # noqa: S301 - our own child's, over our pipe
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
            buffers: list[pickle.PickleBuffer] = []
            payload = pickle.dumps(work(), protocol=5, buffer_callback=buffers.append)
            _send(write_fd, payload, [b.raw() for b in buffers])
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return Forked(pid, read_fd)


# The result crosses the pipe as a header of lengths (8 bytes each: the pickle's, how many
# out-of-band buffers, each buffer's), the pickle, then each buffer's raw bytes. A large
# ``bytes`` the work wraps in ``pickle.PickleBuffer`` (the usage reader's SQLite image, tens of
# MiB for a long history) is then never copied into the pickle nor out of it: it is read
# straight into the buffer the parent keeps.
_WORD = 8


def _send(fd: int, payload: bytes, buffers: list[memoryview]) -> None:
    with contextlib.suppress(OSError, AttributeError):  # Linux: fewer, larger pipe transfers
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    lengths = [len(payload), len(buffers), *(b.nbytes for b in buffers)]
    with os.fdopen(fd, "wb") as fh:
        fh.write(b"".join(n.to_bytes(_WORD, "little") for n in lengths))
        fh.write(payload)
        for b in buffers:
            fh.write(b)


def _receive(fh: io.RawIOBase) -> tuple[bytearray | None, list[bytearray]]:
    """The pickle and its buffers, or ``(None, [])`` for a child that wrote nothing (failed)."""
    head = _exactly(fh, 2 * _WORD)
    if head is None:
        return None, []
    size, count = int.from_bytes(head[:_WORD], "little"), int.from_bytes(head[_WORD:], "little")
    lengths = _exactly(fh, count * _WORD) if count else bytearray()
    if lengths is None:
        return None, []
    payload = _exactly(fh, size)
    if payload is None:
        return None, []
    buffers: list[bytearray] = []
    for i in range(0, len(lengths), _WORD):
        buffer = _exactly(fh, int.from_bytes(lengths[i : i + _WORD], "little"))
        if buffer is None:
            return None, []
        buffers.append(buffer)
    return payload, buffers


def _exactly(fh: io.RawIOBase, size: int) -> bytearray | None:
    """``size`` bytes from the pipe, or None if it ends first."""
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        n = fh.readinto(view[got:])
        if not n:
            return None
        got += n
    return data
