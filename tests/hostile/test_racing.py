"""Racing input: files swapped, truncated and grown while claude-health reads them, and several
processes sharing one state database. Commands run as real processes with a deadline, so a
read that blocks (a file swapped for a FIFO after it was checked) fails the test instead of
hanging the suite."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.tools.usage.synthetic import assistant_record, line
from tests.hostile.harness import TALLY, Outcome, leaked, terminal_control
from tests.hostile.inputs import Case, Hostile, transcript
from tests.mcp_helpers import cli_path


def _calm(h: Hostile) -> None:
    h.sandbox.user_settings({"model": "opus"})
    h.write(h.project / "CLAUDE.md", "# project\n")


CALM = Case("racing", "swapped-files", _calm)


class Swapper:
    """A thread that keeps replacing files with other things until stopped."""

    def __init__(self, targets: list[Path], seed: int) -> None:
        self.targets = targets
        self.rng = random.Random(seed)  # a test schedule, not security
        self.stop = threading.Event()
        self.swaps = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Swapper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def _clear(self, path: Path) -> None:
        if path.is_symlink() or path.is_file() or (path.exists() and not path.is_dir()):
            path.unlink(missing_ok=True)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            path = self.rng.choice(self.targets)
            kind = self.rng.choice(["valid", "truncated", "gone", "fifo", "zero", "dir", "grow"])
            try:
                if kind == "valid":
                    tmp = path.with_name(path.name + ".tmp")
                    tmp.write_text(json.dumps({"model": "opus", "env": {"A": "b"}}))
                    self._clear(path)
                    tmp.replace(path)
                elif kind == "truncated":
                    self._clear(path)
                    path.write_text('{"model": "op')
                elif kind == "gone":
                    self._clear(path)
                elif kind == "fifo":
                    self._clear(path)
                    os.mkfifo(path)
                elif kind == "zero":
                    self._clear(path)
                    path.symlink_to("/dev/zero")
                elif kind == "dir":
                    self._clear(path)
                    path.mkdir()
                elif path.is_file():  # (opening a FIFO to write would wait for a reader)
                    with path.open("a") as fh:
                        fh.write(" " * 10_000)
                self.swaps += 1
            except OSError:
                pass  # a race with ourselves: next
            time.sleep(0.001)


def _process(h: Hostile, argv: list[str], case: str, stdin: bytes = b"{}") -> Outcome:
    outcome = Outcome("racing", case, f"process {' '.join(argv)}")
    try:
        done = subprocess.run(
            [cli_path(), *argv],
            env={**h.sandbox.env, "CLAUDE_HEALTH_WATCH": "0"},
            cwd=h.project,
            input=stdin,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        outcome.crash = "no answer within 120 s (a blocked read?)"
        return TALLY.add(outcome)
    out = done.stdout.decode("utf-8", "backslashreplace") + done.stderr.decode("utf-8", "backslashreplace")
    if done.returncode not in (0, 1, 2) or "Traceback (most recent call last)" in out:
        outcome.crash = f"exit {done.returncode}: {out[-2000:]}"
    outcome.leaks = leaked(out, h.secrets)
    if "--json" not in argv:
        outcome.unsafe = terminal_control(out)
    return TALLY.add(outcome)


@pytest.fixture
def racing(fresh: Callable[[Case], Hostile]) -> Hostile:
    return fresh(CALM)


def _targets(h: Hostile) -> list[Path]:
    return [
        h.home / ".claude" / "settings.json",
        h.project / ".claude" / "settings.json",
        h.project / ".mcp.json",
        h.home / ".claude.json",
        h.project / "CLAUDE.md",
        h.project / "notes.md",
        h.home / ".config" / "claude-health" / "limits.toml",
        h.home / ".claude" / "projects" / "-hostile" / "s.jsonl",
    ]


def test_commands_while_files_are_swapped(racing: Hostile) -> None:
    for target in _targets(racing):
        target.parent.mkdir(parents=True, exist_ok=True)
    commands = [["doctor", "--json"], ["settings"], ["tokens", "."], ["usage", "daily"], ["keys"], ["limits"]]
    with Swapper(_targets(racing), seed=13) as swapper:
        outcomes = [_process(racing, argv, "swapped-files") for argv in commands * 2]
    assert swapper.swaps > 0
    failed = [o.explain() for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)


async def test_mcp_calls_in_parallel_while_files_are_swapped(
    racing: Hostile, inside: Callable[[Hostile], None]
) -> None:
    inside(racing)
    for target in _targets(racing):
        target.parent.mkdir(parents=True, exist_ok=True)
    project = str(racing.project)
    calls = [
        ("validate_settings", {"project_dir": project}),
        ("effective_settings", {"project_dir": project}),
        ("count_tokens", {"project_dir": project, "paths": ["."]}),
        ("context_budget", {"project_dir": project}),
        ("health_report", {"project_dir": project}),
        ("plan_usage", {"project_dir": project}),
        (
            "check_request",
            {"project_dir": project, "model": "claude-opus-4-6", "input_tokens": 1, "max_tokens": 1},
        ),
    ] * 3
    results: list[Outcome] = []
    with Swapper(_targets(racing), seed=7):
        async with Client(build_server(), mode="auto") as client:

            async def one(name: str, args: dict[str, object]) -> None:
                outcome = Outcome("racing", "swapped-files", f"mcp tool {name} (parallel)")
                with anyio.fail_after(120):
                    result = await client.call_tool(name, args)
                text = " ".join(getattr(c, "text", "") for c in result.content)
                if result.is_error and text.strip() == f"Error executing tool {name}":
                    outcome.crash = text
                results.append(TALLY.add(outcome))

            async with anyio.create_task_group() as tg:
                for name, args in calls:
                    tg.start_soon(one, name, args)
            assert (await client.list_tools()).tools  # and it still answers
    failed = [o.explain() for o in results if not o.ok]
    assert not failed, "\n".join(failed)


def _records(n: int, start: int = 0) -> str:
    at = datetime.now(UTC) - timedelta(hours=2)
    return "".join(
        line(
            assistant_record(
                session="s",
                msg_id=f"m{i}",
                request_id=f"r{i}",
                at=at + timedelta(seconds=i),
                output_tokens=1,
            )
        )
        for i in range(start, start + n)
    )


def test_processes_sharing_one_state_database_lose_nothing(fresh: Callable[[Case], Hostile]) -> None:
    h = fresh(CALM)
    transcript(h, _records(300))
    payload = json.dumps(
        {
            "model": {"display_name": "Opus"},
            "rate_limits": {"five_hour": {"used_percentage": 5, "resets_at": int(time.time()) + 3600}},
        }
    ).encode()
    argvs = [
        ["usage", "daily", "--json"],
        ["usage", "--json"],
        ["usage", "blocks", "--json"],
        ["limits", "--json"],
        ["statusline"],
        ["doctor", "--only", "usage", "--json"],
    ]
    procs = [
        (
            argv,
            subprocess.Popen(
                [cli_path(), *argv],
                env={**h.sandbox.env, "CLAUDE_HEALTH_WATCH": "0"},
                cwd=h.project,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
        )
        for argv in argvs * 2
    ]
    outcomes = []
    for argv, proc in procs:
        out, err = proc.communicate(payload, timeout=180)
        outcome = Outcome("racing", "shared-state", f"process {' '.join(argv)} (12 at once)")
        text = out.decode("utf-8", "replace") + err.decode("utf-8", "replace")
        if proc.returncode not in (0, 1) or "Traceback" in text:
            outcome.crash = f"exit {proc.returncode}: {text[-1500:]}"
        outcomes.append(TALLY.add(outcome))
    final = _process(h, ["usage", "daily", "--json"], "shared-state")
    db = h.home / ".cache" / "claude-health" / "limiter.db"
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT COUNT(*) FROM usage_entries").fetchone()[0]
    conn.close()
    lost = Outcome("racing", "shared-state", "usage entries after 12 concurrent processes")
    if stored != 300:
        lost.lost = [f"{stored} of 300 transcript entries stored"]
    outcomes.append(TALLY.add(lost))
    failed = [o.explain() for o in [*outcomes, final] if not o.ok]
    assert not failed, "\n".join(failed)


def test_a_transcript_growing_during_the_scan_is_counted_exactly(fresh: Callable[[Case], Hostile]) -> None:
    h = fresh(CALM)
    path = transcript(h, _records(50))
    stop = threading.Event()
    written = [50]

    def grow() -> None:
        while not stop.is_set() and written[0] < 2_000:
            with path.open("a") as fh:
                text = _records(25, written[0])
                cut = len(text) // 2
                fh.write(text[:cut])  # a torn write, completed a moment later
                fh.flush()
                time.sleep(0.002)
                fh.write(text[cut:])
            written[0] += 25

    runner = threading.Thread(target=grow, daemon=True)
    runner.start()
    outcomes = [_process(h, ["usage", "daily", "--json"], "growing-transcript") for _ in range(4)]
    stop.set()
    runner.join(timeout=30)
    done = subprocess.run(
        [cli_path(), "usage", "daily", "--json"],
        env={**h.sandbox.env, "CLAUDE_HEALTH_WATCH": "0"},
        cwd=h.project,
        capture_output=True,
        timeout=120,
        check=False,
    )
    counted = json.loads(done.stdout)["totals"]["entries"]
    exact = Outcome("racing", "growing-transcript", "usage after the transcript stopped growing")
    if counted != written[0]:
        exact.lost = [f"{counted} entries counted, {written[0]} written"]
    outcomes.append(TALLY.add(exact))
    failed = [o.explain() for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)
