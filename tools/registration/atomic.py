"""Writing a user's file without ever leaving it half-written: backup, temp file, rename."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from claude_health.tools.files import MAX_CONFIG_BYTES
from claude_health.tools.registration.clients import RegistrationError


class ConcurrentChangeError(RuntimeError):
    """The file changed between reading it and writing it (another program saved it)."""


def _why(exc: OSError) -> str:
    if isinstance(exc, NotADirectoryError):
        return "a folder on the way is a file (Not a directory)"
    return exc.strerror or type(exc).__name__


def read_config_bytes(path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes | None:
    """The bytes of a config file, None when it is absent; RegistrationError for anything else.

    Only a regular file is read, and never more than ``limit`` bytes: a FIFO or a link to a
    device in a cloned repository must neither hang the command nor exhaust memory. The file
    is opened without blocking and checked again on the open descriptor, so a swap between the
    check and the read changes nothing.
    """
    try:
        if path.is_symlink() and not path.exists():
            raise RegistrationError(f"{path} is a symbolic link that does not resolve; fix or remove it")
        info = path.stat()
    except FileNotFoundError:
        return None
    except RuntimeError as exc:  # symlink loop, on Python versions where pathlib raises it
        raise RegistrationError(f"{path} cannot be resolved ({exc})") from None
    except OSError as exc:
        raise RegistrationError(f"{path} cannot be read: {_why(exc)}") from None
    _require_regular(path, info.st_mode, info.st_size, limit)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistrationError(f"{path} cannot be read: {_why(exc)}") from None
    try:
        info = os.fstat(fd)
        _require_regular(path, info.st_mode, info.st_size, limit)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise RegistrationError(f"{path} cannot be read: {_why(exc)}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:  # grew while we read it
        raise RegistrationError(f"{path} is over the {limit:,}-byte limit for a config file; not touching it")
    return raw


def _require_regular(path: Path, mode: int, size: int, limit: int) -> None:
    if stat.S_ISDIR(mode):
        raise RegistrationError(f"{path} is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise RegistrationError(f"{path} is not a regular file (a pipe, socket or device); not touching it")
    if size > limit:
        raise RegistrationError(f"{path} is {size:,} bytes, too large to be a config file; not touching it")


def backup_path(path: Path, now: datetime | None = None, directory: Path | None = None) -> Path:
    """Where the previous content of ``path`` is kept: beside it, or in ``directory`` (made private).

    In ``directory`` the name is the file's full path with ``%`` for each separator (as Vim's
    ``backupdir`` names them), so ``ls`` shows which file a backup belongs to; a path too long for
    one file name keeps its last part and a digest of the whole.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    suffix = f".claude-health-backup-{stamp}"
    if directory is None:
        return path.with_name(f"{path.name}{suffix}")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    flat = str(path.absolute()).replace("\\", "%").replace("/", "%").replace(":", "%")
    if len(os.fsencode(flat)) + len(suffix) > 240:
        digest = hashlib.sha256(os.fsencode(str(path.absolute()))).hexdigest()[:12]
        flat = f"{digest}%{path.name}"[:200]
    return directory / f"{flat}{suffix}"


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (which must not exist) with ``data`` and ``mode``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_replace(
    path: Path,
    data: bytes,
    *,
    expected: bytes | None,
    now: datetime | None = None,
    backup_dir: Path | None = None,
) -> Path | None:
    """Replace ``path`` with ``data``; returns the backup of the previous content, if any.

    ``expected`` is the content the edit was computed from (None: the file did not exist); if
    the file no longer holds it, nothing is written. The new file keeps the old file's
    permission bits (``~/.claude.json`` is private), and the rename is atomic on one filesystem.
    The backup goes to ``backup_dir`` (see :func:`backup_path`), or beside the file without one.
    """
    try:
        return _replace(path, data, expected=expected, now=now, backup_dir=backup_dir)
    except OSError as exc:
        # A path component that is a file, a read-only directory, a full disk: say which, once.
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        raise RegistrationError(f"cannot write {path}: {_why(exc)}{where}; nothing was changed") from None


def _replace(
    path: Path, data: bytes, *, expected: bytes | None, now: datetime | None, backup_dir: Path | None
) -> Path | None:
    try:
        target = path.resolve() if path.is_symlink() else path
    except RuntimeError as exc:
        raise RegistrationError(f"{path} cannot be resolved ({exc})") from None
    current = read_config_bytes(target)
    if current != expected:
        raise ConcurrentChangeError(
            f"{path} changed while claude-health was editing it; run the command again"
        )
    mode = stat.S_IMODE(target.stat().st_mode) if current is not None else 0o644
    target.parent.mkdir(parents=True, exist_ok=True)
    backup: Path | None = None
    if current is not None:
        backup = backup_path(target, now, backup_dir)
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
