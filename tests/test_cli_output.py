"""Human output as a person sees it: wrapped at the terminal's width, and `-v` saying what was read."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

from tests.conftest import Sandbox
from tests.mcp_helpers import cli_path
from tests.test_cli import run

# A long MCP command path makes S306's message and fix far wider than any terminal.
LONG = "/opt/" + "/".join(["deeply-nested-directory"] * 4) + "/bin/mcp-server-that-is-not-there"


def _messy(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"gone": {"command": LONG}}})
    sandbox.project_settings({"permissions": {"allow": ["Bash(npm run test:*)"]}})


def _finding_lines(out: str) -> list[str]:
    """The indented message and fix lines of the human listing."""
    return [line for line in out.splitlines() if line.startswith("        ")]


def test_output_wraps_at_columns_and_not_in_a_pipe(sandbox: Sandbox) -> None:
    _messy(sandbox)
    piped = run(sandbox, "settings", "--color", "never")
    long_lines = [line for line in _finding_lines(piped.stdout) if len(line) > 100]
    assert long_lines, "a pipe gets one line per message, however long"
    narrow = subprocess.run(
        [cli_path(), "settings", "--color", "never"],
        env={**sandbox.env, "PATH": os.environ["PATH"], "COLUMNS": "60"},
        cwd=sandbox.project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert narrow.returncode == piped.returncode
    for line in _finding_lines(narrow.stdout):
        # Only a single word longer than the width (a path) may overflow; it is never split.
        assert len(line) <= 60 or " " not in line.strip(), line
    assert LONG in narrow.stdout  # whole, on its own line
    # Same words, only the line breaks differ.
    assert " ".join(narrow.stdout.split()) == " ".join(piped.stdout.split())


def test_output_wraps_at_the_terminal_width(sandbox: Sandbox) -> None:
    """On a real terminal (a pty sized 72 columns), without COLUMNS."""
    _messy(sandbox)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 72, 0, 0))
    env = {k: v for k, v in {**sandbox.env, "PATH": os.environ["PATH"]}.items() if k != "COLUMNS"}
    with subprocess.Popen(
        [cli_path(), "settings", "--color", "never"],
        env=env,
        cwd=sandbox.project,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.DEVNULL,
    ) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=120)
    os.close(leader)
    out = b"".join(chunks).decode().replace("\r\n", "\n")
    lines = _finding_lines(out)
    assert len(lines) > 4
    for line in lines:
        assert len(line) <= 72 or " " not in line.strip(), line


def test_verbose_shows_what_each_check_read(sandbox: Sandbox) -> None:
    _messy(sandbox)
    quiet = run(sandbox, "doctor", "--only", "settings", "--only", "limits")
    assert "claude_health.read" not in quiet.stderr
    loud = run(sandbox, "doctor", "--only", "settings", "--only", "limits", "-v")
    lines = loud.stderr.splitlines()
    settings_at = lines.index("INFO claude_health.tools.doctor: check settings")
    limits_at = lines.index("INFO claude_health.tools.doctor: check limits")
    read_by_settings = lines[settings_at + 1 : limits_at]
    settings_json = sandbox.project / ".claude" / "settings.json"
    size = len(settings_json.read_text())
    assert f"INFO claude_health.read: {settings_json}: read {size} characters" in read_by_settings
    assert f"INFO claude_health.read: {sandbox.project / '.mcp.json'}: read" in "\n".join(read_by_settings)
    limits_reads = "\n".join(lines[limits_at + 1 :])
    assert "limits.toml: absent (limits override file)" in limits_reads
    # stdout is the report either way; -v adds each check's duration and each problem's evidence.
    timing = re.compile(r" \d+ ms")
    loud_lines = timing.sub("", loud.stdout).splitlines()
    assert [line for line in loud_lines if line in quiet.stdout.splitlines()] == quiet.stdout.splitlines()


def _help(sandbox: Sandbox, *command: str) -> str:
    proc = run(sandbox, *command, "--help")
    assert proc.returncode == 0, proc.stderr
    return " ".join(proc.stdout.split())  # argparse wraps at the width: compare the words


def test_help_texts_say_what_each_option_does(sandbox: Sandbox) -> None:
    from claude_health.server.commands.doctor import CHECK_NAMES
    from claude_health.tools.doctor import CHECKS

    assert tuple(CHECKS) == CHECK_NAMES  # --help lists the checks without importing them
    doctor = _help(sandbox, "doctor")
    assert "as they land" not in doctor
    assert f"run only this check (repeatable): {', '.join(CHECKS)}" in doctor
    for name in CHECKS:
        assert f"{name} (" in doctor
    uninstall = _help(sandbox, "uninstall")
    assert "take claude-health out of Claude Code's status line" in uninstall
    assert "kept and wrapped" not in uninstall  # that is what install does
    assert "a status line command you already have is kept and wrapped" in _help(sandbox, "install")
    for command in ("install", "serve"):
        text = _help(sandbox, command)
        assert "--transport {stdio,http} stdio (default):" in text, command
    rules = _help(sandbox, "rules")
    assert "--project" not in rules and "--verbose" not in rules
    assert run(sandbox, "rules", "--project", str(sandbox.project), "S306").returncode == 0
    assert "list every file read" in _help(sandbox, "keys")


def test_a_report_that_cannot_be_written_fails_with_one_line(sandbox: Sandbox) -> None:
    """`> out.sarif` on a full disk: exit 120 (what the interpreter gives an unflushable stdout)
    and one line on stderr, never a success with a truncated file, never a traceback. `keys`
    skips the interpreter's teardown, so it must say it itself."""
    _messy(sandbox)
    sandbox.write(sandbox.project / "notes.txt", "nothing secret\n")
    for command in (["keys"], ["keys", "--json"], ["keys", "--sarif"], ["doctor", "--json"], ["settings"]):
        with Path("/dev/full").open("w") as full:  # a real device that answers every write with ENOSPC
            done = subprocess.run(
                [cli_path(), *command, "--project", str(sandbox.project)],
                env={**sandbox.env, "PATH": os.environ["PATH"]},
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
                check=False,
            )
        assert done.returncode == 120, (command, done.returncode, done.stderr[-1000:])
        assert "Traceback" not in done.stderr, command
        assert done.stderr.strip().splitlines()[-1] == (
            "claude-health: could not write standard output: No space left on device"
        ), command
