"""``claude-health usage`` end to end (console script, real files, real SQLite) and the MCP tool."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.tools.usage.synthetic import assistant_record, line
from tests.conftest import Sandbox
from tests.mcp_helpers import MODES, cli_path

SID = "258c7280-ae70-4798-800f-63464d01a85d"
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def seed(sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    path = sandbox.home / ".claude" / "projects" / "-home-user-project" / f"{SID}.jsonl"
    path.parent.mkdir(parents=True)
    records = [
        assistant_record(
            session=SID,
            msg_id="msg_a",
            request_id="req_a",
            at=now - timedelta(days=2),
            output_tokens=100,
            cache_5m=1000,
            cache_read=5000,
        ),
        assistant_record(
            session=SID,
            msg_id="msg_b",
            request_id="req_b",
            at=now - timedelta(minutes=30),
            output_tokens=5,
            stop_reason=None,
            model="claude-opus-4-6",
        ),
        assistant_record(
            session=SID,
            msg_id="msg_b",
            request_id="req_b",
            at=now - timedelta(minutes=29),
            output_tokens=400,
            model="claude-opus-4-6",
            cache_1h=2000,
        ),
    ]
    broken = '{"type":"assistant","message":{"usage":{broken\n'
    path.write_text("".join(line(r) for r in records) + broken)
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": "secret-" + "z" * 30,
                "subscriptionType": "max",
                "rateLimitTier": "default_claude_max_5x",
            }
        }
    )


def env(sandbox: Sandbox) -> dict[str, str]:
    return dict(sandbox.env, CLAUDE_HEALTH_STATE_DB=str(sandbox.root / "state.db"), TZ="UTC")


def usage(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return run_usage(sandbox, env(sandbox), *args)


def run_usage(sandbox: Sandbox, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``claude-health usage ARGS`` in the sandbox's project with ``environment``."""
    return subprocess.run(
        [cli_path(), "usage", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=sandbox.project,
    )


def test_daily_json_shape(sandbox: Sandbox) -> None:
    seed(sandbox)
    done = usage(sandbox, "daily", "--json", "--timezone", "UTC")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) >= {"days", "totals"}
    assert len(data["days"]) == 2
    for day in data["days"]:
        assert set(day) >= {"date", *TOKEN_FIELDS, "cost_usd", "models"}
        datetime.strptime(day["date"], "%Y-%m-%d")
    assert data["totals"]["output_tokens"] == 500
    assert data["totals"]["cache_creation_input_tokens"] == 3000
    assert set(data["totals"]) >= {*TOKEN_FIELDS, "cost_usd"}
    # opus 4.6: 400 out * 25 + 2000 1h-writes * 10 + 3 in * 5; sonnet 4.5: 100*15 + 1000*3.75 + 5000*0.3 + 3*3
    expected = (400 * 25 + 2000 * 10 + 3 * 5 + 100 * 15 + 1000 * 3.75 + 5000 * 0.3 + 3 * 3) / 1e6
    assert data["totals"]["cost_usd"] == pytest.approx(expected)


def test_blocks_and_weekly_json(sandbox: Sandbox) -> None:
    seed(sandbox)
    blocks = json.loads(usage(sandbox, "blocks", "--json").stdout)["blocks"]
    assert [b["is_active"] for b in blocks if not b["is_gap"]] == [False, True]
    assert set(blocks[-1]) >= {"start", "end", "is_active", *TOKEN_FIELDS, "cost_usd"}
    weekly = json.loads(usage(sandbox, "weekly", "--json").stdout)
    assert weekly["window"]["kind"] == "rolling_7_days" and weekly["output_tokens"] == 500
    monthly = json.loads(usage(sandbox, "monthly", "--json").stdout)
    assert monthly["totals"]["output_tokens"] == 500


def test_plain_usage_reports_plan_and_findings_without_secrets(sandbox: Sandbox) -> None:
    seed(sandbox)
    done = usage(sandbox)
    assert "Plan: max (default_claude_max_5x)" in done.stdout
    assert "U004" in done.stdout and "U005" in done.stdout
    assert "secret-" not in done.stdout + done.stderr
    as_json = json.loads(usage(sandbox, "--json").stdout)
    assert as_json["local"]["is_active"] is True
    assert "secret-" not in json.dumps(as_json)
    human = usage(sandbox, "daily")
    assert "total" in human.stdout and human.returncode == 0


def test_weekly_says_it_is_a_rolling_window(sandbox: Sandbox) -> None:
    seed(sandbox)
    done = usage(sandbox, "weekly", "--color", "never")
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()[:2]
    assert first.startswith("Last 7 days, a rolling window: ") and first.endswith(" UTC")
    assert second.startswith("Not your plan's weekly limit window")
    # Once the status line has captured the plan's own window, the heading gives it.
    now = datetime.now(UTC).timestamp()
    line = {
        "model": {"id": "claude-opus-4-6", "display_name": "Opus 4.6"},
        "rate_limits": {"seven_day": {"used_percentage": 36, "resets_at": int(now + 3 * 86400)}},
    }
    captured = subprocess.run(
        [cli_path(), "statusline"],
        env=env(sandbox),
        input=json.dumps(line),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert captured.returncode == 0, captured.stderr
    again = usage(sandbox, "weekly", "--color", "never").stdout.splitlines()
    assert again[1].startswith("Your plan's weekly limit window (set per account): 36% used, resets ")


def test_human_reports_show_the_model_breakdown(sandbox: Sandbox) -> None:
    seed(sandbox)
    for report in ("daily", "weekly", "monthly", "blocks"):
        out = usage(sandbox, report, "--color", "never").stdout
        lines = [x for x in out.splitlines() if "└" in x]
        opus = [x for x in lines if x.startswith("  └ opus-4-6 ")]
        sonnet = [x for x in lines if x.startswith("  └ sonnet-4-5-20250929 ")]
        assert opus and sonnet, (report, out)
        assert opus[0].split()[2:4] == ["3", "400"]  # input and output of that model alone
    plan = usage(sandbox, "--color", "never").stdout
    assert "  └ opus-4-6: 2.4k tokens, $0.03" in plan


def test_report_json_follows_the_findings_summary_contract(sandbox: Sandbox) -> None:
    seed(sandbox)
    for report in ("daily", "weekly", "monthly", "blocks"):
        data = json.loads(usage(sandbox, report, "--json").stdout)
        assert [f["code"] for f in data["findings"]] == ["U005"], report
        assert data["summary"] == {"errors": 0, "warnings": 0, "infos": 1, "total": 1, "healthy": True}
    plan = json.loads(usage(sandbox, "--json").stdout)
    assert {"findings", "summary"} <= set(plan)


def test_bad_arguments_exit_2(sandbox: Sandbox) -> None:
    bad_tz = usage(sandbox, "daily", "--timezone", "Nowhere/Land")
    assert bad_tz.returncode == 2 and "Nowhere/Land" in bad_tz.stderr and "Traceback" not in bad_tz.stderr
    assert usage(sandbox, "hourly").returncode == 2


@pytest.mark.parametrize("mode", MODES)
async def test_mcp_plan_usage_tool_and_resource(
    mode: str, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(sandbox)
    for name, value in env(sandbox).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    async with Client(build_server(), mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        tool = tools["plan_usage"]
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.output_schema is not None and "projections" in tool.output_schema["properties"]
        assert tool.input_schema["properties"]["window"]["enum"] == ["block", "day", "week"]
        result = await client.call_tool("plan_usage", {"window": "week", "project_dir": str(sandbox.project)})
        assert result.is_error is False
        data: dict[str, Any] = result.structured_content or {}
        assert data["local"]["window"] == "week" and data["local"]["totals"]["output_tokens"] == 500
        assert data["plan"] == {"subscription_type": "max", "rate_limit_tier": "default_claude_max_5x"}
        assert "secret-" not in json.dumps(data)
        bad = await client.call_tool("plan_usage", {"window": "month"})
        assert bad.is_error is True
        bad_tz = await client.call_tool("plan_usage", {"window": "day", "timezone": "../../etc/passwd"})
        assert bad_tz.is_error is True and "unknown time zone" in bad_tz.content[0].text  # type: ignore[union-attr]
        huge = await client.call_tool("plan_usage", {"timezone": "A" * 10_000})
        assert huge.is_error is True
        resource = await client.read_resource("usage://current")
        current = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
        assert current["window"] == "block" and current["local"]["is_active"] is True


def test_json_reports_take_the_lean_path(sandbox: Sandbox) -> None:
    """A JSON report is what tools call on a schedule: no argparse, logging or pydantic import,
    and the same document as the full parser gives (which `--project` still goes through)."""
    import sys

    seed(sandbox)
    probe = (
        "import sys\n"
        "from claude_health.server.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = sorted(m for m in ('argparse', 'logging', 'pydantic', 'orjson') if m in sys.modules)\n"
        "sys.stderr.write('HEAVY %s\\n' % ','.join(heavy))\n"
        "import gc\n"
        "from claude_health.tools.usage import scan\n"
        "# called in-process (not by the console script): rows freed, collector on as before\n"
        "sys.stderr.write('IN-PROCESS %s %s\\n' % (gc.isenabled(), scan._kept is None))\n"
        "raise SystemExit(code)\n"
    )
    lean = subprocess.run(
        [sys.executable, "-c", probe, "usage", "daily", "--json", "--timezone", "UTC"],
        env=env(sandbox),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert lean.returncode == 0, lean.stderr
    assert "HEAVY \n" in lean.stderr
    assert "IN-PROCESS True True\n" in lean.stderr
    full = usage(sandbox, "daily", "--json", "--timezone", "UTC", "--project", str(sandbox.project))
    assert json.loads(full.stdout) == json.loads(lean.stdout)
    bad = usage(sandbox, "daily", "--json", "--timezone", "Nowhere/Land")
    assert bad.returncode == 2 and "Nowhere/Land" in bad.stderr


@pytest.mark.parametrize("launch", ["script", "module"])
def test_a_json_report_and_a_hook_end_without_the_teardown_and_lose_nothing(
    sandbox: Sandbox, launch: str
) -> None:
    """The JSON report and the hook paths leave nothing open, so they exit without the
    interpreter's teardown, whether run as the console script or as ``python -P -m`` (how hooks
    are registered without the script). Their output arrives whole, and what they stored is
    committed: the next report reads nothing again and gives the same document."""
    import sys

    seed(sandbox)
    environment = env(sandbox)
    # The witness: an object held by a module, whose __del__ runs only in the teardown.
    probe = sandbox.root / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Witness:\n"
        "    def __del__(self):\n"
        "        sys.stderr.write('TEARDOWN RAN\\n')\n"
        "sys.modules['_teardown_witness'] = _Witness()\n"
        # and a collection once a fast path has started: these paths run without the collector
        "import gc\n"
        "def _collected(phase, info):\n"
        "    fast = ('claude_health.server.commands.hook', 'claude_health.server.commands.keys_early')\n"
        "    if phase == 'start' and any(name in sys.modules for name in fast):\n"
        "        sys.stderr.write('COLLECTED\\n')\n"
        "gc.callbacks.append(_collected)\n"
    )
    environment["PYTHONPATH"] = str(probe)
    base = [cli_path()] if launch == "script" else [sys.executable, "-P", "-m", "claude_health.server"]

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [*base, *args]
        return subprocess.run(argv, env=environment, capture_output=True, text=True, timeout=60, input=stdin)

    first = run("usage", "daily", "--json", "--timezone", "UTC")
    assert first.returncode == 0, first.stderr
    assert "TEARDOWN RAN" not in first.stderr
    from claude_health.tools.usage import store

    conn = store.connect(sandbox.root / "state.db")
    try:  # the ledger was committed and published: every transcript byte is accounted for
        (read_to,) = conn.execute("SELECT SUM(offset) FROM usage_files").fetchone()
        assert store.has_entries(conn)
    finally:
        conn.close()
    transcripts = sandbox.home / ".claude" / "projects"
    assert read_to == sum(p.stat().st_size for p in transcripts.rglob("*.jsonl"))
    again = run("usage", "daily", "--json", "--timezone", "UTC")
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert json.loads(again.stdout)["totals"]["output_tokens"] == 500
    hook = run("hook", "UserPromptSubmit", stdin=json.dumps({"prompt": "hi", "cwd": str(sandbox.project)}))
    assert hook.returncode == 0 and "TEARDOWN RAN" not in hook.stderr
    assert "COLLECTED" not in hook.stderr
    start = run("hook", "SessionStart", stdin=json.dumps({"source": "startup", "cwd": str(sandbox.project)}))
    assert start.returncode == 0 and "TEARDOWN RAN" not in start.stderr and "COLLECTED" not in start.stderr
    (sandbox.project / "module.py").write_text("x = 1\n")
    keys = run("keys", "--project", str(sandbox.project), "--json")
    assert keys.returncode in (0, 1) and json.loads(keys.stdout)["stats"]["files_scanned"] >= 1
    assert "TEARDOWN RAN" not in keys.stderr and "COLLECTED" not in keys.stderr
    # Through the full parser (an abbreviated option) the collector runs: the witness is real.
    parsed = run("keys", "--proj", str(sandbox.project), "--json")
    assert parsed.returncode in (0, 1) and "COLLECTED" in parsed.stderr
    # A path that keeps the teardown (the full parser, a human report) still runs it: the witness
    # is real.
    human = run("usage", "daily", "--timezone", "UTC")
    assert human.returncode == 0 and "TEARDOWN RAN" in human.stderr
