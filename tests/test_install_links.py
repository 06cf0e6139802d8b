"""`install --print-link`: each editor's one-click link decodes to the entry `install` writes."""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from claude_health.server import cli
from claude_health.tools.registration.clients import config_path
from claude_health.tools.registration.launch import Launch
from claude_health.tools.registration.links import (
    CURSOR_INSTALL,
    UVX_LAUNCH,
    VSCODE_INSTALL,
    cursor_link,
    install_links,
    vscode_command,
    vscode_link,
)
from claude_health.tools.registration.plan import plan_install
from tests.conftest import Sandbox

# encodeURIComponent's output alphabet: anything else in a vscode: link was not encoded.
URI_COMPONENT_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()%")


def decode_vscode_link(link: str) -> dict[str, Any]:
    prefix = f"{VSCODE_INSTALL}?"
    assert link.startswith(prefix), link
    encoded = link[len(prefix) :]
    assert set(encoded) <= URI_COMPONENT_CHARS, set(encoded) - URI_COMPONENT_CHARS
    payload: dict[str, Any] = json.loads(unquote(encoded))
    return payload


def decode_vscode_command(command: str) -> dict[str, Any]:
    words = shlex.split(command)
    assert words[:2] == ["code", "--add-mcp"] and len(words) == 3, words
    payload: dict[str, Any] = json.loads(words[2])
    return payload


def decode_cursor_link(link: str) -> tuple[str, dict[str, Any]]:
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CURSOR_INSTALL
    assert "+" not in parts.query and "/" not in parts.query  # base64 must arrive URL-encoded
    query = parse_qs(parts.query, strict_parsing=True)
    assert set(query) == {"name", "config"}
    config: dict[str, Any] = json.loads(base64.b64decode(query["config"][0], validate=True))
    return query["name"][0], config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    for key in ("XDG_CONFIG_HOME", "APPDATA", "CODEX_HOME", "CLAUDE_CONFIG_DIR"):
        monkeypatch.delenv(key, raising=False)
    return sandbox


LAUNCHES = [
    Launch("/opt/claude health/bin/claude-health", ["serve"], "explicit"),
    Launch("/home/o'brien/ünïcode/claude-health", ["serve"], "explicit"),
    UVX_LAUNCH,
    Launch("/usr/bin/python3", ["-P", "-m", "claude_health.server", "serve"], "python-module"),
]


@pytest.mark.parametrize("launch", LAUNCHES, ids=lambda launch: launch.how + ":" + launch.command[:12])
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_links_carry_the_entry_install_plans(sandbox: Sandbox, launch: Launch, transport: str) -> None:
    ws = sandbox.workspace()
    url = "http://127.0.0.1:9999/mcp"
    for client in ("vscode", "cursor"):
        planned = plan_install(ws, client, scope="user", transport=transport, launch=launch, url=url)  # type: ignore[arg-type]
        links = install_links(ws, client, transport=transport, launch=launch, url=url)  # type: ignore[arg-type]
        assert links.entry == planned.entry
        if client == "vscode":
            assert links.command is not None
            for payload in (decode_vscode_link(links.link), decode_vscode_command(links.command)):
                assert payload.pop("name") == "claude-health"
                assert payload == planned.entry
        else:
            name, config = decode_cursor_link(links.link)
            assert name == "claude-health"
            assert config == planned.entry


@pytest.mark.parametrize("client", ["vscode", "cursor"])
def test_printed_link_decodes_to_the_file_install_writes(
    env: Sandbox, capsys: pytest.CaptureFixture[str], client: str
) -> None:
    common = ("--client", client, "--project", str(env.project), "--command", "/x y/claude-health")
    code, out, err = run(capsys, "install", *common, "--print-link", "--json")
    assert code == 0, err
    printed = json.loads(out)
    written_to = config_path(client, "user", env.workspace())
    assert written_to is not None and not written_to.exists()  # --print-link wrote nothing

    code, _, err = run(capsys, "install", *common, "--scope", "user")
    assert code == 0, err
    key = "servers" if client == "vscode" else "mcpServers"
    written = json.loads(Path(written_to).read_text())[key]["claude-health"]
    assert printed["entry"] == written
    if client == "vscode":
        assert decode_vscode_link(printed["link"]) == {"name": "claude-health", **written}
        assert decode_vscode_command(printed["command"]) == {"name": "claude-health", **written}
    else:
        assert decode_cursor_link(printed["link"]) == ("claude-health", written)


def test_default_launch_is_the_one_install_detects(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "install", "--client", "cursor", "--project", str(env.project), "--print-link", "--json"
    )
    assert code == 0, err
    planned = plan_install(env.workspace(), "cursor", scope="user")
    assert json.loads(out)["entry"] == planned.entry


def test_human_output_shows_command_and_link(env: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    argv = (
        "install",
        "--client",
        "vscode",
        "--project",
        str(env.project),
        "--command",
        "/x/ch",
        "--print-link",
    )
    code, out, _ = run(capsys, *argv)
    assert code == 0
    entry = {"type": "stdio", "command": "/x/ch", "args": ["serve"]}
    assert f"  {vscode_command(entry)}\n" in out
    assert f"  {vscode_link(entry)}\n" in out
    code, out, _ = run(capsys, *argv[:2], "cursor", *argv[3:])
    assert code == 0
    assert out.rstrip().endswith(cursor_link({"command": "/x/ch", "args": ["serve"], "env": {}}))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--client", "zed"), "--print-link needs --client vscode or --client cursor"),
        (("--statusline",), "--print-link needs --client"),
        (("--client", "vscode", "--scope", "project"), "drop --scope project"),
        (("--client", "cursor", "--dry-run"), "drop --scope project / --dry-run"),
    ],
)
def test_print_link_usage_errors(
    env: Sandbox, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, "install", "--project", str(env.project), "--print-link", *extra)
    assert code == 2
    assert message in err
    assert out == "" and "Traceback" not in err


def test_readme_links_are_current() -> None:
    """The README's links are exactly what `uvx claude-health install --client X --print-link` prints."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    vscode = {"type": "stdio", "command": "uvx", "args": ["claude-health", "serve"]}
    cursor = {"command": "uvx", "args": ["claude-health", "serve"], "env": {}}
    assert vscode_command(vscode) in readme
    assert vscode_link(vscode) in readme
    assert cursor_link(cursor) in readme
