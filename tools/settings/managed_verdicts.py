"""Which managed settings source Claude Code applies, as settings findings.

Every managed source is judged like any settings file (:mod:`validate`); this adds what only
the precedence between sources decides: a source that a higher one shadows is not loaded
(S020), an MDM profile or registry value that cannot be used at all says why (S021), and
positions inside a plist, which the validator sees as JSON, are dropped as meaningless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_health.tools import causes
from claude_health.tools.files import TextRead, read_text
from claude_health.tools.findings import Finding
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.discovery import ConfigFile

if TYPE_CHECKING:
    from claude_health.tools.settings.validate import FileResult


def source_text(cfg: ConfigFile) -> TextRead:
    """The text to judge: the file, or the JSON an MDM profile or registry value holds (a managed
    source as read when its precedence was decided)."""
    if cfg.source is not None:
        return cfg.source.text_read()
    return read_text(cfg.path)


def managed_verdicts(results: list[FileResult], findings: list[Finding]) -> list[Finding]:
    """``findings`` with plist positions dropped and the precedence verdicts added."""
    plists = {str(r.file.path) for r in results if r.file.source and r.file.source.origin == "plist"}
    out = [f.replace(line=None, column=None) if f.path in plists else f for f in findings]
    for result in results:
        source = result.file.source
        if source is None or not result.file.exists or source.applied:
            continue
        result.loaded = False
        where = source.location
        if source.problem is not None and source.origin != "file":
            out.append(
                R.MANAGED_SOURCE_UNREADABLE.finding(
                    f"{source.name} {where} {source.problem}; Claude Code takes no settings from it.",
                    path=where,
                    cause=causes.ignored_file(where),
                )
            )
        elif source.present:
            out.append(
                R.MANAGED_SOURCE_NOT_APPLIED.finding(
                    f"{source.name} {where} is {source.note or 'not applied'}.",
                    path=where,
                    cause=causes.ignored_file(where),
                )
            )
    return out
