"""``claude-health statusline``: real-shaped stdin payloads, empty input, garbage, install transforms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.usage.snapshot import (
    SNAPSHOT_DB_NAME,
    latest,
    open_db,
    parse_payload,
    snapshot_db_path,
)
from claude_health.tools.usage.statusline import MINIMAL_LINE, statusline, until
from claude_health.tools.usage.statusline_install import install_statusline, uninstall_statusline
from tests.conftest import Sandbox
from tests.mcp_helpers import cli_path

NOW = 1_795_000_000.0


def payload(five: float | None = 42.0, week: float | None = 36.0, **extra: Any) -> dict[str, Any]:
    """Shaped like Claude Code 2.1.x's status line input."""
    data: dict[str, Any] = {
        "hook_event_name": "Status",
        "session_id": "1af7fc5e-8455-4414-9ccd-011d40f70b2a",
        "transcript_path": "/home/u/.claude/projects/-home-u-p/1af7fc5e.jsonl",
        "cwd": "/home/u/p",
        "model": {"id": "claude-opus-4-6", "display_name": "Opus 4.6"},
        "workspace": {"current_dir": "/home/u/p", "project_dir": "/home/u/p"},
        "version": "2.1.90",
        "output_style": {"name": "default"},
        "cost": {"total_cost_usd": 1.2345, "total_duration_ms": 45000, "total_lines_added": 156},
        "context_window": {
            "total_input_tokens": 15234,
            "total_output_tokens": 4521,
            "context_window_size": 200000,
            "used_percentage": 26,
            "remaining_percentage": 74,
        },
        "exceeds_200k_tokens": False,
    }
    limits: dict[str, Any] = {}
    if five is not None:
        limits["five_hour"] = {"used_percentage": five, "resets_at": int(NOW + 2 * 3600 + 13 * 60)}
    if week is not None:
        limits["seven_day"] = {"used_percentage": week, "resets_at": int(NOW + 3 * 86400 + 4 * 3600)}
    if limits:
        data["rate_limits"] = limits
    data.update(extra)
    return data


def env(sandbox: Sandbox) -> dict[str, str]:
    return dict(sandbox.env, CLAUDE_HEALTH_STATE_DB=str(sandbox.root / "state.db"))


def render(sandbox: Sandbox, data: dict[str, Any] | bytes | str, now: float = NOW) -> str:
    raw = data if isinstance(data, bytes) else (data if isinstance(data, str) else json.dumps(data)).encode()
    return statusline(raw, env(sandbox), sandbox.home, now)


def test_real_shaped_payload_prints_one_compact_line_and_stores_the_snapshot(sandbox: Sandbox) -> None:
    line = render(sandbox, payload())
    assert line == "Opus 4.6 │ 5h 42% ↻2h13m │ 7d 36% ↻3d4h │ ctx 26% │ $1.23"
    conn = open_db(str(sandbox.root / SNAPSHOT_DB_NAME))
    stored = latest(conn)
    conn.close()
    assert stored is not None and stored.five_hour is not None
    assert (stored.five_hour.used_percentage, stored.session) == (
        42.0,
        "1af7fc5e-8455-4414-9ccd-011d40f70b2a",
    )


def test_burn_rate_appears_once_the_window_has_history(sandbox: Sandbox) -> None:
    render(sandbox, payload(five=40.0), now=NOW)
    line = render(sandbox, payload(five=46.0), now=NOW + 1800)  # +6% in 30 min
    assert "5h 46% ↻1h43m +12%/h" in line


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \n",
        b"not json",
        b"[1,2,3]",
        b'"string"',
        b"\xff\xfe\x00garbage",
        b"{" * 100_000,
        b"x" * (2 * 1024 * 1024),
    ],
)
def test_empty_and_garbage_input_print_the_minimal_line(sandbox: Sandbox, raw: bytes) -> None:
    assert render(sandbox, raw) == MINIMAL_LINE


def test_api_key_users_without_rate_limits_get_model_context_and_cost(sandbox: Sandbox) -> None:
    line = render(sandbox, payload(five=None, week=None))
    assert line == "Opus 4.6 │ plan % n/a │ ctx 26% │ $1.23"
    assert (
        not (sandbox.root / SNAPSHOT_DB_NAME).exists()
        or latest(open_db(str(sandbox.root / SNAPSHOT_DB_NAME))) is None
    )


def test_hostile_values_are_dropped_not_trusted() -> None:
    bad = payload()
    bad["rate_limits"]["five_hour"]["used_percentage"] = 1_775_000_000  # an epoch in the % field
    bad["rate_limits"]["seven_day"]["resets_at"] = int(NOW - 10)  # already reset
    bad["model"] = {"display_name": ["not", "a", "string"]}
    bad["cost"] = {"total_cost_usd": float("nan")}
    snap = parse_payload(json.dumps(bad), NOW)
    assert snap is not None
    assert (snap.five_hour, snap.seven_day, snap.model, snap.cost_usd) == (None, None, "", None)
    over = payload(five=105.0)
    over["rate_limits"]["seven_day"]["resets_at"] *= 1000  # milliseconds
    snap = parse_payload(json.dumps(over), NOW)
    assert snap is not None and snap.five_hour is not None and snap.seven_day is not None
    assert snap.five_hour.used_percentage == 100.0
    assert snap.seven_day.resets_at == int(NOW + 3 * 86400 + 4 * 3600)


def test_context_percentage_falls_back_to_current_usage() -> None:
    data = payload()
    data["context_window"] = {
        "context_window_size": 200000,
        "current_usage": {
            "input_tokens": 8500,
            "cache_creation_input_tokens": 5000,
            "cache_read_input_tokens": 6500,
        },
    }
    snap = parse_payload(json.dumps(data), NOW)
    assert snap is not None and snap.context_pct == 10.0


def test_unwritable_state_db_still_prints_the_line(sandbox: Sandbox) -> None:
    blocker = sandbox.write("file", "x")
    e = dict(sandbox.env, CLAUDE_HEALTH_STATE_DB=str(blocker / "sub" / "state.db"))
    assert statusline(json.dumps(payload()).encode(), e, sandbox.home, NOW).startswith("Opus 4.6 │ 5h 42%")


def test_until_formats_the_two_largest_units() -> None:
    assert (until(int(NOW + 59), NOW), until(int(NOW + 3700), NOW), until(int(NOW + 90000), NOW)) == (
        "0m",
        "1h01m",
        "1d1h",
    )


def run_cli(argv: list[str], data: bytes, sandbox: Sandbox) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=data, env=env(sandbox), capture_output=True, timeout=60, check=False)


def live_payload(**kw: Any) -> bytes:
    data = payload(**kw)
    shift = time.time() - NOW
    for win in data.get("rate_limits", {}).values():
        win["resets_at"] = int(win["resets_at"] + shift)
    return json.dumps(data).encode()


@pytest.mark.parametrize("how", ["console", "module"])
def test_cli_prints_one_line_and_exits_zero(sandbox: Sandbox, how: str) -> None:
    argv = (
        [cli_path(), "statusline"]
        if how == "console"
        else [sys.executable, "-m", "claude_health.server.commands.statusline"]
    )
    done = run_cli(argv, live_payload(), sandbox)
    assert done.returncode == 0 and done.stderr == b""
    out = done.stdout.decode()
    assert out.count("\n") == 1 and out.startswith("Opus 4.6 │ 5h 42% ↻2h1")
    for garbage in (b"", b"\x00\x01{{{", b"null"):
        done = run_cli(argv, garbage, sandbox)
        assert (done.returncode, done.stdout.decode(), done.stderr) == (0, MINIMAL_LINE + "\n", b"")


def test_cli_wrap_records_and_prints_the_users_own_status_line(sandbox: Sandbox) -> None:
    script = sandbox.write("mine.sh", "#!/bin/sh\nprintf 'mine: '; wc -c\n")
    script.chmod(0o755)
    data = live_payload()
    done = run_cli([cli_path(), "statusline", "--wrap", str(script)], data, sandbox)
    assert done.returncode == 0
    assert done.stdout.decode().split() == ["mine:", str(len(data))]
    conn = open_db(str(sandbox.root / SNAPSHOT_DB_NAME))
    assert latest(conn) is not None
    conn.close()
    failing = run_cli([cli_path(), "statusline", "--wrap", "exit 3"], data, sandbox)
    assert failing.returncode == 0 and failing.stdout.decode().startswith("Opus 4.6 │ 5h")


# -- install --statusline (pure settings transforms) --------------------------------------------


def test_install_adds_the_command_and_keeps_unrelated_keys() -> None:
    settings = {"model": "opus", "permissions": {"allow": ["Bash(ls)"]}}
    change = install_statusline(settings)
    assert change.action == "added" and change.changed
    assert change.settings == {
        **settings,
        "statusLine": {"type": "command", "command": "claude-health statusline"},
    }
    assert settings == {"model": "opus", "permissions": {"allow": ["Bash(ls)"]}}  # input untouched
    again = install_statusline(change.settings)
    assert (again.changed, again.action, again.settings) == (False, "unchanged", change.settings)


def test_install_wraps_an_existing_status_line_and_uninstall_restores_it(tmp_path: Path) -> None:
    original = "bash ~/.claude/statusline.sh 'with quotes' && echo \"$HOME\""
    settings = {"statusLine": {"type": "command", "command": original, "padding": 2}}
    change = install_statusline(settings)
    assert change.action == "wrapped" and change.previous_command == original
    line = change.settings["statusLine"]
    assert line["padding"] == 2 and line["command"].startswith("claude-health statusline --wrap ")
    # The shell hands --wrap exactly the original command back.
    script = tmp_path / "echo-args.py"
    script.write_text("import sys\nprint(sys.argv[-1])\n")
    shown = subprocess.run(  # noqa: S602 - the command line is what Claude Code hands to a shell
        line["command"].replace("claude-health statusline --wrap", f"{sys.executable} {script}"),
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.rstrip("\n")
    assert shown == original
    assert install_statusline(change.settings).action == "unchanged"
    undone = uninstall_statusline(change.settings)
    assert undone.action == "restored" and undone.settings == settings


def test_install_replaces_an_unusable_value_and_uninstall_removes_ours() -> None:
    change = install_statusline({"statusLine": "not an object"})
    assert change.action == "replaced-invalid"
    removed = uninstall_statusline(change.settings)
    assert removed.action == "removed" and "statusLine" not in removed.settings
    foreign = {"statusLine": {"type": "command", "command": "ccusage statusline"}}
    assert uninstall_statusline(foreign).action == "unchanged"


def test_custom_command_path_is_respected() -> None:
    cmd = f"{os.sep}opt{os.sep}bin{os.sep}claude-health statusline"
    change = install_statusline({}, command=cmd)
    assert change.settings["statusLine"]["command"] == cmd
    assert uninstall_statusline(change.settings, command=cmd).action == "removed"


def test_snapshot_is_kept_while_a_scan_holds_the_state_db_write_lock(sandbox: Sandbox) -> None:
    import sqlite3

    from claude_health.tools.usage.store import connect

    state = sandbox.root / "state.db"
    connect(state).close()
    holder = sqlite3.connect(state, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a usage scan writing its batch
    try:
        line = render(sandbox, payload(five=55.0))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "5h 55%" in line
    conn = open_db(snapshot_db_path(state))
    stored = latest(conn)
    conn.close()
    assert stored is not None and stored.five_hour is not None and stored.five_hour.used_percentage == 55.0


def test_wrap_option_forms(sandbox: Sandbox) -> None:
    from claude_health.server.commands.statusline import _wrap_option

    assert _wrap_option(["--wrap", "a b"]) == "a b"
    assert _wrap_option(["--wrap=x --y", "--other"]) == "x --y"
    assert _wrap_option(["--wrap"]) is None and _wrap_option([]) is None
    assert _wrap_option(["--wrap", "one", "--wrap=two"]) == "two"


def test_status_line_imports_stay_light(sandbox: Sandbox) -> None:
    """The refresh path must not import what costs it most (argparse, typing, pathlib, pydantic).

    Guarded by module presence, not by timing: what a refresh imports is what it costs. Only
    modules imported after start-up count: an editable install's import hook loads pathlib itself.
    """
    probe = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from claude_health.server.cli import main\n"
        "code = main(['statusline'])\n"
        "heavy = ('argparse', 'typing', 'pathlib', 'pydantic', 'dataclasses')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules and m not in before], code)\n"
    )
    done = run_cli([sys.executable, "-c", probe], live_payload(), sandbox)
    lines = done.stdout.decode().splitlines()
    assert lines[0].startswith("Opus 4.6 │ 5h 42%")
    assert lines[1] == "HEAVY [] 0", done.stderr.decode()


def test_snapshot_fields_match_their_typed_declaration() -> None:
    """Snapshot is declared twice (typed for mypy, namedtuple at run time): the two must agree."""
    from claude_health.tools.usage.snapshot import Snapshot, WindowUsage

    assert WindowUsage._fields == ("used_percentage", "resets_at")
    assert Snapshot._fields == (
        "captured_at",
        "session",
        "model",
        "five_hour",
        "seven_day",
        "cost_usd",
        "context_pct",
    )
    assert Snapshot._field_defaults == {
        "session": "",
        "model": "",
        "five_hour": None,
        "seven_day": None,
        "cost_usd": None,
        "context_pct": None,
    }
    snap = Snapshot(1.0, five_hour=WindowUsage(42.0, 7))
    assert snap.to_json()["five_hour"] == {"used_percentage": 42.0, "resets_at": 7}


# Terminal control in the payload: an OSC that retitles the window, a screen clear, a cursor move,
# BEL, an 8-bit CSI, a bidi override and a lone surrogate (which would make the print itself fail).
HOSTILE_NAMES = [
    "Op\x1b]0;pwned\x07us",
    "Opus\x1b[2J\x1b[H",
    "Opus\x9b31m\x07",
    "\u202eOpus\u202c",
    "Opus\ud800",
    "Opus\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "Opus\r\nfake second line",
]
_CONTROL = {*map(chr, range(0x20)), "\x7f", *map(chr, range(0x80, 0xA0)), "\u202e", "\u202c"}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_terminal_control_in_the_payload_never_reaches_the_screen(sandbox: Sandbox, name: str) -> None:
    data = payload(model={"id": "x", "display_name": name})
    line = render(sandbox, json.dumps(data))
    assert not _CONTROL & set(line), repr(line)
    assert "Opus" in line and "5h 42%" in line
    # json.dumps escapes every control character and the surrogate: the payload is valid JSON.
    done = run_cli([cli_path(), "statusline"], live_payload(model={"id": "x", "display_name": name}), sandbox)
    shown = done.stdout.decode("utf-8")
    assert done.returncode == 0 and "5h 42%" in shown
    assert not _CONTROL & set(shown.rstrip("\n")), repr(shown)


def test_a_wrapped_status_line_keeps_its_colours_but_no_other_escape(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    script = tmp_path / "colourful.py"
    script.write_text(
        "import sys\n"
        "sys.stdout.write('\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07\\x1b[2Jplain\\x1b[1;32mgreen\\x1b[m\\n')\n"
    )
    done = run_cli(
        [cli_path(), "statusline", "--wrap", f"{sys.executable} {script}"], live_payload(), sandbox
    )
    assert done.stdout.decode() == "\x1b[31mred\x1b[0m plain\x1b[1;32mgreen\x1b[m\n"
