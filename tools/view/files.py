"""Every config file Claude Code reads, with its load verdict and the findings that explain it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from claude_health.tools.findings import Finding, Severity
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.validate import FileResult, Validation

Verdict = Literal["absent", "loaded", "partial", "ignored", "unjudged"]

# Findings that mean Claude Code drops part of a file it loads (an entry, a key, a value).
DROPPING = frozenset(
    rule.code
    for rule in (
        R.WRONG_TYPE,  # in managed settings: the key is dropped, the rest applies
        R.VALUE_IGNORED,
        R.UNKNOWN_KEY,
        R.MANAGED_ONLY,
        R.SILENTLY_IGNORED,
        R.INVALID_RULE,
        R.NON_STRING_RULE,
        R.INVALID_HOOK,
        R.UNKNOWN_EVENT,
        R.HOOKS_SHAPE,
        R.HOOK_FIELD_DROPPED,
        R.SERVERS_KEY,
        R.INVALID_SERVER,
        R.URL_ONLY_SERVER,
        R.INVALID_FILTER_ENTRY,
    )
)


# Warnings that still mean the whole file is not loaded: from where it is, or by precedence.
NOT_LOADED = frozenset(
    rule.code for rule in (R.LEGACY_MANAGED_PATH, R.MANAGED_SOURCE_NOT_APPLIED, R.MANAGED_SOURCE_UNREADABLE)
)


@dataclass(frozen=True, slots=True)
class FileVerdict:
    """One config file and what Claude Code does with it.

    ``verdict``: ``loaded``; ``partial`` (loaded, with entries dropped); ``ignored`` (whole file,
    or never read from where it is; for managed settings Claude Code refuses to start, unless the
    source is :attr:`not_applied`: shadowed by a higher managed source); ``unjudged`` (over
    claude-health's safety limit: Claude Code reads it, what it holds is unknown, so nothing is
    concluded from it); ``absent``.
    ``findings`` say why: the errors that reject it, or what is dropped.
    """

    scope: str
    kind: str
    path: Path
    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    note: str | None = None
    result: FileResult | None = None  # the validator's record: raw and kept data, positions

    @property
    def exists(self) -> bool:
        return self.verdict != "absent"

    @property
    def loaded(self) -> bool:
        return self.verdict in ("loaded", "partial")

    @property
    def not_applied(self) -> bool:
        """A managed source Claude Code does not take its settings from: a higher source wins
        ("first source wins"), or the MDM profile or registry policy cannot be used (S020, S021).
        Unlike another ignored managed file, this does not stop Claude Code from starting."""
        source = self.result.file.source if self.result is not None else None
        return source is not None and self.exists and not source.applied

    @property
    def raw(self) -> dict[str, Any] | None:
        """The document as written, when it parses as a JSON object (even if Claude Code ignores it)."""
        return self.result.raw if self.result is not None else None

    @property
    def data(self) -> dict[str, Any] | None:
        """What Claude Code keeps of it (dropped entries removed); None when it is not loaded."""
        if not self.loaded or self.result is None:
            return None
        return self.result.data if self.result.data is not None else self.result.raw

    def reasons(self) -> list[str]:
        return [f.message for f in self.findings]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scope": self.scope, "kind": self.kind, "path": str(self.path)}
        out["verdict"] = self.verdict
        if self.findings:
            out["why"] = self.reasons()
        if self.note:
            out["note"] = self.note
        return out


def verdicts(validation: Validation) -> tuple[FileVerdict, ...]:
    by_path: dict[str, list[Finding]] = {}
    for finding in validation.findings:
        if finding.path:
            by_path.setdefault(finding.path, []).append(finding)
    out: list[FileVerdict] = []
    for result in validation.files:
        cfg = result.file
        found = by_path.get(str(cfg.path), [])
        too_large = [f for f in found if f.code == R.TOO_LARGE.code]
        if result.loaded is None and too_large:
            verdict: Verdict = "unjudged"
            why: list[Finding] = too_large
        elif result.loaded is None:  # absent (or gone between listing and reading)
            verdict = "absent"
            why = []
        elif result.loaded is False:
            verdict = "ignored"
            why = [f for f in found if f.severity is Severity.ERROR or f.code in NOT_LOADED]
        else:
            why = [f for f in found if f.code in DROPPING]
            verdict = "partial" if why else "loaded"
        out.append(FileVerdict(cfg.scope, cfg.kind, cfg.path, verdict, tuple(why), cfg.note, result))
    return tuple(out)
