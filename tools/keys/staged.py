"""The git index: what the next commit will contain (the pre-commit hook's view).

The staged blobs are read with one ``git cat-file --batch`` call, not from the working tree,
so a key that was staged and then deleted from the file is still caught.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from claude_health.tools.gitsafe import git, split_z
from claude_health.tools.keys.formats import decodes_escapes
from claude_health.tools.keys.scanner import BINARY_SNIFF, Hit, scan_bytes


@dataclass(frozen=True, slots=True)
class StagedFile:
    rel: str  # repository-relative POSIX path
    hits: tuple[Hit, ...]
    size: int
    binary: bool


@dataclass
class StagedScan:
    root: Path | None
    files: list[StagedFile]
    problem: str | None = None


def scan_staged(project: Path) -> StagedScan:
    top = git(["rev-parse", "--show-toplevel"], project, timeout=10)
    if not top.ok:
        return StagedScan(None, [], problem=f"--staged needs a git repository ({top.error})")
    root = Path(top.stdout.decode("utf-8", "surrogateescape").strip())
    names = git(["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR", "--no-renames"], root)
    if not names.ok:
        return StagedScan(root, [], problem=f"git diff --cached failed: {names.error}")
    rels = [r for r in split_z(names.stdout) if "\n" not in r]
    if not rels:
        return StagedScan(root, [])
    batch = git(["cat-file", "--batch"], root, stdin="".join(f":{r}\n" for r in rels).encode())
    if not batch.ok:
        return StagedScan(root, [], problem=f"git cat-file failed: {batch.error}")
    return StagedScan(root, list(_parse_batch(batch.stdout, rels)))


def _parse_batch(out: bytes, rels: list[str]) -> list[StagedFile]:
    files: list[StagedFile] = []
    pos = 0
    for rel in rels:
        end = out.find(b"\n", pos)
        if end < 0:
            break
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3 or not header[2].isdigit():  # "<name> missing" (e.g. a submodule)
            continue
        size = int(header[2])
        blob = out[pos : pos + size]
        pos += size + 1
        if header[1] != b"blob":
            continue
        binary = b"\0" in blob[:BINARY_SNIFF]
        hits = () if binary else tuple(scan_bytes(blob, escapes=decodes_escapes(rel)))
        files.append(StagedFile(rel, hits, size, binary))
    return files
