"""Per-file validation state: the parsed document, its findings, and whether Claude Code loads it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from claude_health.tools.findings import Finding, Rule, Severity
from claude_health.tools.paths import Workspace
from claude_health.tools.settings.discovery import ConfigFile
from claude_health.tools.settings.jsonpos import Document, Path


@dataclass
class FileContext:
    file: ConfigFile
    doc: Document
    ws: Workspace
    findings: list[Finding] = field(default_factory=list)
    rejected: bool = False  # Claude Code ignores the whole file

    @property
    def scope(self) -> str:
        return self.file.scope

    @property
    def managed(self) -> bool:
        return self.file.scope == "managed"

    def emit(
        self,
        rule: Rule,
        message: str,
        at: Path = (),
        *,
        key: bool = False,
        severity: Severity | None = None,
        hint: str | None = None,
    ) -> None:
        pos = self.doc.key_pos(at) if key else self.doc.value_pos(at)
        finding = rule.finding(
            message,
            severity=severity,
            path=str(self.file.path),
            line=pos.line,
            column=pos.column,
            hint=hint,
        )
        if finding.severity is Severity.ERROR:
            self.rejected = True
        self.findings.append(finding)


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
    options = list(candidates)
    lowered = {c.lower(): c for c in options}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return lowered[name.lower()]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
    return close[0] if close else None
