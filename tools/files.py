"""Reading user files defensively: any defect becomes a problem description, never a traceback."""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAFETY_LIMIT = 256 * 1024 * 1024
"""The most claude-health reads of a file Claude Code reads whole (settings, ``~/.claude.json``,
``.mcp.json``, credentials, memory files). Claude Code applies such a file in full however big
it is -- a real ``~/.claude.json`` grows to tens of MiB with project history -- so a verdict about
it must come from all of it. Past this limit the file is *too large to judge* (``too_large``),
which is never reported as "ignored" or "empty": nothing is concluded from it."""
MAX_CONFIG_BYTES = SAFETY_LIMIT
MAX_JSON_VALUES = 8_000_000
"""The most JSON values (counted by their separators) parsed from one file. Parsed, a value
costs some 60 bytes however few bytes it takes in the file (``[[],[],...]``): this bounds the
memory a hostile file can cost to about 0.5 GB. Real files hold far fewer: a 25 MiB
``~/.claude.json`` of project history holds under a million."""
_COUNT_VALUES_ABOVE = MAX_JSON_VALUES // 4  # a smaller text cannot hold that many values


# O_NONBLOCK: opening a FIFO for reading must not wait for a writer. Regular files ignore it.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class NotRegularFile(OSError):
    """What was opened is not a regular file (it may have been swapped in after a check)."""


def read_capped(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a regular file, at most ``limit + 1`` of them (so a caller sees "over").

    The type is checked on the open descriptor, not the name: a file swapped for a FIFO or a
    device between a caller's check and this read can neither block it nor flood it.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file (a pipe, socket or device)")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class TextRead:
    """The text of a file, or why it could not be read. ``exists`` distinguishes absent files.

    ``too_large``: the file was not read because of claude-health's own safety limits; what it
    holds is unknown (Claude Code may well apply it), so callers must not treat it as ignored.
    """

    path: Path
    exists: bool
    text: str | None = None
    problem: str | None = None
    too_large: bool = False


def too_large_problem(size: int, limit: int = SAFETY_LIMIT) -> str:
    """The ``problem`` of a file over the safety limit: what was not done, not a verdict."""
    return (
        f"is too large to judge: {size:,} bytes, over claude-health's {limit:,}-byte safety limit "
        "(it was not read, so nothing is concluded from it)"
    )


def value_count_problem(text: str) -> str | None:
    """The ``problem`` of a JSON text with more values than claude-health parses, else None.

    Counted by separators (commas, colons, openers, also those inside strings, so the count
    is an upper bound): at C speed, before any parse allocates.
    """
    if len(text) <= _COUNT_VALUES_ABOVE:
        return None
    count = text.count(",") + text.count("[") + text.count("{")
    if count <= MAX_JSON_VALUES:
        return None
    return (
        f"is too large to judge: it holds up to {count:,} JSON values, over claude-health's "
        f"safety limit of {MAX_JSON_VALUES:,} (it was not parsed, so nothing is concluded from it)"
    )


def log_read(path: object, outcome: str) -> None:
    """Tell ``-v`` what was read (logger ``claude_health.read``, INFO), at no cost otherwise.

    Nothing is imported for this: when the ``logging`` module is not loaded, nobody asked.
    """
    logging = sys.modules.get("logging")
    if logging is None:
        return
    logger = logging.getLogger("claude_health.read")
    if logger.isEnabledFor(logging.INFO):
        logger.info("%s: %s", path, outcome)


def read_text(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> TextRead:
    """Read a UTF-8 text file (a BOM is accepted, as Claude Code does).

    Only regular files are read, and never more than ``limit`` bytes: a FIFO or a device in a
    hostile repository must not hang or exhaust the server. A file over ``limit`` is
    ``too_large`` (its problem says "too large to judge"), never a verdict about its content.
    """
    read = _read_text(path, limit)
    if read.text is not None:
        log_read(path, f"read {len(read.text):,} characters")
    else:
        log_read(path, read.problem or "absent")
    return read


def _read_text(path: Path, limit: int) -> TextRead:
    try:
        if not path.exists():
            if path.is_symlink():  # dangling, or a loop: exists() hides both
                return TextRead(path, exists=True, problem="is a symbolic link that does not resolve")
            return TextRead(path, exists=False)
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            return TextRead(path, exists=True, problem="is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            return TextRead(path, exists=True, problem="is not a regular file (a pipe, socket or device)")
        if info.st_size > limit:
            return TextRead(path, exists=True, problem=too_large_problem(info.st_size, limit), too_large=True)
        raw = read_capped(path, limit)
        if len(raw) > limit:  # grew while we read it
            return TextRead(path, exists=True, problem=too_large_problem(len(raw), limit), too_large=True)
    except RuntimeError as exc:  # pathlib raises RuntimeError on symlink loops in some versions
        return TextRead(path, exists=True, problem=f"cannot be resolved ({exc})")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return TextRead(path, exists=path.is_symlink() or exc.errno != 2, problem=f"cannot be read: {reason}")
    if b"\x00" in raw:
        return TextRead(path, exists=True, problem="is binary (contains NUL bytes), not JSON text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return TextRead(path, exists=True, problem=f"is not valid UTF-8 (byte {exc.start})")
    return TextRead(path, exists=True, text=text)


@dataclass(frozen=True, slots=True)
class JsonRead:
    """A parsed JSON object file, or why it is unusable."""

    path: Path
    exists: bool
    data: dict[str, Any] | None = None
    problem: str | None = None
    line: int | None = None
    column: int | None = None
    too_large: bool = False
    """Over a safety limit (see :class:`TextRead`): unknown, not invalid."""


def read_json_object(path: Path, *, limit: int = MAX_CONFIG_BYTES) -> JsonRead:
    """Parse a file that must hold one JSON object (settings, ``.mcp.json``, credentials)."""
    return json_object_of(read_text(path, limit=limit))


def json_object_of(read: TextRead) -> JsonRead:
    """The JSON object a file's text holds, or why it holds none (for text already read)."""
    path = read.path
    if read.text is None:
        return JsonRead(path, read.exists, problem=read.problem, too_large=read.too_large)
    if not read.text.strip():
        return JsonRead(path, True, problem="is empty")
    crowded = value_count_problem(read.text)
    if crowded is not None:
        return JsonRead(path, True, problem=crowded, too_large=True)
    try:
        value = json.loads(read.text)
    except json.JSONDecodeError as exc:
        return JsonRead(
            path, True, problem=f"is not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        )
    except RecursionError:
        return JsonRead(path, True, problem="is nested too deeply to parse")
    except ValueError as exc:  # e.g. an integer literal longer than Python converts (4300 digits)
        return JsonRead(path, True, problem=f"cannot be parsed: {exc}")
    if not isinstance(value, dict):
        return JsonRead(path, True, problem=f"must hold a JSON object, not {_json_type(value)}")
    return JsonRead(path, True, data=value)


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


class TomlProblem(ValueError):
    """A TOML document that cannot be parsed; the message says why (without the file name)."""


def parse_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads`` whose every failure is a :class:`TomlProblem`.

    tomllib raises ``TOMLDecodeError`` for syntax, but ``RecursionError`` for deep nesting and a
    plain ``ValueError`` for an integer longer than Python converts (4,300 digits): a hostile
    config file must get the same clear answer as a typo.
    """
    import tomllib  # TOML is rare: hooks and usage reports read none, so it loads when asked

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlProblem(str(exc)) from None
    except RecursionError:
        raise TomlProblem("nested too deeply to parse") from None
    except ValueError as exc:
        reason = str(exc)
        if "digits" in reason:  # Python's own wording names an interpreter setting, not the file
            reason = "an integer is longer than Python converts (4,300 digits)"
        raise TomlProblem(reason) from None


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` through a temporary file in its folder (``.<name>.*``): a
    reader sees the old file or the new one, never part of one, and a failure leaves no
    temporary file. ``mode``: the new file's permissions (default: mkstemp's 0600)."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
