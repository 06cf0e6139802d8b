"""Keys typed or pasted into a shell: bash, zsh and fish history files, read incrementally.

Only the bytes appended since the last scan are read (see :mod:`.scan_state`); a history that
was rewritten (``fc -W``, bash trimming it to ``HISTFILESIZE``, an editor) is read again.

Formats: bash writes one command per line, preceded by ``#<epoch>`` when ``HISTTIMEFORMAT`` is
set; zsh's extended history writes ``: <epoch>:<duration>;<command>``, continues a multi-line
command with a backslash, and *metafies* bytes it treats specially (0x83 followed by the byte
XOR 0x20), which never touches the ASCII of a key but does shift columns; fish writes YAML-like
``- cmd: <command>`` / ``  when: <epoch>`` pairs.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime

from claude_health.tools import causes
from claude_health.tools.files import log_read
from claude_health.tools.findings import Finding, Severity
from claude_health.tools.keys import scan_state
from claude_health.tools.keys.formats import PATTERN, classify, holds_prefix, iter_matches, label
from claude_health.tools.keys.history_files import HistoryFile, history_files
from claude_health.tools.keys.rules import KEY_IN_SHELL_HISTORY
from claude_health.tools.keys.vault import remember
from claude_health.tools.paths import Workspace
from claude_health.tools.redact import fingerprint, redact
from claude_health.tools.state import state_db_path

# Histories are small (HISTSIZE); a file larger than this is not a shell history.
MAX_BYTES = 256 * 1024 * 1024
TAIL_BYTES = 64
META = 0x83


@dataclass
class HistoryStats:
    files: int = 0
    bytes_read: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)


def unmetafy(data: bytes) -> bytes:
    """zsh's history bytes as the text they stand for (0x83 X -> X ^ 0x20)."""
    if bytes([META]) not in data:
        return data
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        j = data.find(META, i)
        if j < 0 or j + 1 >= n:
            out += data[i:]
            break
        out += data[i:j]
        out.append(data[j + 1] ^ 0x20)
        i = j + 2
    return bytes(out)


def _when(data: bytes, line_start: int, shell: str) -> str:
    """When the command holding this line ran, if the history records it ("" if not)."""
    epoch: bytes | None = None
    if shell == "zsh":
        # An extended-history entry starts ": <epoch>:<duration>;"; a multi-line command
        # continues with a backslash, so the entry may start a few lines up.
        start = line_start
        for _ in range(50):
            if data.startswith(b": ", start):
                epoch = data[start + 2 : start + 14].split(b":", 1)[0]
                break
            prev_end = start - 1
            if prev_end <= 0 or data[prev_end - 1 : prev_end] != b"\\":
                break
            start = data.rfind(b"\n", 0, prev_end) + 1
    elif shell == "bash":
        prev_end = line_start - 1
        if prev_end > 0:
            prev = data[data.rfind(b"\n", 0, prev_end) + 1 : prev_end]
            if prev.startswith(b"#") and prev[1:].isdigit():
                epoch = prev[1:]
    else:  # fish: "- cmd: ..." then "  when: <epoch>"
        nl = data.find(b"\n", line_start)
        nxt = data[nl + 1 : data.find(b"\n", nl + 1)] if nl >= 0 else b""
        if nxt.strip().startswith(b"when:"):
            epoch = nxt.strip()[5:].strip()
    if not epoch or not epoch.isdigit() or len(epoch) > 12:
        return ""
    try:
        return datetime.fromtimestamp(int(epoch), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return ""


def _scan_new(hf: HistoryFile, data: bytes, base: int, lines_before: int) -> list[scan_state.StoredHit]:
    """Credentials in ``data`` (the file's bytes from offset ``base``), located by line and column."""
    found: list[scan_state.StoredHit] = []
    line, counted = lines_before + 1, 0
    for m in iter_matches(data):
        hit = classify(m)
        if hit is None:
            continue
        kind, secret = hit
        remember(kind, secret)
        pos = m.start()
        line += data.count(b"\n", counted, pos)
        counted = pos
        line_start = data.rfind(b"\n", 0, pos) + 1
        prefix = data[line_start:pos]
        if hf.shell == "zsh":
            prefix = unmetafy(prefix)
        col = len(prefix.decode("utf-8", "replace")) + 1
        found.append(
            scan_state.StoredHit(
                str(hf.path),
                base + pos,
                line,
                col,
                _when(data, line_start, hf.shell),
                kind,
                fingerprint(secret),
                redact(secret),
            )
        )
    return found


def _read_from(fd: int, start: int, size: int) -> bytes:
    chunks: list[bytes] = []
    pos = start
    while pos < size:
        chunk = os.pread(fd, min(8 * 1024 * 1024, size - pos), pos)
        if not chunk:
            break
        chunks.append(chunk)
        pos += len(chunk)
    return b"".join(chunks)


def _still_there(fd: int, hit: scan_state.StoredHit) -> str | None:
    """The credential at a stored hit's offset, if it is still there (for --verify and staleness)."""
    before = 1 if hit.offset else 0
    window = os.pread(fd, 320, hit.offset - before)
    m = PATTERN.match(window, before)
    found = classify(m) if m else None
    if found is None or fingerprint(found[1]) != hit.fingerprint:
        return None
    return found[1]


def _scan_file(
    conn: sqlite3.Connection | None, hf: HistoryFile, stats: HistoryStats
) -> list[scan_state.StoredHit]:
    name = str(hf.path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        stats.problems.append((name, exc.strerror or type(exc).__name__))
        return []
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
            reason = "not a regular file" if not stat.S_ISREG(st.st_mode) else "larger than any shell history"
            stats.problems.append((name, reason))
            return []
        stats.files += 1
        known = scan_state.mark(conn, name) if conn is not None else None
        start, lines, restart = 0, 0, True
        if (
            known is not None
            and known.ino == st.st_ino
            and known.dev == st.st_dev
            and st.st_size >= known.offset
            and os.pread(fd, len(known.tail), known.offset - len(known.tail)) == known.tail
        ):
            start, lines, restart = known.offset, known.lines, False
            if st.st_size == known.size and st.st_mtime_ns == known.mtime_ns:
                return _confirmed(conn, fd, name)
        data = _read_from(fd, start, st.st_size)
        stats.bytes_read += len(data)
        # The offset stays after the last newline: a command being written is read again whole.
        end = data.rfind(b"\n") + 1
        found = _scan_new(hf, data, start, lines) if holds_prefix(data) else []
        new_offset = start + end
        tail = os.pread(fd, min(TAIL_BYTES, new_offset), new_offset - min(TAIL_BYTES, new_offset))
        new = scan_state.FileMark(
            st.st_dev,
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
            new_offset,
            lines + data.count(b"\n", 0, end),
            tail,
        )
        if conn is None:
            return found
        scan_state.save(conn, name, new, found, restart=restart)
        return _confirmed(conn, fd, name)
    except OSError as exc:
        stats.problems.append((name, exc.strerror or type(exc).__name__))
        return []
    finally:
        os.close(fd)


def _confirmed(conn: sqlite3.Connection | None, fd: int, name: str) -> list[scan_state.StoredHit]:
    """Stored hits still present in the file (each remembered for --verify)."""
    if conn is None:
        return []
    out: list[scan_state.StoredHit] = []
    for hit in scan_state.hits(conn, name):
        secret = _still_there(fd, hit)
        if secret is None:  # changed in place since: read the whole file again next time
            scan_state.forget(conn, name)
            continue
        remember(hit.kind, secret)
        out.append(hit)
    return out


_FIX = {
    "bash": "Rotate the key first. Then close every other bash (each writes its history back when it "
    "exits) and, in the one left, run `history -c; sed -i '/sk-ant-/d' {path}; history -r`.",
    "zsh": "Rotate the key first. Then close every zsh (each writes its history back when it exits; "
    "run `fc -W` in one first if its history is not shared), remove the line from {path} with an "
    "editor or `sed -i '/sk-ant-/d' {path}` run from another shell, and open zsh again.",
    "fish": "Rotate the key first. Then run `history delete --contains sk-ant-` in fish (it asks which "
    "entries to delete) and `history save`.",
}


def shell_history_findings(ws: Workspace) -> tuple[list[Finding], HistoryStats]:
    """K016 for every credential in a shell history file (one finding per key and file)."""
    stats = HistoryStats()
    files = history_files(ws)
    if not files:
        return [], stats
    conn = scan_state.open_state(state_db_path(ws.env, ws.home))
    findings: list[Finding] = []
    try:
        for hf in files:
            hits = _scan_file(conn, hf, stats)
            log_read(hf.path, f"{hf.shell} history, {len(hits)} credential occurrence(s)")
            findings += _findings(hf, hits)
    finally:
        if conn is not None:
            conn.close()
    return findings, stats


def _findings(hf: HistoryFile, hits: list[scan_state.StoredHit]) -> list[Finding]:
    by_key: dict[str, list[scan_state.StoredHit]] = {}
    for hit in hits:
        by_key.setdefault(hit.fingerprint, []).append(hit)
    out: list[Finding] = []
    for fp, same in by_key.items():
        first = same[0]
        when = f", a command run {first.at.replace('T', ' ').removesuffix('Z')} UTC" if first.at else ""
        more = f" (and {len(same) - 1} more line(s))" if len(same) > 1 else ""
        out.append(
            KEY_IN_SHELL_HISTORY.finding(
                f"{hf.path} ({hf.shell} history) line {first.line}{when}{more} holds an Anthropic "
                f"{label(first.kind)}.",
                severity=Severity.ERROR if first.kind == "admin_key" else None,
                path=str(hf.path),
                line=first.line,
                column=first.col,
                hint=_FIX[hf.shell].format(path=hf.path),
                kind=first.kind,
                redacted=first.redacted,
                fingerprint=fp,
                cause=causes.key(fp),
            )
        )
    return out
