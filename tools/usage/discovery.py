"""Where Claude Code writes transcripts: every ``projects/`` tree of every configuration directory."""

from __future__ import annotations

import os
import time
import unicodedata
from collections import namedtuple
from collections.abc import Iterator, Mapping

# Plain strings and named tuples, no pathlib or dataclasses: a warm usage report runs this in a
# new process, where importing those (pathlib loads urllib.parse and ipaddress, dataclasses
# loads inspect) cost more than listing a thousand transcripts.
TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing; type checkers honour this name
if TYPE_CHECKING:
    from typing import NamedTuple

    class TranscriptFile(NamedTuple):
        """One ``*.jsonl`` file and the project folder (encoded cwd) it belongs to.

        ``path`` is a plain string: a warm run visits thousands of files to read a few of
        them, and building a ``Path`` for each cost a third of an MCP server's warm report.
        """

        path: str
        project: str
        root: str

else:
    TranscriptFile = namedtuple("TranscriptFile", ["path", "project", "root"])

PROJECTS = "projects"


def clean_path(value: str) -> str:
    """``value`` spelled as ``pathlib`` spells it: no empty or ``.`` parts, no trailing separator
    (``..`` is kept: it is not lexical once symlinks are involved)."""
    sep = os.sep
    if os.altsep:
        value = value.replace(os.altsep, sep)
    drive, rest = os.path.splitdrive(value)
    lead = sep if rest.startswith(sep) else ""
    parts = [p for p in rest.split(sep) if p and p != "."]
    return drive + lead + sep.join(parts) if parts or lead or drive else "."


def transcript_roots(env: Mapping[str, str], home: str | os.PathLike[str]) -> list[str]:
    """``projects`` directories to scan, existing ones only, each real directory once.

    Unlike ccusage (which ignores the defaults once ``CLAUDE_CONFIG_DIR`` is set) the defaults
    are always read too: deduplication makes overlap harmless, and a user who once ran with a
    different config dir still wants that history counted.
    """
    join = os.path.join
    home_dir = os.fspath(home)
    candidates: list[str] = []
    for raw in env.get("CLAUDE_CONFIG_DIR", "").split(","):
        value = unicodedata.normalize("NFC", raw.strip())
        if value:
            base = clean_path(os.path.expanduser(value))
            # Monitors accept either the config dir or its projects/ folder.
            candidates.append(base if os.path.basename(base) == PROJECTS else join(base, PROJECTS))
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    config = clean_path(os.path.expanduser(xdg)) if xdg else join(home_dir, ".config")
    candidates.append(clean_path(join(config, "claude", PROJECTS)))
    candidates.append(clean_path(join(home_dir, ".claude", PROJECTS)))
    roots: list[str] = []
    seen: set[str] = set()
    for cand in candidates:
        try:
            if not os.path.isdir(cand):
                continue
            real = os.path.realpath(cand)
        except (OSError, ValueError):
            continue
        if real not in seen:
            seen.add(real)
            roots.append(cand)
    return roots


# dirpath -> (mtime_ns when listed, when listed, files (name, is_link), subdirectory names)
DirCache = dict[str, tuple[int, int, list[tuple[str, bool]], list[str]]]
# A listing is reused only if the directory was last changed this long before it was taken:
# a file created in the same clock tick as the listing could otherwise go unseen.
RACY_NS = 2_000_000_000


def iter_transcripts(
    roots: list[str] | list[os.PathLike[str]], dir_cache: DirCache | None = None
) -> Iterator[TranscriptFile]:
    """Every ``*.jsonl`` below each root, subagent transcripts included.

    Directory symlinks are not followed (as ``os.walk``), so a symlink loop cannot trap the walk;
    files are visited once per real path even when roots overlap. Only each root and each
    symlinked file are resolved (a ``realpath`` per file costs a ``lstat`` per path component,
    thousands of calls on every run); below a root, real paths are built by joining names.
    ``dir_cache`` (kept by a long-running process) lets a directory whose modification time has
    not changed be reused instead of listed again.
    """
    seen: set[str] = set()
    for root in roots:
        try:
            real_root = os.path.realpath(root)
        except OSError:
            continue
        top = os.fspath(root)
        for path, project, real in _listing(top, real_root, len(roots) > 1, dir_cache):
            if real is not None:  # a symlinked file, or several roots: visit each real file once
                if real in seen:
                    continue
                seen.add(real)
            yield TranscriptFile(path, project, top)


def _entries(dirpath: str, dir_cache: DirCache | None) -> tuple[list[tuple[str, bool]], list[str]] | None:
    """``(files, subdirectories)`` of one directory, sorted; None if it cannot be listed."""
    if dir_cache is not None:
        try:
            mtime = os.stat(dirpath).st_mtime_ns
        except OSError:
            return None
        kept = dir_cache.get(dirpath)
        if kept is not None and kept[0] == mtime and mtime < kept[1] - RACY_NS:
            return kept[2], kept[3]
    listed_at = time.time_ns()
    try:
        with os.scandir(dirpath) as it:
            entries = list(it)
    except OSError:
        return None
    subdirs: list[str] = []
    files: list[tuple[str, bool]] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
            is_link = entry.is_symlink()
        except OSError:
            is_dir = is_link = False
        if is_dir:
            if not is_link:
                subdirs.append(entry.name)
        elif entry.name.endswith(".jsonl"):
            files.append((entry.name, is_link))
    files.sort()
    subdirs.sort(reverse=True)
    if dir_cache is not None:
        dir_cache[dirpath] = (mtime, listed_at, files, subdirs)
    return files, subdirs


def _listing(
    top: str, real_top: str, overlap: bool, dir_cache: DirCache | None
) -> list[tuple[str, str, str | None]]:
    """``(path, project, real path or None)`` of every transcript below ``top``, depth first.

    A warm report lists thousands of files to read a few: a loop over ``os.scandir`` with plain
    tuples, no generator per directory. The real path is only worked out when it can matter.
    """
    out: list[tuple[str, str, str | None]] = []
    sep = os.sep
    stack: list[tuple[str, str, str]] = [(top, real_top, "")]
    while stack:
        dirpath, real_dir, project = stack.pop()
        listed = _entries(dirpath, dir_cache)
        if listed is None:
            continue
        files, subdirs = listed
        for name, is_link in files:
            full = f"{dirpath}{sep}{name}"
            if is_link:
                try:
                    real: str | None = os.path.realpath(full)
                except OSError:
                    continue
            else:
                real = f"{real_dir}{sep}{name}" if overlap else None
            out.append((full, project or "(root)", real))
        # Reversed onto the stack (sorted so), so directories are visited in name order.
        for name in subdirs:
            # Not a symlink (those are not followed), so its real path is its parent's plus its name.
            stack.append((f"{dirpath}{sep}{name}", f"{real_dir}{sep}{name}", project or name))
    return out
