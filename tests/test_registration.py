"""Registration writers: every client from empty, populated and malformed files."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from claude_health.tools.registration.atomic import ConcurrentChangeError
from claude_health.tools.registration.clients import CLIENTS, RegistrationError, config_path, load_template
from claude_health.tools.registration.launch import Launch, detect_launch
from claude_health.tools.registration.plan import apply, plan_install, plan_uninstall
from tests.conftest import Sandbox
from tests.fakes import fake_key

LAUNCH = Launch("/opt/ch/bin/claude-health", ["serve"])
FILE_CLIENTS = [c for c in CLIENTS if c != "jetbrains"]


def read_entry(path: Path, client: str) -> object:
    template = load_template(client)
    text = path.read_text()
    if template.format == "toml":
        data = tomllib.loads(text)
    else:
        from claude_health.tools.registration.jsonc import parse

        data = parse(text, allow_comments=True).root.to_python()
    for key in (*template.key, "claude-health"):
        data = data[key]
    return data


@pytest.mark.parametrize("client", FILE_CLIENTS)
def test_install_from_nothing_then_idempotent_then_uninstall(sandbox: Sandbox, client: str) -> None:
    ws = sandbox.workspace()
    change = plan_install(ws, client, launch=LAUNCH)
    assert change.action == "create"
    assert change.path is not None and not change.path.exists()
    assert "+" in change.diff()
    applied = apply(change)
    assert applied.backup is None
    entry = read_entry(change.path, client)
    assert isinstance(entry, dict)
    assert entry["command"] == "/opt/ch/bin/claude-health"
    assert entry["args"] == ["serve"]

    again = plan_install(ws, client, launch=LAUNCH)
    assert again.action == "unchanged"
    assert again.diff() == ""
    before = change.path.read_bytes()
    apply(again)
    assert change.path.read_bytes() == before
    assert not list(change.path.parent.glob("*.claude-health-backup-*"))

    removal = plan_uninstall(ws, client)
    assert removal.action == "remove"
    backup = apply(removal).backup
    assert backup is not None and backup.read_bytes() == before
    # Kept in claude-health's state directory, never beside the file (in the project, or ~/.claude).
    state = sandbox.home / ".local" / "state" / "claude-health" / "backups"
    assert backup.parent == state and stat.S_IMODE(state.stat().st_mode) == 0o700
    assert backup.name.startswith(str(change.path).replace("/", "%") + ".claude-health-backup-")
    assert not list(change.path.parent.glob("*.claude-health-backup-*"))
    assert plan_uninstall(ws, client).action == "absent"


def test_project_scope_paths_are_under_the_project(sandbox: Sandbox) -> None:
    ws = sandbox.workspace()
    expected = {
        "claude-code": ".mcp.json",
        "vscode": ".vscode/mcp.json",
        "cursor": ".cursor/mcp.json",
        "gemini": ".gemini/settings.json",
        "zed": ".zed/settings.json",
        "codex": ".codex/config.toml",
    }
    for client, rel in expected.items():
        assert config_path(client, "project", ws) == sandbox.project / rel


def test_user_scope_paths(sandbox: Sandbox) -> None:
    sandbox.env["CODEX_HOME"] = str(sandbox.root / "codexhome")
    sandbox.env["XDG_CONFIG_HOME"] = str(sandbox.root / "xdg")
    ws = sandbox.workspace()
    assert config_path("claude-code", "user", ws) == sandbox.home / ".claude.json"
    assert config_path("codex", "user", ws) == sandbox.root / "codexhome" / "config.toml"
    assert (
        config_path("claude-desktop", "user", ws)
        == sandbox.root / "xdg" / "Claude" / "claude_desktop_config.json"
    )
    assert config_path("vscode", "user", ws) == sandbox.root / "xdg" / "Code" / "User" / "mcp.json"
    assert config_path("windsurf", "user", ws) == sandbox.home / ".codeium" / "windsurf" / "mcp_config.json"
    assert config_path("gemini", "user", ws) == sandbox.home / ".gemini" / "settings.json"
    mac = type(ws)(env=ws.env, home=ws.home, project=ws.project, platform="darwin")
    assert config_path("claude-desktop", "user", mac) == (
        sandbox.home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    )


def test_user_only_client_refuses_project_scope(sandbox: Sandbox) -> None:
    with pytest.raises(RegistrationError, match="no project scope"):
        plan_install(sandbox.workspace(), "windsurf", scope="project", launch=LAUNCH)


def test_unknown_client_is_a_clear_error(sandbox: Sandbox) -> None:
    with pytest.raises(RegistrationError, match="unknown client 'emacs'"):
        plan_install(sandbox.workspace(), "emacs", launch=LAUNCH)


def test_codex_honours_codex_home_and_codex_shape(sandbox: Sandbox) -> None:
    sandbox.env["CODEX_HOME"] = str(sandbox.root / "ch")
    change = plan_install(sandbox.workspace(), "codex", scope="user", launch=LAUNCH)
    apply(change)
    data = tomllib.loads((sandbox.root / "ch" / "config.toml").read_text())
    assert data == {
        "mcp_servers": {"claude-health": {"command": "/opt/ch/bin/claude-health", "args": ["serve"]}}
    }


def test_http_transport_entries(sandbox: Sandbox) -> None:
    ws = sandbox.workspace()
    url = "http://127.0.0.1:9000/mcp"
    shapes = {
        "claude-code": {"type": "http", "url": url},
        "vscode": {"type": "http", "url": url},
        "cursor": {"url": url},
        "windsurf": {"serverUrl": url},
        "zed": {"url": url},
        "gemini": {"httpUrl": url},
        "codex": {"url": url},
    }
    for client, shape in shapes.items():
        change = plan_install(ws, client, transport="http", url=url, launch=LAUNCH)
        assert change.entry == shape, client
    with pytest.raises(RegistrationError, match="Claude Desktop cannot be given an HTTP server"):
        plan_install(ws, "claude-desktop", transport="http", launch=LAUNCH)


def test_vscode_uses_servers_and_zed_context_servers(sandbox: Sandbox) -> None:
    ws = sandbox.workspace()
    apply(plan_install(ws, "vscode", launch=LAUNCH))
    apply(plan_install(ws, "zed", launch=LAUNCH))
    vscode = json.loads((sandbox.project / ".vscode" / "mcp.json").read_text())
    zed = json.loads((sandbox.project / ".zed" / "settings.json").read_text())
    assert vscode["servers"]["claude-health"]["type"] == "stdio"
    assert "claude-health" in zed["context_servers"]


def test_jetbrains_is_a_snippet_and_writes_nothing(sandbox: Sandbox) -> None:
    change = plan_install(sandbox.workspace(), "jetbrains", launch=LAUNCH)
    assert change.action == "snippet" and change.path is None
    assert change.after is not None
    assert json.loads(change.after) == {
        "mcpServers": {
            "claude-health": {"command": "/opt/ch/bin/claude-health", "args": ["serve"], "env": {}}
        }
    }
    apply(change)
    assert not any(sandbox.project.iterdir())


# -- populated files ----------------------------------------------------------------------------


POPULATED_CLAUDE_JSON = """{
  "numStartups": 12,
  "projects": {
    "/some/where": {
      "allowedTools": [],
      "mcpServers": {}
    }
  },
  "mcpServers": {
    "other": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "other-server"]
    }
  },
  "userID": "abc"
}
"""


def test_populated_file_keeps_every_other_byte_and_round_trips(sandbox: Sandbox) -> None:
    path = sandbox.claude_json(POPULATED_CLAUDE_JSON)
    path.chmod(0o600)
    ws = sandbox.workspace()
    change = plan_install(ws, "claude-code", scope="user", launch=LAUNCH)
    assert change.action == "update"
    applied = apply(change)
    new = path.read_text()
    assert new.startswith(POPULATED_CLAUDE_JSON.split('    }\n  },\n  "userID"')[0])
    assert new.endswith('  },\n  "userID": "abc"\n}\n')
    data = json.loads(new)
    assert data["mcpServers"]["other"]["args"] == ["-y", "other-server"]
    assert data["mcpServers"]["claude-health"] == {
        "type": "stdio",
        "command": "/opt/ch/bin/claude-health",
        "args": ["serve"],
        "env": {},
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert applied.backup is not None
    assert applied.backup.read_text() == POPULATED_CLAUDE_JSON
    assert stat.S_IMODE(applied.backup.stat().st_mode) == 0o600
    apply(plan_uninstall(ws, "claude-code", scope="user"))
    assert path.read_text() == POPULATED_CLAUDE_JSON


def test_existing_entry_is_replaced_in_place(sandbox: Sandbox) -> None:
    original = (
        '{\n  "mcpServers": {\n    "claude-health": {"command": "old"},\n    "b": {"command": "x"}\n  }\n}\n'
    )
    path = sandbox.write(sandbox.project / ".mcp.json", original)
    apply(plan_install(sandbox.workspace(), "claude-code", launch=LAUNCH))
    text = path.read_text()
    assert '"old"' not in text
    assert text.endswith('    "b": {"command": "x"}\n  }\n}\n')
    assert list(json.loads(text)["mcpServers"]) == ["claude-health", "b"]


def test_jsonc_comments_and_trailing_commas_are_preserved(sandbox: Sandbox) -> None:
    original = (
        '// Zed settings\n{\n  /* theme */\n  "theme": "One Dark", // trailing note\n'
        '  "context_servers": {\n    // my server\n    "mine": {"command": "m"},\n  },\n}\n'
    )
    path = sandbox.write(sandbox.project / ".zed" / "settings.json", original)
    ws = sandbox.workspace()
    apply(plan_install(ws, "zed", launch=LAUNCH))
    text = path.read_text()
    for comment in ("// Zed settings", "/* theme */", "// trailing note", "// my server"):
        assert comment in text
    assert read_entry(path, "zed") == {"command": "/opt/ch/bin/claude-health", "args": ["serve"], "env": {}}
    apply(plan_uninstall(ws, "zed"))
    assert path.read_text() == original


def test_strict_json_client_refuses_comments(sandbox: Sandbox) -> None:
    original = '{\n  // note\n  "mcpServers": {}\n}\n'
    path = sandbox.write(sandbox.project / ".mcp.json", original)
    with pytest.raises(RegistrationError, match=r"\.mcp\.json:2:3: not valid JSON: .*comments are not"):
        plan_install(sandbox.workspace(), "claude-code", launch=LAUNCH)
    assert path.read_text() == original


def test_toml_comments_survive_and_round_trip(sandbox: Sandbox) -> None:
    original = (
        '# my codex config\nmodel = "o3"  # the model\n\n[mcp_servers.other]\n'
        'command = "npx"\nargs = ["-y", "other"]\n# end of other\n\n[profiles.fast]\nmodel = "mini"\n'
    )
    sandbox.env["CODEX_HOME"] = str(sandbox.root / "codex")
    path = sandbox.write(sandbox.root / "codex" / "config.toml", original)
    ws = sandbox.workspace()
    apply(plan_install(ws, "codex", scope="user", launch=LAUNCH))
    text = path.read_text()
    assert text.startswith(original)
    assert tomllib.loads(text)["mcp_servers"]["claude-health"]["command"] == "/opt/ch/bin/claude-health"
    # a second install with a different command rewrites only our table
    apply(plan_install(ws, "codex", scope="user", launch=Launch("/new/claude-health", ["serve"])))
    text2 = path.read_text()
    assert text2.startswith(original)
    assert tomllib.loads(text2)["mcp_servers"]["claude-health"]["command"] == "/new/claude-health"
    apply(plan_uninstall(ws, "codex", scope="user"))
    assert path.read_text() == original


def test_toml_entry_in_the_middle_is_replaced_keeping_neighbours(sandbox: Sandbox) -> None:
    original = (
        '[mcp_servers.claude-health]\ncommand = "old"\n\n[mcp_servers.claude-health.env]\nA = "1"\n'
        '# about other\n[mcp_servers.other]\ncommand = "x"\n'
    )
    path = sandbox.write(sandbox.project / ".codex" / "config.toml", original)
    apply(plan_install(sandbox.workspace(), "codex", scope="project", launch=LAUNCH))
    text = path.read_text()
    assert text.endswith('# about other\n[mcp_servers.other]\ncommand = "x"\n')
    data = tomllib.loads(text)
    # install owns the launch; the user's env table survives (merged, not replaced)
    assert data["mcp_servers"]["claude-health"] == {
        "command": "/opt/ch/bin/claude-health",
        "args": ["serve"],
        "env": {"A": "1"},
    }


def test_toml_inline_table_is_refused(sandbox: Sandbox) -> None:
    original = 'mcp_servers = { claude-health = { command = "old" } }\n'
    path = sandbox.write(sandbox.project / ".codex" / "config.toml", original)
    with pytest.raises(RegistrationError, match="cannot edit this file safely"):
        plan_install(sandbox.workspace(), "codex", scope="project", launch=LAUNCH)
    assert path.read_text() == original


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"mcpServers": {', "not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        (b"\x00\x01binary", "binary"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        ('{"mcpServers": "oops"}', "`mcpServers` is a str"),
        ('{"mcpServers": {"claude-health": {}, "claude-health": {}}}', "appears more than once"),
    ],
)
def test_malformed_files_are_refused_untouched(sandbox: Sandbox, content: str | bytes, message: str) -> None:
    path = sandbox.write(sandbox.project / ".cursor" / "mcp.json", content)
    before = path.read_bytes()
    with pytest.raises(RegistrationError, match=message):
        plan_install(sandbox.workspace(), "cursor", launch=LAUNCH)
    assert path.read_bytes() == before


def test_malformed_toml_is_refused(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / ".codex" / "config.toml", "[mcp_servers\n")
    with pytest.raises(RegistrationError, match="not valid TOML"):
        plan_install(sandbox.workspace(), "codex", scope="project", launch=LAUNCH)


def test_directory_and_dangling_symlink_are_refused(sandbox: Sandbox) -> None:
    (sandbox.project / ".mcp.json").mkdir()
    with pytest.raises(RegistrationError, match="is a directory"):
        plan_install(sandbox.workspace(), "claude-code", launch=LAUNCH)
    link = sandbox.project / ".cursor" / "mcp.json"
    link.parent.mkdir()
    link.symlink_to(sandbox.root / "missing.json")
    with pytest.raises(RegistrationError, match="does not resolve"):
        plan_install(sandbox.workspace(), "cursor", launch=LAUNCH)


def test_symlinked_config_is_edited_through_the_link(sandbox: Sandbox) -> None:
    real = sandbox.write(sandbox.root / "dotfiles" / "mcp.json", '{"mcpServers": {}}\n')
    link = sandbox.project / ".cursor" / "mcp.json"
    link.parent.mkdir()
    link.symlink_to(real)
    apply(plan_install(sandbox.workspace(), "cursor", launch=LAUNCH))
    assert link.is_symlink()
    assert "claude-health" in json.loads(real.read_text())["mcpServers"]


def test_concurrent_change_aborts_the_write(sandbox: Sandbox) -> None:
    path = sandbox.write(sandbox.project / ".mcp.json", '{"mcpServers": {}}\n')
    change = plan_install(sandbox.workspace(), "claude-code", launch=LAUNCH)
    path.write_text('{"mcpServers": {}, "edited": true}\n')
    with pytest.raises(ConcurrentChangeError):
        apply(change)
    assert json.loads(path.read_text()) == {"mcpServers": {}, "edited": True}
    assert not list(path.parent.glob(".mcp.json.*"))


def test_diff_never_shows_a_full_key(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.claude_json({"primaryApiKey": key, "mcpServers": {}})
    change = plan_install(sandbox.workspace(), "claude-code", scope="user", launch=LAUNCH)
    diff = change.diff()
    assert "primaryApiKey" in diff
    assert key not in diff
    assert key[-4:] in diff


def test_bom_and_crlf_are_kept(sandbox: Sandbox) -> None:
    original = '\ufeff{\r\n  "mcpServers": {\r\n    "a": {"command": "x"}\r\n  }\r\n}\r\n'
    path = sandbox.write(sandbox.project / ".gemini" / "settings.json", original.encode())
    ws = sandbox.workspace()
    apply(plan_install(ws, "gemini", launch=LAUNCH))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    apply(plan_uninstall(ws, "gemini"))
    assert path.read_bytes() == original.encode()


# -- launch command -----------------------------------------------------------------------------


def test_launch_prefers_the_absolute_console_script(tmp_path: Path) -> None:
    script = tmp_path / "bin" / "claude-health"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    launch = detect_launch(argv0="claude-health", python="/usr/bin/python3", env={"PATH": str(script.parent)})
    assert launch == Launch(str(script), ["serve"], "executable")


def test_launch_uses_uvx_from_uv_cache(tmp_path: Path) -> None:
    script = tmp_path / ".cache" / "uv" / "archive-v0" / "x" / "bin" / "claude-health"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    launch = detect_launch(argv0=str(script), python=str(script.parent / "python"), env={"PATH": ""})
    assert launch.command == "uvx" and launch.args == ["claude-health", "serve"]


def test_launch_falls_back_to_python_module(tmp_path: Path) -> None:
    launch = detect_launch(argv0="/x/pytest", python="/venv/bin/python", env={"PATH": str(tmp_path)})
    assert launch == Launch(
        "/venv/bin/python", ["-P", "-m", "claude_health.server", "serve"], "python-module"
    )


def test_claude_config_dir_moves_the_user_scope_file(sandbox: Sandbox) -> None:
    sandbox.env["CLAUDE_CONFIG_DIR"] = str(sandbox.root / "cfg")
    change = plan_install(sandbox.workspace(), "claude-code", scope="user", launch=LAUNCH)
    assert change.path == sandbox.root / "cfg" / ".claude.json"


# -- secrets in diffs, hostile files, unwritable paths (review regressions) -------------------


def _secrets() -> dict[str, str]:
    import secrets

    return {
        "openai": "sk-proj-" + secrets.token_hex(20),
        "github": "ghp_" + secrets.token_hex(18),
        "anthropic": fake_key(),
        "password": "Pw" + secrets.token_hex(10),
    }


def test_dry_run_diff_hides_secrets_of_any_provider_in_toml(sandbox: Sandbox) -> None:
    s = _secrets()
    sandbox.write(
        sandbox.project / ".codex" / "config.toml",
        "[mcp_servers.other.env]\n"
        f'ANTH = "{s["anthropic"]}"\n'
        f'OPENAI_API_KEY = "{s["openai"]}"\n'
        f'GITHUB_TOKEN = "{s["github"]}"\n'
        f'URL = "https://me:{s["password"]}@h.example/mcp?api_key={s["github"]}"\n',
    )
    diff = plan_install(sandbox.workspace(), "codex", scope="project", launch=LAUNCH).diff()
    assert "OPENAI_API_KEY" in diff and "GITHUB_TOKEN" in diff and "h.example" in diff
    for secret in (s["openai"], s["github"], s["password"]):
        assert secret not in diff and secret[4:16] not in diff
    assert '+command = "/opt/ch/bin/claude-health"' in diff


def test_dry_run_diff_hides_json_values_whose_names_say_nothing(sandbox: Sandbox) -> None:
    s = _secrets()
    sandbox.write(
        sandbox.project / ".mcp.json",
        json.dumps(
            {
                "mcpServers": {
                    "gh": {
                        "command": "x",
                        "env": {"GITHUB_PAT": s["github"], "OPAQUE": s["password"] + "Zz9" * 4},
                        "url": f"https://h/mcp?api_key={s['openai']}&page=2",
                    }
                }
            }
        ),
    )
    diff = plan_install(sandbox.workspace(), "claude-code", launch=LAUNCH).diff()
    assert "GITHUB_PAT" in diff and "page=2" in diff and '"command": "x"' in diff
    for secret in (s["github"], s["openai"], s["password"]):
        assert secret not in diff


def test_fifo_config_is_refused_not_read(sandbox: Sandbox) -> None:
    import os

    os.mkfifo(sandbox.project / ".mcp.json")
    with pytest.raises(RegistrationError, match="not a regular file"):
        plan_install(sandbox.workspace(), "claude-code", launch=LAUNCH)


def test_link_to_a_device_is_refused_not_read(sandbox: Sandbox) -> None:
    (sandbox.project / ".mcp.json").symlink_to("/dev/zero")
    with pytest.raises(RegistrationError, match="not a regular file"):
        plan_install(sandbox.workspace(), "claude-code", launch=LAUNCH)
    with pytest.raises(RegistrationError, match="not a regular file"):
        plan_uninstall(sandbox.workspace(), "claude-code")


def test_a_file_where_a_folder_should_be_is_a_registration_error(sandbox: Sandbox) -> None:
    from claude_health.tools.registration.atomic import atomic_replace

    sandbox.write(sandbox.project / ".vscode", "not a folder")
    with pytest.raises(RegistrationError, match="Not a directory"):
        plan_install(sandbox.workspace(), "vscode", launch=LAUNCH)
    # The same defect appearing between planning and writing.
    with pytest.raises(RegistrationError, match="Not a directory"):
        atomic_replace(sandbox.project / ".vscode" / "sub" / "mcp.json", b"{}", expected=None)
    assert (sandbox.project / ".vscode").read_text() == "not a folder"


def test_statusline_refuses_a_fifo_settings_file(sandbox: Sandbox) -> None:
    import os

    from claude_health.tools.registration.statusline import plan_statusline

    (sandbox.home / ".claude").mkdir()
    os.mkfifo(sandbox.home / ".claude" / "settings.json")
    with pytest.raises(RegistrationError, match="not a regular file"):
        plan_statusline(sandbox.workspace(), launch=LAUNCH)


def test_a_module_launch_never_imports_the_projects_own_claude_health(tmp_path: Path) -> None:
    """Hooks and the status line run in the user's project; `python -m` would put it first on
    sys.path, so a repository's `claude_health/server/__init__.py` would run instead of ours."""
    import shlex
    import subprocess
    import sys

    from claude_health.tools.registration.hooks import hook_command, is_ours
    from claude_health.tools.registration.launch import MODULE_ARGS
    from claude_health.tools.registration.statusline import statusline_command

    project = tmp_path / "project"
    planted = project / "claude_health" / "server"
    planted.mkdir(parents=True)
    marker = tmp_path / "ran"
    (planted / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    launch = Launch(sys.executable, [*MODULE_ARGS, "serve"], "python-module")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "CLAUDE_HEALTH_WATCH": "0"}
    for command in (hook_command(launch, "SessionStart"), statusline_command(launch)):
        done = subprocess.run(
            shlex.split(command), cwd=project, input="{}", capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert not marker.exists(), command
    # Entries written before -P are still recognised as ours (to update or remove them).
    assert is_ours(hook_command(launch, "Stop"))
    assert is_ours(f"{shlex.quote(sys.executable)} -m claude_health.server hook Stop")
