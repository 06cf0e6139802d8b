"""Which deny and ask rules a settings file means to set, and which Claude Code actually applies.

A file Claude Code ignores (invalid JSON, one wrong type) contributes none of its rules; a rule
its validator rejects is skipped alone. Deny and ask arrays merge across every loaded file, so a
rule lost from one file still applies when another loaded file has it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claude_health.tools.settings.discovery import SETTINGS
from claude_health.tools.settings.validate import FileResult, Validation

BEHAVIOURS = ("deny", "ask")


def _rules(data: dict[str, Any] | None, behaviour: str) -> list[str]:
    perms = (data or {}).get("permissions")
    values = perms.get(behaviour) if isinstance(perms, dict) else None
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def intended(result: FileResult) -> dict[str, list[str]]:
    """The rules written in the file (empty when it does not parse)."""
    return {b: _rules(result.raw, b) for b in BEHAVIOURS}


def applied(result: FileResult) -> dict[str, list[str]]:
    """The rules Claude Code keeps from the file (none when it ignores the file)."""
    if not result.loaded:
        return {b: [] for b in BEHAVIOURS}
    return {b: _rules(result.data, b) for b in BEHAVIOURS}


def merged(validation: Validation) -> dict[str, set[str]]:
    """Every deny and ask rule in force, from all loaded settings files."""
    out: dict[str, set[str]] = {b: set() for b in BEHAVIOURS}
    for result in validation.settings_files():
        for behaviour, rules in applied(result).items():
            out[behaviour].update(rules)
    return out


@dataclass(frozen=True)
class LostRules:
    """Rules of one file that do not apply, and why."""

    path: str
    scope: str
    ignored: bool  # the whole file is ignored
    deny: tuple[str, ...]
    ask: tuple[str, ...]

    @property
    def any(self) -> bool:
        return bool(self.deny or self.ask)

    def describe(self, limit: int = 6) -> str:
        """``deny Bash(rm *), Read(.env); ask Bash(git push *)`` (capped)."""
        parts = []
        for behaviour, rules in (("deny", self.deny), ("ask", self.ask)):
            if rules:
                shown = ", ".join(rules[:limit]) + (
                    f" and {len(rules) - limit} more" if len(rules) > limit else ""
                )
                parts.append(f"{behaviour} {shown}")
        return "; ".join(parts)


def settings_results(validation: Validation) -> list[FileResult]:
    """User, project and local settings files that exist (managed ones: a bad key drops only itself)."""
    return [
        r
        for r in validation.files
        if r.file.kind == SETTINGS and r.file.scope != "managed" and r.loaded is not None
    ]


def lost_rules(
    validation: Validation, result: FileResult, before: dict[str, list[str]] | None = None
) -> LostRules:
    """The file's deny/ask rules that are not in force now.

    Without ``before``: the rules written in the file that Claude Code does not apply. With
    ``before`` (what applied before an edit): those too, plus the earlier rules that no longer
    apply when the file cannot be read any more (a rule deliberately deleted from a file that
    still loads is not lost).
    """
    now = merged(validation)
    written = intended(result)
    kept = applied(result)
    lost: dict[str, list[str]] = {}
    for behaviour in BEHAVIOURS:
        candidates = list(written[behaviour])
        if before is not None and (not result.loaded or result.raw is None):
            candidates += [r for r in before.get(behaviour, []) if r not in candidates]
        elif before is not None:
            candidates += [
                r for r in before.get(behaviour, []) if r in written[behaviour] and r not in candidates
            ]
        lost[behaviour] = [r for r in candidates if r not in kept[behaviour] and r not in now[behaviour]]
    return LostRules(
        path=str(result.file.path),
        scope=result.file.scope,
        ignored=result.loaded is False,
        deny=tuple(lost["deny"]),
        ask=tuple(lost["ask"]),
    )
