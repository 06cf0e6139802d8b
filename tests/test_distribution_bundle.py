"""`claude-health bundle`: the MCP Bundle (.mcpb) for Claude Desktop, checked by the official mcpb CLI.

The bundle is read, validated and re-packed by `@anthropic-ai/mcpb` (pinned in .ci/npm), and the
server inside it is started the way Claude Desktop starts a `uv` bundle: `uv run --directory
<bundle> main.py`, then asked for its tools by the MCP Inspector CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from claude_health.tools import __version__
from tests.external import REPO, external_bin, inspector_bin
from tests.mcp_helpers import cli_path

pytestmark = pytest.mark.e2e

REGENERATE = ".venv/bin/claude-health bundle --out build/bundle --record server.json"


def mcpb(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [external_bin("mcpb", "CLAUDE_HEALTH_MCPB_BIN"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def bundle(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli_path(), "bundle", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bundle")
    proc = bundle("--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    info: dict[str, Any] = json.loads(proc.stdout)
    assert Path(info["path"]) == out / "claude-health.mcpb"
    return info


@pytest.fixture(scope="module")
def unpacked(built: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle as the official CLI unpacks it."""
    target = tmp_path_factory.mktemp("unpacked")
    proc = mcpb("unpack", built["path"], str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target


def sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_bundle_is_reproducible_and_its_sha256_is_recorded(built: dict[str, Any], tmp_path: Path) -> None:
    again = bundle("--out", str(tmp_path), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["sha256"] == built["sha256"] == sha256(built["path"])
    server = json.loads((REPO / "server.json").read_text(encoding="utf-8"))
    (entry,) = [p for p in server["packages"] if p["registryType"] == "mcpb"]
    assert entry["fileSha256"] == built["sha256"], (
        f"server.json records another bundle than this tree builds; run `{REGENERATE}`"
    )


def test_bundle_holds_the_package_a_checkout_ships(built: dict[str, Any]) -> None:
    names = set(zipfile.ZipFile(built["path"]).namelist())
    assert {"manifest.json", "pyproject.toml", "main.py"} <= names
    code = {n.removeprefix("claude_health/") for n in names if n.startswith("claude_health/")}
    listed = subprocess.run(
        [
            "git",
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "server",
            "tools",
            "config_templates",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert code == {p for p in listed if (REPO / p).is_file()}
    assert len(names) == len(code) + 3  # nothing else: no tests, caches or checkout files


def test_official_cli_validates_the_manifest(unpacked: Path) -> None:
    proc = mcpb("validate", str(unpacked / "manifest.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Manifest schema validation passes!" in proc.stdout


def test_official_cli_rejects_a_broken_manifest(unpacked: Path, tmp_path: Path) -> None:
    manifest = json.loads((unpacked / "manifest.json").read_text())
    manifest["server"]["type"] = "ruby"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    proc = mcpb("validate", str(tmp_path / "manifest.json"))
    assert proc.returncode != 0
    assert "server.type" in proc.stdout


def test_official_cli_reads_and_repacks_the_bundle(
    built: dict[str, Any], unpacked: Path, tmp_path: Path
) -> None:
    info = mcpb("info", built["path"])
    assert info.returncode == 0, info.stdout + info.stderr
    assert "claude-health.mcpb" in info.stdout
    packed = tmp_path / "official.mcpb"
    proc = mcpb("pack", str(unpacked), str(packed))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"claude-health@{__version__}" in proc.stdout
    ours, theirs = zipfile.ZipFile(built["path"]), zipfile.ZipFile(packed)
    assert sorted(ours.namelist()) == sorted(theirs.namelist())
    for name in ours.namelist():
        assert ours.read(name) == theirs.read(name), name


def test_manifest_agrees_with_the_package_and_the_server(unpacked: Path) -> None:
    from claude_health.server.bundle import tool_summaries

    manifest = json.loads((unpacked / "manifest.json").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert manifest["manifest_version"] == "0.4"
    assert manifest["name"] == project["name"] and manifest["version"] == __version__
    assert manifest["description"] == project["description"]
    assert manifest["server"] == {
        "type": "uv",
        "entry_point": "main.py",
        "mcp_config": {"command": "uv", "args": ["run", "--directory", "${__dirname}", "main.py"], "env": {}},
    }
    assert manifest["tools"] == tool_summaries()
    bundled = tomllib.loads((unpacked / "pyproject.toml").read_text())
    assert bundled["tool"]["uv"]["package"] is False
    assert bundled["project"]["requires-python"] == project["requires-python"]
    # Exactly the runtime dependencies of pyproject.toml, none of its extras.
    bundled_reqs = {str(Requirement(d)) for d in bundled["project"]["dependencies"]}
    assert bundled_reqs == {str(Requirement(d)) for d in project["dependencies"]}


def uv_env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "UV_CACHE_DIR": str(tmp / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",  # use an installed Python, as a machine without downloads must
        "HOME": str(tmp / "home"),
    }


def test_bundle_serves_its_tools_through_uv(unpacked: Path, tmp_path: Path) -> None:
    """Started like Claude Desktop starts a uv bundle, the bundled code answers tools/list."""
    uv = str(Path(cli_path()).with_name("uv"))
    env = uv_env(tmp_path)
    which = subprocess.run(
        [
            uv,
            "run",
            "--directory",
            str(unpacked),
            "python",
            "-c",
            "import claude_health.server as s; print(s.__file__)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert which.returncode == 0, which.stderr[-2000:]
    assert Path(which.stdout.strip()).is_relative_to(unpacked)  # the bundle's code, not the checkout's
    manifest = json.loads((unpacked / "manifest.json").read_text())
    command = manifest["server"]["mcp_config"]
    argv = [uv if command["command"] == "uv" else command["command"]]
    argv += [a.replace("${__dirname}", str(unpacked)) for a in command["args"]]
    proc = subprocess.run(
        [inspector_bin(), "--cli", "-q", "--format", "json", *argv, "--method", "tools/list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = [t["name"] for t in json.loads(proc.stdout)["result"]["tools"]]
    assert served == [t["name"] for t in manifest["tools"]]


def test_record_updates_only_the_mcpb_entry(built: dict[str, Any], tmp_path: Path) -> None:
    original = json.loads((REPO / "server.json").read_text())
    copy = tmp_path / "server.json"
    stale = json.loads(json.dumps(original))
    mcpb_entry = next(p for p in stale["packages"] if p["registryType"] == "mcpb")
    mcpb_entry.update(fileSha256="0" * 64, version="0.0.1")
    copy.write_text(json.dumps(stale, indent=2) + "\n")
    copy.chmod(0o600)
    proc = bundle("--out", str(tmp_path / "out"), "--record", str(copy))
    assert proc.returncode == 0, proc.stderr
    assert copy.stat().st_mode & 0o777 == 0o600
    assert f"sha256 {built['sha256']}" in proc.stdout
    assert json.loads(copy.read_text()) == {
        **original,
        "packages": [
            {**p, "fileSha256": built["sha256"], "version": __version__} if p["registryType"] == "mcpb" else p
            for p in original["packages"]
        ],
    }


@pytest.mark.parametrize("content", ["{not json", '{"packages": []}', "[]"])
def test_record_refuses_a_file_it_cannot_update(tmp_path: Path, content: str) -> None:
    target = tmp_path / "server.json"
    target.write_text(content)
    proc = bundle("--out", str(tmp_path / "out"), "--record", str(target))
    assert proc.returncode == 1
    assert proc.stderr.startswith("claude-health bundle: ") and "nothing was changed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert target.read_text() == content


def test_out_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = bundle("--out", str(blocker))
    assert proc.returncode == 1
    assert proc.stderr.startswith("claude-health bundle: ") and "Traceback" not in proc.stderr
