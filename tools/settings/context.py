"""Per-file validation state: the parsed document, its findings, and whether Claude Code loads it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from claude_health.tools import causes
from claude_health.tools.findings import Finding, Rule, Severity
from claude_health.tools.jsonspan import Document
from claude_health.tools.jsonspan import JsonPath as Path
from claude_health.tools.paths import Workspace
from claude_health.tools.settings.discovery import ConfigFile
from claude_health.tools.settings.scrub import scrub_text

# A file with 20,000 unknown keys needs one line saying so, not 20,000: past this many findings of
# one rule in one file, the rest are folded into a single summary finding with the same code.
MAX_PER_RULE = 50
# Suggesting a spelling costs time quadratic in the name; nobody mistypes a 64-character key.
MAX_SUGGESTED_NAME = 64


@dataclass
class _Folded:
    """Repeated findings of one code folded into one summary finding."""

    index: int  # where the summary finding sits in ``findings``
    count: int
    severity: Severity
    line: int | None
    column: int | None


@dataclass
class FileContext:
    """One file being validated: its document, the findings so far, and whether it is ignored."""

    file: ConfigFile
    doc: Document
    ws: Workspace
    findings: list[Finding] = field(default_factory=list)
    rejected: bool = False  # Claude Code ignores the whole file
    cause: str | None = None  # what the findings being emitted are about (see ``about``)
    _counts: dict[str, int] = field(default_factory=dict)
    _folded: dict[str, _Folded] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return self.file.scope

    @property
    def managed(self) -> bool:
        return self.file.scope == "managed"

    @contextmanager
    def about(self, cause: str) -> Iterator[None]:
        """Findings emitted inside the block are about ``cause`` (one MCP server, one entry)."""
        saved, self.cause = self.cause, cause
        try:
            yield
        finally:
            self.cause = saved

    def _cause(self, level: Severity, cause: str | None) -> str | None:
        # An error rejects the whole file: whatever it points at, the file being ignored is the cause.
        if level is Severity.ERROR:
            return causes.ignored_file(self.file.path)
        return cause or self.cause

    def emit(
        self,
        rule: Rule,
        message: str,
        at: Path = (),
        *,
        key: bool = False,
        severity: Severity | None = None,
        hint: str | None = None,
        cause: str | None = None,
    ) -> None:
        """Record one finding. Messages often quote the file (a rule, a command, a URL), so they
        are scrubbed of credentials here, once for every check."""
        level = severity or rule.severity
        if level is Severity.ERROR:
            self.rejected = True
        seen = self._counts.get(rule.code, 0) + 1
        self._counts[rule.code] = seen
        if seen > MAX_PER_RULE:
            self._fold(rule, level, at, key, self._cause(level, cause))
            return
        pos = self.doc.key_pos(at) if key else self.doc.value_pos(at)
        self.findings.append(
            rule.finding(
                scrub_text(message),
                severity=severity,
                path=str(self.file.path),
                line=pos.line,
                column=pos.column,
                hint=scrub_text(hint) if hint else hint,
                cause=self._cause(level, cause),
            )
        )

    def saturated(self, rule: Rule) -> bool:
        """True once further findings of ``rule`` are only counted: skip costly messages."""
        return self._counts.get(rule.code, 0) >= MAX_PER_RULE

    def _fold(self, rule: Rule, level: Severity, at: Path, key: bool, cause: str | None) -> None:
        folded = self._folded.get(rule.code)
        if folded is None:
            pos = self.doc.key_pos(at) if key else self.doc.value_pos(at)
            folded = _Folded(len(self.findings), 0, level, pos.line, pos.column)
            self._folded[rule.code] = folded
            self.findings.append(rule.finding(""))  # placeholder, replaced below
        folded.count += 1
        if level.rank < folded.severity.rank:
            folded.severity = level
        self.findings[folded.index] = rule.finding(
            _folded_message(rule.code, folded.count, self.file.path.name),
            severity=folded.severity,
            path=str(self.file.path),
            line=folded.line,
            column=folded.column,
            cause=causes.ignored_file(self.file.path) if folded.severity is Severity.ERROR else cause,
        )


def _folded_message(code: str, count: int, name: str) -> str:
    return (
        f"...and {count} more {code} finding{'s' if count > 1 else ''} in {name}, not listed one by "
        f"one (the first {MAX_PER_RULE} are); the first of them is here."
    )


def fold_findings(findings: list[Finding]) -> list[Finding]:
    """Findings made outside a :class:`FileContext` (cross-file checks), capped the same way:
    past :data:`MAX_PER_RULE` per code and file, one summary finding stands for the rest."""
    kept: list[Finding] = []
    counts: dict[tuple[str, str | None], int] = {}
    rest: dict[tuple[str, str | None], list[Finding]] = {}
    for finding in findings:
        group = (finding.code, finding.path)
        counts[group] = counts.get(group, 0) + 1
        if counts[group] <= MAX_PER_RULE:
            kept.append(finding)
        else:
            rest.setdefault(group, []).append(finding)
    for (code, path), folded in rest.items():
        first = folded[0]
        worst = min((f.severity for f in folded), key=lambda s: s.rank)
        name = path.rsplit("/", 1)[-1] if path else "this workspace"
        kept.append(first.replace(message=_folded_message(code, len(folded), name), severity=worst))
    return kept


def dotted(path: Path) -> str:
    """``permissions.allow[3]`` from ``("permissions", "allow", 3)``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    if len(name) > MAX_SUGGESTED_NAME:
        return None
    options = list(candidates)
    lowered = {c.lower(): c for c in options}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return lowered[name.lower()]
    import difflib  # only for an unknown name; the SessionStart hook imports this module

    close = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
    return close[0] if close else None
