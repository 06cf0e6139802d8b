"""The view: one model of what Claude Code will see, built once and read by every check."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools import files as files_module
from claude_health.tools.doctor import run_doctor
from claude_health.tools.paths import Workspace
from claude_health.tools.settings import validate as validate_module
from claude_health.tools.view import build_view, view_of
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.machines import FUTURE_MS


def max_login(sandbox: Sandbox) -> None:
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": fake_key("oauth_access_token"),
                "refreshToken": fake_key("oauth_refresh_token"),
                "expiresAt": FUTURE_MS,
                "scopes": ["user:inference"],
                "subscriptionType": "max",
            }
        }
    )


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Counts settings validations, and every read_json_object call wherever it was imported."""
    seen: dict[str, Any] = {"validations": 0, "json_reads": []}
    validate = validate_module.validate_workspace

    def counting_validate(ws: Workspace) -> Any:
        seen["validations"] += 1
        return validate(ws)

    original = files_module.read_json_object

    def counting_read(path: Path, **kwargs: Any) -> Any:
        seen["json_reads"].append(Path(path))
        return original(path, **kwargs)

    # Wherever a module imported them by name, not only where they are defined.
    import claude_health.tools.doctor  # noqa: F401  (the checks' modules load on first run)

    run_doctor(Workspace.discover(project=Path("/nonexistent"), env={"HOME": "/nonexistent"}))
    for module in list(sys.modules.values()):
        if getattr(module, "validate_workspace", None) is validate:
            monkeypatch.setattr(module, "validate_workspace", counting_validate)
        if getattr(module, "read_json_object", None) is original:
            monkeypatch.setattr(module, "read_json_object", counting_read)
    yield seen


def messy_settings(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.user_settings({"permissions": {"deny": ["Bash(curl *)"]}, "env": {"DISABLE_TELEMETRY": 1}})
    sandbox.project_settings({"cleanupPeriodDays": "x", "permissions": {"deny": ["Read(./.env)"]}})
    sandbox.local_settings({"permissions": {"allow": ["Bash(ls)"]}})
    sandbox.managed_settings({"env": {"USE_BUILTIN_RIPGREP": "1"}})
    sandbox.claude_json({"projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}}})
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"x": {"command": "no-such-server-xyz"}}})


def test_validation_runs_once_per_doctor_run(sandbox: Sandbox, counted: dict[str, Any]) -> None:
    messy_settings(sandbox)
    ws = sandbox.workspace()
    report = run_doctor(ws)
    assert counted["validations"] == 1
    config_files = {str(f.path) for f in ws.view.files}
    reread = [p for p in counted["json_reads"] if str(p) in config_files]
    assert reread == [], f"config files read outside the view's one validation: {reread}"
    assert {"S004", "S306"} <= {f.code for f in report.findings}  # the checks did see the files
    # Another doctor run on a new snapshot validates again, once.
    run_doctor(sandbox.workspace())
    assert counted["validations"] == 2


def test_macos_keychain_and_mdm_profile_are_read_once_per_doctor_run(
    sandbox: Sandbox, counted: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On macOS too: `security` runs once, the MDM profile and the managed-settings.json it shadows
    are read once, by the view, and every check agrees with what that one read found."""
    import plistlib

    from claude_health.tools.settings import managed_sources
    from tests.fake_security import FakeSecurity

    messy_settings(sandbox)
    security = FakeSecurity(sandbox.root / "bin")
    keychain_login = json.loads((sandbox.home / ".claude" / ".credentials.json").read_text())
    keychain_login["claudeAiOauth"]["subscriptionType"] = "pro"  # the file's login says max
    security.add("Claude Code-credentials", "alice", keychain_login)
    prefs = sandbox.root / "managed-preferences"
    prefs.mkdir()
    profile = prefs / "com.anthropic.claudecode.plist"
    profile.write_bytes(plistlib.dumps({"env": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "999999"}}))
    sandbox.env.update(
        USER="alice",
        PATH=f"{security.bin_dir}:/usr/bin:/bin",
        CLAUDE_HEALTH_PLATFORM="darwin",
        CLAUDE_HEALTH_MANAGED_PREFERENCES_DIR=str(prefs),
    )
    raw_reads: list[Path] = []
    read_bytes, read_text = managed_sources._read_bytes, managed_sources.read_text
    monkeypatch.setattr(managed_sources, "_read_bytes", lambda p: raw_reads.append(p) or read_bytes(p))
    monkeypatch.setattr(managed_sources, "read_text", lambda p: raw_reads.append(p) or read_text(p))
    ws = Workspace.discover(project=sandbox.project, env=sandbox.env)  # the platform override applies
    assert ws.os_name == "darwin"
    report = run_doctor(ws)
    assert counted["validations"] == 1
    config_files = {str(f.path) for f in ws.view.files}
    reread = [p for p in counted["json_reads"] if str(p) in config_files]
    assert reread == [], f"config files read outside the view's one validation: {reread}"
    assert len(security.calls()) == 1, security.calls()
    managed_json = sandbox.managed / "managed-settings.json"
    assert raw_reads.count(profile) == 1 and raw_reads.count(managed_json) == 1, raw_reads
    # What that one read found reaches every check: the Keychain login, the profile's env (L001
    # from the limiter), and managed-settings.json reported as shadowed (S020), not as an error.
    auth = report.sections["auth"]
    assert (auth["billing"], auth["subscriptionType"]) == ("subscription", "pro")
    assert "Keychain" in auth["credentials"][0]["location"]
    assert ws.view.env.origin("CLAUDE_CODE_MAX_OUTPUT_TOKENS") is not None
    assert "USE_BUILTIN_RIPGREP" not in ws.view.env  # from the shadowed file: not applied
    codes = {f.code for f in report.findings}
    assert {"S020", "L001"} <= codes and "A012" not in codes, codes
    assert report.sections["usage"]["plan"]["subscription_type"] == "pro"  # the Keychain's, not the file's


def test_one_view_per_workspace_snapshot(sandbox: Sandbox) -> None:
    ws = sandbox.workspace()
    assert view_of(ws) is view_of(ws) is ws.view
    assert build_view(ws) is not ws.view
    assert sandbox.workspace().view is not ws.view


def test_an_ignored_files_env_reaches_no_check(sandbox: Sandbox) -> None:
    """The issue's case: the file is ignored whole, so neither its env nor its model applies."""
    max_login(sandbox)
    (sandbox.root / "bin").mkdir()
    sandbox.env["PATH"] = str(sandbox.root / "bin")  # no rg: USE_BUILTIN_RIPGREP=0 would be R006
    path = sandbox.user_settings(
        {
            "model": 5,
            "env": {
                "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "999999",
                "USE_BUILTIN_RIPGREP": "0",
                "ANTHROPIC_API_KEY": fake_key(),
            },
        }
    )
    ws = sandbox.workspace()
    view = ws.view
    assert view.file(path) is not None and view.file(path).verdict == "ignored"  # type: ignore[union-attr]
    assert "CLAUDE_CODE_MAX_OUTPUT_TOKENS" not in view.env and "ANTHROPIC_API_KEY" not in view.env
    unapplied = {(u.name, u.reason) for u in view.env.unapplied}
    assert ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "file-ignored") in unapplied
    report = run_doctor(ws)
    codes = {f.code for f in report.findings}
    assert "S004" in codes
    assert not codes & {"L001", "R006"}, codes  # limits and runtime did not read the ignored env
    assert report.sections["auth"]["authMethod"] == "claude.ai"  # the key in it is not used
    assert report.sections["auth"]["billing"] == "subscription"
    # A004 names what does not apply; it and the settings error are one problem.
    [a004] = [f for f in report.findings if f.code == "A004"]
    assert "ANTHROPIC_API_KEY" in a004.message and a004.severity.value == "warning"
    [problem] = [p for p in report.problems if any(f.code == "S004" for f in p.findings)]
    assert {f.code for f in problem.findings} == {"S004", "A004"}
    assert problem.summary.startswith("Claude Code ignores ~/.claude/settings.json entirely")


def test_the_same_env_in_a_loaded_file_does_apply(sandbox: Sandbox) -> None:
    """The control: when the file loads, its env reaches the limiter (L001) and the runtime."""
    path = sandbox.user_settings({"env": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "999999"}})
    report = run_doctor(sandbox.workspace(), only=["limits"])
    l001 = [f for f in report.findings if f.code == "L001"]
    assert l001 and all(f.path == str(path) for f in l001)
    assert "env block of user settings (~/.claude/settings.json)" in l001[0].message
    assert len(report.problems) == 1 + sum(1 for f in report.findings if f.code != "L001")


def test_an_ignored_file_without_auth_settings_leaves_auth_alone(sandbox: Sandbox) -> None:
    """A004 must not claim a file could carry credentials when it holds none, nor fail `auth`."""
    max_login(sandbox)
    sandbox.user_settings({"model": 5, "env": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "999999"}})
    proc = subprocess.run(
        [sys.executable, "-m", "claude_health.server", "auth", "--json", "--project", str(sandbox.project)],
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    data = json.loads(proc.stdout)
    assert proc.returncode == 0, data
    assert data["findings"] == [] and data["auth"]["billing"] == "subscription"


def test_unreadable_settings_is_a_note_for_auth(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.user_settings('{"env": {"ANTHROPIC_API_KEY": "x"},}')  # invalid JSON: content unknown
    from claude_health.tools.auth.check import auth_route

    [a004] = [f for f in auth_route(sandbox.workspace()).findings if f.code == "A004"]
    assert a004.severity.value == "info" and "if it sets credentials" in a004.message


def test_env_is_coerced_layered_and_scoped_as_claude_code_does(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.env["FROM_SHELL"] = "shell"
    sandbox.env["OVERRIDDEN"] = "shell"
    sandbox.claude_json({"env": {"GLOBAL_ONE": 1}})
    user = sandbox.user_settings(
        {"env": {"NUM": 5, "FLAG": True, "NOTHING": None, "LIST": [1, 2], "OVERRIDDEN": "user"}}
    )
    project = sandbox.project_settings(
        {"env": {"ANTHROPIC_API_KEY": key, "ANTHROPIC_BASE_URL": "https://gw.example", "PROJ": "p"}}
    )
    managed = sandbox.managed_settings({"env": {"OVERRIDDEN": "policy"}})
    env = sandbox.workspace().view.env
    assert [env.get(n) for n in ("NUM", "FLAG", "NOTHING", "LIST")] == ["5", "true", "null", "1,2"]
    assert env.get("GLOBAL_ONE") == "1" and env.origin("GLOBAL_ONE").scope == "global-config"  # type: ignore[union-attr]
    assert env.get("OVERRIDDEN") == "policy" and env.origin("OVERRIDDEN").path == managed  # type: ignore[union-attr]
    assert env.origin("NUM").path == user  # type: ignore[union-attr]
    assert env.get("PROJ") == "p" and env.get("FROM_SHELL") == "shell"
    # Project files never set the credential or the base URL.
    assert env.get("ANTHROPIC_API_KEY") is None and env.get("ANTHROPIC_BASE_URL") is None
    assert {(u.name, u.path, u.reason) for u in env.unapplied} == {
        ("ANTHROPIC_API_KEY", project, "project-scope"),
        ("ANTHROPIC_BASE_URL", project, "project-scope"),
    }
    assert env.source("OVERRIDDEN") == f"managed settings env ({managed})"


SHELLS: list[tuple[str, str, Callable[[str], str], str]] = [
    ("bash", ".bashrc", lambda v: f"export ANTHROPIC_API_KEY='{v}'\n", "exported in ~/.bashrc:2"),
    (
        "zsh",
        ".zprofile",
        lambda v: f"typeset -x ANTHROPIC_API_KEY={v}  # work\n",
        "exported in ~/.zprofile:2",
    ),
    ("fish", ".config/fish/config.fish", lambda v: f"set -gx ANTHROPIC_API_KEY {v}\n", "config.fish:2"),
    (
        "zsh",
        ".zshrc",
        lambda v: "export ANTHROPIC_API_KEY=$(cat ~/.secret)\n",
        "probably exported in ~/.zshrc:2",
    ),
]


@pytest.mark.parametrize(("shell", "name", "line", "expected"), SHELLS)
def test_shell_origin_of_a_process_value(
    sandbox: Sandbox, shell: str, name: str, line: Callable[[str], str], expected: str
) -> None:
    key = fake_key()
    sandbox.env["ANTHROPIC_API_KEY"] = key
    sandbox.env["SHELL"] = f"/bin/{shell}"
    sandbox.write(sandbox.home / name, "# start-up\n" + line(key))
    env = sandbox.workspace().view.env
    assert expected in env.described("ANTHROPIC_API_KEY")
    assert key not in env.described("ANTHROPIC_API_KEY")


def test_shell_origin_is_not_a_line_with_another_value(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.env["ANTHROPIC_API_KEY"] = key
    sandbox.write(sandbox.home / ".bashrc", f"export ANTHROPIC_API_KEY={fake_key()}\n")
    sandbox.write(sandbox.home / ".profile", f'ANTHROPIC_API_KEY="{key}"\nexport ANTHROPIC_API_KEY\n')
    env = sandbox.workspace().view.env
    assert env.described("ANTHROPIC_API_KEY") == "exported in ~/.profile:1"
    sandbox.write(sandbox.home / ".profile", "")
    assert sandbox.workspace().view.env.described("ANTHROPIC_API_KEY") == "set in the environment"


def test_credentials_follow_a_config_dir_moved_by_user_settings(sandbox: Sandbox) -> None:
    other = sandbox.root / "cfg"
    sandbox.write(
        other / ".credentials.json",
        {"claudeAiOauth": {"accessToken": "t" * 30, "scopes": ["user:inference"], "subscriptionType": "pro"}},
    )
    sandbox.user_settings({"env": {"CLAUDE_CONFIG_DIR": str(other)}})
    creds = sandbox.workspace().view.credentials
    assert creds.config_dir == other and creds.login is not None and creds.login.subscription_type == "pro"


def test_hostile_expiry_in_the_credentials_file(sandbox: Sandbox) -> None:
    sandbox.credentials('{"claudeAiOauth": {"accessToken": "t", "expiresAt": 1e999, "scopes": []}}')
    login = sandbox.workspace().view.login
    assert login.login is not None and login.login.expires_at_ms is None


def test_cause_keys_never_show_a_key(sandbox: Sandbox) -> None:
    """Cause keys are built from names the user's files choose; a key used as a name stays redacted."""
    key = fake_key()
    sandbox.user_settings({"env": {key: "x", "ANTHROPIC_API_KEY": key}})
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {key: {"command": "no-such-server-xyz"}}})
    report = run_doctor(sandbox.workspace())
    causes = [f.cause for f in report.findings if f.cause]
    assert causes and all(key not in c for c in causes)
    assert key not in json.dumps(report.to_json())


def test_file_verdicts(sandbox: Sandbox) -> None:
    user = sandbox.user_settings({"permissions": {"allow": ["Bash(ls", "Bash(pwd)"]}})  # one rule dropped
    project = sandbox.project_settings({"cleanupPeriodDays": 0})  # rejected whole
    local = sandbox.local_settings({"model": "claude-opus-4-8"})
    view = sandbox.workspace().view
    verdicts = {f.path: f for f in view.files}
    assert verdicts[user].verdict == "partial" and verdicts[user].loaded
    assert [f.code for f in verdicts[user].findings] == ["S101"]
    assert verdicts[project].verdict == "ignored" and not verdicts[project].loaded
    assert verdicts[project].data is None and verdicts[project].raw == {"cleanupPeriodDays": 0}
    assert verdicts[local].verdict == "loaded" and verdicts[local].data == {"model": "claude-opus-4-8"}
    assert verdicts[sandbox.managed / "managed-settings.json"].verdict == "absent"
    assert [f.path for f in view.ignored_files()] == [project]
    shown = verdicts[project].to_json()
    assert shown["verdict"] == "ignored" and "cleanupPeriodDays" in shown["why"][0]
    assert view.model() == ("claude-opus-4-8", str(local))
