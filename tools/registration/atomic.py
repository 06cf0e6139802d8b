"""Writing a user's file without ever losing a byte of it: lock, backup, temp file, check, rename.

What can go wrong, and what this module does about it:

- **Another program saves the file meanwhile** (Claude Code rewrites ``~/.claude.json`` often).
  The edit is computed from the content it read; that content is compared again (bytes and
  ``stat`` identity) right before the rename, while holding ``<file>.lock`` -- the lock
  directory Claude Code's own config writes take -- when it can be had. Any difference aborts
  with :class:`ConcurrentChangeError` and leaves nothing behind; :func:`..plan.apply_fresh`
  then plans again on the new content. POSIX has no compare-and-rename, so a writer that
  ignores the lock can still land in the microseconds between the last check and the rename.
- **Owner, group and mode**: the new file gets the old one's (``chown`` when running as root,
  or when the owner is ours to give); a file root creates in a user's folder gets the folder's
  owner. When the owner cannot be kept, nothing is written.
- **Hard links** (``nlink > 1``): a rename would give this name a new inode and leave the other
  names with the old content, so the file is rewritten in place instead (same inode, owner and
  mode). That write is not atomic: a crash in the middle can leave it torn, which is why the
  backup is written and synced first, and a failed write puts the old bytes back. A symbolic
  link is followed and its target is replaced (atomically, unless it has hard links itself).
- **A failed write** (full disk, read-only folder): the temp file and the backup made for this
  edit are removed, so "nothing was changed" is true of every file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from claude_health.tools.files import MAX_CONFIG_BYTES
from claude_health.tools.registration.clients import RegistrationError


class ConcurrentChangeError(RuntimeError):
    """The file changed between reading it and writing it (another program saved it)."""


class DamagedError(RegistrationError):
    """An in-place write failed and the old content could not be put back; the backup holds it."""


LOCK_WAIT = 5.0
"""Seconds to wait for ``<file>.lock`` held by another program before giving up."""
LOCK_STALE = 10.0
"""A lock directory older than this is abandoned (proper-lockfile's default, which Claude Code
uses: a live holder refreshes its mtime every 5 s)."""


@dataclass(frozen=True)
class Hooks:
    """Test seams: ``before_commit`` runs right before the last check and the rename (a racing
    writer goes here); ``write`` writes bytes to a descriptor (a full disk goes here)."""

    before_commit: Callable[[], None] | None = None
    write: Callable[[int, bytes], None] | None = None


NO_HOOKS = Hooks()


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


def _write_all(fd: int, data: bytes, hooks: Hooks) -> None:
    if hooks.write is not None:
        hooks.write(fd, data)
        return
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_new(
    path: Path, data: bytes, mode: int, owner: tuple[int, int] | None = None, hooks: Hooks = NO_HOOKS
) -> None:
    """Create ``path`` (which must not exist) with ``data``, ``mode`` and, where it may be given,
    ``owner``; on failure nothing of it is left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            _write_all(fd, data, hooks)
            with contextlib.suppress(_CannotGive):  # a backup we cannot give away stays ours
                _give(fd, owner)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


class _CannotGive(Exception):
    """A new file cannot be given the old one's owner and group (not root, not ours to give)."""


def _give(fd: int, owner: tuple[int, int] | None) -> None:
    """Give the open file ``owner`` (before its mode: ``chown`` clears set-id bits)."""
    if owner is None:
        return
    info = os.fstat(fd)
    if (info.st_uid, info.st_gid) != owner:
        try:
            os.fchown(fd, *owner)
        except PermissionError:
            raise _CannotGive from None


def atomic_replace(
    path: Path,
    data: bytes,
    *,
    expected: bytes | None,
    now: datetime | None = None,
    backup_dir: Path | None = None,
    hooks: Hooks = NO_HOOKS,
) -> Path | None:
    """Replace ``path`` with ``data``; returns the backup of the previous content, if any.

    ``expected`` is the content the edit was computed from (None: the file did not exist); if
    the file no longer holds it, nothing is written (:class:`ConcurrentChangeError`). Owner,
    group and mode are kept, hard links stay linked, and a failure leaves no file behind (see
    the module notes). The backup goes to ``backup_dir`` (see :func:`backup_path`), or beside the
    file without one.
    """
    try:
        return _replace(path, data, expected=expected, now=now, backup_dir=backup_dir, hooks=hooks)
    except (RegistrationError, ConcurrentChangeError):
        raise
    except OSError as exc:
        # A path component that is a file, a read-only directory, a full disk: say which, once.
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        raise RegistrationError(
            f"cannot write {path}: {_why(exc)}{where}; nothing was changed (no backup or temporary "
            "file was left behind)"
        ) from None


def _replace(
    path: Path,
    data: bytes,
    *,
    expected: bytes | None,
    now: datetime | None,
    backup_dir: Path | None,
    hooks: Hooks,
) -> Path | None:
    try:
        target = path.resolve() if path.is_symlink() else path
    except RuntimeError as exc:
        raise RegistrationError(f"{path} cannot be resolved ({exc})") from None
    with _lock(path):  # the name Claude Code locks (it does not resolve links either)
        current, info = _read_with_stat(target)
        if current != expected:
            raise _changed(path)
        owner: tuple[int, int] | None
        if info is not None:
            mode, owner = stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid)
        else:
            mode, owner = 0o644, _new_owner(target.parent)  # before the folders are made
        for folder in _make_parents(target.parent):
            if owner is not None:
                os.chown(folder, *owner)
        backup: Path | None = None
        try:
            if current is None or info is None:
                try:
                    _rename_over(path, target, data, mode, owner, current, info, hooks)
                except _CannotGive:  # a new file: ours, then
                    _rename_over(path, target, data, mode, None, current, info, hooks)
            else:
                backup = backup_path(target, now, backup_dir)
                _write_new(backup, current, mode, owner, hooks)
                try:
                    if info.st_nlink > 1:
                        raise _CannotGive  # a new inode would unlink this name from the others
                    _rename_over(path, target, data, mode, owner, current, info, hooks)
                except _CannotGive:
                    # Hard links, or an owner we cannot give a new file: the same inode keeps
                    # every name, the owner, the group and the mode.
                    _rewrite_in_place(path, target, data, current, info, hooks, backup)
        except DamagedError:
            raise  # the backup is the only intact copy: it stays
        except BaseException:
            if backup is not None:
                with contextlib.suppress(OSError):
                    backup.unlink()
            raise
    _fsync_dir(target.parent)
    return backup


def _changed(path: Path) -> ConcurrentChangeError:
    return ConcurrentChangeError(f"{path} changed while claude-health was editing it; nothing was changed")


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _read_with_stat(path: Path) -> tuple[bytes | None, os.stat_result | None]:
    """The file's bytes and the ``stat`` they were read under (both None when it is absent)."""
    for _ in range(3):
        first = _stat(path)
        content = read_config_bytes(path)
        second = _stat(path)
        if first is None and second is None and content is None:
            return None, None
        if first and second and content is not None and _identity(first) == _identity(second):
            return content, second
    raise _changed(path)


def _identity(info: os.stat_result) -> tuple[int, ...]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _still(path: Path, current: bytes | None, info: os.stat_result | None) -> None:
    """The last check before the commit: the file is exactly what the edit was computed from.

    Content first, ``stat`` identity last, so the only window left for a writer that ignores the
    lock is from that last ``stat`` to the rename: a few microseconds.
    """
    if info is None:
        if _stat(path) is not None:
            raise _changed(path)
        return
    if read_config_bytes(path) != current:
        raise _changed(path)
    now = _stat(path)
    if now is None or _identity(now) != _identity(info):
        raise _changed(path)


def _rename_over(
    shown: Path,
    target: Path,
    data: bytes,
    mode: int,
    owner: tuple[int, int] | None,
    current: bytes | None,
    info: os.stat_result | None,
    hooks: Hooks,
) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            _give(fd, owner)
            os.fchmod(fd, mode)
            _write_all(fd, data, hooks)
            os.fsync(fd)
        finally:
            os.close(fd)
        if hooks.before_commit is not None:
            hooks.before_commit()
        _still(target, current, info)
        if info is None:
            _create_exclusively(tmp, target, shown)
        else:
            tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _create_exclusively(tmp: Path, target: Path, shown: Path) -> None:
    """Give ``tmp`` the name ``target`` only if no file took that name meanwhile."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _changed(shown) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        tmp.replace(target)  # a filesystem without hard links: the check above has to do
        return
    with contextlib.suppress(OSError):  # the file is in place; a stray temp name is harmless
        tmp.unlink()


def _rewrite_in_place(
    shown: Path,
    target: Path,
    data: bytes,
    current: bytes,
    info: os.stat_result,
    hooks: Hooks,
    backup: Path,
) -> None:
    """Write ``data`` into the same inode (its other hard links see it); put ``current`` back on failure."""
    fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise _changed(shown)
        if hooks.before_commit is not None:
            hooks.before_commit()
        _still(target, current, info)
        try:
            _overwrite(fd, data, hooks)
        except OSError as exc:
            try:
                _overwrite(fd, current, NO_HOOKS)
            except OSError:
                raise DamagedError(
                    f"cannot write {shown}: {_why(exc)}, and its old content could not be put back: "
                    f"it is in {backup}; copy it over {shown}"
                ) from None
            raise
    finally:
        os.close(fd)


def _overwrite(fd: int, data: bytes, hooks: Hooks) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    _write_all(fd, data, hooks)
    os.ftruncate(fd, len(data))
    os.fsync(fd)


def _make_parents(folder: Path) -> list[Path]:
    """``mkdir -p``; the folders it created, outermost first."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _new_owner(folder: Path) -> tuple[int, int] | None:
    """Who a file root creates should belong to: the owner of the folder it goes in (the user
    whose project or home it is). None when not root: new files are simply ours."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        info = probe.stat()
    except OSError:
        return None
    return info.st_uid, info.st_gid


@contextlib.contextmanager
def _lock(target: Path) -> Iterator[None]:
    """Hold ``<target>.lock`` (a directory: proper-lockfile's protocol, which Claude Code 2.1 uses
    for its config) while checking and replacing. Waits up to :data:`LOCK_WAIT` for a live holder;
    a stale one (older than :data:`LOCK_STALE`) is left alone and not waited for; a folder where
    no lock can be made (read-only, missing) means no lock: the final check still runs."""
    lock = target.with_name(target.name + ".lock")
    deadline = time.monotonic() + LOCK_WAIT
    held = False
    while True:
        try:
            lock.mkdir()
            held = True
            break
        except FileExistsError:
            try:
                age = time.time() - lock.lstat().st_mtime
            except OSError:
                age = 0.0  # released meanwhile: try again, within the deadline
            if age > LOCK_STALE:
                break
            if time.monotonic() > deadline:
                raise ConcurrentChangeError(
                    f"{target} is being saved by another program (it holds {lock.name}); nothing was "
                    "changed. Try again in a moment"
                ) from None
            time.sleep(0.05)
        except OSError:
            break
    try:
        yield
    finally:
        if held:
            with contextlib.suppress(OSError):
                lock.rmdir()


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
