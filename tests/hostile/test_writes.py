"""The commands that write (install, uninstall, limits set) against hostile existing files:
each refuses and leaves the file byte for byte, or writes and keeps everything else it held."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hostile.harness import TALLY, Outcome, leaked, run_cli_inprocess, snapshot
from tests.hostile.inputs import DEEP, Case, Hostile, fifo, nested


def _other(h: Hostile) -> dict[str, object]:
    return {"mcpServers": {"keep-me": {"command": "x", "env": {"TOKEN": h.secrets[0]}}}}


EXISTING: dict[str, Callable[[Hostile, Path], None]] = {
    "garbage": lambda h, p: h.write(p, '{"mcpServers": {"a": 1,,}'),
    "deep": lambda h, p: h.write(p, '{"mcpServers": ' + nested(DEEP, "{}") + "}"),
    "digits": lambda h, p: h.write(p, '{"n": ' + "9" * 5000 + ', "mcpServers": {}}'),
    "utf-16": lambda h, p: h.write(p, json.dumps(_other(h)).encode("utf-16")),
    "bom": lambda h, p: h.write(p, "\ufeff" + json.dumps(_other(h))),
    "surrogate": lambda h, p: h.write(p, '{"mcpServers": {"\\ud800": {"command": "x"}}}'),
    "not-an-object": lambda h, p: h.write(p, '["mcpServers"]'),
    "servers-not-an-object": lambda h, p: h.write(p, '{"mcpServers": "all of them"}'),
    "fifo": lambda h, p: fifo(p),
    "device": lambda h, p: p.symlink_to("/dev/zero"),
    "directory": lambda h, p: p.mkdir(),
    "dangling": lambda h, p: p.symlink_to(p.parent / "nowhere.json"),
    "huge": lambda h, p: h.write(p, '{"pad": "' + "x" * (9 * 1024 * 1024) + '", "mcpServers": {}}'),
}


def _calm(h: Hostile) -> None:
    pass


@pytest.mark.parametrize("shape", EXISTING)
def test_install_and_uninstall_over_a_hostile_mcp_json(
    shape: str, fresh: Callable[[Case], Hostile], inside: Callable[[Hostile], None]
) -> None:
    case = Case(
        "special" if shape in ("fifo", "device", "directory", "dangling") else "malformed",
        f"install-over-{shape}",
        _calm,
    )
    h = fresh(case)
    target = h.project / ".mcp.json"
    if target.exists() or target.is_symlink():
        target.unlink()
    EXISTING[shape](h, target)
    inside(h)
    outcomes = []
    for argv in (
        ["install", "--client", "claude-code"],
        ["uninstall", "--client", "claude-code"],
        ["install", "--client", "claude-code"],
    ):
        before = snapshot(h.sandbox.root)
        before_data = _data(target)
        run = run_cli_inprocess(argv)
        outcome = Outcome(case.klass, case.name, f"cli {' '.join(argv)}", crash=run.crash)
        outcome.leaks = leaked(run.stdout + run.stderr + run.logs, h.secrets)
        after = snapshot(h.sandbox.root)
        rel = "project/.mcp.json"
        if run.code != 0:  # refused: not a byte of it changed
            if before.get(rel) != after.get(rel):
                outcome.lost = [f"{rel} changed although {argv[0]} refused (exit {run.code})"]
        elif isinstance(before_data, dict) and not _kept(before_data, _data(target)):
            outcome.lost = [f"{rel} lost content on {argv[0]}"]  # written, but not everything kept
        outcomes.append(TALLY.add(outcome))
    failed = [o.explain() for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)


def _kept(before: dict[str, object], now: object) -> bool:
    """Every key but ours (mcpServers.claude-health) has its old value."""
    if not isinstance(now, dict):
        return False
    if any(now.get(k) != v for k, v in before.items() if k != "mcpServers"):
        return False
    servers, servers_now = before.get("mcpServers"), now.get("mcpServers")
    if not isinstance(servers, dict):
        return True  # it was not a table of servers: install refuses, or replaced what cannot hold one
    return isinstance(servers_now, dict) and all(
        servers_now.get(k) == v for k, v in servers.items() if k != "claude-health"
    )


def _data(path: Path) -> object:
    try:
        if not path.is_file() or path.stat().st_size > 64 * 1024 * 1024:
            return None
        text = path.read_bytes().decode("utf-8-sig")
        return json.loads(text)
    except (OSError, ValueError, RecursionError):
        return None


LIMITS: dict[str, str | bytes] = {
    "garbage": "tier = [\n",
    "deep": "x = " + "[" * 5000 + "]" * 5000 + "\n",
    "digits": "x = " + "9" * 5000 + "\n",
    "wrong-types": 'tier = 5\nstore = ["x"]\n[models]\nopus = "fast"\n',
    "not-utf-8": b'tier = "\xff\xfe"\n',
}


@pytest.mark.parametrize("shape", [*LIMITS, "fifo"])
def test_limits_set_over_a_hostile_override_file(
    shape: str, fresh: Callable[[Case], Hostile], inside: Callable[[Hostile], None]
) -> None:
    case = Case("malformed", f"limits-set-over-{shape}", _calm)
    h = fresh(case)
    path = h.home / ".config" / "claude-health" / "limits.toml"
    if shape == "fifo":
        fifo(path)
    else:
        h.write(path, LIMITS[shape])
    before = os.lstat(path)
    content = path.read_bytes() if shape != "fifo" else None
    inside(h)
    run = run_cli_inprocess(["limits", "set", "--tier", "build"])
    outcome = Outcome(case.klass, case.name, "cli limits set --tier build", crash=run.crash)
    if run.code == 0:  # written: only the tier changed, every other key it held is still there
        old, new = _toml(content), _toml(path.read_bytes() if path.is_file() else None)
        if (
            old is None
            or new is None
            or {k: v for k, v in new.items() if k != "tier"} != {k: v for k, v in old.items() if k != "tier"}
        ):
            outcome.lost = ["limits set rewrote a file it could not read, or lost keys"]
    elif (shape != "fifo" and path.read_bytes() != content) or os.lstat(path).st_ino != before.st_ino:
        outcome.lost = ["limits.toml changed although limits set refused"]
    TALLY.add(outcome)
    assert outcome.ok, outcome.explain()


def _toml(raw: bytes | None) -> dict[str, object] | None:
    import tomllib

    try:
        return tomllib.loads(raw.decode("utf-8")) if raw is not None else None
    except (ValueError, RecursionError):
        return None
