"""`claude-health hook EVENT` as Claude Code runs it: JSON on stdin, JSON (or nothing) on stdout.

Inputs are shaped like Claude Code 2.1.332's (observed by a hook that saved its stdin); the
end-to-end tests in test_e2e_guard.py drive the same paths through the real `claude`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.guard.session_start import TTL_S
from claude_health.tools.paths import Workspace
from claude_health.tools.usage.snapshot import Snapshot, WindowUsage, open_db, store
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

SESSION = "6601301b-93cc-4e82-92a4-bcf4353912e6"


def state_dir(sandbox: Sandbox) -> Path:
    return sandbox.home / ".cache" / "claude-health"


def hook(
    sandbox: Sandbox, event: str, payload: dict[str, Any] | bytes | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload or {}).encode()
    proc = subprocess.run(
        [cli_path(), "hook", event],
        input=data,
        env={**sandbox.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        cwd=sandbox.project,
        capture_output=True,
        timeout=120,
        check=False,
    )
    # Whatever happens, a hook exits 0 and never writes to stderr (Claude Code would show it).
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    return subprocess.CompletedProcess(proc.args, 0, proc.stdout.decode(), "")


def start_payload(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "session_id": SESSION,
        "transcript_path": str(sandbox.home / ".claude" / "projects" / "p" / f"{SESSION}.jsonl"),
        "cwd": str(sandbox.project),
        "hook_event_name": "SessionStart",
        "source": "startup",
    }


def prompt_payload(sandbox: Sandbox, prompt: str = "go on") -> dict[str, Any]:
    return {
        "session_id": SESSION,
        "cwd": str(sandbox.project),
        "prompt_id": "141a7905-d5bd-4524-b9ec-7e0677417f75",
        "permission_mode": "default",
        "hook_event_name": "UserPromptSubmit",
        "prompt": prompt,
    }


def output(proc: subprocess.CompletedProcess[str], event: str) -> tuple[str, str]:
    data = json.loads(proc.stdout)
    assert data["hookSpecificOutput"]["hookEventName"] == event
    return data["hookSpecificOutput"]["additionalContext"], data["systemMessage"]


def max_login(sandbox: Sandbox) -> None:
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": fake_key("oauth_access_token"),
                "refreshToken": fake_key("oauth_refresh_token"),
                "expiresAt": int((time.time() + 86400) * 1000),
                "scopes": ["user:inference"],
                "subscriptionType": "max",
            }
        }
    )


# -- SessionStart --------------------------------------------------------------------------------


def test_session_start_names_the_variable_and_where_it_comes_from(sandbox: Sandbox) -> None:
    key = fake_key()
    max_login(sandbox)
    proc = hook(sandbox, "SessionStart", start_payload(sandbox), ANTHROPIC_API_KEY=key)
    for_model, for_user = output(proc, "SessionStart")
    assert "ANTHROPIC_API_KEY (from the environment) overrides the claude.ai login" in for_model
    assert "not using the user's Claude Max plan" in for_model
    assert "billed per token" in for_user and "ANTHROPIC_API_KEY" in for_user
    assert key not in proc.stdout and key[-8:] not in proc.stdout


def test_session_start_names_a_settings_env_block(sandbox: Sandbox) -> None:
    max_login(sandbox)
    settings = sandbox.user_settings({"env": {"ANTHROPIC_API_KEY": fake_key()}})
    for_model, _ = output(hook(sandbox, "SessionStart", start_payload(sandbox)), "SessionStart")
    assert f"ANTHROPIC_API_KEY (from user settings env ({settings}))" in for_model


def test_session_start_cloud_provider_over_a_plan(sandbox: Sandbox) -> None:
    max_login(sandbox)
    proc = hook(sandbox, "SessionStart", start_payload(sandbox), CLAUDE_CODE_USE_BEDROCK="1")
    for_model, _ = output(proc, "SessionStart")
    assert "CLAUDE_CODE_USE_BEDROCK (from the environment)" in for_model
    assert "billed to the cloud provider's account" in for_model


def test_session_start_is_silent_when_healthy_and_records_the_run(sandbox: Sandbox) -> None:
    max_login(sandbox)
    sandbox.project_settings({"permissions": {"deny": ["Bash(rm *)"]}})
    assert hook(sandbox, "SessionStart", start_payload(sandbox)).stdout == ""
    conn = sqlite3.connect(state_dir(sandbox) / "guard.db")
    (ok,) = conn.execute("SELECT ok FROM guard_runs WHERE event = 'SessionStart'").fetchone()
    conn.close()
    assert ok == 1


def test_session_start_names_an_ignored_file_and_the_rules_it_loses(sandbox: Sandbox) -> None:
    sandbox.project_settings(
        {
            "permissions": {"deny": ["Bash(rm *)", "Read(./.env)"], "ask": ["Bash(git push *)"]},
            "cleanupPeriodDays": "x",
        }
    )
    for_model, for_user = output(hook(sandbox, "SessionStart", start_payload(sandbox)), "SessionStart")
    assert "[S004] .claude/settings.json is ignored by Claude Code" in for_model
    assert "deny Bash(rm *), Read(./.env); ask Bash(git push *)" in for_model
    assert "claude-health doctor" in for_user


def test_session_start_names_invalid_deny_rules_that_are_skipped(sandbox: Sandbox) -> None:
    sandbox.project_settings({"permissions": {"deny": ["Bash(rm *)", "bash(curl *)"]}})
    for_model, _ = output(hook(sandbox, "SessionStart", start_payload(sandbox)), "SessionStart")
    assert "Claude Code skips these invalid rules: deny bash(curl *)" in for_model
    assert "Bash(rm *)" not in for_model


def test_session_start_reports_a_leaked_key_redacted(sandbox: Sandbox) -> None:
    key = fake_key()
    sandbox.write(sandbox.project / "notes.txt", f"token: {key}\n")
    proc = hook(sandbox, "SessionStart", start_payload(sandbox))
    for_model, _ = output(proc, "SessionStart")
    assert "[K001] notes.txt holds an Anthropic API key" in for_model
    assert key not in proc.stdout and key[4:30] not in proc.stdout


def test_session_start_uses_its_cache_until_an_input_changes(sandbox: Sandbox) -> None:
    settings = sandbox.project_settings({"permissions": {"deny": ["Bash(rm *)"]}, "cleanupPeriodDays": "x"})
    first = hook(sandbox, "SessionStart", start_payload(sandbox)).stdout
    assert "S004" in first
    # Mark the cached verdict: a cache hit must print the mark, a recomputation cannot.
    db = state_dir(sandbox) / "guard.db"
    conn = sqlite3.connect(db)
    (raw,) = conn.execute("SELECT verdict FROM guard_facts").fetchone()
    verdict = json.loads(raw)
    verdict["output"]["systemMessage"] = "CACHED VERDICT"
    conn.execute("UPDATE guard_facts SET verdict = ?", (json.dumps(verdict),))
    conn.commit()
    conn.close()
    sandbox.write(sandbox.project / "unrelated.txt", "not an input of the verdict")
    assert "CACHED VERDICT" in hook(sandbox, "SessionStart", start_payload(sandbox)).stdout
    settings.write_text(json.dumps({"permissions": {"deny": ["Bash(rm *)"]}}))
    assert hook(sandbox, "SessionStart", start_payload(sandbox)).stdout == ""
    # The environment is an input too (hashed, never stored).
    max_login(sandbox)
    hook(sandbox, "SessionStart", start_payload(sandbox))
    key = fake_key()
    assert (
        "ANTHROPIC_API_KEY"
        in hook(sandbox, "SessionStart", start_payload(sandbox), ANTHROPIC_API_KEY=key).stdout
    )
    assert key.encode() not in db.read_bytes()


def test_a_new_variable_reuses_the_key_scan_and_its_own_inputs_renew_it(sandbox: Sandbox) -> None:
    """The key scan's part is cached apart: a new variable decides who pays again, but the tree is
    listed and read again only when git's index or HEAD, the committed config or the variables that
    move the scan change, or after its hour."""
    subprocess.run(["git", "init", "-q"], cwd=sandbox.project, check=True, capture_output=True)
    sandbox.write(sandbox.project / "notes.txt", f"token: {fake_key()}\n")
    first, _ = output(hook(sandbox, "SessionStart", start_payload(sandbox)), "SessionStart")
    assert "[K001] notes.txt holds an Anthropic API key" in first
    db = state_dir(sandbox) / "guard.db"

    def mark_key_scan(age: float = 0.0) -> float:
        """Mark the cached key scan (a reuse prints the mark, a new scan cannot); its time."""
        conn = sqlite3.connect(db)
        raw, at = conn.execute("SELECT verdict, at FROM guard_keys").fetchone()
        scan = json.loads(raw)
        scan["problems"][0]["text"] = "CACHED KEY SCAN"
        conn.execute("UPDATE guard_keys SET verdict = ?, at = ?", (json.dumps(scan), at - age))
        conn.commit()
        conn.close()
        return float(at - age)

    scanned_at = mark_key_scan()
    max_login(sandbox)
    for_model, _ = output(
        hook(sandbox, "SessionStart", start_payload(sandbox), ANTHROPIC_API_KEY=fake_key()), "SessionStart"
    )
    assert "ANTHROPIC_API_KEY" in for_model and "CACHED KEY SCAN" in for_model
    # The verdict is as old as the key scan it includes: it expires with it.
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT at FROM guard_facts").fetchone()[0] == scanned_at
    conn.close()
    # git's index changed (the file is tracked now): the tree is read again.
    subprocess.run(["git", "add", "notes.txt"], cwd=sandbox.project, check=True, capture_output=True)
    again, _ = output(hook(sandbox, "SessionStart", start_payload(sandbox)), "SessionStart")
    assert "[K001] notes.txt holds" in again and "CACHED KEY SCAN" not in again
    # After its hour, whatever else changed, it is read again too.
    mark_key_scan(age=TTL_S + 1)
    later, _ = output(
        hook(sandbox, "SessionStart", start_payload(sandbox), ANTHROPIC_BASE_URL="http://127.0.0.1:9"),
        "SessionStart",
    )
    assert "[K001] notes.txt holds" in later and "CACHED KEY SCAN" not in later


def test_a_key_pasted_into_the_projects_env_file_is_reported_at_the_next_start(sandbox: Sandbox) -> None:
    assert hook(sandbox, "SessionStart", start_payload(sandbox)).stdout == ""
    sandbox.write(sandbox.project / ".env", f"ANTHROPIC_API_KEY={fake_key()}\n")
    for_model, _ = output(hook(sandbox, "SessionStart", start_payload(sandbox)), "SessionStart")
    assert "[K001] .env holds an Anthropic API key" in for_model


@pytest.mark.parametrize("dot_git", [None, "gitdir: /nowhere/at/all\n"])
def test_the_start_key_scan_stops_walking_past_its_cap(
    sandbox: Sandbox, dot_git: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big project outside git, or one whose `.git` git cannot use (a broken `gitdir:` file):
    the walk stops past the cap and the start says to run `keys`; the files are never all listed."""
    from claude_health.tools.guard import keyscan
    from claude_health.tools.keys import tree

    if dot_git is not None:
        sandbox.write(sandbox.project / ".git", dot_git)
    for i in range(keyscan.KEY_SCAN_MAX_FILES + 300):
        sandbox.write(sandbox.project / f"d{i % 7}" / f"f{i}.txt", "x\n")
    sandbox.write(sandbox.project / "zz" / "leak.txt", f"{fake_key()}\n")
    walked: list[int] = []
    real_walk = tree._walk

    def counting(project: Path, limit: int = tree.MAX_FILES) -> tree.FileList:
        listing = real_walk(project, limit)
        walked.append(len(listing.files))
        return listing

    monkeypatch.setattr(tree, "_walk", counting)
    problems, note = keyscan.key_problems(sandbox.workspace())
    assert problems == [] and note is not None and "run `claude-health keys`" in note
    assert walked == [keyscan.KEY_SCAN_MAX_FILES]


# -- UserPromptSubmit: plan thresholds -----------------------------------------------------------

NOW = time.time()


def snapshot(
    sandbox: Sandbox,
    five: float | None,
    week: float | None = 10.0,
    *,
    at: float | None = None,
    reset: int | None = None,
) -> None:
    state = state_dir(sandbox)
    state.mkdir(parents=True, exist_ok=True)
    conn = open_db(str(state / "statusline.db"))
    captured = time.time() if at is None else at
    five_reset = reset or int(NOW + 4 * 3600)
    store(
        conn,
        Snapshot(
            captured,
            SESSION,
            "Opus",
            WindowUsage(five, five_reset) if five is not None else None,
            WindowUsage(week, int(NOW + 3 * 86400)) if week is not None else None,
        ),
    )
    conn.close()


def alert(sandbox: Sandbox, **env: str) -> str | None:
    proc = hook(sandbox, "UserPromptSubmit", prompt_payload(sandbox), **env)
    if not proc.stdout:
        return None
    return output(proc, "UserPromptSubmit")[0]


def test_one_alert_per_crossing_never_twice(sandbox: Sandbox) -> None:
    snapshot(sandbox, 42.0)
    assert alert(sandbox) is None
    snapshot(sandbox, 85.0)
    text = alert(sandbox)
    assert text is not None
    assert "The 5-hour plan window is at 85% (official), past the 80% alert; it resets at " in text
    assert "No pace measured yet" in text or "%/h" in text
    assert alert(sandbox) is None
    snapshot(sandbox, 88.0)
    assert alert(sandbox) is None  # still the same crossing
    snapshot(sandbox, 96.0)
    assert "past the 95% alert" in (alert(sandbox) or "")
    assert alert(sandbox) is None
    # A new 5-hour window is a new crossing.
    snapshot(sandbox, 81.0, reset=int(NOW + 4.9 * 3600))
    assert "past the 80% alert" in (alert(sandbox) or "")


def test_weekly_window_alerts_on_its_own(sandbox: Sandbox) -> None:
    snapshot(sandbox, 10.0, week=82.0)
    text = alert(sandbox) or ""
    assert "The weekly plan window is at 82% (official), past the 80% alert" in text
    assert "5-hour" not in text


def test_stale_official_figure_is_carried_forward_and_labelled_a_local_estimate(sandbox: Sandbox) -> None:
    # Two official snapshots an hour apart: 50% then 70% (20%/h), the last one 30 minutes old.
    now = time.time()
    snapshot(sandbox, 50.0, at=now - 90 * 60)
    snapshot(sandbox, 70.0, at=now - 30 * 60)
    text = alert(sandbox) or ""
    assert "at about 80% (local estimate from the official 70% 30m ago)" in text
    assert "At 20%/h it reaches 100% around" in text


def test_a_stale_figure_without_a_pace_says_how_old_it_is(sandbox: Sandbox) -> None:
    snapshot(sandbox, 83.0, at=time.time() - 40 * 60)
    assert "is at 83% (official, 40m old), past the 80% alert" in (alert(sandbox) or "")


def test_no_official_figure_no_alert_and_no_file_created(sandbox: Sandbox) -> None:
    assert alert(sandbox) is None
    assert not (state_dir(sandbox) / "statusline.db").exists()


def test_thresholds_come_from_the_config_file(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.home / ".config" / "claude-health" / "limits.toml",
        'tier = "build"\n\n[plan_alerts]\nfive_hour = [50]\nseven_day = []\n',
    )
    snapshot(sandbox, 60.0, week=99.0)
    text = alert(sandbox) or ""
    assert "past the 50% alert" in text and "weekly" not in text


def test_a_broken_config_file_falls_back_to_the_defaults_and_is_logged(sandbox: Sandbox) -> None:
    sandbox.write(
        sandbox.home / ".config" / "claude-health" / "limits.toml", "[plan_alerts]\nfive_hour = [80, 'x']\n"
    )
    snapshot(sandbox, 81.0)
    assert "past the 80% alert" in (alert(sandbox) or "")
    assert (
        "plan_alerts.five_hour must be a list of percentages"
        in (state_dir(sandbox) / "guard.log").read_text()
    )


def test_two_sessions_racing_alert_once(sandbox: Sandbox) -> None:
    snapshot(sandbox, 90.0)
    env = {**sandbox.env, "PATH": os.environ.get("PATH", "")}
    data = json.dumps(prompt_payload(sandbox)).encode()
    procs = [
        subprocess.Popen(
            [cli_path(), "hook", "UserPromptSubmit"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        for _ in range(4)
    ]
    outs = [p.communicate(data, timeout=120)[0] for p in procs]
    assert sum(b"past the 80% alert" in out for out in outs) == 1


# -- ConfigChange, delivered at the next prompt -----------------------------------------------------


def config_change(sandbox: Sandbox, path: Path) -> None:
    payload = {
        "session_id": SESSION,
        "cwd": str(sandbox.project),
        "hook_event_name": "ConfigChange",
        "source": "project_settings",
        "file_path": str(path),
    }
    assert hook(sandbox, "ConfigChange", payload).stdout == ""  # Claude Code ignores it; never a decision


def test_edit_that_makes_the_file_ignored_names_the_rules_at_the_next_prompt_once(sandbox: Sandbox) -> None:
    rules = {"deny": ["Bash(rm *)", "Read(./.env)"], "ask": ["Bash(git push *)"]}
    path = sandbox.project_settings({"permissions": rules})
    hook(sandbox, "SessionStart", start_payload(sandbox))
    path.write_text(json.dumps({"permissions": rules, "cleanupPeriodDays": "thirty"}))
    config_change(sandbox, path)
    proc = hook(sandbox, "UserPromptSubmit", prompt_payload(sandbox))
    for_model, for_user = output(proc, "UserPromptSubmit")
    assert (
        ".claude/settings.json was edited during this session and Claude Code now ignores the whole file"
        in for_model
    )
    assert (
        "These permission rules stopped applying: deny Bash(rm *), Read(./.env); ask Bash(git push *)."
        in for_model
    )
    assert "Fix the file" in for_user
    assert hook(sandbox, "UserPromptSubmit", prompt_payload(sandbox)).stdout == ""


def test_broken_json_uses_what_applied_before_the_edit(sandbox: Sandbox) -> None:
    path = sandbox.project_settings({"permissions": {"deny": ["Bash(rm *)"]}})
    hook(sandbox, "SessionStart", start_payload(sandbox))
    path.write_text('{"permissions": {"deny": ["Bash(rm *)"],}}')  # a trailing comma: not JSON
    config_change(sandbox, path)
    text = output(hook(sandbox, "UserPromptSubmit", prompt_payload(sandbox)), "UserPromptSubmit")[0]
    assert "stopped applying: deny Bash(rm *)" in text and "not valid JSON" in text


def test_deliberate_edits_and_rules_kept_elsewhere_are_not_reported(sandbox: Sandbox) -> None:
    sandbox.user_settings({"permissions": {"deny": ["Bash(rm *)"]}})
    path = sandbox.project_settings({"permissions": {"deny": ["Bash(rm *)", "Bash(curl *)"]}})
    hook(sandbox, "SessionStart", start_payload(sandbox))
    path.write_text(json.dumps({"permissions": {"deny": ["Bash(rm *)"]}}))  # curl rule removed on purpose
    config_change(sandbox, path)
    assert hook(sandbox, "UserPromptSubmit", prompt_payload(sandbox)).stdout == ""
    path.write_text(json.dumps({"permissions": {"deny": ["Bash(rm *)"]}, "cleanupPeriodDays": "x"}))
    config_change(sandbox, path)
    text = output(hook(sandbox, "UserPromptSubmit", prompt_payload(sandbox)), "UserPromptSubmit")[0]
    assert (
        "ignores the whole file" in text and "stopped applying" not in text
    )  # rm is still denied by user settings


# -- StopFailure: limits hit are ground truth ------------------------------------------------------


def test_a_limit_hit_is_recorded_and_plan_usage_treats_it_as_ground_truth(sandbox: Sandbox) -> None:
    from claude_health.tools.usage.service import plan_usage

    snapshot(sandbox, 97.0)
    transcript = sandbox.write(
        sandbox.home / ".claude" / "projects" / "p" / f"{SESSION}.jsonl",
        json.dumps({"type": "user", "message": {"content": "hi"}})
        + "\n"
        + json.dumps(
            {
                "type": "assistant",
                "error": "rate_limit",
                "isApiErrorMessage": True,
                "apiErrorParams": {"rate_limit_info": {"status": "rejected", "rateLimitType": "five_hour"}},
                "message": {
                    "model": "<synthetic>",
                    "content": [{"type": "text", "text": "You've hit your limit"}],
                },
            }
        )
        + "\n",
    )
    payload = {
        "session_id": SESSION,
        "transcript_path": str(transcript),
        "cwd": str(sandbox.project),
        "hook_event_name": "StopFailure",
        "error": "rate_limit",
        "last_assistant_message": "You've hit your limit",
    }
    assert hook(sandbox, "StopFailure", payload).stdout == ""
    usage = plan_usage(sandbox.workspace(), "block")
    five = next(p for p in usage.projections if p.window == "five_hour")
    assert five.limit_hit_at is not None and five.estimated_percentage_now == 100.0
    assert five.reasons[0].startswith("Limit hit at ") and "at 97% of the official figure" in five.reasons[0]
    assert any(f.code == "U001" and "limit reached" in f.message for f in usage.findings)
    week = next(p for p in usage.projections if p.window == "seven_day")
    assert week.limit_hit_at is None


def test_other_failures_record_nothing_and_the_message_names_the_window_without_a_transcript(
    sandbox: Sandbox,
) -> None:
    from claude_health.tools.usage.limit_hits import open_hits

    base = {"session_id": SESSION, "cwd": str(sandbox.project), "hook_event_name": "StopFailure"}
    hook(
        sandbox, "StopFailure", {**base, "error": "server_error", "last_assistant_message": "API Error: 500"}
    )
    hook(
        sandbox,
        "StopFailure",
        {**base, "error": "rate_limit", "last_assistant_message": "You've hit your weekly limit"},
    )
    conn = open_hits(str(state_dir(sandbox) / "limiter.db"))
    rows = conn.execute("SELECT window, estimate_source FROM usage_limit_hits").fetchall()
    conn.close()
    assert rows == [("seven_day", "none")]


# -- never fail a session, never print a secret ----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'{"cwd": 12, "file_path": ["x"]}',
        b" " * (2 << 20),
    ],
)
@pytest.mark.parametrize("event", ["SessionStart", "UserPromptSubmit", "ConfigChange", "StopFailure"])
def test_hostile_input_exits_0_quietly(sandbox: Sandbox, raw: bytes, event: str) -> None:
    hook(sandbox, event, raw)  # the helper asserts exit 0 and an empty stderr


def test_unknown_event_and_a_broken_state_file_exit_0_with_nothing_printed_and_are_logged(
    sandbox: Sandbox,
) -> None:
    key = fake_key()
    assert hook(sandbox, "NoSuchEvent", start_payload(sandbox)).stdout == ""
    state = state_dir(sandbox)
    (state / "guard.db").write_bytes(b"this is not a database" * 100)
    for name in ("guard.db-wal", "guard.db-shm"):
        (state / name).unlink(missing_ok=True)
    max_login(sandbox)
    proc = hook(sandbox, "SessionStart", start_payload(sandbox), ANTHROPIC_API_KEY=key)
    assert proc.stdout == ""
    log = (state / "guard.log").read_text()
    assert "SessionStart: DatabaseError" in log
    assert key not in log


def test_a_run_over_its_budget_gives_up_quietly(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from claude_health.server.commands import hook as command
    from claude_health.tools.guard import dispatch

    monkeypatch.setitem(command.BUDGET_S, "SessionStart", 0.3)
    monkeypatch.setattr(dispatch, "handle", lambda *args: time.sleep(10) or "{}")
    monkeypatch.setattr(sys, "stdin", None)
    started = time.monotonic()
    env = dict(sandbox.env)
    assert command.execute("SessionStart", env, str(sandbox.home)) is None
    assert time.monotonic() - started < 5
    assert "over the 0.3 s budget" in (state_dir(sandbox) / "guard.log").read_text()


def test_hook_paths_stay_light(sandbox: Sandbox) -> None:
    """SessionStart (cache hit) and UserPromptSubmit import neither the CLI parser nor pydantic, MCP,
    typing, pathlib or dataclasses (what a hook imports is what it costs before every prompt)."""
    snapshot(sandbox, 85.0)
    hook(sandbox, "SessionStart", start_payload(sandbox))  # fills the cache
    probe = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from claude_health.server.cli import main\n"
        "code = main(['hook', sys.argv[1]])\n"
        "heavy = ('argparse', 'pydantic', 'mcp', 'typing', 'pathlib', 'dataclasses',\n"
        "         'claude_health.tools.paths')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules and m not in before], code)\n"
    )
    for event, payload in (
        ("SessionStart", start_payload(sandbox)),
        ("UserPromptSubmit", prompt_payload(sandbox)),
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, event],
            input=json.dumps(payload).encode(),
            env={**sandbox.env, "PATH": os.environ.get("PATH", "")},
            capture_output=True,
            timeout=60,
            check=False,
        )
        lines = done.stdout.decode().splitlines()
        assert lines[-1] == "HEAVY [] 0", (event, done.stdout, done.stderr)
    assert "past the 80% alert" in "".join(lines)


# -- the doctor's view ------------------------------------------------------------------------------


def guard_section(sandbox: Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    from claude_health.tools.guard.check import run_check

    outcome = run_check(Workspace.discover(project=sandbox.project, env=sandbox.env, platform="linux"))
    return outcome.data, {f.code: f for f in outcome.findings}


def test_doctor_says_whether_the_hooks_and_status_line_are_installed_and_when_they_ran(
    sandbox: Sandbox,
) -> None:
    data, codes = guard_section(sandbox)
    assert set(codes) == {"G001"}
    from claude_health.tools.guard.check import summary_line

    assert summary_line(data) == "hooks not installed; status line not claude-health's"
    env = {**sandbox.env, "PATH": os.environ.get("PATH", "")}
    subprocess.run([cli_path(), "install", "--hooks"], env=env, check=True, capture_output=True)
    data, codes = guard_section(sandbox)
    assert set(codes) == {"G006"}  # the hooks are there; the status line is not claude-health's
    assert data["hooks"]["SessionStart"]["last_run"] is None
    hook(sandbox, "SessionStart", start_payload(sandbox))
    subprocess.run([cli_path(), "install", "--statusline"], env=env, check=True, capture_output=True)
    subprocess.run([cli_path(), "statusline"], env=env, input=b"{}", check=True, capture_output=True)
    data, codes = guard_section(sandbox)
    assert codes == {}
    assert data["hooks"]["SessionStart"]["last_ok"] is True and data["hooks"]["SessionStart"]["last_run"]
    assert data["statusline"] == {"installed": True, "last_run": data["statusline"]["last_run"]}
    assert data["statusline"]["last_run"] is not None
    doctor = subprocess.run(
        [cli_path(), "doctor", "--only", "guard", "--project", str(sandbox.project)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    header = doctor.stdout.splitlines()[1]
    assert header.startswith("  guard: SessionStart ran ") and "UserPromptSubmit never ran" in header
    assert "status line last ran 20" in header


def test_doctor_flags_a_missing_command_disabled_hooks_and_a_failed_run(sandbox: Sandbox) -> None:
    env = {**sandbox.env, "PATH": os.environ.get("PATH", "")}
    subprocess.run(
        [cli_path(), "install", "--hooks", "--command", "/gone/bin/claude-health"],
        env=env,
        check=True,
        capture_output=True,
    )
    _, codes = guard_section(sandbox)
    assert "G003" in codes and "/gone/bin/claude-health" in codes["G003"].message
    settings = sandbox.home / ".claude" / "settings.json"
    data = json.loads(settings.read_text())
    settings.write_text(json.dumps({**data, "disableAllHooks": True}))
    _, codes = guard_section(sandbox)
    assert "G004" in codes
    state = state_dir(sandbox)
    state.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(state / "guard.db")
    conn.executescript(
        "CREATE TABLE guard_runs (event TEXT PRIMARY KEY, last_at REAL NOT NULL, ok INTEGER NOT NULL, "
        "detail TEXT);"
    )
    conn.execute(
        "INSERT INTO guard_runs VALUES ('UserPromptSubmit', ?, 0, 'OverBudget: over the 3 s budget')", (NOW,)
    )
    conn.commit()
    conn.close()
    _, codes = guard_section(sandbox)
    assert "G005" in codes and "over the 3 s budget" in codes["G005"].message


def test_doctor_flags_a_module_launch_that_imports_from_the_project(sandbox: Sandbox) -> None:
    """Hooks written as `python -m claude_health.server hook ...` (before -P) import a cloned
    repository's own claude_health first; `install --hooks` rewrites them with -P."""
    import shlex
    import sys

    from claude_health.tools.guard.check import EVENTS

    old = shlex.quote(sys.executable) + " -m claude_health.server hook {event}"
    sandbox.user_settings(
        {
            "hooks": {
                event: [{"hooks": [{"type": "command", "command": old.format(event=event)}]}]
                for event in EVENTS
            }
        }
    )
    _, codes = guard_section(sandbox)
    assert "G007" in codes and "-m claude_health.server" in codes["G007"].message
    from claude_health.tools.registration.hooks import plan_hooks
    from claude_health.tools.registration.launch import MODULE_ARGS, Launch
    from claude_health.tools.registration.plan import apply

    ws = Workspace.discover(project=sandbox.project, env=sandbox.env, platform="linux")
    apply(plan_hooks(ws, "user", launch=Launch(sys.executable, [*MODULE_ARGS, "serve"], "python-module")))
    _, codes = guard_section(sandbox)
    assert "G007" not in codes
    written = json.loads((sandbox.home / ".claude" / "settings.json").read_text())
    commands = [h["command"] for groups in written["hooks"].values() for g in groups for h in g["hooks"]]
    assert commands and all(" -P -m claude_health.server hook " in c for c in commands)
