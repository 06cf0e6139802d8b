"""Install never loses data: racing saves, custom entries, owners, hard links, full disks.

Each class of loss is attacked with real parts: a second process saving the file (through a
hook that lands it exactly between install's check and its rename, and a free-running writer
racing the real CLI), every client's own template, files owned by other users (the tests run
as root), hard links, and a real 64 KiB tmpfs that fills up.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from claude_health.tools.registration import atomic
from claude_health.tools.registration.atomic import ConcurrentChangeError, DamagedError, Hooks
from claude_health.tools.registration.clients import CLIENTS, RegistrationError, config_path, load_template
from claude_health.tools.registration.launch import Launch
from claude_health.tools.registration.plan import ATTEMPTS, apply, apply_fresh, backup_dir, plan_install
from tests.conftest import Sandbox
from tests.mcp_helpers import cli_path

LAUNCH = Launch("/opt/ch/bin/claude-health", ["serve"])
NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
OTHER_UID, OTHER_GID = 12345, 23456

# A save the way Claude Code makes one: read, change, write a temp file, rename it over.
SAVER = """
import json, os, sys
path, key, value = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with open(path) as f:
    data = json.load(f)
data[key] = value
tmp = path + ".saver.tmp"
with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    json.dump(data, f, indent=2)  # mode 0600, as Claude Code writes it
os.replace(tmp, path)
"""


def save_from_another_process(path: Path, key: str, value: object) -> None:
    subprocess.run([sys.executable, "-c", SAVER, str(path), key, json.dumps(value)], check=True, timeout=60)


def leftovers(folder: Path) -> list[str]:
    """Temp files, lock directories and backups in ``folder``."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name.endswith((".tmp", ".lock")) or "claude-health-backup" in p.name
    )


def claude_json(sandbox: Sandbox) -> Path:
    path = sandbox.claude_json({"numStartups": 1, "projects": {"/a": {"history": ["x"]}}, "mcpServers": {}})
    path.chmod(0o600)
    return path


def plan_user(sandbox: Sandbox) -> Callable[[], Any]:
    ws = sandbox.workspace()
    return lambda: plan_install(ws, "claude-code", scope="user", launch=LAUNCH)


# -- a save by another program between the check and the rename -------------------------------------


def test_a_save_in_the_window_is_kept_and_the_edit_is_planned_again(sandbox: Sandbox) -> None:
    path = claude_json(sandbox)
    saves = []

    def race() -> None:
        if not saves:  # the first attempt only: another program saves right now
            save_from_another_process(path, "numStartups", 2)
            saves.append(path.read_text())

    applied = apply_fresh(plan_user(sandbox), hooks=Hooks(before_commit=race), now=NOW)
    data = json.loads(path.read_text())
    assert data["numStartups"] == 2  # the other program's save survived ...
    assert data["mcpServers"]["claude-health"]["command"] == LAUNCH.command  # ... and so did ours
    assert applied.backup is not None and applied.backup.read_text() == saves[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [n for n in leftovers(path.parent) if "backup" not in n] == []


def test_a_file_that_keeps_changing_is_refused_untouched(sandbox: Sandbox) -> None:
    path = claude_json(sandbox)
    count = [0]

    def race() -> None:
        count[0] += 1
        save_from_another_process(path, "numStartups", 100 + count[0])

    with pytest.raises(ConcurrentChangeError, match=r"kept changing.*nothing was changed"):
        apply_fresh(plan_user(sandbox), hooks=Hooks(before_commit=race), now=NOW)
    data = json.loads(path.read_text())
    assert count[0] == ATTEMPTS
    assert data["numStartups"] == 100 + ATTEMPTS and "claude-health" not in data["mcpServers"]
    assert leftovers(path.parent) == []  # no backup, temp file or lock of the failed attempts


def test_a_same_size_in_place_save_with_its_mtime_put_back_is_caught(sandbox: Sandbox) -> None:
    path = claude_json(sandbox)
    change = plan_user(sandbox)()

    def sneaky() -> None:
        info = path.stat()
        text = path.read_text().replace('"numStartups": 1', '"numStartups": 7')
        with path.open("r+") as handle:  # same inode, same size
            handle.write(text)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))

    with pytest.raises(ConcurrentChangeError):
        apply(change, hooks=Hooks(before_commit=sneaky))
    assert json.loads(path.read_text())["numStartups"] == 7
    assert leftovers(path.parent) == []


def test_a_lock_held_by_claude_code_is_waited_for(sandbox: Sandbox) -> None:
    path = claude_json(sandbox)
    lock = path.with_name(path.name + ".lock")
    lock.mkdir()
    released = []

    def holder() -> None:  # Claude Code's save: holds the lock, writes, lets go
        time.sleep(0.4)
        save_from_another_process(path, "numStartups", 5)
        lock.rmdir()
        released.append(time.monotonic())

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        applied = apply_fresh(plan_user(sandbox))
    finally:
        thread.join()
    assert released, "the holder never let go"
    data = json.loads(path.read_text())
    assert data["numStartups"] == 5 and "claude-health" in data["mcpServers"]
    assert applied.backup is not None and json.loads(applied.backup.read_text())["numStartups"] == 5


def test_a_live_lock_that_is_never_released_is_a_clear_refusal(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic, "LOCK_WAIT", 0.3)
    path = claude_json(sandbox)
    before = path.read_bytes()
    lock = path.with_name(path.name + ".lock")
    lock.mkdir()
    with pytest.raises(ConcurrentChangeError, match=r"being saved by another program.*\.lock"):
        apply(plan_user(sandbox)())
    assert path.read_bytes() == before and lock.is_dir()  # never takes another's lock away


def test_a_lock_that_is_a_dangling_symlink_is_an_answer_not_a_hang(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic, "LOCK_WAIT", 0.3)
    path = claude_json(sandbox)
    path.with_name(path.name + ".lock").symlink_to(sandbox.root / "nowhere")
    started = time.monotonic()
    with pytest.raises(ConcurrentChangeError, match="being saved by another program"):
        apply(plan_user(sandbox)())
    assert time.monotonic() - started < 5


def test_a_stale_lock_is_not_waited_for_and_not_removed(sandbox: Sandbox) -> None:
    path = claude_json(sandbox)
    lock = path.with_name(path.name + ".lock")
    lock.mkdir()
    old = time.time() - 120
    os.utime(lock, (old, old))
    started = time.monotonic()
    apply(plan_user(sandbox)())
    assert time.monotonic() - started < atomic.LOCK_WAIT
    assert "claude-health" in json.loads(path.read_text())["mcpServers"]
    assert lock.is_dir()


WRITER = """
import json, os, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])
writes = 0
end = time.time() + seconds
while time.time() < end:
    try:  # Claude Code's lock: a directory beside the file (proper-lockfile)
        os.mkdir(path + ".lock")
    except FileExistsError:
        time.sleep(0.001)
        continue
    try:
        with open(path) as f:
            data = json.load(f)
        data["counter"] = data.get("counter", 0) + 1
        tmp = path + ".writer.tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
        writes += 1
    finally:
        os.rmdir(path + ".lock")
    time.sleep(0.002)
print(writes)
"""


def test_the_cli_racing_a_real_writer_never_loses_a_save(sandbox: Sandbox) -> None:
    """A second process saves ``~/.claude.json`` in a loop as Claude Code does (lock, read, count
    one more, rename) while the real CLI installs and uninstalls: every one of its saves must
    survive. An install that renamed over a save would take the counter back, and the writer
    would count on from there. (A writer that ignores the lock is covered by the tests above,
    which put its save exactly between install's checks and its rename.)"""
    path = sandbox.claude_json({"counter": 0, "mcpServers": {}})
    env = {**os.environ, **sandbox.env}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "6"], stdout=subprocess.PIPE, text=True
    )
    outcomes: list[int] = []
    try:
        deadline = time.monotonic() + 5
        verb = "install"
        while time.monotonic() < deadline:
            done = subprocess.run(
                [cli_path(), verb, "--client", "claude-code", "--scope", "user"],
                env=env,
                cwd=sandbox.project,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert "Traceback" not in done.stderr
            assert done.returncode in (0, 1), done.stderr
            if done.returncode == 1:
                assert "changing" in done.stderr or "being saved" in done.stderr, done.stderr
            outcomes.append(done.returncode)
            verb = "uninstall" if verb == "install" else "install"
        out, _ = writer.communicate(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    writes = int(out)
    assert writes > 50 and outcomes
    assert json.loads(path.read_text())["counter"] == writes


# -- an existing entry is merged: the user's keys survive re-installing -----------------------------

FILE_CLIENTS = [c for c in CLIENTS if c != "jetbrains"]
USER_KEYS = {"env": {"DEBUG": "1", "TOKEN_FILE": "~/.secret"}, "disabled": False, "timeout": 30_000}


def _existing(client: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"command": "/old/claude-health", "args": ["serve", "--verbose"], **USER_KEYS}
    if load_template(client).stdio.get("type"):
        entry["type"] = "stdio"
    return entry


def _write_config(path: Path, client: str, entry: dict[str, Any]) -> None:
    template = load_template(client)
    doc: dict[str, Any] = {"other": 1}
    node = doc
    for key in template.key:
        node = node.setdefault(key, {})
    node["another-server"] = {"command": "x"}
    node["claude-health"] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    if template.format == "toml":
        path.write_text(tomli_w.dumps(doc))
    else:
        path.write_text(json.dumps(doc, indent=2) + "\n")


def _entry(path: Path, client: str) -> dict[str, Any]:
    template = load_template(client)
    text = path.read_text()
    data: Any = tomllib.loads(text) if template.format == "toml" else json.loads(text)
    assert data["other"] == 1
    for key in template.key:
        data = data[key]
    assert data["another-server"] == {"command": "x"}
    entry: dict[str, Any] = data["claude-health"]
    return entry


@pytest.mark.parametrize("client", CLIENTS)
def test_reinstalling_keeps_the_users_keys_for_every_client(sandbox: Sandbox, client: str) -> None:
    ws = sandbox.workspace()
    template = load_template(client)
    if client == "jetbrains":
        # Configured in the IDE: install prints a snippet and writes no file, so nothing of the
        # user's can be lost; the snippet is the fresh entry.
        change = plan_install(ws, client, launch=LAUNCH)
        assert change.action == "snippet" and change.path is None and not change.writes
        return
    path = config_path(client, template.default_scope, ws)
    assert path is not None
    _write_config(path, client, _existing(client))
    apply(plan_install(ws, client, launch=LAUNCH))
    entry = _entry(path, client)
    assert entry["command"] == LAUNCH.command  # what install owns is updated ...
    assert entry["args"] == ["serve", "--verbose"]  # ... keeping the arguments added after serve
    for key, value in USER_KEYS.items():  # ... and every key of the user's
        assert entry[key] == value, (client, key)
    assert plan_install(ws, client, launch=LAUNCH).action == "unchanged"  # idempotent
    if template.http is None:
        return
    # Switching transport drops the launch keys (they would contradict the URL) and keeps the rest.
    headers = {"Authorization": "Bearer from-the-user"}
    entry["headers"] = headers
    _write_config(path, client, entry)
    apply(plan_install(ws, client, transport="http", launch=LAUNCH))
    http = _entry(path, client)
    assert "command" not in http and "args" not in http
    assert set(template.http) - {"env"} <= set(http)
    for key, value in {**USER_KEYS, "headers": headers}.items():
        assert http[key] == value, (client, key)
    assert plan_install(ws, client, transport="http", launch=LAUNCH).action == "unchanged"


# -- owner, group and mode -----------------------------------------------------------------------

needs_root = pytest.mark.skipif(not ROOT, reason="giving files to other users needs root")


@needs_root
def test_root_editing_a_users_file_keeps_its_owner_group_and_mode(sandbox: Sandbox) -> None:
    path = claude_json(sandbox)
    os.chown(path, OTHER_UID, OTHER_GID)
    path.chmod(0o640)
    applied = apply(plan_user(sandbox)())
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (OTHER_UID, OTHER_GID, 0o640)
    assert "claude-health" in json.loads(path.read_text())["mcpServers"]
    assert applied.backup is not None
    kept = applied.backup.stat()  # the backup holds the user's data: it is theirs too
    assert (kept.st_uid, kept.st_gid, stat.S_IMODE(kept.st_mode)) == (OTHER_UID, OTHER_GID, 0o640)


@needs_root
def test_root_creating_a_file_in_a_users_project_gives_it_to_them(sandbox: Sandbox) -> None:
    os.chown(sandbox.project, OTHER_UID, OTHER_GID)
    change = plan_install(sandbox.workspace(), "cursor", launch=LAUNCH)  # .cursor/ does not exist
    apply(change)
    assert change.path is not None
    for made in (change.path, change.path.parent):
        info = made.stat()
        assert (info.st_uid, info.st_gid) == (OTHER_UID, OTHER_GID), made


@needs_root
def test_a_user_who_cannot_give_the_owner_rewrites_in_place() -> None:
    """A shared, world-writable file owned by someone else: a new inode would change its owner,
    so the same inode is rewritten. The edit runs in a forked child that has really dropped
    root (setgid/setuid to a third user)."""
    folder = Path(tempfile.mkdtemp(prefix="claude-health-shared-"))
    try:
        folder.chmod(0o777)
        path = folder / "mcp.json"
        path.write_text('{"mcpServers": {}}\n')
        os.chown(path, OTHER_UID, OTHER_GID)
        path.chmod(0o666)
        inode = path.stat().st_ino
        pid = os.fork()
        if pid == 0:  # the child: another user, then the edit; its exit code is the verdict
            code = 1
            try:
                os.setgroups([])
                os.setgid(OTHER_GID + 1)
                os.setuid(OTHER_UID + 1)
                atomic.atomic_replace(
                    path, b'{"mcpServers": {"claude-health": {}}}\n', expected=path.read_bytes()
                )
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        info = path.stat()
        assert (info.st_ino, info.st_uid, info.st_gid) == (inode, OTHER_UID, OTHER_GID)
        assert stat.S_IMODE(info.st_mode) == 0o666
        assert json.loads(path.read_text()) == {"mcpServers": {"claude-health": {}}}
        # The backup the child made is the child's: it could not give it away.
        backups = [p for p in folder.iterdir() if "claude-health-backup" in p.name]
        assert len(backups) == 1 and backups[0].read_text() == '{"mcpServers": {}}\n'
        assert backups[0].stat().st_uid == OTHER_UID + 1
    finally:
        shutil.rmtree(folder)


# -- hard links and symbolic links ---------------------------------------------------------------


def test_hard_links_stay_linked(sandbox: Sandbox) -> None:
    path = claude_json(sandbox)
    twin = sandbox.root / "dotfiles" / "claude.json"
    twin.parent.mkdir()
    os.link(path, twin)
    inode = path.stat().st_ino
    applied = apply(plan_user(sandbox)())
    assert path.stat().st_ino == inode and path.stat().st_nlink == 2
    assert twin.read_text() == path.read_text()
    assert "claude-health" in json.loads(twin.read_text())["mcpServers"]
    assert applied.backup is not None and "claude-health" not in applied.backup.read_text()
    assert [n for n in leftovers(path.parent) if "backup" not in n] == []


def test_a_symlink_to_a_hard_linked_file_is_written_through(sandbox: Sandbox) -> None:
    real = sandbox.write(sandbox.root / "dotfiles" / "mcp.json", '{"mcpServers": {}}\n')
    os.link(real, sandbox.root / "dotfiles" / "mcp.backup-copy.json")
    link = sandbox.project / ".cursor" / "mcp.json"
    link.parent.mkdir()
    link.symlink_to(real)
    apply(plan_install(sandbox.workspace(), "cursor", launch=LAUNCH))
    assert link.is_symlink() and real.stat().st_nlink == 2
    for name in ("mcp.json", "mcp.backup-copy.json"):
        assert "claude-health" in json.loads((sandbox.root / "dotfiles" / name).read_text())["mcpServers"]


# -- a full disk ---------------------------------------------------------------------------------


def _full_after(limit: int) -> Callable[[int, bytes], None]:
    """A writer that writes ``limit`` bytes, then fails as a full disk does."""

    def write(fd: int, data: bytes) -> None:
        os.write(fd, data[:limit])
        raise OSError(28, "No space left on device")

    return write


@pytest.mark.parametrize("linked", [False, True], ids=["rename", "hard-link"])
def test_a_full_disk_leaves_nothing_behind_and_says_so(sandbox: Sandbox, linked: bool) -> None:
    path = claude_json(sandbox)
    if linked:
        os.link(path, sandbox.root / "twin.json")
    before = path.read_bytes()
    with pytest.raises(RegistrationError, match=r"No space left on device.*nothing was changed"):
        apply(plan_user(sandbox)(), now=NOW, hooks=Hooks(write=_full_after(10**9)))
    with pytest.raises(RegistrationError, match=r"No space left on device.*nothing was changed"):
        # the backup fits, the new content does not (written halfway)
        apply(plan_user(sandbox)(), now=NOW, hooks=Hooks(write=_fails_on_second_write()))
    assert path.read_bytes() == before
    assert not atomic.backup_path(path, NOW, backup_dir(sandbox.workspace())).exists()
    assert leftovers(path.parent) == []


def _fails_on_second_write() -> Callable[[int, bytes], None]:
    calls = [0]

    def write(fd: int, data: bytes) -> None:
        calls[0] += 1
        if calls[0] == 1:
            os.write(fd, data)
            return
        os.write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    return write


def test_an_in_place_write_that_cannot_be_undone_keeps_the_backup_and_names_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = claude_json(sandbox)
    os.link(path, sandbox.root / "twin.json")
    before = path.read_bytes()

    def broken(fd: int, data: bytes, hooks: Hooks) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"{torn")
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic, "_overwrite", broken)
    with pytest.raises(DamagedError, match=r"could not be put back: it is in .*backup") as caught:
        apply(plan_user(sandbox)(), now=NOW)
    backup = atomic.backup_path(path, NOW, backup_dir(sandbox.workspace()))  # claude-health's own folder
    assert backup.read_bytes() == before and str(backup) in str(caught.value)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (root only), unmounted afterwards."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    assert done.returncode == 0, f"cannot mount a tmpfs: {done.stderr!r}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@needs_root
def test_install_on_a_really_full_disk(sandbox: Sandbox, tiny_disk: Path) -> None:
    project = tiny_disk / "project"
    config = project / ".cursor" / "mcp.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"mcpServers": {"other": {"command": "x", "pad": "p" * 20_000}}}))
    filler = tiny_disk / "filler"
    with filler.open("wb", buffering=0) as handle:  # fill what is left, to the last block
        try:
            while handle.write(b"\0" * 4096):
                pass
        except OSError:
            pass
    before = {p: p.read_bytes() for p in config.parent.iterdir()}
    env = {**os.environ, **sandbox.env}
    done = subprocess.run(
        [cli_path(), "install", "--client", "cursor", "--project", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "No space left on device" in done.stderr and "nothing was changed" in done.stderr
    assert {p: p.read_bytes() for p in config.parent.iterdir()} == before  # nothing left behind
    filler.unlink()
    again = subprocess.run(
        [cli_path(), "install", "--client", "cursor", "--project", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "claude-health" in json.loads(config.read_text())["mcpServers"]


# -- the diff of an edit in a big file ------------------------------------------------------------

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _patched(before: list[str], diff: list[str]) -> list[str]:
    """``before`` with a unified diff applied (checking every context and removed line)."""
    out: list[str] = []
    i, k = 0, 2  # past the --- and +++ lines
    while k < len(diff):
        match = _HUNK.match(diff[k])
        assert match, diff[k]
        start = int(match.group(1)) - (1 if int(match.group(2) or 1) else 0)
        out += before[i:start]
        i, k = start, k + 1
        while k < len(diff) and not diff[k].startswith("@@"):
            kind, body = diff[k][0], diff[k][1:]
            if kind in " -":
                assert before[i] == body
                i += 1
            if kind in " +":
                out.append(body)
            k += 1
    return out + before[i:]


def test_the_diff_is_a_correct_patch_of_only_the_edited_region() -> None:
    """--dry-run diffs only the region an edit touches (a 400,000-line ~/.claude.json made
    difflib spend tens of seconds); the result must still be a correct unified diff."""
    from claude_health.tools.registration.plan import _window_diff

    rnd = random.Random(3)
    for _ in range(3000):
        before = [f"l{rnd.randint(0, 5)}\n" for _ in range(rnd.randint(0, 40))]
        after = list(before)
        for _ in range(rnd.randint(0, 4)):
            op, at = rnd.choice("ird"), rnd.randint(0, len(after))
            if op == "i":
                after.insert(at, f"n{rnd.randint(0, 5)}\n")
            elif after and op == "d":
                del after[min(at, len(after) - 1)]
            elif after:
                after[min(at, len(after) - 1)] = f"x{rnd.randint(0, 5)}\n"
        diff = list(_window_diff(before, after, fromfile="a", tofile="b"))
        assert (diff == []) == (before == after)
        if diff:
            assert _patched(before, diff) == after
