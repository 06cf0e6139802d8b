"""Keys pasted into Claude Code sessions: credentials in the transcripts under ``projects/``.

The transcripts are read by the usage scan (:mod:`claude_health.tools.usage.scan`), which looks
for ``sk-ant-`` in every block it reads and records each credential in the usage ledger,
redacted, with its line, session and time. So the key check reads only transcript bytes that no
claude-health command has read before, and a usage report run earlier has already done its part.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from claude_health.tools import causes
from claude_health.tools.findings import Finding, Severity
from claude_health.tools.keys.formats import PATTERN, classify, label
from claude_health.tools.keys.rules import KEY_IN_TRANSCRIPT
from claude_health.tools.keys.vault import remember
from claude_health.tools.paths import Workspace
from claude_health.tools.redact import fingerprint
from claude_health.tools.usage import store
from claude_health.tools.usage.discovery import transcript_roots
from claude_health.tools.usage.scan import scan
from claude_health.tools.usage.session import open_session
from claude_health.tools.usage.transcript_keys import catch_up

if TYPE_CHECKING:
    from claude_health.tools.usage.store import StoredKeyHit


@dataclass
class TranscriptStats:
    files: int = 0
    bytes_read: int = 0
    state_problem: str | None = None


def transcript_findings(ws: Workspace) -> tuple[list[Finding], TranscriptStats]:
    """K015 for every credential in a transcript still on disk (one finding per key and file)."""
    stats = TranscriptStats()
    if not transcript_roots(ws.env, ws.home):
        return [], stats

    session = open_session(ws.env, ws.home, lookup=_prices_nothing)
    try:
        stats.files, stats.bytes_read = session.stats.files_seen, session.stats.bytes_read
        stats.state_problem = session.state_problem
        stats.bytes_read += catch_up(session.conn)
        hits = store.key_hits(session.conn)
        stale = {h.path for h in hits if not _confirm(h)}
        if stale:  # changed in place since they were read: read those files again, now
            for path in stale:
                store.forget_file_by_path(session.conn, path)
            again = scan(session.conn, ws.env, ws.home, now_ms=session.now_ms)
            stats.bytes_read += again.bytes_read + catch_up(session.conn)
            hits = [h for h in store.key_hits(session.conn) if h.path not in stale or _confirm(h)]
    finally:
        session.close()
    return _findings(hits), stats


def _prices_nothing(model: str) -> None:
    """The key check reads the ledger's key hits, never a cost: loading the price table would
    be start-up time for nothing."""
    return None


def _confirm(hit: StoredKeyHit) -> bool:
    """Is the stored credential still at its offset? (Remembers it for --verify.)"""
    path, offset = hit.path, hit.offset
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        before = 1 if offset else 0
        window = os.pread(fd, 320, offset - before)
    except OSError:
        return False
    finally:
        os.close(fd)
    m = PATTERN.match(window, before)
    found = classify(m) if m else None
    if found is None or fingerprint(found[1]) != hit.fingerprint:
        return False
    remember(found[0], found[1])
    return True


def _when(at: str) -> str:
    return at[:19].replace("T", " ") + " UTC" if len(at) >= 19 else "an unknown time"


def _findings(hits: list[StoredKeyHit]) -> list[Finding]:
    by_place: dict[tuple[str, str], list[StoredKeyHit]] = {}
    for hit in hits:
        by_place.setdefault((hit.path, hit.fingerprint), []).append(hit)
    out: list[Finding] = []
    for (path, fp), same in by_place.items():
        first = same[0]
        more = f" (and {len(same) - 1} more line(s))" if len(same) > 1 else ""
        kind, line, session, project = first.kind, first.line, first.session, first.project
        out.append(
            KEY_IN_TRANSCRIPT.finding(
                f"Claude Code session {session} (project {project}), {_when(first.at)}: line {line} of "
                f"its transcript{more} holds an Anthropic {label(kind)}; it was sent to the model with "
                "the conversation.",
                severity=Severity.ERROR if kind == "admin_key" else None,
                path=path,
                line=line,
                hint=(
                    "Rotate the key first (deleting it here does not revoke it). Then remove it from the "
                    f"transcript, with that session closed in Claude Code (it appends to the file): delete "
                    f"the session file (`rm {path}`; claude-health's usage ledger keeps its usage) or line "
                    f"{line} of it in an editor."
                ),
                kind=kind,
                redacted=first.redacted,
                fingerprint=fp,
                cause=causes.key(fp),
            )
        )
    return out
