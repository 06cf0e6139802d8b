"""Claude Code runtime checks, each case built as a fake HOME with real files and scripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_health.tools.paths import Workspace
from claude_health.tools.runtime.check import run_check
from claude_health.tools.runtime.machine import Runtime, classify
from tests.conftest import Sandbox
from tests.external import claude_bin


def script(path: Path, body: str, shebang: str = "#!/bin/sh") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{shebang}\n{body}\n")
    path.chmod(0o755)
    return path


def native_install(sandbox: Sandbox, version: str = "2.1.50", body: str | None = None) -> Path:
    target = script(
        sandbox.home / ".local" / "share" / "claude" / "versions" / version,
        body or f'echo "{version} (Claude Code)"',
    )
    link = sandbox.home / ".local" / "bin" / "claude"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return link


def codes(sandbox: Sandbox, **kwargs: object) -> list[str]:
    return sorted(f.code for f in run_check(sandbox.workspace(), **kwargs).findings)  # type: ignore[arg-type]


def test_no_claude_anywhere_is_informational(sandbox: Sandbox) -> None:
    sandbox.env["PATH"] = str(sandbox.root / "empty")
    outcome = run_check(sandbox.workspace())
    assert [f.code for f in outcome.findings] == ["R002"]
    assert outcome.findings[0].severity == "info"
    assert outcome.data["claude"] is None


def test_native_install_off_path_is_reported_with_the_fix(sandbox: Sandbox) -> None:
    link = native_install(sandbox)
    sandbox.env["PATH"] = "/usr/bin:/bin"
    outcome = run_check(sandbox.workspace())
    finding = next(f for f in outcome.findings if f.code == "R001")
    assert str(link) in finding.message and "native" in finding.message
    assert finding.hint is not None and str(link.parent) in finding.hint


def test_native_install_on_path_is_healthy_and_reports_version(sandbox: Sandbox) -> None:
    link = native_install(sandbox, "2.1.77")
    sandbox.env["PATH"] = f"{link.parent}:/usr/bin:/bin"
    outcome = run_check(sandbox.workspace())
    assert outcome.findings == []
    assert outcome.data["claude"]["method"] == "native"
    assert outcome.data["version"] == "2.1.77"


def test_two_installations_are_flagged(sandbox: Sandbox) -> None:
    link = native_install(sandbox)
    script(
        sandbox.home
        / ".npm-global"
        / "lib"
        / "node_modules"
        / "@anthropic-ai"
        / "claude-code"
        / "bin"
        / "claude.exe",
        'echo "2.0.1"',
    )
    npm_bin = sandbox.home / ".npm-global" / "bin" / "claude"
    npm_bin.parent.mkdir(parents=True)
    npm_bin.symlink_to(
        sandbox.home
        / ".npm-global"
        / "lib"
        / "node_modules"
        / "@anthropic-ai"
        / "claude-code"
        / "bin"
        / "claude.exe"
    )
    sandbox.env["PATH"] = f"{link.parent}:/usr/bin:/bin"
    outcome = run_check(sandbox.workspace())
    finding = next(f for f in outcome.findings if f.code == "R003")
    assert "native" in finding.message and "npm-global" in finding.message
    assert [i["method"] for i in outcome.data["other_installs"]] == ["npm-global"]


def test_npm_script_without_node(sandbox: Sandbox) -> None:
    package = sandbox.root / "prefix" / "lib" / "node_modules" / "@anthropic-ai" / "claude-code"
    cli = script(package / "cli.js", 'console.log("1.0.0")', shebang="#!/usr/bin/env node")
    bin_dir = sandbox.root / "prefix" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "claude").symlink_to(cli)
    sandbox.env["PATH"] = str(bin_dir)  # no node here
    outcome = run_check(sandbox.workspace())
    found = {f.code: f for f in outcome.findings}
    assert "R005" in found
    assert found["R005"].severity == "error"
    assert "R013" in found  # and, really, it cannot even print its version


def test_npm_prefix_owned_by_someone_else(sandbox: Sandbox) -> None:
    package = sandbox.root / "usr" / "lib" / "node_modules" / "@anthropic-ai" / "claude-code"
    exe = script(package / "bin" / "claude.exe", 'echo "2.1.10 (Claude Code)"')
    (sandbox.root / "usr" / "lib" / "node_modules").chmod(0o755)
    bin_dir = sandbox.root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "claude").symlink_to(exe)
    sandbox.env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    # the directory belongs to the test's user; judge it as another user would see it
    outcome = run_check(sandbox.workspace(), uid=54321, groups=set())
    finding = next(f for f in outcome.findings if f.code == "R004")
    assert str(sandbox.root / "usr") in finding.message
    assert outcome.data["claude"]["method"] == "npm-global"
    assert "R004" not in codes(sandbox, uid=0)


@pytest.mark.parametrize(
    ("value", "with_rg", "expected"),
    [("0", False, ["R006"]), ("0", True, []), ("1", False, []), ("yes", True, ["R007"])],
)
def test_use_builtin_ripgrep(sandbox: Sandbox, value: str, with_rg: bool, expected: list[str]) -> None:
    tools = sandbox.root / "tools"
    tools.mkdir()
    if with_rg:
        script(tools / "rg", "exit 0")
    sandbox.env["PATH"] = str(tools)
    sandbox.env["USE_BUILTIN_RIPGREP"] = value
    assert [c for c in codes(sandbox) if c != "R002"] == expected


def test_use_builtin_ripgrep_from_settings_env_names_the_file(sandbox: Sandbox) -> None:
    path = sandbox.user_settings({"env": {"USE_BUILTIN_RIPGREP": "0"}})
    sandbox.env["PATH"] = str(sandbox.root / "nothing")
    finding = next(f for f in run_check(sandbox.workspace()).findings if f.code == "R006")
    assert finding.path == str(path)


def test_project_on_windows_drive_under_wsl(sandbox: Sandbox) -> None:
    env = {**sandbox.env, "WSL_DISTRO_NAME": "Ubuntu", "PATH": str(sandbox.root / "none")}
    ws = Workspace(env=env, home=sandbox.home, project=Path("/mnt/c/Users/me/project"), platform="linux")
    found = [f for f in run_check(ws).findings if f.code == "R009"]
    assert len(found) == 1 and "/mnt/c/Users/me/project" in found[0].message
    not_wsl = Workspace(env=sandbox.env, home=sandbox.home, project=Path("/mnt/c/x"), platform="linux")
    assert "R009" not in [f.code for f in run_check(not_wsl).findings] or _host_is_wsl()


def _host_is_wsl() -> bool:
    try:
        return "microsoft" in Path("/proc/sys/kernel/osrelease").read_text().lower()
    except OSError:
        return False


def test_windows_binaries_under_wsl() -> None:
    from claude_health.tools.runtime.check import _wsl_findings

    ws = Workspace(
        env={"WSL_INTEROP": "/run/WSL/1"}, home=Path("/home/me"), project=Path("/home/me/p"), platform="linux"
    )
    rt = Runtime(node=Path("/mnt/c/Program Files/nodejs/node"), wsl=True)
    found = _wsl_findings(rt, ws)
    assert [f.code for f in found] == ["R010"]
    assert "`node`" in found[0].message


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ({"requiredMinimumVersion": "2.2.0"}, ["R011"]),
        ({"requiredMaximumVersion": "2.1.9"}, ["R012"]),
        ({"requiredMinimumVersion": "2.1.50", "requiredMaximumVersion": "2.1.50"}, []),
        ({"requiredMinimumVersion": "latest"}, ["R014"]),
    ],
)
def test_managed_version_range(sandbox: Sandbox, bounds: dict[str, str], expected: list[str]) -> None:
    link = native_install(sandbox, "2.1.50")
    sandbox.env["PATH"] = f"{link.parent}:/usr/bin:/bin"
    sandbox.managed_settings(bounds)
    assert codes(sandbox) == expected


def test_managed_dropin_overrides_the_main_file(sandbox: Sandbox) -> None:
    link = native_install(sandbox, "2.1.50")
    sandbox.env["PATH"] = f"{link.parent}:/usr/bin:/bin"
    sandbox.managed_settings({"requiredMinimumVersion": "9.0.0"})
    sandbox.write(
        sandbox.managed / "managed-settings.d" / "10-version.json", {"requiredMinimumVersion": "2.0.0"}
    )
    assert codes(sandbox) == []


def test_hanging_claude_times_out(sandbox: Sandbox) -> None:
    link = native_install(sandbox, "2.1.50", body="sleep 30")
    sandbox.env["PATH"] = f"{link.parent}:/usr/bin:/bin"
    outcome = run_check(sandbox.workspace(), version_timeout=0.5)
    finding = next(f for f in outcome.findings if f.code == "R013")
    assert "did not finish within 0.5 s" in finding.message


def test_crashing_claude(sandbox: Sandbox) -> None:
    link = native_install(sandbox, "2.1.50", body='echo "Error: cannot find module" >&2; exit 3')
    sandbox.env["PATH"] = f"{link.parent}:/usr/bin:/bin"
    finding = next(f for f in run_check(sandbox.workspace()).findings if f.code == "R013")
    assert "exited with 3: Error: cannot find module" in finding.message


def test_classify_paths(sandbox: Sandbox) -> None:
    ws = sandbox.workspace()
    home = sandbox.home
    assert (
        classify(home / ".claude/local/claude", home / ".claude/local/node_modules/.bin/claude", ws)
        == "npm-local"
    )
    assert (
        classify(Path("/opt/homebrew/bin/claude"), Path("/opt/homebrew/Caskroom/claude-code/2.1/claude"), ws)
        == "homebrew"
    )
    assert classify(Path("/x/claude"), Path("/x/claude"), ws) == "unknown"


@pytest.mark.e2e
def test_real_claude_code_binary(sandbox: Sandbox) -> None:
    real = Path(claude_bin())
    sandbox.env["PATH"] = f"{real.parent}:/usr/bin:/bin"
    sandbox.managed_settings({"requiredMinimumVersion": "99.0.0"})
    outcome = run_check(sandbox.workspace())
    assert outcome.data["version"] is not None and outcome.data["version"].count(".") == 2
    assert outcome.data["claude"]["method"] == "npm-global"
    assert "R011" in [f.code for f in outcome.findings]
