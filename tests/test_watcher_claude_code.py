"""What the real Claude Code asks of claude-health's server at start-up, seen through a session.

The settings watcher starts with the first subscription to a resource (server/watcher.py): a
client that subscribes to none pays nothing for it. Claude Code 2.1.332 opens a
``subscriptions/listen`` stream at start-up; this records, through a stdio proxy between it and
`claude-health serve`, that the stream asks for list changes only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.external import print_session
from tests.fake_messages import FakeMessages, say
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

pytestmark = pytest.mark.e2e

# Forwards stdin to the server and its stdout back; writes each request it forwards to a log.
PROXY = """
import json, subprocess, sys, threading
log = open(sys.argv[1], "a", buffering=1)
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def back():
    for raw in child.stdout:
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
threading.Thread(target=back, daemon=True).start()
for raw in sys.stdin.buffer:
    log.write(raw.decode(errors="replace").strip() + "\\n")
    child.stdin.write(raw)
    child.stdin.flush()
child.stdin.close()
child.wait()
"""


def test_claude_code_listens_for_list_changes_only(sandbox: Sandbox, tmp_path: Path) -> None:
    proxy = tmp_path / "proxy.py"
    proxy.write_text(PROXY)
    log = tmp_path / "requests.jsonl"
    server = {"command": sys.executable, "args": [str(proxy), str(log), cli_path(), "serve"]}
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"claude-health": server}})
    sandbox.user_settings({"enableAllProjectMcpServers": True})
    sandbox.claude_json({"projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}}})
    with FakeMessages(say("done")) as api:
        done = print_session(sandbox.project, sandbox.home, api.base_url, fake_key())
    assert done.returncode == 0, done.stdout + done.stderr
    requests: list[dict[str, Any]] = [json.loads(line) for line in log.read_text().splitlines() if line]
    methods = [r.get("method") for r in requests]
    assert "tools/list" in methods  # the session did start our server
    listens = [r["params"] for r in requests if r.get("method") == "subscriptions/listen"]
    assert listens, methods  # it does open a stream (the claim is about what the stream asks for)
    for params in listens:
        wanted = params.get("notifications") or {}
        assert not wanted.get("resourceSubscriptions"), wanted
    assert "resources/subscribe" not in methods
