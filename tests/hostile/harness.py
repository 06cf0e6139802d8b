"""The contract every hostile case is held to, and the tally the suite reports.

A case is one hostile input fed to one surface (a CLI command, an MCP tool or resource, the
stdio server). It passes when it ends in a finding or a clear error: exit 0, 1 or 2, no
traceback in stdout, stderr or the logs, no unexpected-exception result from the MCP server (and
the server answers the next call), no planted fake secret in any output, and no byte of the
user's files changed by a command that only reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Files claude-health may write while it reads everything else: its own state and config.
OWN = (".cache/claude-health", ".config/claude-health")
OWN_REL = frozenset(f"home/{own}" for own in OWN)  # relative to a Sandbox root
HASH_LIMIT = 16 * 1024 * 1024  # bigger files (sparse giants) are compared by size and mtime
CLASSES = ("malformed", "huge", "deep", "encoded", "special", "racing")


@dataclass
class Outcome:
    klass: str
    case: str
    surface: str
    crash: str | None = None
    leaks: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    unsafe: str | None = None  # terminal control in human output

    @property
    def ok(self) -> bool:
        return self.crash is None and not self.leaks and not self.lost and self.unsafe is None

    def explain(self) -> str:
        parts = [f"[{self.klass}/{self.case}] {self.surface}:"]
        if self.crash:
            parts.append(f"crash: {self.crash[-1500:]}")
        if self.leaks:
            parts.append(f"leaked: {', '.join(self.leaks)}")
        if self.lost:
            parts.append(f"changed: {', '.join(self.lost[:5])}")
        if self.unsafe:
            parts.append(f"terminal control in the output: {self.unsafe}")
        return " ".join(parts)


class Tally:
    """Every case the suite ran; written to a summary at the end of the session."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def add(self, outcome: Outcome) -> Outcome:
        self.outcomes.append(outcome)
        return outcome

    def summary(self) -> dict[str, Any]:
        by_class: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            row = by_class.setdefault(o.klass, {"cases": 0, "crashes": 0, "leaks": 0, "data_lost": 0})
            row["cases"] += 1
            row["crashes"] += o.crash is not None
            row["leaks"] += bool(o.leaks)
            row["data_lost"] += bool(o.lost)
            row["unsafe_output"] = row.get("unsafe_output", 0) + (o.unsafe is not None)
        total = {
            "cases": len(self.outcomes),
            "crashes": sum(o.crash is not None for o in self.outcomes),
            "leaks": sum(bool(o.leaks) for o in self.outcomes),
            "data_lost": sum(bool(o.lost) for o in self.outcomes),
            "unsafe_output": sum(o.unsafe is not None for o in self.outcomes),
        }
        failures = [o.explain()[:2000] for o in self.outcomes if not o.ok]
        return {**total, "by_class": by_class, "failures": failures}


TALLY = Tally()


def leaked(text: str, secrets: list[str]) -> list[str]:
    """The planted secrets any 16-character slice of whose body appears in ``text``."""
    found = []
    for secret in secrets:
        body = secret.split("-", 3)[-1] if secret.startswith("sk-ant-") else secret
        if any(body[i : i + 16] in text for i in range(0, max(1, len(body) - 15), 4)):
            found.append(f"{secret[:12]}…{secret[-4:]}")
    return found


_CONTROL = {chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0), 0x202E, 0x202D, 0x2066, 0x2067)} - {
    "\n",
    "\t",
}


def terminal_control(text: str) -> str | None:
    """The first control character in text meant for a terminal (colour is off in the suite)."""
    for i, ch in enumerate(text):
        if ch in _CONTROL:
            return repr(text[max(0, i - 30) : i + 30])
    return None


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """What every user file is (never opening a FIFO or a device): to prove nothing changed."""
    seen: dict[str, tuple[Any, ...]] = {}
    stack = [(str(root), "")]  # (path, path relative to root): relpath per entry is quadratic in depth
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if rel in OWN_REL:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                seen[rel] = ("link", str(Path(entry.path).readlink()))
            elif stat.S_ISDIR(info.st_mode):
                seen[rel] = ("dir", info.st_mode)
                stack.append((entry.path, f"{rel}/"))
            elif stat.S_ISREG(info.st_mode):
                if info.st_size > HASH_LIMIT:
                    seen[rel] = ("big", info.st_size, info.st_mtime_ns, info.st_mode)
                else:
                    with open(entry.path, "rb") as fh:  # noqa: PTH123 - str paths from scandir
                        digest = hashlib.sha256(fh.read()).hexdigest()
                    seen[rel] = ("file", digest, info.st_mode)
            else:
                seen[rel] = ("special", stat.S_IFMT(info.st_mode))
    return seen


def changed(before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]]) -> list[str]:
    """What was there before and is gone or different now (new files, e.g. backups, lose nothing)."""
    return sorted(k for k in before if before[k] != after.get(k))


class _Records(logging.Handler):
    """Log records during one in-process run: the CLI's stderr, and where tracebacks go."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.tracebacks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format is itself a finding
            text = repr(record.msg)
        self.lines.append(f"{record.levelname} {record.name}: {text}")
        if record.exc_info and record.levelno >= logging.WARNING:
            self.tracebacks.append(f"{record.name}: {text}: {record.exc_info[1]!r}")


@contextlib.contextmanager
def captured_logs() -> Iterator[_Records]:
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@dataclass
class CliRun:
    code: int | None
    stdout: str
    stderr: str  # what the command wrote, without the log lines
    logs: str
    crash: str | None


def run_cli_inprocess(argv: list[str], stdin: bytes = b"") -> CliRun:
    """``claude-health ARGV`` in this process (environment and cwd set by the caller).

    stdout is a strict UTF-8 stream, as on a UTF-8 terminal: printing a lone surrogate fails
    here as it would there. An exception escaping ``main`` is a crash; so is an error logged
    with a traceback (the doctor's "check failed").
    """
    from claude_health.server.cli import main

    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
    fake_in = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    crash = None
    code: int | None = None
    saved = sys.stdin, sys.stdout, sys.stderr
    with captured_logs() as logs:
        sys.stdin, sys.stdout, sys.stderr = fake_in, out, err
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors exit 2
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # anything escaping main is what we count
            import traceback

            crash = "".join(traceback.format_exception(exc))
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved
    stdout = out_bytes.getvalue().decode("utf-8", "backslashreplace")
    stderr = err_bytes.getvalue().decode("utf-8", "backslashreplace")
    if crash is None and logs.tracebacks:
        crash = "logged with a traceback: " + "; ".join(logs.tracebacks)
    if crash is None and code not in (0, 1, 2):
        crash = f"exit code {code}"
    if crash is None and "Traceback (most recent call last)" in stdout + stderr:
        crash = "traceback text in the output"
    return CliRun(code, stdout, stderr, "\n".join(logs.lines), crash)


def tool_crash(name: str, result: Any) -> str | None:
    """An MCP tool result that hides an unexpected exception (the SDK withholds its message)."""
    if not getattr(result, "is_error", False):
        return None
    text = " ".join(getattr(c, "text", "") for c in result.content)
    if text.strip() in (f"Error executing tool {name}", "") or "Traceback" in text:
        return f"{name}: unexpected exception ({text.strip()[:300]})"
    return None


def as_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        try:
            return repr(value)
        except RecursionError:
            return "<nested too deeply to show>"
