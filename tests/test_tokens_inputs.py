"""Collecting files to count: globs, directories, hostile paths, unreadable and odd files."""

from __future__ import annotations

import os
from pathlib import Path

from claude_health.tools.tokens.counter import count_files
from claude_health.tools.tokens.inputs import _read, collect
from tests.conftest import Sandbox
from tests.test_tokens_estimator import png


def paths(sandbox: Sandbox, *args: str, confine: bool = False, **kw: int) -> list[str]:
    return [f.display for f in collect(list(args), sandbox.project, confine=confine, **kw).files]


def test_directories_skip_vcs_and_caches(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "src" / "a.py", "a = 1")
    sandbox.write(sandbox.project / ".git" / "config", "[core]")
    sandbox.write(sandbox.project / "node_modules" / "x" / "index.js", "x")
    sandbox.write(sandbox.project / "src" / "__pycache__" / "a.pyc", b"\x00")
    assert paths(sandbox, ".") == ["src/a.py"]


def test_globs_recursive_and_deduplicated(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "docs" / "a.md", "a")
    sandbox.write(sandbox.project / "docs" / "deep" / "b.md", "b")
    assert paths(sandbox, "docs/**/*.md", "docs/a.md") == ["docs/a.md", "docs/deep/b.md"]
    out = collect(["*.nothing"], sandbox.project)
    assert out.files == [] and out.problems == ["*.nothing: no file matches"]


def test_confined_paths_never_leave_the_project(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.root / "outside.txt", "secret")
    (sandbox.project / "link.txt").symlink_to(sandbox.root / "outside.txt")
    sandbox.write(sandbox.project / "inside.txt", "fine")
    out = collect(
        ["../outside.txt", "link.txt", "/etc/*", "../*.txt", "inside.txt"], sandbox.project, confine=True
    )
    assert [f.display for f in out.files] == ["inside.txt"]
    assert len(out.problems) == 4 and all("outside the project" in p for p in out.problems)
    # the CLI (the user's own command) may read outside the project
    assert "link.txt" in paths(sandbox, "link.txt")


def test_symlink_loops_and_dangling_links(sandbox: Sandbox) -> None:
    loop_dir = sandbox.project / "loop"
    loop_dir.mkdir()
    (loop_dir / "self").symlink_to(loop_dir)
    (sandbox.project / "dangling.md").symlink_to(sandbox.project / "gone.md")
    sandbox.write(sandbox.project / "ok.md", "ok")
    out = collect(["."], sandbox.project)
    by = {f.display: f for f in out.files}
    assert by["dangling.md"].skipped == "symbolic link that does not resolve"
    assert by["ok.md"].data == b"ok"


def test_size_limit_and_file_cap(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "big.txt", "x" * 2000)
    sandbox.write(sandbox.project / "small.txt", "y")
    out = collect(["."], sandbox.project, max_file_bytes=1000)
    big = next(f for f in out.files if f.display == "big.txt")
    assert big.skipped is not None and "over the 1,000-byte limit" in big.skipped
    capped = collect(["."], sandbox.project, max_files=1)
    assert capped.truncated and len(capped.files) == 1


def test_read_errors_become_skip_reasons(sandbox: Sandbox) -> None:
    # Reading a directory fails with EISDIR whoever runs the test (root ignores file modes).
    directory = sandbox.project / "adir"
    directory.mkdir()
    row = _read(directory, "adir", 1 << 20)
    assert row.data is None and row.skipped is not None and row.skipped.startswith("cannot be read")


def test_fifo_is_not_read(sandbox: Sandbox) -> None:
    os.mkfifo(sandbox.project / "pipe")
    sandbox.write(sandbox.project / "ok.md", "ok")
    assert paths(sandbox, ".") == ["ok.md"]  # reading a FIFO would block forever


def test_nul_in_path_is_refused(sandbox: Sandbox) -> None:
    out = collect(["a\x00b"], sandbox.project)
    assert out.files == [] and "NUL" in out.problems[0]


def test_images_pdfs_binary_and_invalid_utf8_in_a_count(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "pic.png", png(1000, 1000))
    sandbox.write(sandbox.project / "doc.pdf", b"%PDF-1.4\n<< /Type /Page >>\n")
    sandbox.write(sandbox.project / "blob.bin", b"\x00\x01\x02\x03")
    sandbox.write(sandbox.project / "latin1.txt", "café".encode("latin-1"))
    result = count_files(["."], sandbox.project, model="claude-sonnet-4-6")
    assert result.files is not None
    by = {f.path: f for f in result.files}
    assert by["pic.png"].tokens == 1296 + 8
    assert by["doc.pdf"].tokens is not None and by["doc.pdf"].tokens > 1575
    assert by["blob.bin"].tokens is None and by["blob.bin"].skipped is not None
    assert by["latin1.txt"].tokens is not None and by["latin1.txt"].tokens > 0
    assert result.tokens == sum(f.tokens or 0 for f in result.files)


def test_relative_display_outside_project(sandbox: Sandbox, tmp_path: Path) -> None:
    other = sandbox.write(sandbox.root / "elsewhere.md", "text")
    assert paths(sandbox, str(other)) == [str(other)]
