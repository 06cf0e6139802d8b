"""``claude-health settings`` as a user runs it: a real subprocess over real files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path


def run(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli_path(), "settings", *args],
        env={**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=sandbox.project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_interface(sandbox: Sandbox) -> None:
    key = fake_key()
    path = sandbox.project_settings(
        '{\n  "permissions": {"allow": ["Bash(ls"]},\n  "env": {"ANTHROPIC_API_KEY": "' + key + '"}\n}'
    )
    proc = run(sandbox, "--project", str(sandbox.project), "--json")
    assert proc.returncode == 1, proc.stderr
    assert key not in proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= {"files", "findings", "summary"}
    for finding in data["findings"]:
        assert {"code", "severity", "message", "path", "line", "column"} <= set(finding)
        assert Path(finding["path"]).is_absolute()
    (rule,) = [f for f in data["findings"] if f["code"] == "S101"]
    assert (rule["path"], rule["line"], rule["column"]) == (str(path), 2, 29)
    scopes = {f["scope"] for f in data["files"]}
    assert {"user", "project", "local", "managed", "global"} <= scopes
    managed = [f for f in data["files"] if f["scope"] == "managed"]
    assert all(f["path"].startswith(str(sandbox.managed)) for f in managed)


def test_healthy_project_exits_zero(sandbox: Sandbox) -> None:
    sandbox.user_settings({"permissions": {"allow": ["Bash(npm test)"]}, "model": "opus"})
    proc = run(sandbox, "--project", str(sandbox.project))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found." in proc.stdout
    assert "loaded" in proc.stdout


def test_human_output_names_ignored_file(sandbox: Sandbox) -> None:
    sandbox.local_settings('{"model": "opus",}')
    proc = run(sandbox, "--color", "never")
    assert proc.returncode == 1
    assert "IGNORED" in proc.stdout and "S001" in proc.stdout and "settings.local.json:1:18" in proc.stdout


def test_bad_project_is_usage_error(sandbox: Sandbox) -> None:
    proc = run(sandbox, "--project", str(sandbox.root / "missing"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_watch_reprints_after_edit(sandbox: Sandbox) -> None:
    sandbox.project_settings({"model": "opus"})
    proc = subprocess.Popen(
        [cli_path(), "settings", "--watch", "--json"],
        env={**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=sandbox.project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = ""
    try:
        assert proc.stderr is not None and proc.stdout is not None
        assert "Watching" in proc.stderr.readline()
        # Re-edit until a re-printed report shows the new error (the watcher may start a moment
        # after the first report, and an edit may be seen half-written first).
        changed = False
        for i in range(60):
            sandbox.project_settings(f'{{"model": 5, "n": {i}}}')
            line = _read_line_with_timeout(proc.stderr, 1.0)
            changed = changed or (line is not None and line.startswith("changed:"))
            while (chunk := _read_line_with_timeout(proc.stdout, 0.2)) is not None:
                out += chunk
            if changed and '"S004"' in out:
                break
        assert changed
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=30)
    assert '"S004"' in out + rest


def _read_line_with_timeout(stream: Any, seconds: float) -> str | None:
    import select

    ready, _, _ = select.select([stream], [], [], seconds)
    if not ready:
        return None
    return str(stream.readline()).strip() or None
