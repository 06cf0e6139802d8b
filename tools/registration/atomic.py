"""Writing a user's file without ever leaving it half-written: backup, temp file, rename."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path


class ConcurrentChangeError(RuntimeError):
    """The file changed between reading it and writing it (another program saved it)."""


def backup_path(path: Path, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return path.with_name(f"{path.name}.claude-health-backup-{stamp}")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (which must not exist) with ``data`` and ``mode``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_replace(
    path: Path, data: bytes, *, expected: bytes | None, now: datetime | None = None
) -> Path | None:
    """Replace ``path`` with ``data``; returns the backup of the previous content, if any.

    ``expected`` is the content the edit was computed from (None: the file did not exist); if
    the file no longer holds it, nothing is written. The new file keeps the old file's
    permission bits (``~/.claude.json`` is private), and the rename is atomic on one filesystem.
    """
    target = path.resolve() if path.is_symlink() else path
    try:
        current: bytes | None = target.read_bytes()
    except FileNotFoundError:
        current = None
    if current != expected:
        raise ConcurrentChangeError(
            f"{path} changed while claude-health was editing it; run the command again"
        )
    mode = stat.S_IMODE(target.stat().st_mode) if current is not None else 0o644
    target.parent.mkdir(parents=True, exist_ok=True)
    backup: Path | None = None
    if current is not None:
        backup = backup_path(target, now)
        _write_new(backup, current, mode)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(mode)
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)
    return backup


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
