"""``claude-health usage daily|weekly|monthly|blocks --json``: the JSON reports, on a lean path.

Other tools call these reports on a schedule and compare them with ccusage, so a new process
should cost little more than the work. :func:`main` handles the plain invocations itself,
without argparse, logging or the workspace model (about a fifth of a warm report's time
otherwise), and hands anything else back to the full parser. :func:`payload` builds the JSON
for both paths.
"""

from __future__ import annotations

import os
import sys

# Not typing.TYPE_CHECKING: importing typing costs this path too. Type checkers honour the name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import tzinfo
    from typing import Any

    from claude_health.tools.usage.session import UsageSession

REPORTS = ("blocks", "daily", "weekly", "monthly")
EXIT_USAGE = 2
CLEAN_SUMMARY = {"errors": 0, "warnings": 0, "infos": 0, "total": 0, "healthy": True}


def payload(
    session: UsageSession, report: str, tz: tzinfo, only_existing: bool
) -> tuple[dict[str, Any], int]:
    """The report's JSON (with ``findings`` and ``summary``) and the exit code it implies."""
    from claude_health.tools.usage import reports
    from claude_health.tools.usage.session import guarded

    # A stored row claude-health never wrote is set aside and the report made again.
    data: dict[str, Any]
    if report == "daily":
        data = guarded(session, lambda s: reports.daily(s, tz, only_existing=only_existing))
    elif report == "monthly":
        data = guarded(session, lambda s: reports.monthly(s, tz, only_existing=only_existing))
    elif report == "weekly":
        data = guarded(session, lambda s: reports.weekly(s, tz, only_existing=only_existing))
    else:
        data = guarded(session, lambda s: reports.blocks(s, only_existing=only_existing))
    if not session.findings:  # the usual case: no findings model to import
        data["findings"] = []
        data["summary"] = dict(CLEAN_SUMMARY)
        return data, 0
    from claude_health.tools.findings import Summary, sort_findings

    ordered = sort_findings(session.findings)
    summary = Summary.of(ordered)
    data["findings"] = [f.to_json() for f in ordered]
    data["summary"] = summary.to_json()
    return data, summary.exit_code


def dump(data: dict[str, Any]) -> None:
    """The JSON on stdout in one write.

    msgspec when a long scan has loaded it already (C-fast on a long report); otherwise the
    standard library, since importing msgspec costs a warm run more than encoding the report.
    The two differ only in how a float's exponent is spelled (``1e-05`` / ``0.00001``).
    """
    if "msgspec" in sys.modules:
        import msgspec

        raw = msgspec.json.format(msgspec.json.encode(data), indent=2) + b"\n"
    else:
        import json

        raw = json.dumps(data, indent=2, ensure_ascii=False).encode() + b"\n"
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text-only stream (tests redirecting stdout)
        sys.stdout.write(raw.decode())
        return
    sys.stdout.flush()
    out.write(raw)
    out.flush()


def _parse(argv: list[str]) -> tuple[str, str | None, bool] | None:
    """``(report, timezone, only_existing)`` for a plain JSON report; None for anything else."""
    if not argv or argv[0] not in REPORTS:
        return None
    report, timezone, only, json_out = argv[0], None, False, False
    rest = argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--json":
            json_out = True
        elif arg == "--only-existing":
            only = True
        elif arg == "--timezone" and rest:
            timezone = rest.pop(0)
        elif arg.startswith("--timezone="):
            timezone = arg.partition("=")[2]
        elif arg in ("--color", "--colour") and rest and rest[0] in ("auto", "always", "never"):
            rest.pop(0)  # no colour in JSON
        else:
            return None  # --project, -v, --help, a typo...: the full parser's job
    return (report, timezone, only) if json_out else None


def main(argv: list[str]) -> int | None:
    """Run a plain JSON report; None when the arguments need the full parser."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    report, timezone, only = parsed
    from pathlib import Path

    from claude_health.tools.usage.session import open_session
    from claude_health.tools.usage.timezones import TimezoneError, resolve_tz

    env = dict(os.environ)
    home_value = env.get("HOME") or env.get("USERPROFILE")  # as Workspace.discover
    home = Path(home_value).expanduser() if home_value else Path.home()
    try:
        tz = resolve_tz(timezone, env)
    except TimezoneError as exc:
        sys.stderr.write(f"claude-health usage: --timezone: {exc}\n")
        return EXIT_USAGE
    session = open_session(env, home)
    try:
        data, code = payload(session, report, tz, only)
    finally:
        session.close()
    try:
        dump(data)
    except BrokenPipeError:
        return 0
    return code
