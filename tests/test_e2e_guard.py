"""The guard through real Claude Code sessions, offline (Claude Code 2.1.332 from .ci/npm).

Each test builds a throw-away HOME and project, installs claude-health the way a user does
(`claude-health install ...`), and runs the real `claude` against :class:`FakeMessages` on
127.0.0.1. Every other destination goes to a proxy that refuses and records: each test asserts it
saw nothing. What reached "the model" is read from the requests the fake recorded.

1. SessionStart: an API key overriding a Max login is named in the first request; a healthy
   plan login adds nothing.
2. MCP: the scripted model finds claude-health's tools through ToolSearch, calls health_report,
   plan_usage and explain_permission, and the tool results that reach the API name the problem.
3. Interactive (tmux): the status line installed by `install --statusline` shows the official
   percentages; when the 5-hour utilisation crosses 80%, the next prompt carries the alert, once.
4. Interactive (tmux): an edit that makes Claude Code ignore the project settings fires
   ConfigChange, and the next prompt carries the warning naming the deny rule that stopped applying.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.external import claude_bin
from tests.fake_messages import (
    FakeMessages,
    Model,
    RefusingProxy,
    Request,
    Text,
    ToolUse,
    say,
    unified_headers,
)
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

pytestmark = pytest.mark.e2e

SESSION_TIMEOUT_S = 180
ALERT_MARK = "plan usage alert"
PROMPT_MARK = "\u276f"  # the input prompt Claude Code draws when it is ready for a message


def base_env(sandbox: Sandbox, api: FakeMessages, proxy: RefusingProxy, **extra: str) -> dict[str, str]:
    """A clean environment: scratch HOME, the fake API, the refusing proxy, no updater or telemetry."""
    env = {
        "HOME": str(sandbox.home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
        "CLAUDE_HEALTH_MANAGED_DIR": str(sandbox.managed),
        "ANTHROPIC_BASE_URL": api.base_url,
        **proxy.env(),
    }
    env.update(extra)
    return env


def claude_health(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [cli_path(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def claude_p(env: dict[str, str], cwd: Path, prompt: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [claude_bin(), "-p", prompt, *extra],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=SESSION_TIMEOUT_S,
        check=False,
    )


def max_login(sandbox: Sandbox) -> None:
    """A claude.ai Max login as Claude Code stores it (the tokens are never used: the key wins)."""
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": fake_key("oauth_access_token"),
                "refreshToken": fake_key("oauth_refresh_token"),
                "expiresAt": int((time.time() + 30 * 86400) * 1000),
                "scopes": ["user:inference", "user:profile"],
                "subscriptionType": "max",
                "rateLimitTier": "default_claude_max_20x",
            }
        }
    )


def hook_contexts(request: Request, event: str) -> list[str]:
    return [t for t in request.texts() if f"{event} hook additional context" in t]


@contextmanager
def offline(model: Model | None = None) -> Iterator[tuple[FakeMessages, RefusingProxy]]:
    with FakeMessages(model) as api, RefusingProxy() as proxy:
        yield api, proxy
        assert proxy.seen() == [], f"something tried to leave the machine: {proxy.seen()}"


# -- 1. SessionStart -----------------------------------------------------------------------------


def test_session_start_warning_reaches_the_model_when_an_api_key_overrides_a_max_login(
    sandbox: Sandbox,
) -> None:
    key = fake_key()
    max_login(sandbox)
    with offline(say("noted")) as (api, proxy):
        env = base_env(sandbox, api, proxy)
        installed = claude_health(env, sandbox.project, "install", "--hooks")
        assert "Registered claude-health" in installed.stdout
        done = claude_p({**env, "ANTHROPIC_API_KEY": key}, sandbox.project, "hello")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "noted" and done.stderr == ""  # a script's output is unchanged
        first = api.answered()[0]
        assert first.headers.get("x-api-key") == key  # Claude Code really bills the key
        contexts = hook_contexts(first, "SessionStart")
        assert len(contexts) == 1, first.texts()
        warning = contexts[0]
        assert "ANTHROPIC_API_KEY (from the environment) overrides the claude.ai login" in warning
        assert "Claude Max plan" in warning
        assert key not in warning and key[-20:] not in json.dumps(first.body)


def test_session_start_adds_nothing_to_a_healthy_session(sandbox: Sandbox) -> None:
    max_login(sandbox)
    with offline(say("fine")) as (api, proxy):
        env = base_env(sandbox, api, proxy)
        claude_health(env, sandbox.project, "install", "--hooks")
        done = claude_p({**env, "CLAUDE_CODE_OAUTH_TOKEN": "fake-setup-token"}, sandbox.project, "hello")
        assert done.returncode == 0, done.stderr
        first = api.answered()[0]
        assert first.headers.get("authorization") == "Bearer fake-setup-token"
        assert "claude-health" not in first.all_text()
    # The hook did run (and found nothing): the doctor's guard section says when.
    doctor = subprocess.run(
        [cli_path(), "doctor", "--only", "guard", "--json"],
        env={**sandbox.env, "PATH": os.environ.get("PATH", "")},
        cwd=sandbox.project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    section = json.loads(doctor.stdout)["guard"]
    assert section["hooks"]["SessionStart"]["last_ok"] is True
    assert section["hooks"]["SessionStart"]["last_run"] is not None


# -- 2. MCP tools through ToolSearch ---------------------------------------------------------------

TOOLS = {
    "health_report": {},
    "plan_usage": {},
    "explain_permission": {"tool": "Bash", "tool_input": "rm -rf build"},
}


def tool_caller(names: list[str]) -> Callable[[Request], list[Any]]:
    """A model that loads each tool through ToolSearch, calls it, then moves to the next one."""
    qualified = [f"mcp__claude-health__{n}" for n in names]

    def model(request: Request) -> list[Any]:
        calls = [
            b
            for m in request.messages
            if m.get("role") == "assistant" and isinstance(m.get("content"), list)
            for b in m["content"]
            if isinstance(b, dict) and b.get("type") == "tool_use"
        ]
        done = [c["name"] for c in calls]
        for name in qualified:
            if name in done:
                continue
            if name in request.tool_names:
                return [ToolUse(name, TOOLS[name.rsplit("__", 1)[1]])]
            return [ToolUse("ToolSearch", {"query": f"select:{name}"})]
        return [Text("all three tools answered")]

    return model


def write_snapshot(sandbox: Sandbox, five_hour_pct: float) -> None:
    """What the status line stores from Claude Code's payload (the official 5-hour percentage)."""
    from claude_health.tools.usage.snapshot import Snapshot, WindowUsage, open_db, store

    state = sandbox.home / ".cache" / "claude-health"
    state.mkdir(parents=True, exist_ok=True)
    now = time.time()
    conn = open_db(str(state / "statusline.db"))
    store(
        conn,
        Snapshot(
            now - 60,
            "s",
            "Opus",
            WindowUsage(five_hour_pct, int(now + 3600)),
            WindowUsage(20.0, int(now + 3 * 86400)),
        ),
    )
    conn.close()


def test_mcp_tool_results_that_reach_the_api_name_the_problem(sandbox: Sandbox) -> None:
    names = list(TOOLS)
    # The problems: user settings Claude Code ignores (with the deny rule it meant to set), and a
    # 5-hour plan window at 91%.
    sandbox.user_settings({"permissions": {"deny": ["Bash(rm *)"]}, "cleanupPeriodDays": "thirty"})
    write_snapshot(sandbox, 91.0)
    sandbox.project_settings({"permissions": {"allow": [f"mcp__claude-health__{n}" for n in names]}})
    trust(sandbox)
    with offline(tool_caller(names)) as (api, proxy):
        env = base_env(sandbox, api, proxy)
        claude_health(env, sandbox.project, "install", "--client", "claude-code", "--scope", "project")
        assert json.loads((sandbox.project / ".mcp.json").read_text())["mcpServers"]["claude-health"]
        done = claude_p(
            {**env, "ANTHROPIC_API_KEY": fake_key()},
            sandbox.project,
            "check my setup",
            "--output-format",
            "json",
        )
        assert done.returncode == 0, done.stderr + done.stdout
        assert json.loads(done.stdout)["permission_denials"] == []
        requests = api.answered()
    results: dict[str, str] = {}
    for i, request in enumerate(requests[1:]):
        previous = requests[i]  # the request whose answer made the call this one reports
        asked = [n for n in names if f"mcp__claude-health__{n}" in previous.tool_names]
        text = request.tool_result_text()
        if asked and text and "mcp__claude-health__" not in text[:200]:
            results.setdefault(asked[-1], text)
    assert set(results) == set(names), [r.tool_result_text()[:200] for r in requests]
    user_file = str(sandbox.home / ".claude" / "settings.json")
    report = json.loads(results["health_report"])  # brief: problems, each with its codes and fix
    ignored = next(p for p in report["problems"] if "S004" in p["codes"])
    assert "~/.claude/settings.json" in ignored["summary"] or user_file in ignored["summary"], ignored
    usage = json.loads(results["plan_usage"])
    five = next(p for p in usage["projections"] if p["window"] == "five_hour")
    assert five["used_percentage"] == 91.0
    assert "U001" in {f["code"] for f in usage["findings"]}
    explained = json.loads(results["explain_permission"])
    assert explained["decision"] != "deny"  # the deny rule sits in a file Claude Code ignores
    assert user_file in json.dumps(explained)


# -- interactive sessions under tmux ---------------------------------------------------------------


class Tmux:
    """One interactive `claude` in a private tmux server, killed with the server at the end."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.socket = f"ch-e2e-{uuid.uuid4().hex[:10]}"
        self.env = env
        self.cwd = cwd
        self.socket_path = ""

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def start(self) -> None:
        proc = self.tmux(
            "new-session", "-d", "-s", "main", "-x", "200", "-y", "50", "-c", str(self.cwd), claude_bin()
        )
        assert proc.returncode == 0, proc.stderr
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").stdout.strip()

    def pane(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "main").stdout

    def send(self, text: str) -> None:
        self.tmux("send-keys", "-t", "main", "-l", text)
        time.sleep(0.3)
        self.tmux("send-keys", "-t", "main", "Enter")

    def wait(self, what: str, condition: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{self.pane()}")

    def close(self) -> None:
        self.tmux("kill-server")  # ends claude and every process it started in the pane
        if self.socket_path:
            Path(self.socket_path).unlink(missing_ok=True)


@contextmanager
def interactive(env: dict[str, str], cwd: Path) -> Iterator[Tmux]:
    assert shutil.which("tmux"), "tmux is not installed (bash .ci/test installs it)"
    session = Tmux(env, cwd)
    session.start()
    try:
        session.wait("the prompt", lambda: PROMPT_MARK in session.pane())
        yield session
    finally:
        session.close()


def trust(sandbox: Sandbox) -> None:
    """What a user who finished onboarding and trusted the folder has in ~/.claude.json."""
    sandbox.claude_json(
        {"hasCompletedOnboarding": True, "projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}}}
    )


def turn(session: Tmux, api: FakeMessages, prompt: str, answer: str) -> Request:
    before = len(api.answered())
    session.send(prompt)
    session.wait(
        f"the answer to {prompt!r}", lambda: len(api.answered()) > before and answer in session.pane()
    )
    return api.answered()[before]


def test_status_line_shows_official_percentages_and_a_crossing_alerts_the_next_prompt_once(
    sandbox: Sandbox,
) -> None:
    trust(sandbox)
    reset5, reset7 = int(time.time()) + 3 * 3600, int(time.time()) + 4 * 86400
    answers = iter(f"answer {i}" for i in range(1, 10))
    with offline(lambda _request: [Text(next(answers))]) as (api, proxy):
        api.headers = unified_headers((0.42, reset5), (0.2, reset7))
        env = base_env(sandbox, api, proxy, CLAUDE_CODE_OAUTH_TOKEN="fake-setup-token")
        claude_health(env, sandbox.project, "install", "--statusline")
        claude_health(env, sandbox.project, "install", "--hooks")
        with interactive(env, sandbox.project) as session:
            first = turn(session, api, "first", "answer 1")
            session.wait("the status line's 42%", lambda: "5h 42%" in session.pane())
            assert "7d 20%" in session.pane()
            api.headers = unified_headers((0.85, reset5), (0.2, reset7))
            second = turn(session, api, "second", "answer 2")
            session.wait("the status line's 85%", lambda: "5h 85%" in session.pane())
            third = turn(session, api, "third", "answer 3")
            shown = session.pane()  # the user sees it too
            assert "UserPromptSubmit says: claude-health: The 5-hour plan window is at 85%" in shown
            fourth = turn(session, api, "fourth", "answer 4")
    assert ALERT_MARK not in first.all_text() and ALERT_MARK not in second.all_text()
    alerts = [t for t in third.texts() if ALERT_MARK in t]
    assert len(alerts) == 1, third.texts()
    assert "UserPromptSubmit hook additional context" in alerts[0]
    assert "5-hour plan window is at 85% (official), past the 80% alert" in alerts[0]
    assert "weekly" not in alerts[0]
    # The fourth request repeats the conversation (with the third's alert) but adds no new one.
    assert sum(ALERT_MARK in t for t in fourth.texts()) == 1


def test_settings_edit_that_makes_claude_code_ignore_the_project_file_warns_the_next_prompt(
    sandbox: Sandbox,
) -> None:
    trust(sandbox)
    settings = sandbox.project_settings(
        {"permissions": {"deny": ["Bash(rm *)"], "ask": ["Bash(git push *)"]}}
    )
    answers = iter(f"reply {i}" for i in range(1, 10))
    guard_db = sandbox.home / ".cache" / "claude-health" / "guard.db"

    def config_change_ran() -> bool:
        if not guard_db.exists():
            return False
        conn = sqlite3.connect(guard_db)
        try:
            return (
                conn.execute("SELECT 1 FROM guard_runs WHERE event = 'ConfigChange'").fetchone() is not None
            )
        finally:
            conn.close()

    with offline(lambda _request: [Text(next(answers))]) as (api, proxy):
        env = base_env(sandbox, api, proxy, CLAUDE_CODE_OAUTH_TOKEN="fake-setup-token")
        claude_health(env, sandbox.project, "install", "--hooks")
        with interactive(env, sandbox.project) as session:
            first = turn(session, api, "hello", "reply 1")
            # A wrong type anywhere makes Claude Code drop the whole file, deny rules included.
            settings.write_text(
                json.dumps(
                    {
                        "permissions": {"deny": ["Bash(rm *)"], "ask": ["Bash(git push *)"]},
                        "cleanupPeriodDays": "thirty",
                    }
                )
            )
            session.wait("the ConfigChange hook", config_change_ran, timeout=30)
            second = turn(session, api, "next", "reply 2")
            assert "UserPromptSubmit says: claude-health: .claude/settings.json was edited" in session.pane()
            third = turn(session, api, "again", "reply 3")
    assert "claude-health" not in first.all_text()
    warnings = [t for t in second.texts() if "UserPromptSubmit hook additional context" in t]
    assert len(warnings) == 1, second.texts()
    assert (
        ".claude/settings.json was edited during this session and Claude Code now ignores the whole file"
        in warnings[0]
    )
    assert "These permission rules stopped applying: deny Bash(rm *); ask Bash(git push *)" in warnings[0]
    assert sum("stopped applying" in t for t in third.texts()) == 1  # delivered once
