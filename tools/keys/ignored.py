"""Files that should be ignored by git but are not: `.env*` and `.claude/settings.local.json`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from claude_health.tools.findings import Finding
from claude_health.tools.gitsafe import git
from claude_health.tools.keys.rules import ENV_FILE_NOT_IGNORED, LOCAL_SETTINGS_NOT_IGNORED
from claude_health.tools.keys.tree import FileList

# Templates are meant to be committed.
TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl", ".schema")
LOCAL_SETTINGS = ".claude/settings.local.json"


def is_env_file(rel: str) -> bool:
    name = PurePosixPath(rel).name
    return name.startswith(".env") and not name.lower().endswith(TEMPLATE_SUFFIXES)


@dataclass(frozen=True, slots=True)
class IgnoreSource:
    """The ignore rule that matches a path: which file, which line, and whose file it is."""

    file: str  # as git names it: relative to the repository, or absolute for a global excludes file
    line: int
    scope: str  # project | clone | personal

    def describe(self) -> str:
        where = f"{self.file}:{self.line}"
        if self.scope == "personal":
            return f"your global excludes file ({where})"
        if self.scope == "clone":
            return f"this clone's {where}"
        return where


def ignore_source(root: Path, rel: str) -> IgnoreSource | None:
    """The rule that ignores ``rel`` even if it is tracked (``check-ignore -v --no-index``), or None.

    A global excludes file (``core.excludesFile``, default ``~/.config/git/ignore``) is named with
    its absolute path: it protects this user's clones only, unlike the project's .gitignore.
    """
    result = git(
        ["check-ignore", "-v", "-z", "--no-index", "--stdin"],
        root,
        timeout=10,
        stdin=os.fsencode(rel) + b"\0",
    )
    if not result.ok:
        return None
    fields = result.stdout.split(b"\0")  # source, line, pattern, path (NUL-separated: any name works)
    if len(fields) < 3:
        return None
    source, number, pattern = os.fsdecode(fields[0]), fields[1].decode("ascii", "replace"), fields[2]
    if not source or pattern.startswith(b"!") or not number.isdigit():
        return None  # a negated pattern matched last: the path is not ignored
    if PurePosixPath(source).is_absolute() or Path(source).is_absolute():
        scope = "personal"
    elif source.startswith(".git/"):
        scope = "clone"
    else:
        scope = "project"
    return IgnoreSource(source, int(number), scope)


def _not_ignored(root: Path, rel: str) -> bool:
    """`git check-ignore` exits 1 when no ignore rule matches (0 when ignored)."""
    result = git(["check-ignore", "-q", "--", rel], root, timeout=10)
    return not result.ok and result.error is not None and result.error.startswith("exit 1")


def _message(rel: str, tracked: bool, source: IgnoreSource | None) -> str:
    if tracked and source is not None:
        lists = f"{source.describe()} lists it"
        message = f"{rel} is tracked by git although {lists} (ignore rules do not untrack files)."
        if source.scope != "project":
            message += " That file is not part of the project, so other clones do not ignore it either."
        return message
    if tracked:
        return f"{rel} is tracked by git."
    return f"{rel} is not ignored by git: the next `git add .` commits it."


def ignore_findings(listing: FileList) -> list[Finding]:
    if not listing.in_git:
        return []
    root = listing.root
    findings: list[Finding] = []
    listed = set(listing.relative())
    for rel in sorted(listed):
        if not is_env_file(rel):
            continue
        tracked = rel in listing.tracked
        findings.append(
            ENV_FILE_NOT_IGNORED.finding(
                _message(rel, tracked, ignore_source(root, rel) if tracked else None), path=str(root / rel)
            )
        )
    local = root / LOCAL_SETTINGS
    if local.is_file():
        tracked = LOCAL_SETTINGS in listing.tracked
        if tracked or _not_ignored(root, LOCAL_SETTINGS):
            findings.append(
                LOCAL_SETTINGS_NOT_IGNORED.finding(
                    _message(
                        LOCAL_SETTINGS, tracked, ignore_source(root, LOCAL_SETTINGS) if tracked else None
                    ),
                    path=str(local),
                )
            )
    return findings
