"""The key scan's part of the SessionStart verdict: Anthropic keys leaked in the project tree or
its shared config (K001, K002), on small trees only.

Its inputs are the project's files and where they are, not the variables the auth route reads,
so :mod:`.session_start` caches it apart from the rest of the verdict (``guard_keys``): a new
variable or a settings edit re-decides who pays and what the settings lose without listing and
reading the tree again (nor importing the scan). The findings are the key scan's own
(:mod:`claude_health.tools.keys.leaks`): the doctor's `keys` check says the same about the same
files.
"""

from __future__ import annotations

from pathlib import Path

from claude_health.tools.findings import Severity
from claude_health.tools.guard.facts import KeyScan, Problem
from claude_health.tools.keys.leaks import LEAK_CODES, leak_findings
from claude_health.tools.keys.locations import committed_config_files
from claude_health.tools.keys.tree import list_files
from claude_health.tools.paths import Workspace

# A key scan runs inside the SessionStart hook only on trees this small; the doctor and
# `claude-health keys` cover larger ones.
KEY_SCAN_MAX_FILES = 2000


def scan(ws: Workspace) -> KeyScan:
    """The scan's verdict now, with the files whose change invalidates it."""
    problems, note = key_problems(ws)
    return KeyScan(problems=problems, note=note, depends_on=[str(p) for p in dependencies(ws)])


def key_problems(ws: Workspace) -> tuple[list[Problem], str | None]:
    """Anthropic keys leaked in the project tree or its shared config (small trees only), and why
    the scan did not run when it did not."""
    too_many: tuple[list[Problem], str | None] = (
        [],
        f"more than {KEY_SCAN_MAX_FILES} files: run `claude-health keys` for the project's key scan",
    )
    # Outside git (or where git cannot list) the walk stops past the cap: the project may be a
    # home folder. Inside, git's list is the count (ignored folders such as node_modules are not
    # in it).
    listing = list_files(ws.project, tracked=False, limit=KEY_SCAN_MAX_FILES)
    if listing.truncated or len(listing.files) > KEY_SCAN_MAX_FILES:
        return too_many
    problems = [
        Problem(f.code, f.message, f.path)
        for f in leak_findings(ws, listing)
        if f.code in LEAK_CODES and f.severity == Severity.ERROR
    ]
    return problems, None


def dependencies(ws: Workspace) -> list[Path]:
    """Files whose change can change :func:`scan`: the committed config it reads, the project's
    ``.env`` (where a pasted key most often lands), and git's index and HEAD (what is tracked).
    Another untracked file changes none of them: the verdict's hour covers it."""
    paths = [*committed_config_files(ws), ws.project / ".env"]
    root = ws.git_root
    if root is not None:
        paths += [root / ".git" / "index", root / ".git" / "HEAD"]
    return paths
