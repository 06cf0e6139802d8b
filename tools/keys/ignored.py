"""Files that should be ignored by git but are not: `.env*` and `.claude/settings.local.json`."""

from __future__ import annotations

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


def _matches_ignore_rules(root: Path, rel: str) -> bool:
    """True when .gitignore lists the path even though it is tracked (so it stays committed)."""
    return git(["check-ignore", "-q", "--no-index", "--", rel], root, timeout=10).ok


def _not_ignored(root: Path, rel: str) -> bool:
    """`git check-ignore` exits 1 when no ignore rule matches (0 when ignored)."""
    result = git(["check-ignore", "-q", "--", rel], root, timeout=10)
    return not result.ok and result.error is not None and result.error.startswith("exit 1")


def _message(rel: str, tracked: bool, listed_in_gitignore: bool) -> str:
    if tracked and listed_in_gitignore:
        return f"{rel} is tracked by git although .gitignore lists it (ignore rules do not untrack files)."
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
                _message(rel, tracked, tracked and _matches_ignore_rules(root, rel)), path=str(root / rel)
            )
        )
    local = root / LOCAL_SETTINGS
    if local.is_file():
        tracked = LOCAL_SETTINGS in listing.tracked
        if tracked or _not_ignored(root, LOCAL_SETTINGS):
            findings.append(
                LOCAL_SETTINGS_NOT_IGNORED.finding(
                    _message(
                        LOCAL_SETTINGS, tracked, tracked and _matches_ignore_rules(root, LOCAL_SETTINGS)
                    ),
                    path=str(local),
                )
            )
    return findings
