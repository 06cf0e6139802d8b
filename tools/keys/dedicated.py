"""Which listed files the tree scan reads: all but those a more specific check covers.

Paths only (settings, shell start-up files, transcript folders, shell histories), so the
process that lists and scans the tree (the CLI's early child, see :mod:`.early`) decides what to
read without importing the checks themselves, their findings or their rules.
"""

from __future__ import annotations

import os

from claude_health.tools.keys.history_files import history_files
from claude_health.tools.keys.locations import committed_config_files, settings_files, shell_startup_files
from claude_health.tools.keys.tree import FileList
from claude_health.tools.paths import Workspace


def own_check_places(
    ws: Workspace, transcripts: bool, shell_history: bool
) -> tuple[tuple[str, ...], set[str]]:
    """Folders and files the tree scan leaves to the transcript and shell-history checks."""
    dirs: tuple[str, ...] = ()
    files: set[str] = set()
    if transcripts:  # paths only: the checks themselves are imported by the scan that runs them
        from claude_health.tools.usage.discovery import transcript_roots

        dirs = tuple(str(root) + os.sep for root in transcript_roots(ws.env, ws.home))
    if shell_history:
        files = {str(h.path) for h in history_files(ws)}
    return dirs, files


def tree_files(
    ws: Workspace, listing: FileList, *, transcripts: bool = True, shell_history: bool = True
) -> list[str]:
    """The listed files the tree scan reads: all but those a more specific check covers."""
    # Files with their own, more specific checks (K002/K003, K006, K007), and Claude Code's own
    # credential store, which is where OAuth tokens belong (when the project is the home folder).
    dedicated = {
        str(p)
        for p in (
            *committed_config_files(ws),
            *(path for _, path in settings_files(ws)),
            *shell_startup_files(ws),
            ws.credentials_file,
        )
    }
    # Transcripts and shell histories have their own incremental checks (K015, K016).
    own_dirs, own_files = own_check_places(ws, transcripts, shell_history)
    dedicated |= own_files
    return [p for p in listing.files if p not in dedicated and not p.startswith(own_dirs)]
