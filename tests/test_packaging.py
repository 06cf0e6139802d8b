"""The package as users install it: one `claude_health` namespace, runnable with uvx and pipx."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.external import REPO

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        timeout=600,
    )
    (built,) = out.glob("claude_health-*.whl")
    return built


def test_wheel_installs_one_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"claude_health"}, top  # never a bare `server` or `tools` module
    assert "claude_health/server/cli.py" in names
    assert "claude_health/tools/findings.py" in names
    assert "claude_health/tools/py.typed" in names
    assert not any(n.startswith("claude_health/tests") for n in names)


def test_wheel_ships_package_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("config_templates", "tools/data"):
        shipped = {n for n in names if n.startswith(f"claude_health/{folder}/") and not n.endswith(".py")}
        source = {
            f"claude_health/{folder}/{p.name}"
            for p in (REPO / folder).iterdir()
            if p.suffix in {".json", ".toml"}
        }
        assert source <= shipped, f"{folder}: missing {source - shipped}"


def run_tool(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "PIPX_HOME": str(tmp_path / "pipx-home"),
        "PIPX_BIN_DIR": str(tmp_path / "pipx-bin"),
        "HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path
    )


def beside_python(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    found = str(candidate) if candidate.exists() else shutil.which(name)
    assert found, f"{name} is not installed (`bash .ci/test` installs it with the dev extra)"
    return found


def test_runs_with_uvx(tmp_path: Path) -> None:
    proc = run_tool([beside_python("uvx"), "--from", str(REPO), "claude-health", "auth", "--json"], tmp_path)
    assert '"auth"' in proc.stdout, proc.stderr[-2000:]
    assert proc.returncode in (0, 1)


def test_runs_with_pipx(tmp_path: Path) -> None:
    proc = run_tool(
        [beside_python("pipx"), "run", "--spec", str(REPO), "claude-health", "--version"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("claude-health ")
