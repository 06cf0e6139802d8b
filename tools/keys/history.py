"""Credentials in git history: every commit reachable from any ref that added one.

``git log -G`` lets git pick the commits whose diff mentions the ``sk-ant-`` prefix (plain or
written with escapes), so only those patches reach Python; the added lines are then scanned with
the same rule as the tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from claude_health.tools import causes
from claude_health.tools.findings import Finding
from claude_health.tools.gitsafe import HISTORY_TIMEOUT, git
from claude_health.tools.keys.formats import GIT_PICKAXE, decodes_escapes, label
from claude_health.tools.keys.rules import HISTORY_INCOMPLETE, KEY_IN_HISTORY
from claude_health.tools.keys.scanner import Hit, scan_bytes
from claude_health.tools.keys.vault import hit_fields

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True, slots=True)
class HistoryHit:
    commit: str
    path: str  # repository-relative
    hit: Hit


def _unquote(raw: bytes) -> str:
    """Git C-quotes unusual paths ("a\\tb"); decode the escapes it uses."""
    text = raw.decode("utf-8", "surrogateescape")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        body = text[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return body.encode("latin-1", "replace").decode("utf-8", "replace")
    return text


def parse_log(output: bytes) -> tuple[list[HistoryHit], int]:
    """Hits on added lines of a ``git log -p -U0`` output, and the number of commits in it."""
    hits: list[HistoryHit] = []
    commit, path, line_no, commits, in_header = "", "", 0, 0, False
    for raw in output.split(b"\n"):
        if raw.startswith(b"commit "):  # hunk lines start with + - space or \\, never "c"
            commit, path, commits, in_header = (
                raw[7:].strip().decode("ascii", "replace"),
                "",
                commits + 1,
                False,
            )
        elif raw.startswith(b"diff --git "):
            in_header, path = True, ""
        elif in_header and raw.startswith(b"+++ "):
            target = raw[4:]
            text = "" if target == b"/dev/null" else _unquote(target)
            path = text[2:] if text.startswith("b/") else text
        elif raw.startswith(b"@@"):
            in_header = False
            m = _HUNK.match(raw)
            line_no = int(m.group(1)) if m else 0
        elif not in_header and raw.startswith(b"+") and path:
            for hit in scan_bytes(raw[1:], escapes=decodes_escapes(path)):
                hits.append(HistoryHit(commit, path, Hit(hit.kind, hit.secret, line_no, hit.column)))
            line_no += 1
    return hits, commits


def history_findings(
    project: Path, present: set[str], *, timeout: float = HISTORY_TIMEOUT
) -> tuple[list[Finding], int]:
    """Findings for keys added in history; ``present`` holds fingerprints still in the tree."""
    top = git(["rev-parse", "--show-toplevel"], project, timeout=10)
    if not top.ok:
        return [HISTORY_INCOMPLETE.finding(f"Not a git repository, or git failed: {top.error}.")], 0
    root = Path(top.stdout.decode("utf-8", "surrogateescape").strip())
    log = git(
        [
            "log", "--all", "-p", "-U0", "--no-color", "--format=commit %H", "-G", GIT_PICKAXE,
        ],
        root,
        timeout=timeout,
    )  # fmt: skip
    if not log.ok:
        return [HISTORY_INCOMPLETE.finding(f"git log failed: {log.error}.")], 0
    hits, commits = parse_log(log.stdout)
    # git log lists newest first: the last occurrence of a (key, file) is the commit that added it.
    first: dict[tuple[str, str], HistoryHit] = {}
    for h in hits:
        first[(h.hit.fingerprint, h.path)] = h
    findings: list[Finding] = []
    for h in first.values():
        still = h.hit.fingerprint in present
        state = "is still in the working tree" if still else "was removed later but stays in history"
        findings.append(
            KEY_IN_HISTORY.finding(
                f"Commit {h.commit[:12]} added an Anthropic {label(h.hit.kind)} to {h.path}; it {state}.",
                path=str(root / h.path),
                commit=h.commit,
                cause=causes.key(h.hit.fingerprint),
                **hit_fields(h.hit),
            )
        )
    return findings, commits
