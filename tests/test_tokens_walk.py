"""Globs and directory walks stay inside the project: a link to ``/`` is never walked, and caps hold."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.tools.tokens import inputs
from claude_health.tools.tokens.inputs import collect
from tests.conftest import Sandbox
from tests.mcp_helpers import cli_path
from tests.test_tokens_mcp import offline  # noqa: F401 - the fixture


def names(sandbox: Sandbox, *args: str, confine: bool = False) -> list[str]:
    return [f.display for f in collect(list(args), sandbox.project, confine=confine).files]


def rooted(sandbox: Sandbox) -> None:
    """A project holding two Python files and a symlink to the filesystem root."""
    sandbox.write(sandbox.project / "a.py", "a = 1")
    sandbox.write(sandbox.project / "pkg" / "b.py", "b = 2")
    (sandbox.project / "root").symlink_to("/")
    (sandbox.project / "pkg" / "up").symlink_to(sandbox.project)  # a loop, for good measure


def test_a_glob_never_walks_through_a_link_to_the_root(sandbox: Sandbox) -> None:
    rooted(sandbox)
    assert names(sandbox, "**/*.py") == ["a.py", "pkg/b.py"]
    assert names(sandbox, "**/*.py", confine=True) == ["a.py", "pkg/b.py"]
    assert names(sandbox, ".") == ["a.py", "pkg/b.py"]


def test_tokens_command_with_a_link_to_the_root(sandbox: Sandbox) -> None:
    rooted(sandbox)
    done = subprocess.run(
        [cli_path(), "tokens", "**/*.py", "--json"],
        env=sandbox.env,
        cwd=sandbox.project,
        capture_output=True,
        text=True,
        timeout=60,  # walking the whole disk would not finish in time
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(f["path"] for f in json.loads(done.stdout)["files"]) == ["a.py", "pkg/b.py"]


async def test_count_tokens_tool_with_a_link_to_the_root(offline: Sandbox) -> None:  # noqa: F811
    rooted(offline)
    async with Client(build_server(), mode="auto") as c:
        result = await c.call_tool(
            "count_tokens", {"paths": ["**/*.py", "root/etc/*"], "project_dir": str(offline.project)}
        )
    assert not result.is_error
    data = result.structured_content or {}
    assert sorted(f["path"] for f in data["files"]) == ["a.py", "pkg/b.py"]
    assert any("outside the project" in n for n in data["notes"])


def test_links_found_by_a_walk_do_not_read_outside_the_project(sandbox: Sandbox) -> None:
    secret = sandbox.write(sandbox.root / "elsewhere" / "secret.txt", "not yours")
    (sandbox.project / "innocent.txt").symlink_to(secret)
    sandbox.write(sandbox.project / "inside.txt", "fine")
    out = collect(["*.txt"], sandbox.project)
    assert [f.display for f in out.files] == ["inside.txt"]
    assert out.problems == ["innocent.txt: a link to outside the project, not read"]
    # named explicitly on the command line, it is the user's own choice
    assert names(sandbox, "innocent.txt") == ["innocent.txt"]


def test_glob_semantics_are_kept(sandbox: Sandbox) -> None:
    for rel in ("a.py", "b.pyi", "c1.py", ".hidden.py", "d/e.py", "d/.h/f.py", "d/g/h.py", ".dot/i.py"):
        sandbox.write(sandbox.project / rel, "x")
    assert names(sandbox, "*.py") == ["a.py", "c1.py"]
    assert names(sandbox, "?.py") == ["a.py"]
    assert names(sandbox, "[ab].py*") == ["a.py", "b.pyi"]
    assert names(sandbox, "**/*.py") == ["a.py", "c1.py", "d/e.py", "d/g/h.py"]
    assert names(sandbox, ".*.py") == [".hidden.py"]
    assert names(sandbox, "d/**") == ["d/e.py", "d/g/h.py", "d/.h/f.py"] or sorted(
        names(sandbox, "d/**")
    ) == [
        "d/.h/f.py",
        "d/e.py",
        "d/g/h.py",
    ]
    assert names(sandbox, "**/*.py", "a.py") == ["a.py", "c1.py", "d/e.py", "d/g/h.py"]


def test_a_directory_nested_thousands_deep_is_walked() -> None:
    # Not under tmp_path: pytest removes that with shutil.rmtree, which recurses once per level
    # and would fail (for every later run on the machine) if this test were interrupted.
    project = Path(tempfile.mkdtemp(prefix="claude-health-deep-"))
    levels = [project]
    try:
        for _ in range(1500):  # os.makedirs recurses once per level too
            levels.append(levels[-1] / "d")
            levels[-1].mkdir()
        (levels[-1] / "bottom.py").write_text("x = 1")
        for pattern in ("**/*.py", "."):
            found = [f.display for f in collect([pattern], project).files]
            assert [n.rsplit("/", 1)[-1] for n in found] == ["bottom.py"], pattern
    finally:
        (levels[-1] / "bottom.py").unlink(missing_ok=True)
        for level in reversed(levels):
            level.rmdir()


def test_the_walk_stops_at_its_entry_budget_and_says_so(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(30):
        sandbox.write(sandbox.project / f"d{i % 3}" / f"f{i}.txt", "x")
    monkeypatch.setattr(inputs, "MAX_ENTRIES", 10)
    out = collect(["**/*.txt"], sandbox.project)
    assert out.truncated and len(out.files) < 30
    assert any("stopped looking after 10 directory entries" in p for p in out.problems)


def test_reading_stops_at_the_byte_budget_and_says_so(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        sandbox.write(sandbox.project / f"f{i}.txt", "x" * 100)
    monkeypatch.setattr(inputs, "MAX_TOTAL_BYTES", 250)
    out = collect(["*.txt"], sandbox.project)
    read = [f for f in out.files if f.data is not None]
    assert sum(len(f.data or b"") for f in read) <= 250 and out.truncated
    assert any("stopped reading at 250 bytes" in p for p in out.problems)
    assert all(f.skipped for f in out.files if f.data is None)
