"""Keys pasted into Claude Code sessions and shells: found with their place, never shown in full.

Every key is built at run time (tests/fakes.py). The transcript lines follow Claude Code's own
shapes (a user prompt, a tool result, an assistant line with usage, a subagent file); the
history files follow bash (with HISTTIMEFORMAT), zsh extended history (with metafied bytes and a
multi-line command) and fish.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.tools.keys.report import ScanOptions, scan_keys
from claude_health.tools.redact import fingerprint, redact
from claude_health.tools.usage.synthetic import assistant_record, iso, line, user_record
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

SESSION = "7d1f3b8e-5c2a-4e6f-9a0b-1c2d3e4f5a6b"
WHEN = datetime(2026, 11, 2, 14, 3, 7, tzinfo=UTC)
EPOCH = int(WHEN.timestamp())


def user_prompt(text: str, at: datetime) -> dict[str, Any]:
    rec = user_record(SESSION, at, "")
    rec["message"] = {"role": "user", "content": text}
    return rec


def plant_transcripts(sandbox: Sandbox) -> tuple[Path, dict[str, str]]:
    """A session where a key is pasted into a prompt and an OAuth token comes back in a tool result."""
    keys = {
        "prompt": fake_key("api_key"),
        "tool": fake_key("oauth_access_token"),
        "agent": fake_key("admin_key"),
    }
    proj = sandbox.home / ".claude" / "projects" / "-home-user-app"
    path = proj / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    lines = [
        line(user_prompt("hello", WHEN - timedelta(minutes=5))),
        line(
            assistant_record(
                session=SESSION,
                msg_id="msg_1",
                request_id="req_1",
                at=WHEN - timedelta(minutes=4),
                output_tokens=9,
            )
        ),
        line(user_prompt(f"use this key: {keys['prompt']} and call the API", WHEN)),
        line(
            user_record(
                SESSION,
                WHEN + timedelta(minutes=1),
                f'{{"claudeAiOauth": {{"accessToken": "{keys["tool"]}"}}}}',
            )
        ),
    ]
    path.write_text("".join(lines))
    agent = proj / SESSION / "subagents" / "agent-a1.jsonl"
    agent.parent.mkdir(parents=True)
    rec = user_prompt(f"ADMIN={keys['agent']}", WHEN + timedelta(minutes=2))
    rec["isSidechain"] = True
    agent.write_text(line(rec))
    return path, keys


def plant_zsh(sandbox: Sandbox) -> tuple[Path, str]:
    """Extended history: ': <epoch>:<duration>;<command>', a metafied byte right before the key
    (zsh writes 0x83 then byte^0x20 for bytes such as 0x92, the second byte of 'ƒ'), and a
    multi-line command continued with a backslash."""
    key = fake_key("oauth_refresh_token")
    metafied = "ƒ".encode()[:1] + bytes([0x83, 0x92 ^ 0x20])  # 'ƒ' as zsh stores it
    data = (
        f": {EPOCH - 60}:0;ls -la\n".encode()
        + f": {EPOCH}:2;echo ".encode()
        + metafied
        + b" \\\n"
        + f"  TOKEN={key} curl x\n".encode()
        + f": {EPOCH + 5}:0;git status\n".encode()
    )
    path = sandbox.write(sandbox.home / ".zsh_history", data)
    return path, key


def run(sandbox: Sandbox, *args: str, command: str = "keys") -> subprocess.CompletedProcess[str]:
    extra = ["--project", str(sandbox.project)] if command in {"keys", "doctor"} else []
    return subprocess.run(
        [cli_path(), command, *extra, *args],
        env={**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TZ": "UTC"},
        cwd=sandbox.project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_hidden(text: str, keys: list[str]) -> None:
    for key in keys:
        assert key not in text, "a full key leaked"
        assert key[13:40] not in text and key[-30:] not in text


def findings(sandbox: Sandbox, *args: str) -> list[dict[str, Any]]:
    done = run(sandbox, "--json", *args)
    assert done.returncode in (0, 1), done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)["findings"]
    return found


def test_a_key_in_a_transcript_line_is_found_with_its_session_date_and_line(sandbox: Sandbox) -> None:
    path, keys = plant_transcripts(sandbox)
    found = {f["fingerprint"]: f for f in findings(sandbox) if f["code"] == "K015"}
    assert set(found) == {fingerprint(k) for k in keys.values()}
    prompt = found[fingerprint(keys["prompt"])]
    assert (prompt["path"], prompt["line"], prompt["kind"]) == (str(path), 3, "api_key")
    assert prompt["redacted"] == redact(keys["prompt"]) and prompt["severity"] == "warning"
    assert f"session {SESSION}" in prompt["message"] and "project -home-user-app" in prompt["message"]
    assert "2026-11-02 14:03:07 UTC" in prompt["message"] and "line 3" in prompt["message"]
    assert f"rm {path}" in prompt["hint"] and "Rotate the key" in prompt["hint"]
    tool = found[fingerprint(keys["tool"])]
    assert (tool["line"], tool["kind"]) == (4, "oauth_access_token")
    agent = found[fingerprint(keys["agent"])]
    assert agent["path"].endswith("subagents/agent-a1.jsonl") and agent["severity"] == "error"
    assert f"session {SESSION}" in agent["message"]  # the subagent line carries its parent session


def test_a_key_in_zsh_extended_history_is_found_with_line_column_and_time(sandbox: Sandbox) -> None:
    path, key = plant_zsh(sandbox)
    (f,) = [f for f in findings(sandbox) if f["code"] == "K016"]
    assert (f["path"], f["line"], f["kind"], f["redacted"]) == (
        str(path),
        3,
        "oauth_refresh_token",
        redact(key),
    )
    assert f["column"] == len("  TOKEN=") + 1
    assert "zsh history" in f["message"] and "2026-11-02 14:03:07 UTC" in f["message"]
    assert "fc -W" in f["hint"] and "close every zsh" in f["hint"]


def test_bash_and_fish_histories_and_histfile(sandbox: Sandbox) -> None:
    bash_key, fish_key, other_key = fake_key(), fake_key(), fake_key("admin_key")
    sandbox.write(sandbox.home / ".bash_history", f"ls\n#{EPOCH}\nexport ANTHROPIC_API_KEY={bash_key}\n")
    sandbox.write(
        sandbox.home / ".local" / "share" / "fish" / "fish_history",
        f"- cmd: ls\n  when: {EPOCH - 9}\n- cmd: set -x KEY {fish_key}\n  when: {EPOCH}\n",
    )
    custom = sandbox.write(sandbox.root / "hist" / "my_history", f"curl -H 'x-api-key: {other_key}'\n")
    sandbox.env["HISTFILE"] = str(custom)
    found = {f["fingerprint"]: f for f in findings(sandbox) if f["code"] == "K016"}
    assert found[fingerprint(bash_key)]["line"] == 3
    assert "2026-11-02 14:03:07 UTC" in found[fingerprint(bash_key)]["message"]
    assert "history -c" in found[fingerprint(bash_key)]["hint"]
    assert found[fingerprint(fish_key)]["line"] == 3
    assert "history delete --contains" in found[fingerprint(fish_key)]["hint"]
    assert found[fingerprint(other_key)]["path"] == str(custom)
    assert found[fingerprint(other_key)]["severity"] == "error"


def test_only_new_bytes_are_read_and_a_rewritten_history_is_read_again(sandbox: Sandbox) -> None:
    path, keys = plant_transcripts(sandbox)
    hist, zkey = plant_zsh(sandbox)
    ws = sandbox.workspace()
    first = scan_keys(ws)
    assert (
        first.stats.transcript_bytes_read > 0 and first.stats.shell_history_bytes_read == hist.stat().st_size
    )
    again = scan_keys(ws)
    assert (again.stats.transcript_bytes_read, again.stats.shell_history_bytes_read) == (0, 0)
    assert {f.fingerprint for f in again.findings if f.code in {"K015", "K016"}} == {
        fingerprint(k) for k in [*keys.values(), zkey]
    }
    new_key = fake_key()
    added = line(user_prompt(f"and {new_key}", WHEN + timedelta(hours=1)))
    with path.open("a") as fh:
        fh.write(added)
    appended = f": {EPOCH + 99}:0;export K={fake_key()}\n"
    with hist.open("a") as fh:
        fh.write(appended)
    third = scan_keys(ws)
    assert third.stats.transcript_bytes_read == len(added.encode())
    assert third.stats.shell_history_bytes_read == len(appended.encode())
    (latest,) = [f for f in third.findings if f.fingerprint == fingerprint(new_key)]
    assert latest.line == 5
    # `fc -W` (or an editor) rewrites the history in place without the key lines.
    hist.write_bytes(b"".join(x + b"\n" for x in hist.read_bytes().split(b"\n") if b"sk-ant-" not in x and x))
    fourth = scan_keys(ws)
    assert [f for f in fourth.findings if f.code == "K016"] == []
    # The user deletes the session file: the key is gone with it (its usage stays in the ledger).
    path.unlink()
    remaining = {f.fingerprint for f in scan_keys(ws).findings if f.code == "K015"}
    assert remaining == {fingerprint(keys["agent"])}


def test_a_usage_report_reads_the_transcripts_once_for_both(sandbox: Sandbox) -> None:
    _, keys = plant_transcripts(sandbox)
    done = run(sandbox, "daily", "--json", command="usage")
    assert done.returncode in (0, 1), done.stderr
    assert_hidden(done.stdout + done.stderr, list(keys.values()))
    report = scan_keys(sandbox.workspace())
    assert report.stats.transcript_bytes_read == 0  # the usage scan already read every byte
    assert len([f for f in report.findings if f.code == "K015"]) == 3


def test_no_transcripts_and_no_shell_history_skip_them(sandbox: Sandbox) -> None:
    plant_transcripts(sandbox)
    plant_zsh(sandbox)
    codes = {f["code"] for f in findings(sandbox, "--no-transcripts", "--no-shell-history")}
    assert not codes & {"K015", "K016"}
    assert {f["code"] for f in findings(sandbox, "--no-transcripts")} & {"K015", "K016"} == {"K016"}
    report = scan_keys(sandbox.workspace(), ScanOptions(transcripts=False, shell_history=False))
    assert not report.stats.transcripts_scanned and not report.stats.shell_history_scanned


def test_scanning_the_home_folder_reports_each_key_once(sandbox: Sandbox) -> None:
    _, keys = plant_transcripts(sandbox)
    _, zkey = plant_zsh(sandbox)
    done = subprocess.run(
        [cli_path(), "keys", "--project", str(sandbox.home), "--json"],
        env={**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = json.loads(done.stdout)["findings"]
    by_key: dict[str, list[str]] = {}
    for f in found:
        if f.get("fingerprint"):
            by_key.setdefault(f["fingerprint"], []).append(f["code"])
    assert by_key[fingerprint(keys["prompt"])] == ["K015"]
    assert by_key[fingerprint(zkey)] == ["K016"]


def test_no_output_format_shows_a_planted_key(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    _, keys = plant_transcripts(sandbox)
    _, zkey = plant_zsh(sandbox)
    planted = [*keys.values(), zkey]
    outputs = []
    for args in ((), ("--json",), ("--sarif",), ("-v",), ("--color", "always")):
        done = run(sandbox, *args)
        assert done.returncode == 1, done.stderr
        outputs.append(done.stdout + done.stderr)
    assert "K015" in outputs[0] and "K016" in outputs[0]
    for args in ((), ("--json",)):
        done = run(sandbox, *args, command="doctor")
        outputs.append(done.stdout + done.stderr)
        assert "K015" in done.stdout
    for text in outputs:
        assert_hidden(text, planted)
    assert_hidden(json.dumps(scan_keys(sandbox.workspace()).to_json()), planted)


async def test_mcp_tool_reports_session_keys_redacted(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, keys = plant_transcripts(sandbox)
    _, zkey = plant_zsh(sandbox)
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("HISTFILE", raising=False)
    async with Client(build_server(), mode="auto") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        props = tools["check_key_hygiene"].input_schema["properties"]
        assert props["transcripts"]["default"] is True and props["shell_history"]["default"] is True
        result = await client.call_tool("check_key_hygiene", {"project_dir": str(sandbox.project)})
        skipped = await client.call_tool(
            "check_key_hygiene",
            {"project_dir": str(sandbox.project), "transcripts": False, "shell_history": False},
        )
    data = result.structured_content or {}
    codes = [f["code"] for f in data["findings"]]
    assert codes.count("K015") == 3 and codes.count("K016") == 1
    assert not {f["code"] for f in (skipped.structured_content or {})["findings"]} & {"K015", "K016"}
    text = json.dumps(data) + "".join(getattr(c, "text", "") for c in result.content)
    assert_hidden(text, [*keys.values(), zkey])


def test_the_transcript_line_is_what_claude_code_writes(sandbox: Sandbox) -> None:
    """The planted prompt line is a user record with the key in message.content (sanity check
    of the fixture, so the test above exercises a realistic line)."""
    path, keys = plant_transcripts(sandbox)
    third = json.loads(path.read_text().splitlines()[2])
    assert third["type"] == "user" and keys["prompt"] in third["message"]["content"]
    assert third["timestamp"] == iso(WHEN) and third["sessionId"] == SESSION


def test_a_first_scan_of_a_long_history_leaves_the_key_search_to_the_key_check(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold usage scan of more than a few MiB skips the substring search (it would cost as much
    as the decoding); the key check then searches those bytes once, and only those."""
    from claude_health.tools.usage import scan as usage_scan
    from claude_health.tools.usage.session import open_session

    path, keys = plant_transcripts(sandbox)
    monkeypatch.setattr(usage_scan, "KEYS_INLINE_BYTES", 0)  # as if the history were long
    session = open_session(sandbox.env, sandbox.home)
    try:
        assert session.conn.execute("SELECT COUNT(*) FROM transcript_key_hits").fetchone()[0] == 0
        assert session.conn.execute("SELECT MAX(keys_offset) FROM usage_files").fetchone()[0] == 0
    finally:
        session.close()
    report = scan_keys(sandbox.workspace())
    total = path.stat().st_size + next(path.parent.glob("*/subagents/*.jsonl")).stat().st_size
    assert report.stats.transcript_bytes_read == total  # the usage scan read nothing new; the search did
    assert {f.fingerprint for f in report.findings if f.code == "K015"} == {
        fingerprint(k) for k in keys.values()
    }
    again = scan_keys(sandbox.workspace())
    assert again.stats.transcript_bytes_read == 0
    assert len([f for f in again.findings if f.code == "K015"]) == 3


def test_a_key_in_the_session_field_itself_is_never_stored_or_shown(sandbox: Sandbox) -> None:
    """Hostile input: the line's sessionId holds a key. Nothing stores or prints it whole."""
    import sqlite3

    key = fake_key()
    path = sandbox.home / ".claude" / "projects" / "-x" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    rec = user_prompt(f"here {key}", WHEN)
    rec["sessionId"] = key
    path.write_text(line(rec))
    report = scan_keys(sandbox.workspace())
    (found,) = [f for f in report.findings if f.code == "K015"]
    assert "session sk-ant-api03-…" in found.message  # the field is shown redacted
    assert_hidden(json.dumps(report.to_json()), [key])
    db = sandbox.home / ".cache" / "claude-health" / "limiter.db"
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert_hidden(dump, [key])
