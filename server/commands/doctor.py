"""``claude-health doctor``: every check in one ranked report."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from claude_health.server.commands.common import style, workspace
from claude_health.server.output import dump_json, print_problems

# The doctor's checks (tools/doctor.CHECKS), named here so that --help needs no import of them;
# tests/test_cli_output.py keeps the two lists equal.
CHECK_NAMES = ("auth", "runtime", "settings", "keys", "limits", "usage", "tokens", "guard")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "doctor",
        parents=[common],
        help="run every check and rank what is wrong",
        description="Run every check and print the problems found, most important first, each "
        "with its fix and the findings it explains. The checks: auth (which credential Claude Code "
        "uses, who pays), runtime (Claude Code installed, its version, node, ripgrep), settings (is "
        "each config file loaded, are its rules and MCP servers valid), keys (leaked or misplaced "
        "Anthropic credentials), limits (rate-limit headroom), usage (plan windows from "
        "transcripts), tokens (the context the project pays every turn) and guard (the hooks and "
        "status line: installed, last run). With --probe-servers it also starts the project's MCP "
        "servers.",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="CHECK",
        help=f"run only this check (repeatable): {', '.join(CHECK_NAMES)}",
    )
    parser.add_argument("--sarif", action="store_true", help="print SARIF 2.1.0 (GitHub code scanning)")
    parser.add_argument(
        "--probe-servers",
        action="store_true",
        help="also start every approved MCP server of the project with a timeout, handshake in "
        "both protocol eras and list its tools (opt-in: this runs the configured commands)",
    )
    parser.add_argument(
        "--probe-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="time allowed for each server to start and answer (default 10)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from claude_health.tools.doctor import CHECKS, run_doctor

    if args.json and args.sarif:
        from claude_health.server.commands.common import UsageError

        raise UsageError("--json and --sarif are mutually exclusive")
    if args.only:
        unknown = sorted(set(args.only) - set(CHECKS))
        if unknown:
            from claude_health.server.commands.common import UsageError

            raise UsageError(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    ws = workspace(args)
    extra = {}
    if args.probe_servers:
        from claude_health.server.probe import run_probe

        timeout = args.probe_timeout
        # Starting servers can take the whole timeout: on a terminal, say what is being waited for.
        progress = _stderr_line if sys.stderr.isatty() else None
        extra["probe"] = lambda w: run_probe(w, timeout=timeout, progress=progress)
    report = run_doctor(ws, only=args.only, extra=extra)
    if args.json:
        dump_json(report.to_json())
        return report.summary.exit_code
    if args.sarif:
        from claude_health.server.sarif import to_sarif

        dump_json(to_sarif(report.findings, base_dir=ws.project))
        return report.summary.exit_code
    st = style(args)
    out = sys.stdout
    out.write(st.bold(f"claude-health doctor: {ws.project}") + "\n")
    auth = report.sections.get("auth")
    if auth:
        out.write(f"  auth: {auth['authMethod']} via {auth['apiProvider']}; billing: {auth['billing']}\n")
    probe = report.sections.get("probe")
    if probe:
        from claude_health.server.probe import summary_lines

        out.writelines(f"  {line}\n" for line in summary_lines(probe))
    guard = report.sections.get("guard")
    if guard:
        from claude_health.tools.guard.check import summary_line

        out.write(f"  guard: {summary_line(guard)}\n")
    checks = ", ".join(
        f"{run_.name} {_state(run_.status)}" + (f" {run_.duration_ms:.0f} ms" if args.verbose else "")
        for run_ in report.checks
    )
    out.write(st.dim(f"  checks: {checks}") + "\n\n")
    print_problems(report.problems, st, verbose=bool(args.verbose))
    return report.summary.exit_code


def _state(status: str) -> str:
    """A check's state in a few letters: ok only when it found nothing worse than notes."""
    return {"ok": "ok", "info": "notes", "warning": "warnings", "error": "errors"}.get(status, "FAILED")


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
