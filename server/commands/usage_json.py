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

    msgspec when a long scan has loaded it already (C-fast on a long report); otherwise
    :func:`indented` (the standard library's output through its C encoder), since importing
    msgspec costs a warm run more than encoding the report. The two differ only in how a
    float's exponent is spelled (``1e-05`` / ``0.00001``).
    """
    if "msgspec" in sys.modules:
        import msgspec

        raw = msgspec.json.format(msgspec.json.encode(data), indent=2) + b"\n"
    else:
        raw = indented(data).encode() + b"\n"
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text-only stream (tests redirecting stdout)
        sys.stdout.write(raw.decode())
        return
    sys.stdout.flush()
    out.write(raw)
    out.flush()


_SCALARS = (str, int, float, bool, type(None))


class _Unusual(Exception):
    """A value the fast writer leaves to the standard library (a non-str key, another type)."""


def indented(data: Any) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=False)``, byte for byte, in a fraction of the time.

    The standard library writes indented JSON in pure Python, one generator step per value (6 ms
    of a 145-block report, the largest part of a warm run after start-up). Here each run of
    scalar items (a block's figures, a model's sums) goes through the C encoder in one call, its
    item separator carrying the line break and the indentation; only the containers holding
    other containers are walked in Python. Anything unusual falls back to the standard library.
    """
    import json

    try:
        parts: list[str] = []
        _write(data, "\n", parts, {})
        return "".join(parts)
    except _Unusual:
        return json.dumps(data, indent=2, ensure_ascii=False)


def _write(value: Any, pad: str, parts: list[str], encoders: dict[str, Any]) -> None:
    """Append ``value`` as indented at ``pad`` (a line break and the enclosing indentation)."""
    kind = type(value)
    inner = pad + "  "
    if kind is dict:
        if not value:
            parts.append("{}")
            return
        parts.append("{")
        encode = _encoder(inner, encoders)
        sep = inner
        run: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            if type(item) in _SCALARS:
                run[key] = item
                continue
            if run:
                parts.extend((sep, "".join(encode(run, 0))[1:-1]))  # '{"a": 1,<inner>"b": 2}'
                sep = "," + inner
                run = {}
            parts.extend((sep, "".join(encode(key, 0)), ": "))
            sep = "," + inner
            _write(item, inner, parts, encoders)
        if run:
            parts.extend((sep, "".join(encode(run, 0))[1:-1]))
        parts.extend((pad, "}"))
    elif kind is list or kind is tuple:
        if not value:
            parts.append("[]")
            return
        if all(type(v) in _SCALARS for v in value):
            parts.extend(("[", inner, "".join(_encoder(inner, encoders)(value, 0))[1:-1], pad, "]"))
            return
        parts.append("[")
        sep = inner
        for item in value:
            parts.append(sep)
            sep = "," + inner
            _write(item, inner, parts, encoders)
        parts.extend((pad, "]"))
    elif kind in _SCALARS:
        parts.append("".join(_encoder(inner, encoders)(value, 0)))
    else:
        raise _Unusual


def _encoder(inner: str, encoders: dict[str, Any]) -> Any:
    """The C encoder writing items separated by ``,`` and ``inner`` (one per indentation)."""
    found = encoders.get(inner)
    if found is None:
        from json import encoder

        make = getattr(encoder, "c_make_encoder", None)  # private, and absent without the C module
        if make is None:  # no C accelerator: nothing to gain
            raise _Unusual
        found = encoders[inner] = make(
            None, _unusual, encoder.encode_basestring, None, ": ", "," + inner, False, False, True
        )
    return found


def _unusual(value: object) -> object:
    raise _Unusual


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


def main(argv: list[str], *, keep_rows: bool = False) -> int | None:
    """Run a plain JSON report; None when the arguments need the full parser.

    ``keep_rows``: the process exits right after, without the teardown (cli.console)."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    report, timezone, only = parsed
    from claude_health.tools.usage.session import open_session
    from claude_health.tools.usage.timezones import TimezoneError, resolve_tz

    env = dict(os.environ)
    home_value = env.get("HOME") or env.get("USERPROFILE")  # as Workspace.discover
    # A plain string (pathlib's import alone costs a warm report several milliseconds).
    home = os.path.expanduser(home_value) if home_value else os.path.expanduser("~")
    try:
        tz = resolve_tz(timezone, env)
    except TimezoneError as exc:
        sys.stderr.write(f"claude-health usage: --timezone: {exc}\n")
        return EXIT_USAGE
    if keep_rows:
        from claude_health.tools.usage.scan import keep_rows_until_exit

        keep_rows_until_exit()
    session = open_session(env, home, blocks=report == "blocks")
    try:
        data, code = payload(session, report, tz, only)
    finally:
        session.close()
    try:
        dump(data)
    except BrokenPipeError:
        return 0
    return code
