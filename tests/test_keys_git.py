"""The project tree, .gitignore semantics, history and the index, in real git repositories."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.keys.report import KeysUsageError, ScanOptions, scan_keys
from claude_health.tools.keys.tree import list_files, scan_files
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config (global excludes, hooks, signing) leaks into the tests."""
    cfg = tmp_path_factory.mktemp("gitcfg") / "config"
    cfg.write_text("[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=os.environ
    ).stdout.strip()


def init(sandbox: Sandbox) -> Path:
    git(sandbox.project, "init", "-q")
    return sandbox.project


def codes_at(sandbox: Sandbox, **options: object) -> set[tuple[str, str]]:
    report = scan_keys(sandbox.workspace(), ScanOptions(**options))  # type: ignore[arg-type]
    return {(f.code, Path(f.path).relative_to(sandbox.project).as_posix()) for f in report.findings if f.path}


def test_outside_git_every_file_is_scanned(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / ".gitignore", "secret.txt\nbuild/\n")
    sandbox.write(sandbox.project / "secret.txt", fake_key())
    sandbox.write(sandbox.project / "build" / "out.js", fake_key())
    report = scan_keys(sandbox.workspace())
    assert report.stats.in_git is False
    assert {Path(f.path or "").name for f in report.findings if f.code == "K001"} == {"secret.txt", "out.js"}


def test_gitignore_semantics_come_from_git(sandbox: Sandbox) -> None:
    project = init(sandbox)
    sandbox.write(project / ".gitignore", "*.log\n!keep.log\nbuild/\n")
    sandbox.write(project / "sub" / ".gitignore", "local.txt\n")
    sandbox.write(project / ".git" / "info" / "exclude", "excluded.txt\n")
    for rel in (
        "a.log",
        "keep.log",
        "build/x.js",
        "sub/local.txt",
        "sub/other.txt",
        "excluded.txt",
        "tracked.py",
    ):
        sandbox.write(project / rel, f"k = '{fake_key()}'\n")
    git(project, "add", "tracked.py")
    found = {rel for code, rel in codes_at(sandbox) if code == "K001"}
    assert found == {"keep.log", "sub/other.txt", "tracked.py"}


def test_tracked_file_that_is_now_ignored_is_still_scanned(sandbox: Sandbox) -> None:
    project = init(sandbox)
    sandbox.write(project / "config.yml", f"key: {fake_key()}\n")
    git(project, "add", "config.yml")
    sandbox.write(project / ".gitignore", "config.yml\n")
    assert ("K001", "config.yml") in codes_at(sandbox)


def test_notebooks_and_env_files_are_included_binary_skipped(sandbox: Sandbox) -> None:
    project = init(sandbox)
    key = fake_key("oauth_refresh_token")
    cell = '{"cells": [{"source": ["import os\\n", "KEY = \\"' + key + '\\"\\n"]}]}'
    sandbox.write(project / "analysis.ipynb", cell)
    sandbox.write(project / ".env.local", f"ANTHROPIC_API_KEY={fake_key()}\n")
    sandbox.write(project / "image.png", b"\x89PNG\x00\x00" + fake_key().encode())
    report = scan_keys(sandbox.workspace())
    k001 = {(Path(f.path or "").name, f.kind) for f in report.findings if f.code == "K001"}
    assert k001 == {("analysis.ipynb", "oauth_refresh_token"), (".env.local", "api_key")}
    assert report.stats.files_skipped_binary == 1


@pytest.mark.parametrize(
    ("ignore", "tracked", "expected"),
    [
        ("", False, "not ignored"),
        (".env\n", False, None),
        ("", True, "tracked by git."),
        (".env\n", True, "although .gitignore:1 lists it"),
    ],
)
def test_env_files_that_should_be_ignored(
    sandbox: Sandbox, ignore: str, tracked: bool, expected: str | None
) -> None:
    project = init(sandbox)
    sandbox.write(project / ".env", "DEBUG=1\n")
    sandbox.write(project / ".env.example", "ANTHROPIC_API_KEY=\n")
    if tracked:
        git(project, "add", ".env")
    sandbox.write(project / ".gitignore", ignore)
    found = [f for f in scan_keys(sandbox.workspace()).findings if f.code == "K008"]
    if expected is None:
        assert found == []
    else:
        [f] = found
        assert expected in f.message and f.path == str(project / ".env")


@pytest.mark.parametrize(("ignore", "expected"), [("", 1), (".claude/settings.local.json\n", 0)])
def test_local_settings_not_ignored(sandbox: Sandbox, ignore: str, expected: int) -> None:
    project = init(sandbox)
    sandbox.write(project / ".gitignore", ignore)
    sandbox.local_settings({"permissions": {"allow": []}})
    found = [f for f in scan_keys(sandbox.workspace()).findings if f.code == "K009"]
    assert len(found) == expected


def test_local_settings_ignored_through_global_excludes(sandbox: Sandbox) -> None:
    project = init(sandbox)
    excludes = sandbox.root / "global-ignore"
    excludes.write_text(".claude/settings.local.json\n")
    git(project, "config", "core.excludesFile", str(excludes))
    sandbox.local_settings({"permissions": {"allow": []}})
    assert [f for f in scan_keys(sandbox.workspace()).findings if f.code == "K009"] == []


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("global", "although your global excludes file ({excludes}:2) lists it"),
        ("gitignore", "although .gitignore:1 lists it (ignore rules do not untrack files)."),
        ("info", "although this clone's .git/info/exclude:1 lists it"),
        ("negated", ".claude/settings.local.json is tracked by git."),
    ],
)
def test_tracked_local_settings_names_the_ignore_file(sandbox: Sandbox, where: str, expected: str) -> None:
    """K009 says which file lists the path: a global excludes file protects nobody else's clone."""
    project = init(sandbox)
    sandbox.local_settings({"permissions": {"allow": ["Bash(rm -rf:*)"]}})
    git(project, "add", ".claude/settings.local.json")
    excludes = sandbox.root / "global-ignore"
    if where == "global":
        excludes.write_text("*.log\n.claude/settings.local.json\n")
        git(project, "config", "core.excludesFile", str(excludes))
    elif where == "gitignore":
        sandbox.write(project / ".gitignore", ".claude/settings.local.json\n")
    elif where == "info":
        sandbox.write(project / ".git" / "info" / "exclude", ".claude/settings.local.json\n")
    else:
        sandbox.write(project / ".gitignore", "*.json\n!.claude/settings.local.json\n")
    [found] = [f for f in scan_keys(sandbox.workspace()).findings if f.code == "K009"]
    assert expected.format(excludes=excludes) in found.message
    other_clones = "other clones do not ignore it either" in found.message
    assert other_clones == (where in ("global", "info"))


def test_tracked_local_settings_ignored_by_the_default_global_excludes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No core.excludesFile: git reads ~/.config/git/ignore, and K009 names that file."""
    monkeypatch.setenv("HOME", str(sandbox.home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    default = sandbox.write(sandbox.home / ".config" / "git" / "ignore", ".claude/settings.local.json\n")
    project = init(sandbox)
    sandbox.local_settings({})
    git(project, "add", "--force", ".claude/settings.local.json")
    [found] = [f for f in scan_keys(sandbox.workspace()).findings if f.code == "K009"]
    assert f"your global excludes file ({default}:1)" in found.message


def test_history_reports_removed_keys_with_their_commit(sandbox: Sandbox) -> None:
    project = init(sandbox)
    removed, kept = fake_key("admin_key"), fake_key()
    sandbox.write(project / "app.py", f"x = 1\nKEY = '{removed}'\n")
    sandbox.write(project / "conf" / "keep.py", f"KEY = '{kept}'\n")
    git(project, "add", ".")
    git(project, "commit", "-qm", "add keys")
    first = git(project, "rev-parse", "HEAD")
    sandbox.write(project / "app.py", "x = 1\nKEY = os.environ['ANTHROPIC_API_KEY']\n")
    git(project, "commit", "-qam", "remove key")

    without = scan_keys(sandbox.workspace())
    assert not [f for f in without.findings if f.code == "K010"]

    report = scan_keys(sandbox.workspace(), ScanOptions(history=True))
    history = {Path(f.path or "").name: f for f in report.findings if f.code == "K010"}
    assert set(history) == {"app.py", "keep.py"}
    assert history["app.py"].commit == first and history["app.py"].line == 2
    assert history["app.py"].kind == "admin_key" and "removed later" in history["app.py"].message
    assert "still in the working tree" in history["keep.py"].message
    assert report.stats.history_scanned and report.stats.history_commits == 2


def test_history_on_a_side_branch_is_found(sandbox: Sandbox) -> None:
    project = init(sandbox)
    sandbox.write(project / "README", "hi\n")
    git(project, "add", ".")
    git(project, "commit", "-qm", "init")
    git(project, "checkout", "-qb", "side")
    sandbox.write(project / "leak.txt", fake_key("oauth_access_token"))
    git(project, "add", ".")
    git(project, "commit", "-qm", "leak")
    git(project, "checkout", "-q", "main")
    found = [
        f for f in scan_keys(sandbox.workspace(), ScanOptions(history=True)).findings if f.code == "K010"
    ]
    assert [(Path(f.path or "").name, f.kind) for f in found] == [("leak.txt", "oauth_access_token")]


def test_staged_mode_scans_the_index_not_the_work_tree(sandbox: Sandbox) -> None:
    project = init(sandbox)
    sandbox.write(project / "staged.py", f"KEY = '{fake_key()}'\n")
    sandbox.write(project / "unstaged.py", f"KEY = '{fake_key()}'\n")
    sandbox.write(project / ".env", "A=1\n")
    sandbox.write(project / "blob.bin", b"\x00" + fake_key().encode())
    git(project, "add", "staged.py", ".env", "blob.bin")
    # Edited after staging: the staged version still holds the key and is what gets committed.
    sandbox.write(project / "staged.py", "KEY = None\n")
    report = scan_keys(sandbox.workspace(), ScanOptions(staged=True))
    assert {(f.code, Path(f.path or "").name) for f in report.findings} == {
        ("K001", "staged.py"),
        ("K008", ".env"),
    }
    assert report.stats.mode == "staged" and report.stats.files_skipped_binary == 1


def test_staged_mode_needs_git(sandbox: Sandbox) -> None:
    with pytest.raises(KeysUsageError):
        scan_keys(sandbox.workspace(), ScanOptions(staged=True))


def test_symlinks_fifos_and_loops_do_not_hang(sandbox: Sandbox) -> None:
    project = sandbox.project
    (project / "loop").symlink_to(project)
    (project / "dangling").symlink_to(project / "nowhere")
    (project / "dev-zero").symlink_to("/dev/zero")
    os.mkfifo(project / "pipe")
    sandbox.write(project / "real.txt", fake_key())
    report = scan_keys(sandbox.workspace())
    assert [Path(f.path or "").name for f in report.findings if f.code == "K001"] == ["real.txt"]


def test_unreadable_file_is_reported(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as root here, so chmod cannot deny a read: the open itself is made to fail."""
    target = str(sandbox.write(sandbox.project / "locked.txt", fake_key()))
    real_open = os.open

    def deny(path: str, flags: int, *args: int) -> int:
        if path == target:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", deny)
    report = scan_keys(sandbox.workspace())
    [f] = [f for f in report.findings if f.code == "K013"]
    assert "Permission denied" in f.message and report.stats.files_unreadable == 1


def test_forked_workers_give_the_same_result(sandbox: Sandbox) -> None:
    for i in range(600):
        key = fake_key() if i % 50 == 0 else ""
        sandbox.write(sandbox.project / f"d{i % 7}" / f"f{i}.py", f"x = {i}\n" + key)
    sandbox.write(sandbox.project / "bin.dat", b"\x00" * 10)
    listing = list_files(sandbox.project)
    serial = scan_files(listing.files, workers=1)
    pooled = scan_files(listing.files, workers=2)
    assert sorted((s.path, s.hits) for s in serial.notable) == sorted(
        (s.path, s.hits) for s in pooled.notable
    )
    assert (serial.files_scanned, serial.bytes_scanned, serial.binary) == (
        pooled.files_scanned,
        pooled.bytes_scanned,
        pooled.binary,
    )
    assert sum(len(s.hits) for s in pooled.notable) == 12 and pooled.binary == 1


def _tree_of(sandbox: Sandbox, files: int, keys_every: int) -> list[str]:
    for i in range(files):
        key = fake_key() if i % keys_every == 0 else ""
        sandbox.write(sandbox.project / f"d{i % 5}" / f"f{i}.py", f"x = {i}\n" + key)
    return list_files(sandbox.project).files


def test_a_failed_worker_is_rescanned_by_the_parent(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that dies (here: its scan raises) costs time, never findings."""
    from claude_health.tools.keys import tree

    files = _tree_of(sandbox, 600, 40)
    parent = os.getpid()
    real_batch = tree._scan_batch

    def fails_in_children(paths: list[str]) -> tree.TreeScan:
        if os.getpid() != parent:
            raise OSError("simulated crash in a worker")
        return real_batch(paths)

    monkeypatch.setattr(tree, "_scan_batch", fails_in_children)
    result = scan_files(files, workers=2)
    assert result.files_scanned == 600 and sum(len(s.hits) for s in result.notable) == 15


def test_workers_are_reaped_when_the_caller_fails(sandbox: Sandbox) -> None:
    from claude_health.tools.keys.tree import start_scan

    files = _tree_of(sandbox, 600, 100)
    pending = start_scan(files, workers=3)  # this process and two children
    pids = [child.pid for child in pending._children]
    assert len(pids) == 2
    with pytest.raises(RuntimeError), pending:
        raise RuntimeError("a check failed while the tree was being scanned")
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left behind


def test_this_process_takes_the_batches_the_children_leave(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that takes batches and dies: they are scanned again; the queue is shared, so the
    parent's and the child's batches never overlap and together cover every file."""
    from claude_health.tools.keys import tree

    files = _tree_of(sandbox, 900, 30)
    parent = os.getpid()
    real_batch = tree._scan_batch
    taken: list[int] = []

    def dies_after_two(paths: list[str]) -> tree.TreeScan:
        if os.getpid() != parent:
            taken.append(1)
            if len(taken) > 2:
                os._exit(3)  # killed mid-scan, after two batches
        return real_batch(paths)

    monkeypatch.setattr(tree, "_scan_batch", dies_after_two)
    result = scan_files(files, workers=2)
    assert result.files_scanned == 900 and sum(len(s.hits) for s in result.notable) == 30
    assert len({s.path for s in result.notable}) == 30  # nothing scanned twice into the result


def test_progress_reaches_the_total_with_workers(sandbox: Sandbox) -> None:
    files = _tree_of(sandbox, 600, 100)
    seen: list[tuple[int, int]] = []
    scan_files(files, workers=2, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (600, 600) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_unreadable_directory_is_reported_outside_git(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root can read any directory, so scandir itself is made to fail for one of them."""
    sandbox.write(sandbox.project / "open" / "a.txt", fake_key())
    locked = sandbox.project / "locked"
    sandbox.write(locked / "b.txt", fake_key())
    real_scandir = os.scandir

    def deny(path: str) -> object:
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    report = scan_keys(sandbox.workspace())
    [f] = [f for f in report.findings if f.code == "K013"]
    assert f.path == str(locked) and "locked: Permission denied" in f.message
    assert [Path(f.path or "").name for f in report.findings if f.code == "K001"] == ["a.txt"]


@pytest.mark.parametrize("in_git", [True, False])
def test_the_hooks_leak_scan_says_what_the_full_scan_says(sandbox: Sandbox, in_git: bool) -> None:
    """K001 and K002 from keys.leaks (the SessionStart hook's scan) are the full scan's, to the byte."""
    from claude_health.tools.keys.leaks import LEAK_CODES, leak_findings

    if in_git:
        init(sandbox)
        sandbox.write(sandbox.project / ".gitignore", "ignored.txt\n")
        sandbox.write(sandbox.project / "ignored.txt", fake_key())  # git does not list it
    sandbox.write(sandbox.project / "notes.txt", f"token: {fake_key()}\n")
    sandbox.write(sandbox.project / "src" / "app.py", f'KEY = "{fake_key("admin_key")}"\n')
    sandbox.write(sandbox.project / ".env", f"ANTHROPIC_API_KEY={fake_key()}\n")
    sandbox.write(sandbox.project / ".claude" / "settings.json", {"env": {"ANTHROPIC_API_KEY": fake_key()}})
    sandbox.write(sandbox.project / "clean.py", "x = 1\n")
    ws = sandbox.workspace()
    full = [f for f in scan_keys(ws).findings if f.code in LEAK_CODES]
    lean = leak_findings(ws, list_files(ws.project, tracked=False))
    assert sorted(json.dumps(f.to_json(), sort_keys=True) for f in lean) == sorted(
        json.dumps(f.to_json(), sort_keys=True) for f in full
    )
    assert {f.code for f in full} == {"K001", "K002"} and len(full) == 4


def test_no_git_started_where_no_git_work_tree_can_be(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claude_health.tools import gitsafe
    from claude_health.tools.keys import tree

    sandbox.write(sandbox.project / "sub" / "a.py", "x = 1\n")
    assert not gitsafe.repository_may_exist(sandbox.project / "sub")

    def no_git(*args: object, **kwargs: object) -> object:
        raise AssertionError("git started outside any work tree")

    with monkeypatch.context() as patch:
        patch.setattr(gitsafe, "git", no_git)
        patch.setattr(tree, "git", no_git)
        listing = list_files(sandbox.project)
    assert not listing.in_git and listing.relative() == ["sub/a.py"]
    init(sandbox)
    assert gitsafe.repository_may_exist(sandbox.project / "sub")
    monkeypatch.setenv("GIT_DIR", str(sandbox.project / ".git"))
    assert gitsafe.repository_may_exist(sandbox.home)  # GIT_DIR names a repository: git decides
    monkeypatch.delenv("GIT_DIR")
    git(sandbox.project, "add", "sub/a.py")
    lean = list_files(sandbox.project, tracked=False)
    assert lean.in_git and lean.relative() == ["sub/a.py"] and lean.tracked == set()
    assert list_files(sandbox.project).tracked == {"sub/a.py"}


def test_no_git_process_outside_a_repository(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Git is asked only where it could find a repository (a `.git` above the folder, by its own
    path or its resolved one, or GIT_DIR): a scan outside git starts no process."""
    from claude_health.tools import gitsafe

    calls: list[list[str]] = []
    real_git = gitsafe.git

    def counting(args: list[str], cwd: Path, **kw: object) -> gitsafe.GitResult:
        calls.append(list(args))
        return real_git(args, cwd, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(gitsafe, "git", counting)
    monkeypatch.delenv("GIT_DIR", raising=False)
    plain = sandbox.root / "plain"
    plain.mkdir()
    assert not gitsafe.is_work_tree(plain) and calls == []
    repo = sandbox.root / "repo"
    (repo / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    link = plain / "link"
    link.symlink_to(repo / "sub")  # a path with no .git above it that resolves into a repository
    assert gitsafe.is_work_tree(repo / "sub") and gitsafe.is_work_tree(link)
    assert not gitsafe.is_work_tree(repo / ".git")  # inside the git folder: git says no
    assert len(calls) == 3
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    gitsafe.is_work_tree(plain)
    assert len(calls) == 4  # GIT_DIR names a repository: git decides


def test_the_console_script_writes_everything_before_it_skips_the_teardown(sandbox: Sandbox) -> None:
    """`keys` ends without the interpreter's teardown: its whole output (here 300 findings,
    a JSON document over 100 kB, through a pipe) and its exit code must still arrive."""
    for i in range(300):
        sandbox.write(sandbox.project / f"d{i % 9}" / f"f{i}.py", f"KEY = '{fake_key()}'\n")
    argv = [cli_path(), "keys", "--project", str(sandbox.project), "--no-transcripts", "--no-shell-history"]
    done = subprocess.run([*argv, "--json"], env=sandbox.env, capture_output=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr.decode()[-2000:]
    assert len(done.stdout) > 100_000
    payload = json.loads(done.stdout)
    assert sum(f["code"] == "K001" for f in payload["findings"]) == 300
    human = subprocess.run(argv, env=sandbox.env, capture_output=True, timeout=120, check=False)
    assert human.returncode == 1 and human.stdout.decode().count("K001") >= 300
    assert human.stdout.endswith(b"\n")


def _record_early_starts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The early scans started (None where the child could not be forked)."""
    from claude_health.tools.keys import early

    started: list[object] = []
    real = early.start

    def start(*args: Any) -> Any:
        started.append(real(*args))
        return started[-1]

    monkeypatch.setattr(early, "start", start)
    return started


def _summary(report: object) -> tuple[object, ...]:
    stats = report.stats  # type: ignore[attr-defined]
    found = sorted((f.code, f.path, f.line, f.fingerprint) for f in report.findings)  # type: ignore[attr-defined]
    return (stats.files_scanned, stats.bytes_scanned, stats.files_skipped_binary, stats.in_git, found)


@pytest.mark.parametrize(("in_git", "workers"), [(False, None), (True, None), (False, 3)])
def test_the_early_forked_scan_reports_what_the_usual_one_does(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, in_git: bool, workers: int | None
) -> None:
    """The CLI forks the child that lists and scans the tree before anything else (fork_early):
    same files, same counts, same findings, in and out of git (ignored files left out)."""
    _tree_of(sandbox, 700, 35)
    sandbox.write(sandbox.project / "bin.dat", b"\x00" * 10)
    sandbox.write(sandbox.project / ".env", f"ANTHROPIC_API_KEY={fake_key()}\n")
    if in_git:
        sandbox.write(sandbox.project / ".gitignore", "d0/\n")  # every planted key but .env's
        subprocess.run(["git", "init", "-q", str(sandbox.project)], check=True)
    ws = sandbox.workspace()
    started = _record_early_starts(monkeypatch)
    usual = scan_keys(ws, ScanOptions(transcripts=False, shell_history=False))
    early = scan_keys(
        ws, ScanOptions(transcripts=False, shell_history=False, fork_early=True, workers=workers)
    )  # workers=3: the listing child forks a helper
    assert len(started) == 1 and started[0] is not None  # the child was forked
    assert _summary(early) == _summary(usual)
    assert early.stats.in_git is in_git and early.stats.files_scanned > 0
    assert sum(f.code == "K001" for f in early.findings) == (1 if in_git else 21)


@pytest.mark.parametrize("dies", ["before its list", "while it scans"])
def test_an_early_child_that_dies_costs_no_finding(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, dies: str
) -> None:
    from claude_health.tools.keys import report, tree

    _tree_of(sandbox, 900, 30)
    parent = os.getpid()
    real_listing, real_batch = report._listing, tree._scan_batch

    def listing(*args: object) -> object:
        if os.getpid() != parent and dies == "before its list":
            os._exit(3)
        return real_listing(*args)  # type: ignore[arg-type]

    def batch(paths: list[str]) -> tree.TreeScan:
        if os.getpid() != parent and dies == "while it scans":
            os._exit(3)  # after the list and the queue were written
        return real_batch(paths)

    monkeypatch.setattr(report, "_listing", listing)
    monkeypatch.setattr(tree, "_scan_batch", batch)
    started = _record_early_starts(monkeypatch)
    done = scan_keys(
        sandbox.workspace(), ScanOptions(transcripts=False, shell_history=False, fork_early=True)
    )
    assert len(started) == 1 and started[0] is not None
    assert done.stats.files_scanned == 900
    assert sum(f.code == "K001" for f in done.findings) == 30


def test_an_early_child_is_reaped_when_the_checks_fail(sandbox: Sandbox) -> None:
    from functools import partial

    from claude_health.tools.keys import early, report

    _tree_of(sandbox, 300, 100)
    ws = sandbox.workspace()
    started = early.start(partial(report._listing, ws, report.ScanOptions()))
    assert started is not None and started._child is not None
    pid = started._child.pid
    with pytest.raises(RuntimeError), started:
        raise RuntimeError("a check failed while the tree was being scanned")
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left behind
    assert started._listing_fd is None and started._queue_fd is None


def _children_of(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")
def test_the_early_childs_helpers_stop_with_it(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check fails while the early child and its helpers scan: the helpers stop too, instead of
    scanning the rest of the tree for a process that has left."""
    from functools import partial

    from claude_health.tools.keys import early, report, tree

    _tree_of(sandbox, 2400, 100)
    real_batch = tree._scan_batch

    def slow(paths: list[str]) -> tree.TreeScan:
        time.sleep(0.2)  # each batch takes a while: the helpers are busy when the parent fails
        return real_batch(paths)

    monkeypatch.setattr(tree, "_scan_batch", slow)
    ws = sandbox.workspace()
    started = early.start(partial(report._listing, ws, report.ScanOptions()), workers=4)
    assert started is not None and started._child is not None
    child = started._child.pid
    deadline = time.monotonic() + 20
    helpers: list[int] = []
    while len(helpers) < 2 and time.monotonic() < deadline:
        helpers = _children_of(child)
        time.sleep(0.02)
    assert len(helpers) == 2, helpers  # workers=4: this process, the child and two helpers
    with pytest.raises(RuntimeError), started:
        raise RuntimeError("a check failed while the tree was being scanned")
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [pid for pid in helpers if _alive(pid)]


def test_one_tagged_listing_gives_the_files_and_the_tracked_ones(sandbox: Sandbox) -> None:
    """`ls-files -co --exclude-standard -t` in one git run: the same files and the same tracked
    set as the two listings it replaces, with skip-worktree, unmerged, deleted, ignored and
    oddly named files among them."""
    root = init(sandbox)
    ident = ("-c", "user.email=t@example.com", "-c", "user.name=t")
    for name in ("a.py", "conflict.txt", "hidden.py", "gone.py", "odd name\twith tab.py", "? q.py"):
        sandbox.write(root / name, f"{name}\n")
    sandbox.write(root / ".gitignore", "*.log\n")
    git(root, "add", "-A")
    git(root, *ident, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "other")
    sandbox.write(root / "conflict.txt", "theirs\n")
    git(root, *ident, "commit", "-qam", "theirs")
    git(root, "checkout", "-q", "-")
    sandbox.write(root / "conflict.txt", "ours\n")
    git(root, *ident, "commit", "-qam", "ours")
    subprocess.run(["git", *ident, "merge", "-q", "other"], cwd=root, capture_output=True, check=False)
    assert "conflict.txt" in git(root, "ls-files", "-u")  # unmerged: one entry per stage
    git(root, "update-index", "--skip-worktree", "hidden.py")
    (root / "gone.py").unlink()
    sandbox.write(root / "new.py", "x\n")
    sandbox.write(root / "debug.log", "ignored\n")
    listing = list_files(root)
    listed = set(git(root, "ls-files", "-z", "-co", "--exclude-standard").split("\0")) - {""}
    cached = set(git(root, "ls-files", "-z", "--cached").split("\0")) - {""}
    assert listing.in_git and set(listing.relative()) == listed
    assert listing.relative() == sorted(listed) and len(listing.files) == len(set(listing.files))
    assert listing.tracked == cached
    assert {"conflict.txt", "hidden.py", "gone.py", "odd name\twith tab.py", "? q.py"} <= listing.tracked
    assert "new.py" in listed - listing.tracked and "debug.log" not in listed
