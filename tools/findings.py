"""The findings model every check shares, and the report that bundles them.

A finding is one observation about the user's setup with a stable ``code`` (documented once in
the rule catalogue), a severity that mirrors the real consequence, and where possible the file,
line and column it is about plus a hint that says how to fix it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from claude_health.tools.records import describe, to_json


class Severity(StrEnum):
    """How bad a finding is, judged by what Claude Code (or the API) actually does."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One observation. Optional credential fields are set only by key-hygiene checks."""

    # A plain dataclass, not a pydantic model (see tools/records.py): reporting findings must
    # not cost the CLI a pydantic import. The docstring above is the MCP schema's description.

    code: str = field(
        metadata=describe("Stable rule code, e.g. A001; `claude-health rules CODE` explains it.")
    )
    severity: Severity
    title: str = field(metadata=describe("The rule's short title."))
    message: str = field(metadata=describe("What was found, specific to this occurrence."))
    path: str | None = field(default=None, metadata=describe("Absolute path of the file concerned."))
    line: int | None = field(default=None, metadata=describe("1-based line.", ge=1))
    column: int | None = field(default=None, metadata=describe("1-based column.", ge=1))
    hint: str | None = field(default=None, metadata=describe("How to fix it."))
    check: str | None = field(
        default=None, metadata=describe("The check that produced it (auth, settings, ...).")
    )
    # Credential findings (key hygiene). The key itself never appears: only these.
    kind: str | None = field(default=None, metadata=describe("Credential kind, e.g. api_key."))
    redacted: str | None = field(default=None, metadata=describe("Prefix and last 4 characters only."))
    fingerprint: str | None = field(default=None, metadata=describe("Short hash that identifies a key."))
    commit: str | None = field(default=None, metadata=describe("Git commit, for findings from history."))
    cause: str | None = field(
        default=None,
        metadata=describe(
            "What the finding is about, as a key shared by every finding with the same root cause "
            "(env:NAME, file-ignored:PATH, mcp:NAME, key:FINGERPRINT, ...): the doctor groups by it."
        ),
    )

    def __post_init__(self) -> None:
        if (self.line is not None and self.line < 1) or (self.column is not None and self.column < 1):
            raise ValueError(f"{self.code}: line and column are 1-based (got {self.line}:{self.column})")

    def sort_key(self) -> tuple[int, str, str, int, int]:
        return (self.severity.rank, self.code, self.path or "", self.line or 0, self.column or 0)

    def to_json(self) -> dict[str, Any]:
        """The finding as JSON-ready data, without the fields that are not set."""
        # records.to_json, field by field: its generic walk (a dataclass check and a recursion
        # per field) cost a key scan's report of 300 findings 3.5 ms, a tenth of its output.
        data: dict[str, Any] = {}
        for name in _FINDING_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            kind = type(value)
            data[name] = value if kind is str or kind is int else to_json(value, exclude_none=True)
        return data

    def replace(self, **changes: Any) -> Finding:
        return dataclasses.replace(self, **changes)


_FINDING_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))


@dataclass(frozen=True, slots=True)
class Rule:
    """A documented finding code: what it means, why it matters, how to fix it.

    Checks create findings through :meth:`finding`, so every emitted code is documented.
    """

    code: str
    title: str
    severity: Severity
    what: str
    why: str
    fix: str
    check: str

    def finding(
        self,
        message: str,
        *,
        severity: Severity | None = None,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
        kind: str | None = None,
        redacted: str | None = None,
        fingerprint: str | None = None,
        commit: str | None = None,
        cause: str | None = None,
    ) -> Finding:
        return Finding(
            code=self.code,
            severity=severity or self.severity,
            title=self.title,
            message=message,
            path=path,
            line=line,
            column=column,
            hint=hint if hint is not None else self.fix,
            check=self.check,
            kind=kind,
            redacted=redacted,
            fingerprint=fingerprint,
            commit=commit,
            cause=cause,
        )


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts by severity and the verdict that drives the exit code."""

    errors: int = 0
    warnings: int = 0
    infos: int = 0
    total: int = 0
    healthy: bool = field(default=True, metadata=describe("No errors and no warnings."))

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Summary:
        counts = {Severity.ERROR: 0, Severity.WARNING: 0, Severity.INFO: 0}
        for f in findings:
            counts[f.severity] += 1
        errors, warnings, infos = counts[Severity.ERROR], counts[Severity.WARNING], counts[Severity.INFO]
        return cls(
            errors=errors,
            warnings=warnings,
            infos=infos,
            total=errors + warnings + infos,
            healthy=errors == 0 and warnings == 0,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_json(self)
        return data

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 problems found (usage errors, 2, are the CLI's business)."""
        return 0 if self.healthy else 1


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by code and location, so output is stable across runs."""
    return sorted(findings, key=Finding.sort_key)
