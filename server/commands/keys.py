"""`claude-health keys`: find Anthropic credentials where they should not be."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from claude_health.server.commands.common import UsageError, style, workspace

if TYPE_CHECKING:  # the plain invocations skip the parser (keys_early.py): no argparse loaded
    import argparse

HISTORY_TIMEOUT = 300.0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    import argparse

    parser = sub.add_parser(
        "keys",
        parents=[common],
        help="find Anthropic credentials where they should not be",
        description="Scan the project tree (files git tracks plus untracked files it does not ignore; "
        "every file outside git), committed Claude Code config, settings env blocks, the environment, "
        "shell start-up files, Claude Code's session transcripts, shell history files and credential "
        "file modes for Anthropic API keys, admin keys and OAuth tokens. Transcripts and histories are "
        "read incrementally (only bytes no earlier run read). Keys are shown only redacted.",
    )
    parser.add_argument("--sarif", action="store_true", help="print SARIF 2.1.0 (GitHub code scanning)")
    parser.add_argument("--history", action="store_true", help="also scan git history (every commit)")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="ask the Anthropic API whether found API/admin keys are live (network; OAuth tokens are "
        "never sent)",
    )
    parser.add_argument(
        "--staged", action="store_true", help="scan only what is staged for commit (pre-commit hook)"
    )
    parser.add_argument(
        "--no-transcripts",
        action="store_true",
        help="skip Claude Code's session transcripts (~/.claude/projects; read incrementally by default)",
    )
    parser.add_argument(
        "--no-shell-history",
        action="store_true",
        help="skip shell history files (bash, zsh, fish, $HISTFILE; read incrementally by default)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="processes for the tree scan, this one included (default: a child lists and scans the tree "
        "while this process runs the other checks, one more per CPU up to 8 for trees of 2,048 files or "
        "more; 1: everything in this process)",
    )
    parser.add_argument(
        "--history-timeout", type=float, default=HISTORY_TIMEOUT, metavar="SECONDS", help=argparse.SUPPRESS
    )
    # Nothing stays open after a scan (state databases closed, workers reaped, output flushed).
    parser.set_defaults(func=run, skip_teardown=True)


def run(args: argparse.Namespace) -> int:  # (or keys_early.parse's namespace: the same names)
    if args.json and args.sarif:
        raise UsageError("--json and --sarif are mutually exclusive")
    if args.jobs is not None and not 1 <= args.jobs <= 64:
        raise UsageError("--jobs must be between 1 and 64")
    if args.staged and args.history:
        raise UsageError("--staged scans the index only; it cannot be combined with --history")
    # Only the scan before it runs: on a large tree it forks its workers once the file list is
    # known, and every module imported before that delays them (the output's come after).
    from claude_health.tools.keys.report import KeysUsageError, ScanOptions, scan_keys

    ws = workspace(args)
    options = ScanOptions(
        history=args.history,
        verify=args.verify,
        staged=args.staged,
        transcripts=not args.no_transcripts,
        shell_history=not args.no_shell_history,
        workers=args.jobs,
        fork_early=args.jobs != 1,
        history_timeout=_history_timeout(args.history_timeout),
    )
    try:
        report = scan_keys(ws, options)
    except KeysUsageError as exc:
        raise UsageError(str(exc)) from None
    from claude_health.server.output import dump_json, findings_payload, print_findings

    stats = report.stats
    if args.sarif:
        from claude_health.server.sarif import to_sarif
        from claude_health.tools.keys.rules import RULES

        # Only this check's rules: the output must not depend on other checks importing cleanly.
        dump_json(to_sarif(report.findings, base_dir=ws.project, rules={r.code: r for r in RULES}))
    elif args.json:
        dump_json(findings_payload(report.findings, stats=stats.to_json()))
    else:
        out = style(args)
        where = "staged files" if stats.mode == "staged" else "files"
        git_note = "" if stats.in_git else " (not a git repository: every file)"
        sys.stdout.write(
            out.dim(
                f"Scanned {stats.files_scanned} {where}{git_note}, {stats.bytes_scanned / 1e6:.1f} MB, "
                f"in {stats.duration_ms / 1000:.2f} s"
                + (
                    f"; history: {stats.history_commits} commit(s) mention sk-ant-"
                    if stats.history_scanned
                    else ""
                )
                + (
                    f"; {stats.transcript_files} session transcript(s) "
                    f"({stats.transcript_bytes_read / 1e6:.1f} MB new)"
                    if stats.transcripts_scanned and stats.transcript_files
                    else ""
                )
                + (
                    f"; {stats.shell_history_files} shell history file(s)"
                    if stats.shell_history_scanned and stats.shell_history_files
                    else ""
                )
            )
            + "\n"
        )
        print_findings(report.findings, out)
    from claude_health.tools.findings import Summary

    return Summary.of(report.findings).exit_code


def _history_timeout(asked: float) -> float:
    """At least a second; ``nan`` (which ``max`` would pass through, never timing out) is the default."""
    import math

    return HISTORY_TIMEOUT if math.isnan(asked) else max(asked, 1.0)
