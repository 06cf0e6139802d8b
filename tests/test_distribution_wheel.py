"""The release artifacts: sdist and wheel built with `build`, checked by `twine`, run from a fresh venv.

The wheel is built from the sdist (what `python -m build` does), so a file missing from the sdist
fails here. It is installed into a new virtualenv and run from a scratch directory, never from
this checkout: `--version`, `doctor --json` and a stdio `tools/list` through the MCP Inspector.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from claude_health.tools import __version__
from tests.conftest import Sandbox
from tests.external import REPO, inspector_bin

pytestmark = pytest.mark.e2e


def run(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    proc = run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], cwd=out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sdist,) = out.glob("claude_health-*.tar.gz")
    (wheel,) = out.glob("claude_health-*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def fresh(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv with only the wheel (and its dependencies) installed; returns its bin/."""
    root = tmp_path_factory.mktemp("fresh-venv")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    bin_dir = root / "venv" / ("Scripts" if os.name == "nt" else "bin")
    proc = run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(dist["wheel"])], cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return bin_dir


def test_twine_accepts_both_artifacts(dist: dict[str, Path]) -> None:
    proc = run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist["sdist"]), str(dist["wheel"])], cwd=REPO
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2


def test_wheel_metadata_has_one_version_and_the_registry_line(dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(zf.read(name).decode("utf-8"))
        names = set(zf.namelist())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["Version"] == __version__  # from claude_health.tools.__version__, the only source
    assert meta["Summary"] == project["description"]
    server = json.loads((REPO / "server.json").read_text())
    assert f"mcp-name: {server['name']}" in (meta.get_payload() or "")  # the PyPI description
    assert {"claude_health/tools/py.typed", "claude_health/server/py.typed"} <= names


def test_sdist_carries_what_the_wheel_is_built_from(dist: dict[str, Path]) -> None:
    with tarfile.open(dist["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {"pyproject.toml", "setup.py", "README.md", "tools/__init__.py", "server/cli.py"} <= names
    assert "config_templates/claude-code.json" in names and "tools/py.typed" in names


def test_fresh_venv_runs_the_installed_wheel(fresh: Path, sandbox: Sandbox) -> None:
    where = run(
        [
            str(fresh / "python"),
            "-c",
            "import claude_health.server, claude_health.tools as t; "
            "print(claude_health.server.__file__); print(t.__file__)",
        ],
        cwd=sandbox.root,
    )
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():
        assert Path(path).is_relative_to(fresh.parent), path  # the venv's copy, not the checkout
        assert not Path(path).is_relative_to(REPO)

    version = run([str(fresh / "claude-health"), "--version"], cwd=sandbox.root)
    assert version.returncode == 0 and version.stdout.strip() == f"claude-health {__version__}"

    env = {**os.environ, **sandbox.env}
    doctor = run(
        [str(fresh / "claude-health"), "doctor", "--json", "--project", str(sandbox.project)],
        cwd=sandbox.root,
        env=env,
    )
    assert doctor.returncode in (0, 1), doctor.stderr[-2000:]
    report = json.loads(doctor.stdout)
    assert "findings" in report and "summary" in report


def test_fresh_venv_serves_tools_over_stdio(fresh: Path, sandbox: Sandbox) -> None:
    from claude_health.server.app import build_server

    proc = run(
        [
            inspector_bin(),
            "--cli",
            "-q",
            "--format",
            "json",
            str(fresh / "claude-health"),
            "serve",
            "--method",
            "tools/list",
        ],
        cwd=sandbox.root,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = [t["name"] for t in json.loads(proc.stdout)["result"]["tools"]]
    assert served == [t.name for t in asyncio.run(build_server().list_tools())]


def test_fresh_venv_builds_the_same_bundle_as_the_checkout(fresh: Path, sandbox: Sandbox) -> None:
    """A release can build the .mcpb from the installed wheel: same bytes, the sha256 server.json records."""
    proc = run(
        [str(fresh / "claude-health"), "bundle", "--out", str(sandbox.root / "out"), "--json"],
        cwd=sandbox.root,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    server = json.loads((REPO / "server.json").read_text())
    (entry,) = [p for p in server["packages"] if p["registryType"] == "mcpb"]
    assert json.loads(proc.stdout)["sha256"] == entry["fileSha256"], (
        "server.json records another bundle; run `.venv/bin/claude-health bundle --out build/bundle "
        "--record server.json`"
    )
