"""`claude-health install` / `uninstall` from the command line, and through real clients."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from claude_health.server import cli
from tests.conftest import Sandbox
from tests.external import claude_bin, claude_env
from tests.mcp_helpers import cli_path


@pytest.fixture
def env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    if "uninstall" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "uninstall"))
    return sandbox


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_dry_run_shows_a_diff_and_writes_nothing(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "install",
        "--client",
        "cursor",
        "--project",
        str(env.project),
        "--dry-run",
        "--command",
        "/x/ch",
    )
    assert code == 0
    assert "Would create" in out
    assert '+      "command": "/x/ch",' in out
    assert not (env.project / ".cursor").exists()


def test_install_then_again_then_uninstall(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--client", "claude-code", "--project", str(env.project))
    code, out, _ = run(capsys, "install", *args, "--command", "/x/ch")
    assert code == 0 and "Registered claude-health in" in out
    assert (
        json.loads((env.project / ".mcp.json").read_text())["mcpServers"]["claude-health"]["command"]
        == "/x/ch"
    )
    code, out, _ = run(capsys, "install", *args, "--command", "/x/ch")
    assert code == 0 and "already registered" in out
    code, out, _ = run(capsys, "uninstall", *args, "--json")
    payload = json.loads(out)
    assert code == 0 and payload["action"] == "remove" and payload["backup"]
    assert Path(payload["backup"]).exists()
    assert json.loads((env.project / ".mcp.json").read_text()) == {"mcpServers": {}}


def test_malformed_file_exits_1_with_location(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    env.write(env.project / ".mcp.json", '{"mcpServers": {,}}')
    code, _, err = run(capsys, "install", "--client", "claude-code", "--project", str(env.project))
    assert code == 1
    assert ".mcp.json:1:17: not valid JSON" in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["install", "--client", "emacs"])
    assert exc.value.code == 2
    code, _, err = run(capsys, "install", "--client", "cursor", "--url", "http://x")
    assert code == 2 and "--url only applies" in err


def test_jetbrains_prints_a_snippet(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "install", "--client", "jetbrains", "--command", "/x/ch")
    assert code == 0
    snippet = out[out.index("{") : out.rindex("}") + 1]
    assert json.loads(snippet)["mcpServers"]["claude-health"]["command"] == "/x/ch"


def test_codex_home_is_honoured(
    env: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(env.root / "codex"))
    code, _, _ = run(capsys, "install", "--client", "codex", "--scope", "user", "--command", "/x/ch")
    assert code == 0
    assert 'command = "/x/ch"' in (env.root / "codex" / "config.toml").read_text()


# -- real Claude Code ----------------------------------------------------------------------------


@pytest.mark.e2e
def test_claude_code_connects_to_what_install_wrote(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(
        capsys, "install", "--client", "claude-code", "--project", str(env.project), "--command", cli_path()
    )
    assert code == 0
    proc = subprocess.run(
        [claude_bin(), "--settings", '{"enableAllProjectMcpServers":true}', "mcp", "get", "claude-health"],
        cwd=env.project,
        env=claude_env(env.home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Connected" in proc.stdout, proc.stdout + proc.stderr
    assert "Scope: Project" in proc.stdout


@pytest.mark.e2e
def test_claude_code_reads_the_user_scope_entry(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    env.claude_json({"numStartups": 3, "mcpServers": {}})
    code, _, _ = run(capsys, "install", "--client", "claude-code", "--scope", "user", "--command", cli_path())
    assert code == 0
    proc = subprocess.run(
        [claude_bin(), "mcp", "list"],
        cwd=env.project,
        env=claude_env(env.home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert f"claude-health: {cli_path()} serve - ✔ Connected" in proc.stdout, proc.stdout + proc.stderr
    code, _, _ = run(capsys, "uninstall", "--client", "claude-code", "--scope", "user")
    assert code == 0
    assert (
        json.loads((env.home / ".claude.json").read_text()).get("mcpServers", {}).get("claude-health") is None
    )


# -- real Codex CLI and Gemini CLI (npm @openai/codex@0.169.0, @google/gemini-cli@0.61.0) ------------


@pytest.mark.e2e
def test_codex_reads_what_install_wrote(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.external import external_bin

    codex_home = env.root / "codex"
    env.write(codex_home / "config.toml", '# mine\nmodel = "o3"\n\n[mcp_servers.other]\ncommand = "npx"\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CODEX_HOME", str(codex_home))
        code, _, _ = run(capsys, "install", "--client", "codex", "--scope", "user", "--command", cli_path())
    assert code == 0
    proc = subprocess.run(
        [external_bin("codex", "CLAUDE_HEALTH_CODEX_BIN"), "mcp", "get", "claude-health", "--json"],
        env={**claude_env(env.home), "CODEX_HOME": str(codex_home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    transport = json.loads(proc.stdout)["transport"]
    assert transport["command"] == cli_path() and transport["args"] == ["serve"]
    assert (codex_home / "config.toml").read_text().startswith('# mine\nmodel = "o3"\n')


@pytest.mark.e2e
def test_gemini_connects_to_what_install_wrote(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.external import external_bin

    code, _, _ = run(
        capsys, "install", "--client", "gemini", "--project", str(env.project), "--command", cli_path()
    )
    assert code == 0
    proc = subprocess.run(
        [external_bin("gemini", "CLAUDE_HEALTH_GEMINI_BIN"), "mcp", "list"],
        cwd=env.project,
        env=claude_env(env.home, GEMINI_CLI_TRUST_WORKSPACE="true"),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = proc.stdout + proc.stderr  # gemini 0.61 prints the list on stderr
    assert f"claude-health: {cli_path()} serve (stdio) - Connected" in output, output


def test_dry_run_json_diff_hides_secrets(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    import secrets

    token = "ghp_" + secrets.token_hex(18)
    (env.project / ".codex").mkdir()
    (env.project / ".codex" / "config.toml").write_text(f'[mcp_servers.gh.env]\nGITHUB_TOKEN = "{token}"\n')
    argv = ("install", "--client", "codex", "--scope", "project", "--project", str(env.project))
    code, out, err = run(capsys, *argv, "--dry-run", "--json", "--command", "/x/ch")
    assert code == 0 and "GITHUB_TOKEN" in json.loads(out)["diff"]
    assert token not in out + err
    code, out, err = run(capsys, *argv, "--dry-run", "--command", "/x/ch")
    assert code == 0 and "GITHUB_TOKEN" in out and token not in out + err


def test_unwritable_path_exits_1_without_traceback(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    (env.project / ".vscode").write_text("a file, not a folder")
    for verb in ("install", "uninstall"):
        args = ["--command", "/x/ch"] if verb == "install" else []
        code, _out, err = run(capsys, verb, "--client", "vscode", "--project", str(env.project), *args)
        assert code == 1 and "Traceback" not in err
        assert err.count("\n") == 1 and "Not a directory" in err


def _install(sandbox: Sandbox, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed CLI, run by its absolute path (as from a virtualenv) with a chosen PATH."""
    return subprocess.run(
        [cli_path(), "install", "--client", "claude-code", *args],
        env={**sandbox.env, "PATH": path},
        cwd=sandbox.project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _entry(sandbox: Sandbox) -> dict[str, object]:
    entry: dict[str, object] = json.loads((sandbox.project / ".mcp.json").read_text())["mcpServers"][
        "claude-health"
    ]
    return entry


def test_project_scope_warns_about_this_machines_path(sandbox: Sandbox) -> None:
    """Not on PATH: the absolute path is written (it works here) with a warning naming --portable."""
    proc = _install(sandbox, "/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    assert _entry(sandbox)["command"] == cli_path()
    assert "Warning: .mcp.json is meant to be committed, but this entry runs " + cli_path() in proc.stdout
    assert "--portable` (it writes `uvx claude-health serve`; everyone needs uv)" in proc.stdout
    user = _install(sandbox, "/usr/bin:/bin", "--scope", "user", "--json")
    assert user.returncode == 0, user.stderr
    payload = json.loads(user.stdout)
    assert payload["entry"]["command"] == cli_path()
    assert not any("Warning" in note for note in payload["notes"])  # ~/.claude.json is not committed


def test_project_scope_uses_the_bare_name_when_on_path(sandbox: Sandbox) -> None:
    proc = _install(sandbox, f"{Path(cli_path()).parent}:/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    assert _entry(sandbox) == {"type": "stdio", "command": "claude-health", "args": ["serve"], "env": {}}
    assert "claude-health is on PATH here" in proc.stdout and "Warning" not in proc.stdout
    # --command still writes exactly what it is given.
    again = _install(sandbox, f"{Path(cli_path()).parent}:/usr/bin:/bin", "--command", cli_path())
    assert again.returncode == 0 and _entry(sandbox)["command"] == cli_path()


def test_portable_flag(sandbox: Sandbox) -> None:
    proc = _install(sandbox, "/usr/bin:/bin", "--portable")
    assert proc.returncode == 0, proc.stderr
    assert _entry(sandbox) == {
        "type": "stdio",
        "command": "uvx",
        "args": ["claude-health", "serve"],
        "env": {},
    }
    assert "needs uv on every machine" in proc.stdout
    clash = _install(sandbox, "/usr/bin:/bin", "--portable", "--command", "/x/ch")
    assert clash.returncode == 2 and "--portable and --command are mutually exclusive" in clash.stderr


def test_backup_lives_in_the_state_directory(sandbox: Sandbox) -> None:
    """The previous file is kept outside the project; the output points at it."""
    state = sandbox.root / "state"
    sandbox.env["XDG_STATE_HOME"] = str(state)
    original = '{"mcpServers": {"other": {"command": "npx", "args": ["-y", "other"]}}}\n'
    sandbox.write(sandbox.project / ".mcp.json", original)
    proc = _install(sandbox, "/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("Backup of the previous file: ")]
    backup = Path(line.removeprefix("Backup of the previous file: "))
    assert backup.parent == state / "claude-health" / "backups"
    assert backup.read_text() == original
    assert sorted(p.name for p in sandbox.project.iterdir()) == [".mcp.json"]


@pytest.mark.e2e
def test_bare_name_entry_connects_in_claude_code(sandbox: Sandbox) -> None:
    """The portable entry is not only well-formed: Claude Code starts it from PATH and connects."""
    on_path = f"{Path(cli_path()).parent}:/usr/bin:/bin"
    assert _install(sandbox, on_path).returncode == 0
    assert _entry(sandbox)["command"] == "claude-health"
    sandbox.user_settings({"enabledMcpjsonServers": ["claude-health"]})
    proc = subprocess.run(
        [claude_bin(), "mcp", "list"],
        cwd=sandbox.project,
        env=claude_env(sandbox.home, PATH=f"{on_path}:{Path(claude_bin()).parent}"),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("claude-health:")]
    assert "✔ Connected" in line, proc.stdout
