"""TOML that tomllib cannot take (a 5,000-digit integer, deep nesting): a clear answer, file untouched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from claude_health.tools.files import TomlProblem, parse_toml
from claude_health.tools.limiter.config import LimitsConfigError, load_config
from tests.conftest import Sandbox
from tests.mcp_helpers import cli_path

HOSTILE = {
    "digits": "x = " + "9" * 5000 + "\n",
    "deep array": "x = " + "[" * 5000 + "]" * 5000 + "\n",
    "deep table": "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
    "syntax": "[mcp_servers\n",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_parse_toml_turns_every_failure_into_one_error(name: str) -> None:
    with pytest.raises(TomlProblem) as caught:
        parse_toml(HOSTILE[name])
    assert "sys.set_int_max_str_digits" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def _run(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli_path(), *args],
        env=sandbox.env,
        cwd=sandbox.project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", ["digits", "deep array"])
def test_install_codex_refuses_hostile_toml_and_leaves_it(sandbox: Sandbox, name: str) -> None:
    config = sandbox.write(sandbox.home / ".codex" / "config.toml", HOSTILE[name])
    before = config.read_bytes()
    for args in (
        ("install", "--client", "codex", "--scope", "user", "--dry-run"),
        ("install", "--client", "codex", "--scope", "user"),
        ("uninstall", "--client", "codex", "--scope", "user"),
    ):
        done = _run(sandbox, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr[-1000:])
        assert "Traceback" not in done.stderr
        assert str(config) in done.stderr and "not valid TOML" in done.stderr
    assert config.read_bytes() == before
    assert not list(config.parent.glob("config.toml.*")), "no backup of a file that was not changed"


@pytest.mark.parametrize("name", ["digits", "deep array"])
def test_limits_reports_a_hostile_override_file(sandbox: Sandbox, name: str) -> None:
    path = sandbox.write(sandbox.home / ".config" / "claude-health" / "limits.toml", HOSTILE[name])
    with pytest.raises(LimitsConfigError, match="invalid TOML"):
        load_config(sandbox.env, Path(sandbox.home))
    done = _run(sandbox, "limits", "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert any(f["code"] == "L005" and f["path"] == str(path) for f in findings)
    setter = _run(sandbox, "limits", "set", "--tier", "build")
    assert setter.returncode == 2 and "Traceback" not in setter.stderr and str(path) in setter.stderr
    assert path.read_text() == HOSTILE[name]
