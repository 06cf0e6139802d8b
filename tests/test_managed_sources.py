"""Managed settings from MDM profiles, the Windows registry and managed-settings.json.

Claude Code takes managed settings from the first source that delivers any (code.claude.com/docs/
en/managed-settings, "How Claude Code combines managed sources"): the MDM profile (macOS) or
HKLM (Windows), then managed-settings.json with its drop-ins, then HKCU only when no admin source
exists. Real XML and binary plists are written into a temp Managed Preferences root; the registry
is an injected reader; the platform comes from ``CLAUDE_HEALTH_PLATFORM``.
"""

from __future__ import annotations

import datetime
import json
import plistlib
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.auth.check import auth_route
from claude_health.tools.findings import Finding
from claude_health.tools.paths import Workspace
from claude_health.tools.runtime.check import managed_version_bounds
from claude_health.tools.settings.effective import effective_settings
from claude_health.tools.settings.managed_sources import (
    MAX_SOURCE_BYTES,
    RegistryRead,
    managed_policy,
    registry_reader,
)
from claude_health.tools.settings.validate import FileResult, Validation, validate_workspace
from tests.conftest import Sandbox
from tests.mcp_helpers import cli_path

PLIST = "com.anthropic.claudecode.plist"


class Policies:
    """A machine's policy stores: a Managed Preferences root and a registry, for one user."""

    def __init__(self, sandbox: Sandbox, platform: str) -> None:
        self.sandbox = sandbox
        self.prefs = sandbox.root / "managed-preferences"
        self.registry: dict[str, RegistryRead] = {}
        self.reads: list[tuple[str, str, str]] = []
        sandbox.env.update(
            USER="alice",
            CLAUDE_HEALTH_PLATFORM=platform,
            CLAUDE_HEALTH_MANAGED_PREFERENCES_DIR=str(self.prefs),
            PATH=str(sandbox.root / "no-bin"),  # no `security`: these tests are about settings
        )

    def plist(self, data: Any, *, user: bool = False, binary: bool = False) -> Path:
        path = (self.prefs / "alice" / PLIST) if user else (self.prefs / PLIST)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(plistlib.dumps(data, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML))
        return path

    def reg(self, hive: str, value: object, type_name: str = "REG_SZ") -> None:
        if isinstance(value, dict):
            value = json.dumps(value)
        self.registry[hive] = RegistryRead(exists=True, value=value, type_name=type_name)

    def read(self, hive: str, key: str, value: str) -> RegistryRead:
        self.reads.append((hive, key, value))
        return self.registry.get(hive, RegistryRead(exists=False))

    def workspace(self) -> Workspace:
        return Workspace.discover(project=self.sandbox.project, env=self.sandbox.env)

    def validate(self) -> Validation:
        with registry_reader(self.read):
            return validate_workspace(self.workspace())


@pytest.fixture
def mac(sandbox: Sandbox) -> Policies:
    return Policies(sandbox, "darwin")


@pytest.fixture
def win(sandbox: Sandbox) -> Iterator[Policies]:
    policies = Policies(sandbox, "win32")
    with registry_reader(policies.read):
        yield policies


def managed(v: Validation) -> dict[str, FileResult]:
    return {str(r.file.path): r for r in v.files if r.file.scope == "managed" and r.file.kind == "settings"}


def found(v: Validation, code: str) -> list[Finding]:
    return [f for f in v.findings if f.code == code]


# -- macOS -------------------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [False, True])
def test_device_profile_is_judged_and_applied(mac: Policies, binary: bool) -> None:
    path = mac.plist({"permissions": {"deny": ["Read(./.env)"]}, "cleanupPeriodDays": 30}, binary=binary)
    v = mac.validate()
    result = managed(v)[str(path)]
    assert result.loaded is True and result.to_json()["origin"] == "plist"
    assert "MDM profile (device)" in (result.file.note or "")
    eff = effective_settings(v)
    assert eff.settings["permissions"]["deny"] == ["Read(./.env)"]
    assert eff.provenance["cleanupPeriodDays"] == str(path)


def test_profile_shadows_managed_settings_json(mac: Policies) -> None:
    profile = mac.plist({"model": "sonnet", "env": {"ANTHROPIC_BASE_URL": "https://gw.corp.example"}})
    file = mac.sandbox.managed_settings(
        {"model": "opus", "env": {"ANTHROPIC_BASE_URL": "https://old.example"}}
    )
    v = mac.validate()
    results = managed(v)
    assert results[str(profile)].loaded is True
    assert results[str(file)].loaded is False and "not applied" in (results[str(file)].file.note or "")
    [s020] = found(v, "S020")
    assert s020.path == str(file) and str(profile) in s020.message
    assert effective_settings(v).settings["model"] == "sonnet"
    # The auth route reads the same truth: the profile's env applies, the shadowed file's does not.
    status = auth_route(mac.workspace()).status
    assert status.baseUrl == "https://gw.corp.example"


def test_a_broken_managed_settings_json_under_a_profile_does_not_stop_claude_code(mac: Policies) -> None:
    """Claude Code never reads a shadowed file, so it cannot refuse to start over it: no A012, and
    the problem says the file is ignored, not that Claude Code will not start. The control without
    the profile says it will not."""
    from claude_health.tools.doctor import run_doctor

    file = mac.sandbox.managed_settings('{"model": "opus",')
    alone = run_doctor(mac.workspace(), only=["auth", "settings"])
    assert "A012" in {f.code for f in alone.findings}
    assert any(p.summary.startswith("Claude Code refuses to start") for p in alone.problems)

    mac.plist({"model": "sonnet"})
    ws = mac.workspace()
    report = run_doctor(ws, only=["auth", "settings"])
    codes = {f.code for f in report.findings}
    assert "A012" not in codes and {"S001", "S020"} & codes, codes
    [s001] = [f for f in report.findings if f.code == "S001"]
    assert "higher managed source" in s001.message and "refuses" not in s001.message
    assert not any("refuses to start" in p.summary for p in report.problems)
    seen = ws.view.file(file)
    assert seen is not None and seen.verdict == "ignored" and seen.not_applied
    assert ws.view.settings.settings["model"] == "sonnet"


def test_per_user_profile_wins_over_the_device_profile(mac: Policies) -> None:
    device = mac.plist({"model": "opus"})
    user = mac.plist({"model": "haiku"}, user=True)
    v = mac.validate()
    assert managed(v)[str(user)].loaded is True and managed(v)[str(device)].loaded is False
    assert [f.path for f in found(v, "S020")] == [str(device)]
    assert effective_settings(v).settings["model"] == "haiku"


def test_empty_profile_delivers_nothing_and_the_file_applies(mac: Policies) -> None:
    profile = mac.plist({})
    file = mac.sandbox.managed_settings({"model": "opus"})
    v = mac.validate()
    assert managed(v)[str(file)].loaded is True
    assert managed(v)[str(profile)].loaded is False and "empty" in (managed(v)[str(profile)].file.note or "")
    assert not found(v, "S020") and not found(v, "S021")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a plist at all", "not a valid property list"),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><plist><dict/></plist>", "not a valid"),
        (plistlib.dumps(["a", "list"]), "not a dictionary"),
        (plistlib.dumps({"when": datetime.datetime(2026, 1, 1)}), "a date at when"),
        (plistlib.dumps({"blob": b"\x00\x01"}), "a data value at blob"),
        (b"\x00" * (MAX_SOURCE_BYTES + 1), "limit"),
    ],
)
def test_unusable_profile_is_reported_and_the_next_source_applies(
    mac: Policies, content: bytes, words: str
) -> None:
    path = mac.prefs / PLIST
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    file = mac.sandbox.managed_settings({"model": "opus"})
    v = mac.validate()
    [s021] = found(v, "S021")
    assert s021.path == str(path) and words in s021.message
    assert managed(v)[str(path)].loaded is False and managed(v)[str(file)].loaded is True


def test_deeply_nested_profile_is_a_finding_not_a_crash(mac: Policies) -> None:
    depth = 5000
    body = "<dict><key>k</key>" * depth + "<true/>" + "</dict>" * depth
    path = mac.prefs / PLIST
    path.parent.mkdir(parents=True)
    path.write_text(f"<?xml version='1.0'?><plist version='1.0'>{body}</plist>")
    v = mac.validate()
    assert managed(v)[str(path)].loaded is False
    assert found(v, "S021") or any(f.path == str(path) for f in v.findings)


def test_binary_profile_that_refers_to_itself(mac: Policies) -> None:
    """A binary plist whose dictionary holds itself: hostile, and answered with a finding."""
    header, dict_obj, key_obj = b"bplist00", bytes([0xD1, 1, 0]), b"\x51k"
    body = header + dict_obj + key_obj
    offsets = bytes([len(header), len(header) + len(dict_obj)])
    trailer = struct.pack(">6xBBQQQ", 1, 1, 2, 0, len(body))
    path = mac.prefs / PLIST
    path.parent.mkdir(parents=True)
    path.write_bytes(body + offsets + trailer)
    v = mac.validate()
    assert [f.path for f in found(v, "S021")] == [str(path)]


def test_profile_is_judged_like_any_settings_file_without_positions(mac: Policies) -> None:
    path = mac.plist({"cleanupPeriodDays": "thirty", "permissions": {"allow": ["Bash(*)"]}})
    v = mac.validate()
    mine = [f for f in v.findings if f.path == str(path)]
    assert {"S004"} <= {f.code for f in mine}
    assert all(f.line is None and f.column is None for f in mine)  # a plist has no JSON lines
    assert managed(v)[str(path)].loaded is True  # in managed settings only the bad key is dropped


def test_merge_behaviour_combines_profile_and_file(mac: Policies) -> None:
    mac.plist({"managedSourcesBehavior": "merge", "model": "sonnet", "permissions": {"deny": ["WebFetch"]}})
    mac.sandbox.managed_settings({"model": "opus", "permissions": {"deny": ["Read(./.env)"]}})
    v = mac.validate()
    assert all(r.loaded for r in managed(v).values() if r.file.exists)
    assert not found(v, "S020")
    settings = effective_settings(v).settings
    assert settings["model"] == "sonnet"  # the profile is the higher source
    assert sorted(settings["permissions"]["deny"]) == ["Read(./.env)", "WebFetch"]
    assert managed_policy(mac.workspace()).behavior == "merge"


def test_user_writable_preferences_are_never_policy(mac: Policies) -> None:
    prefs = mac.sandbox.home / "Library" / "Preferences" / PLIST
    prefs.parent.mkdir(parents=True)
    prefs.write_bytes(plistlib.dumps({"model": "opus"}))
    v = mac.validate()
    [s010] = found(v, "S010")
    assert s010.path == str(prefs) and "not policy" in s010.message


def test_runtime_version_bounds_come_from_the_applied_source(mac: Policies) -> None:
    profile = mac.plist({"requiredMinimumVersion": "2.1.300"})
    mac.sandbox.managed_settings({"requiredMinimumVersion": "9.9.9", "requiredMaximumVersion": "9.9.9"})
    assert managed_version_bounds(mac.workspace()) == {"requiredMinimumVersion": ("2.1.300", str(profile))}


def test_user_names_that_are_paths_are_not_followed(mac: Policies) -> None:
    mac.sandbox.env["USER"] = "../../etc"
    names = [s.location for s in managed_policy(mac.workspace()).sources]
    assert not any("etc" in n for n in names)


def test_settings_cli_shows_each_source_and_which_applies(mac: Policies) -> None:
    """Real files, a real subprocess: the JSON report lists the profile as the applied source."""
    profile = mac.plist({"model": "sonnet"})
    file = mac.sandbox.managed_settings({"model": "opus"})
    proc = subprocess.run(
        [cli_path(), "settings", "--json", "--project", str(mac.sandbox.project)],
        env=mac.sandbox.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    files = {f["path"]: f for f in data["files"]}
    assert files[str(profile)]["loaded"] is True and files[str(profile)]["origin"] == "plist"
    assert files[str(file)]["loaded"] is False and "not applied" in files[str(file)]["note"]
    assert "S020" in {f["code"] for f in data["findings"]} and proc.returncode == 1
    human = subprocess.run(
        [cli_path(), "settings", "--project", str(mac.sandbox.project)],
        env=mac.sandbox.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "IGNORED" in human.stdout and "MDM profile (device)" in human.stdout


# -- Windows -----------------------------------------------------------------------------------

HKLM = "HKLM\\SOFTWARE\\Policies\\ClaudeCode\\Settings"
HKCU = "HKCU\\SOFTWARE\\Policies\\ClaudeCode\\Settings"


def test_hklm_policy_applies_and_is_read_where_claude_code_reads_it(win: Policies) -> None:
    win.reg("HKLM", {"forceLoginMethod": "console", "permissions": {"deny": ["WebFetch"]}})
    v = win.validate()
    result = managed(v)[HKLM]
    assert result.loaded is True and result.to_json()["origin"] == "registry"
    assert ("HKLM", "SOFTWARE\\Policies\\ClaudeCode", "Settings") in win.reads
    assert effective_settings(v).settings["permissions"]["deny"] == ["WebFetch"]
    assert auth_route(win.workspace()).status.forcedLoginMethod == "console"


def test_hklm_shadows_managed_settings_json(win: Policies) -> None:
    win.reg("HKLM", {"model": "sonnet"})
    file = win.sandbox.managed_settings({"model": "opus"})
    v = win.validate()
    assert managed(v)[str(file)].loaded is False
    [s020] = found(v, "S020")
    assert s020.path == str(file) and "HKLM" in s020.message


def test_hkcu_is_used_only_without_an_admin_source(win: Policies) -> None:
    win.reg("HKCU", {"model": "haiku"})
    v = win.validate()
    assert managed(v)[HKCU].loaded is True and effective_settings(v).settings["model"] == "haiku"
    win.sandbox.managed_settings({"model": "opus"})
    v = win.validate()
    assert managed(v)[HKCU].loaded is False
    [s020] = found(v, "S020")
    assert s020.path == HKCU and "only when no admin source" in s020.message
    assert effective_settings(v).settings["model"] == "opus"


def test_registry_value_of_the_wrong_type(win: Policies) -> None:
    win.reg("HKLM", 1, type_name="REG_DWORD")
    file = win.sandbox.managed_settings({"model": "opus"})
    v = win.validate()
    [s021] = found(v, "S021")
    assert s021.path == HKLM and "REG_DWORD" in s021.message
    assert managed(v)[str(file)].loaded is True


def test_registry_value_that_is_not_json_is_judged_with_its_position(win: Policies) -> None:
    win.reg("HKLM", '{"model": "opus",}')
    v = win.validate()
    [s001] = found(v, "S001")
    assert s001.path == HKLM and s001.line == 1 and s001.column is not None
    assert "takes no settings from it" in s001.message
    assert managed(v)[HKLM].loaded is False and "not used" in (managed(v)[HKLM].file.note or "")


def test_registry_reader_failure_is_reported_not_raised(win: Policies) -> None:
    def broken(hive: str, key: str, value: str) -> RegistryRead:
        raise PermissionError("access denied")

    with registry_reader(broken):
        v = validate_workspace(win.workspace())
    assert {f.path for f in found(v, "S021")} == {HKLM, HKCU}


def test_huge_registry_value(win: Policies) -> None:
    win.reg("HKLM", '{"x": "' + "a" * MAX_SOURCE_BYTES + '"}')
    v = win.validate()
    assert [f.path for f in found(v, "S021")] == [HKLM]


def test_registry_is_not_read_off_windows_without_a_reader(sandbox: Sandbox) -> None:
    """CLAUDE_HEALTH_PLATFORM=win32 on Linux: the registry is listed as not read, never guessed."""
    sandbox.env["CLAUDE_HEALTH_PLATFORM"] = "win32"
    file = sandbox.managed_settings({"model": "opus"})
    v = validate_workspace(Workspace.discover(project=sandbox.project, env=sandbox.env))
    results = managed(v)
    assert results[str(file)].loaded is True
    assert results[HKLM].file.exists is False and "not read" in (results[HKLM].file.note or "")
    assert not found(v, "S020") and not found(v, "S021")


def test_settings_cli_in_process_with_an_injected_registry(
    win: Policies, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from claude_health.server.cli import main

    win.reg("HKLM", {"model": "sonnet"})
    win.sandbox.managed_settings({"model": "opus"})
    for name, value in win.sandbox.env.items():
        monkeypatch.setenv(name, value)
    code = main(["settings", "--json", "--project", str(win.sandbox.project)])
    data = json.loads(capsys.readouterr().out)
    files = {f["path"]: f for f in data["files"]}
    assert files[HKLM]["loaded"] is True and files[HKLM]["origin"] == "registry"
    assert code == 1 and "S020" in {f["code"] for f in data["findings"]}


# -- Linux -------------------------------------------------------------------------------------


def test_linux_reads_only_the_file_tier(sandbox: Sandbox) -> None:
    sandbox.env["CLAUDE_HEALTH_PLATFORM"] = "linux"
    policy = managed_policy(Workspace.discover(project=sandbox.project, env=sandbox.env))
    assert [s.origin for s in policy.sources] == ["file"]
