"""Terminal and JSON output shared by every reporting command.

Colour only on a TTY (and never with ``NO_COLOR``); JSON is the same data the MCP tools return.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from claude_health.tools.findings import Finding, Severity, Summary, sort_findings

if TYPE_CHECKING:
    from claude_health.tools.problems import Problem

_COLOURS = {
    Severity.ERROR: "\033[31m",
    Severity.WARNING: "\033[33m",
    Severity.INFO: "\033[36m",
}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


MIN_WIDTH = 40


def terminal_width(stream: TextIO) -> int | None:
    """The width to wrap human output at: the terminal's (or ``COLUMNS``), None for a pipe or file.

    Redirected output is not wrapped, so `grep` and scripts see one message per line.
    """
    try:
        is_tty = stream.isatty()
    except (AttributeError, ValueError):
        is_tty = False
    if not is_tty and not os.environ.get("COLUMNS", "").strip().isdigit():
        return None
    import shutil

    return max(MIN_WIDTH, shutil.get_terminal_size().columns)


class Style:
    """ANSI styling that switches itself off when the stream is not a terminal, and wrapping."""

    def __init__(self, stream: TextIO, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        self.enabled = enabled
        self.width = terminal_width(stream)

    def wrap(self, text: str, indent: str, lead: str = "") -> str:
        """``text`` as lines (newline-terminated) that fit the terminal, each after ``indent``.

        ``lead`` (e.g. ``fix:``) opens the first line, dimmed; paths and URLs are never split.
        """
        opening = f"{lead} " if lead else ""
        if self.width is None:
            lines = [indent + opening + text]
        else:
            import textwrap

            lines = textwrap.wrap(
                text,
                width=self.width,
                initial_indent=indent + opening,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            ) or [indent + opening]
        if lead:
            lines[0] = lines[0].replace(lead, self.dim(lead), 1)
        return "".join(line + "\n" for line in lines)

    def _wrap(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap(_BOLD, text)

    def dim(self, text: str) -> str:
        return self._wrap(_DIM, text)

    def severity(self, severity: Severity, text: str | None = None) -> str:
        return self._wrap(_COLOURS[severity], text if text is not None else severity.value)


def dump_json(payload: dict[str, Any], stream: TextIO | None = None) -> None:
    # (json.dumps(payload, indent=2, ensure_ascii=False), byte for byte, through the C encoder.)
    from claude_health.server.commands.usage_json import indented

    out = stream or sys.stdout
    text = indented(payload)
    try:
        out.write(text + "\n")
    except UnicodeEncodeError:
        # A file name that is not valid UTF-8 (or a terminal that is not UTF-8): escape, don't crash.
        out.write(json.dumps(payload, indent=2, ensure_ascii=True) + "\n")


def findings_payload(findings: Iterable[Finding], **extra: Any) -> dict[str, Any]:
    """The JSON shape of every reporting command: extra sections, findings, summary."""
    ordered = sort_findings(findings)
    payload: dict[str, Any] = dict(extra)
    payload["findings"] = [f.to_json() for f in ordered]
    payload["summary"] = Summary.of(ordered).to_json()
    return payload


def location(finding: Finding) -> str:
    if not finding.path:
        return ""
    where = finding.path
    if finding.line:
        where += f":{finding.line}"
        if finding.column:
            where += f":{finding.column}"
    return where


_WORD = {Severity.ERROR: "ERROR", Severity.WARNING: "WARNING", Severity.INFO: "NOTE"}


def print_problems(
    problems: Iterable[Problem], style: Style, stream: TextIO | None = None, *, verbose: bool = False
) -> None:
    """Problems first, each with its fix and the findings it explains (one line each, or in full
    with ``verbose``), then one line of counts."""
    out = stream or sys.stdout
    listed = list(problems)
    for problem in listed:
        word = _WORD[problem.severity]
        out.write(f"{style.severity(problem.severity, word):<7} {style.bold(problem.summary)}\n")
        if problem.fix:
            out.write(f"        {style.dim('fix:')} {problem.fix}\n")
        for f in problem.findings:
            where = location(f)
            out.write(style.dim(f"        - {f.code} {f.title}" + (f" ({where})" if where else "")) + "\n")
            if verbose:
                out.write(f"          {f.message}\n")
        out.write("\n")
    if not listed:
        out.write(style.bold("No problems found.") + "\n")
        return
    counts = {s: sum(1 for p in listed if p.severity is s) for s in Severity}
    findings = sum(len(p.findings) for p in listed)
    parts = [
        style.severity(Severity.ERROR, f"{counts[Severity.ERROR]} error(s)"),
        style.severity(Severity.WARNING, f"{counts[Severity.WARNING]} warning(s)"),
        style.severity(Severity.INFO, f"{counts[Severity.INFO]} note(s)"),
    ]
    out.write(f"{len(listed)} problem(s): " + ", ".join(parts) + f" ({findings} finding(s))\n")


def print_findings(findings: Iterable[Finding], style: Style, stream: TextIO | None = None) -> Summary:
    """Human listing, most severe first, ending with a one-line summary."""
    out = stream or sys.stdout
    ordered = sort_findings(findings)
    for f in ordered:
        head = f"{style.severity(f.severity, f.severity.value.upper()):<7} {style.bold(f.code)} {f.title}"
        out.write(head + "\n")
        where = location(f)
        if where:
            out.write(f"        {style.dim(where)}\n")
        out.write(style.wrap(f.message, "        "))
        if f.hint:
            out.write(style.wrap(f.hint, "        ", lead="fix:"))
    summary = Summary.of(ordered)
    if summary.total == 0:
        out.write(style.bold("No problems found.") + "\n")
    else:
        parts = [
            style.severity(Severity.ERROR, f"{summary.errors} error(s)"),
            style.severity(Severity.WARNING, f"{summary.warnings} warning(s)"),
            style.severity(Severity.INFO, f"{summary.infos} note(s)"),
        ]
        out.write(", ".join(parts) + "\n")
    return summary
