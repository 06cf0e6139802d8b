"""The key-hygiene scan: every place a credential should not be, in one report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from claude_health.tools.gitsafe import HISTORY_TIMEOUT
from claude_health.tools.paths import Workspace

# Nothing else is imported here: the CLI forks the tree scan's child first (it imports the
# scanner and lists the tree), and the modules of the other checks (the settings view, the auth
# route, findings and rules) load in this process while it reads. See _tree.
if TYPE_CHECKING:
    from claude_health.tools.findings import Finding
    from claude_health.tools.keys.early import EarlyScan, Listing
    from claude_health.tools.keys.models import KeyReport, ScanStats
    from claude_health.tools.keys.tree import PendingScan, TreeScan

Progress = Callable[[int, int], None]


class KeysUsageError(ValueError):
    """A scan that cannot run as asked (e.g. --staged outside a git repository)."""


@dataclass(frozen=True)
class ScanOptions:
    history: bool = False
    verify: bool = False
    staged: bool = False
    transcripts: bool = True
    shell_history: bool = True
    workers: int | None = None
    # Fork the tree scan's child before anything else is imported (the CLI; see early.py). In a
    # long-lived process the modules are loaded already and the usual start is as fast.
    fork_early: bool = False
    history_timeout: float = HISTORY_TIMEOUT
    verify_timeout: float = 10.0


def _listing(ws: Workspace, options: ScanOptions) -> Listing:
    """The project's files (git's list inside a work tree), and those the tree scan reads.

    The same selection as the SessionStart hook's leak check (:mod:`~claude_health.tools.keys.leaks`),
    so both report the same K001s. Runs in the early child when there is one."""
    from claude_health.tools.keys.dedicated import tree_files
    from claude_health.tools.keys.tree import list_files

    listing = list_files(ws.project)
    files = tree_files(ws, listing, transcripts=options.transcripts, shell_history=options.shell_history)
    return listing, files


def _tree(ws: Workspace, options: ScanOptions, progress: Progress | None) -> tuple[list[Finding], ScanStats]:
    from functools import partial

    from claude_health.tools.keys import early

    started = None
    if options.fork_early:
        # The CLI forks it as soon as it has read its arguments (early.prestart), else it is now.
        started = early.claim(ws, options) or early.start(partial(_listing, ws, options), options.workers)
    pending: PendingScan | None = None
    guard: EarlyScan | PendingScan
    if started is None:
        from claude_health.tools.keys.tree import start_scan

        listing, files = _listing(ws, options)
        # On large trees worker processes start on the files now.
        guard = pending = start_scan(files, progress=progress, workers=options.workers)
    else:
        guard = started
    # Meanwhile this process runs the other checks (importing them), then takes its part of
    # the files still waiting.
    with guard:
        from claude_health.tools.files import log_read
        from claude_health.tools.keys.config import config_findings
        from claude_health.tools.keys.ignored import ignore_findings
        from claude_health.tools.keys.leaks import relative, tree_finding
        from claude_health.tools.keys.models import ScanStats
        from claude_health.tools.keys.places import (
            environment_findings,
            permission_findings,
            settings_findings,
            shell_findings,
        )
        from claude_health.tools.keys.rules import FILE_NOT_SCANNED

        findings = config_findings(ws)
        findings += settings_findings(ws)
        findings += environment_findings(ws)
        findings += shell_findings(ws)
        findings += permission_findings(ws)
        from claude_health.tools.keys.admin_slot import admin_key_as_api_key_findings

        findings += admin_key_as_api_key_findings(ws)
        transcripts = histories = None
        if options.transcripts:
            from claude_health.tools.keys.sessions import transcript_findings

            found, transcripts = transcript_findings(ws)
            findings += found
        if options.shell_history:
            from claude_health.tools.keys.shell_history import shell_history_findings

            found, histories = shell_history_findings(ws)
            findings += found
        scanned: TreeScan
        if started is not None:
            listing, files, scanned = started.finish(progress)
        else:
            assert pending is not None
            scanned = pending.result()
        findings += ignore_findings(listing)
        how = "git's tracked and not-ignored files" if listing.in_git else "every regular file, no git"
        log_read(ws.project, f"{len(files):,} file(s) scanned for keys ({how}; config files are read apart)")
    stats = ScanStats(
        project=str(ws.project),
        mode="tree",
        in_git=listing.in_git,
        files_scanned=scanned.files_scanned,
        bytes_scanned=scanned.bytes_scanned,
        files_skipped_binary=scanned.binary,
        files_unreadable=scanned.unreadable,
    )
    if transcripts is not None:
        stats.transcripts_scanned = True
        stats.transcript_files, stats.transcript_bytes_read = transcripts.files, transcripts.bytes_read
    if histories is not None:
        stats.shell_history_scanned = True
        stats.shell_history_files, stats.shell_history_bytes_read = histories.files, histories.bytes_read
        for path, reason in histories.problems:
            findings.append(FILE_NOT_SCANNED.finding(f"{path}: {reason}.", path=path))
    for scan in sorted(scanned.notable, key=lambda s: s.path):
        rel = relative(scan.path, ws.project)
        findings.extend(tree_finding(scan.path, rel, hit) for hit in scan.hits)
        if scan.skipped:
            findings.append(FILE_NOT_SCANNED.finding(f"{rel}: {scan.skipped}.", path=scan.path))
    if listing.problem:
        findings.append(FILE_NOT_SCANNED.finding(listing.problem))
    for path, reason in listing.unreadable_dirs:
        where = relative(path, ws.project)
        findings.append(FILE_NOT_SCANNED.finding(f"{where}: {reason}; nothing in it was scanned.", path=path))
    if options.history and listing.in_git:
        from claude_health.tools.keys.history import history_findings

        present = {f.fingerprint for f in findings if f.fingerprint}
        found, commits = history_findings(ws.project, present, timeout=options.history_timeout)
        findings += found
        stats.history_scanned, stats.history_commits = True, commits
    return findings, stats


def _staged(ws: Workspace) -> tuple[list[Finding], ScanStats]:
    from claude_health.tools.keys.config import key_findings
    from claude_health.tools.keys.ignored import LOCAL_SETTINGS, is_env_file
    from claude_health.tools.keys.leaks import tree_finding
    from claude_health.tools.keys.locations import committed_config_files
    from claude_health.tools.keys.models import ScanStats
    from claude_health.tools.keys.rules import ENV_FILE_NOT_IGNORED, LOCAL_SETTINGS_NOT_IGNORED
    from claude_health.tools.keys.staged import scan_staged

    staged = scan_staged(ws.project)
    if staged.root is None or staged.problem:
        raise KeysUsageError(staged.problem or "--staged needs a git repository")
    root = staged.root
    stats = ScanStats(project=str(ws.project), mode="staged", in_git=True)
    committed = set(committed_config_files(ws))
    findings: list[Finding] = []
    for f in staged.files:
        path = root / f.rel
        if f.binary:
            stats.files_skipped_binary += 1
        else:
            stats.files_scanned += 1
            stats.bytes_scanned += f.size
        if path in committed:
            findings += key_findings(path, f.hits)
        else:
            findings.extend(tree_finding(str(path), f.rel, hit) for hit in f.hits)
        if is_env_file(f.rel):
            findings.append(ENV_FILE_NOT_IGNORED.finding(f"{f.rel} is staged for commit.", path=str(path)))
        elif f.rel.endswith(LOCAL_SETTINGS):
            findings.append(
                LOCAL_SETTINGS_NOT_IGNORED.finding(f"{f.rel} is staged for commit.", path=str(path))
            )
    return findings, stats


def scan_keys(
    ws: Workspace, options: ScanOptions | None = None, *, progress: Progress | None = None
) -> KeyReport:
    """Run the key-hygiene scan. Never returns or logs a secret unredacted."""
    from claude_health.tools.keys.vault import collecting

    options = options or ScanOptions()
    started = time.perf_counter()
    with collecting() as vault:
        if options.staged:
            findings, stats = _staged(ws)
        else:
            findings, stats = _tree(ws, options, progress)
        if options.verify and vault:
            from claude_health.tools.keys.verify import verify_keys  # opt-in; loads httpx

            verified = verify_keys(ws, vault, timeout=options.verify_timeout)
            findings += verified
            stats.verified = len(verified)
    from claude_health.tools.findings import sort_findings
    from claude_health.tools.keys.leaks import shown
    from claude_health.tools.keys.literals import displayable
    from claude_health.tools.keys.models import KeyReport

    stats.keys_found = len({f.fingerprint for f in findings if f.kind and f.fingerprint})
    stats.project = displayable(stats.project)
    findings = [shown(f) for f in findings]
    stats.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return KeyReport(stats=stats, findings=sort_findings(findings))
