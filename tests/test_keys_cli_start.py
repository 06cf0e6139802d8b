"""`claude-health keys` read without the parser, its tree scan forked before the rest loads.

The lean reader (server/commands/keys_early.py) must build exactly the namespace the parser
builds, or step aside; the child it forks must be the one the scan uses, or be stopped.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from claude_health.server.cli import build_parser, main
from claude_health.server.commands.keys_early import parse
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

# What users type (and a few odd spellings the parser accepts).
PLAIN = [
    [],
    ["--json"],
    ["--sarif"],
    ["--project", "/tmp"],
    ["--project=/tmp", "--json"],
    ["--project="],
    ["--project", "a=b"],
    ["--project", "x", "--project", "y"],
    ["--json", "--json"],
    ["--history", "--verify", "--no-transcripts", "--no-shell-history"],
    ["--staged"],
    ["--jobs", "4"],
    ["--jobs=1"],
    ["--jobs", "+3"],
    ["--jobs", " 2 "],
    ["--jobs", "0"],
    ["--jobs", "99"],
    ["--color", "always"],
    ["--color=never", "-v"],
    ["-vv", "--verbose", "-v"],
    ["--history-timeout", "2.5"],
    ["--history-timeout=inf"],
    ["--json", "--sarif"],
]
# Left to the parser: help, abbreviations, bad values, values that look like options.
PARSER_ONLY = [
    ["-h"],
    ["--help"],
    ["--jso"],
    ["--no-trans"],
    ["--proj", "/tmp"],
    ["--project"],
    ["--project", "--json"],
    ["--jobs", "-1"],
    ["--jobs", "two"],
    ["--color", "blue"],
    ["--color"],
    ["--json=yes"],
    ["-vx"],
    ["-"],
    ["--"],
    ["extra"],
    ["--history-timeout", "soon"],
]


def parsed_by_argparse(argv: list[str]) -> dict[str, Any]:
    return vars(build_parser("keys").parse_args(["keys", *argv]))


@pytest.mark.parametrize("argv", PLAIN)
def test_the_lean_reader_builds_what_the_parser_builds(argv: list[str]) -> None:
    lean = parse(argv)
    assert lean is not None
    assert vars(lean) == parsed_by_argparse(argv)


@pytest.mark.parametrize("argv", PARSER_ONLY)
def test_anything_else_is_left_to_the_parser(argv: list[str]) -> None:
    assert parse(argv) is None


def _json_without_timing(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    data["stats"].pop("duration_ms")
    return data


def test_the_plain_path_prints_what_the_parser_path_prints(sandbox: Sandbox) -> None:
    """`--json` read by the lean reader (child forked first) and `--jso` (an abbreviation: the
    parser, the child forked by the scan) give the same report and the same exit code."""
    for i in range(40):
        sandbox.write(sandbox.project / f"d{i % 4}" / f"f{i}.py", f"x = {i}\n")
    sandbox.write(sandbox.project / "d1" / "leak.py", f"KEY = '{fake_key()}'\n")
    sandbox.write(sandbox.project / "bin.dat", b"\x00" * 20)
    env = {**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    runs = [
        subprocess.run(
            [cli_path(), "keys", "--project", str(sandbox.project), flag],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for flag in ("--json", "--jso")
    ]
    assert [r.returncode for r in runs] == [1, 1], [r.stderr for r in runs]
    plain, parsed = (_json_without_timing(r.stdout) for r in runs)
    assert plain == parsed
    assert plain["stats"]["files_scanned"] == 41 and plain["stats"]["files_skipped_binary"] == 1
    assert [f["code"] for f in plain["findings"]] == ["K001"]


def _live_children() -> list[int]:
    """This process's children that have not been reaped (zombies included), from /proc."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                found.append(int(entry.name))
    return found


@pytest.fixture
def user(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The sandbox as this process's environment (the CLI reads os.environ)."""
    for name in [n for n in os.environ if n.startswith(("ANTHROPIC_", "CLAUDE_"))]:
        monkeypatch.delenv(name)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    for i in range(30):
        sandbox.write(sandbox.project / f"f{i}.py", f"x = {i}\n")
    return sandbox


def _record_starts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    from claude_health.tools.keys import early

    started: list[object] = []
    real = early.start

    def start(*args: Any, **kwargs: Any) -> Any:
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(early, "start", start)
    return started


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")
def test_the_scan_uses_the_child_forked_before_the_parser(
    user: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from claude_health.tools.keys import early

    started = _record_starts(monkeypatch)
    assert main(["keys", "--project", str(user.project), "--json", "--no-transcripts"]) == 0
    assert len(started) == 1 and started[0] is not None  # one child, the early one, used
    assert json.loads(capsys.readouterr().out)["stats"]["files_scanned"] == 30
    assert early._prestarted is None and not _live_children()
    assert gc.isenabled()  # (off during the run: on again for whoever called main)


def test_run_by_the_console_script_the_collector_stays_off_to_the_exit(
    user: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Turned back on after the report, the collector's first pass walks everything the run made
    (10 ms of a 100 MB tree's scan) just before the process exits: the console script leaves it
    off. A run through the full parser (an abbreviated option), and the long runs (--history,
    --verify), have it during the command."""
    from claude_health.server import cli
    from claude_health.server.commands import keys

    collecting: list[bool] = []
    real = keys.run

    def run(args: Any) -> int:
        collecting.append(gc.isenabled())
        return real(args)

    monkeypatch.setattr(keys, "run", run)
    monkeypatch.setattr(cli, "_console", True)
    project = ["--project", str(user.project), "--json", "--no-transcripts", "--no-shell-history"]
    try:
        assert main(["keys", *project]) == 0
        assert collecting == [False] and not gc.isenabled()  # off during the run and after it
        gc.enable()
        assert main(["keys", "--proj", *project[1:]]) == 0
        assert main(["keys", *project, "--history"]) == 0
        assert main(["keys", *project, "--verify"]) == 0
        assert collecting == [False, True, True, True] and gc.isenabled()
    finally:
        gc.enable()
    outputs = capsys.readouterr().out.split("\n}\n")
    assert [json.loads(o + "}")["stats"]["files_scanned"] for o in outputs[:4]] == [30] * 4


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")
def test_a_child_forked_before_the_parser_is_stopped_when_the_command_fails(
    user: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claude_health.tools.keys import early, report

    started = _record_starts(monkeypatch)

    def fails(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a check failed before the scan was claimed")

    monkeypatch.setattr(report, "scan_keys", fails)
    with pytest.raises(RuntimeError):
        main(["keys", "--project", str(user.project), "--json"])
    assert len(started) == 1 and started[0] is not None
    assert early._prestarted is None and not _live_children()  # stopped and reaped


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")
def test_a_child_started_for_another_workspace_or_options_is_not_used(
    user: Sandbox, make_sandbox: Any
) -> None:
    from claude_health.tools.keys import early
    from claude_health.tools.keys.report import ScanOptions, scan_keys

    options = ScanOptions(transcripts=False, shell_history=False, fork_early=True)
    other = make_sandbox()
    other.write(other.project / "leak.py", f"KEY = '{fake_key()}'\n")
    # The scan asks for another folder, or for the same one with other options (transcripts).
    for asked, asked_options, expected in (
        (other.workspace(), options, 1),
        (user.workspace(), ScanOptions(fork_early=True), 30),
    ):
        assert early.prestart(user.workspace(), options)
        report = scan_keys(asked, asked_options)
        assert early._prestarted is None and not _live_children()
        assert report.stats.files_scanned == expected
        assert sum(f.code == "K001" for f in report.findings) == (expected == 1)


def test_a_usage_error_after_the_lean_read_exits_2(user: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    from claude_health.tools.keys import early

    assert main(["keys", "--project", str(user.project), "--json", "--sarif"]) == 2
    assert main(["keys", "--project", str(user.root / "missing")]) == 2
    assert main(["keys", "--project", str(user.project), "--jobs", "0"]) == 2
    assert main(["keys", "--project", "~no-such-user-here/x", "--json"]) == 2  # (expanduser fails)
    err = capsys.readouterr().err
    assert "--json and --sarif are mutually exclusive" in err and "not a directory" in err
    assert "--jobs must be between 1 and 64" in err
    assert early._prestarted is None
