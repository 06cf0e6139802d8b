"""``claude-health tokens`` as a user runs it: a real subprocess, real files, the fake API."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import Sandbox
from tests.fake_anthropic import FakeAnthropic
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path


def run(
    sandbox: Sandbox, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        **sandbox.env,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CLAUDE_HEALTH_STATE_DB": str(sandbox.root / "state.db"),
        "CLAUDE_HEALTH_LIMITER_URL": "memory://",
    }
    return subprocess.run(
        [cli_path(), "tokens", *args],
        env={**base, **(env or {})},
        cwd=sandbox.project,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_stdin_json_interface(sandbox: Sandbox) -> None:
    proc = run(sandbox, "-", "--model", "claude-opus-4-7", "--json", stdin="Hello, Claude. How are you?")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["method"] == "estimate" and out["model"] == "claude-opus-4-7" and out["family"] == "v2"
    low, high = out["error_band"]
    assert low <= out["tokens"] <= high and out["tokens"] > 0
    assert "files" not in out
    assert out["cost"]["prices_per_mtok"]["input"] == 5.0 and out["fit"]["fits_context"] is True


def test_paths_give_a_sorted_per_file_list_and_total(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "big.md", "A long paragraph of prose. " * 200)
    sandbox.write(sandbox.project / "src" / "small.py", "x = 1\n")
    sandbox.write(sandbox.project / "src" / "blob.bin", b"\x00\x01\x02" * 10)
    proc = run(sandbox, "big.md", "src", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    files = out["files"]
    assert [f["path"] for f in files] == ["big.md", "src/small.py", "src/blob.bin"]
    assert files[2]["skipped"].startswith("binary")
    assert out["tokens"] == files[0]["tokens"] + files[1]["tokens"]


def test_globs_and_human_output(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "a.txt", "alpha beta gamma")
    sandbox.write(sandbox.project / "b.txt", "delta")
    proc = run(sandbox, "*.txt")
    assert proc.returncode == 0, proc.stderr
    assert "a.txt" in proc.stdout and "b.txt" in proc.stdout and "Total:" in proc.stdout
    assert "offline estimate" in proc.stdout and "Cost as input" in proc.stdout


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_missing_path_is_one_usage_error(sandbox: Sandbox, json_flag: list[str]) -> None:
    """A typo is not "0 tokens": one line on stderr, exit 2, nothing on stdout."""
    sandbox.write(sandbox.project / "real.md", "text")
    proc = run(sandbox, "real.md", "nope.md", "*.none", *json_flag)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "claude-health tokens: nope.md: no such file or directory; *.none: no file matches "
        "(nothing was counted)\n"
    )


def test_no_input_is_a_usage_error(sandbox: Sandbox) -> None:
    proc = run(sandbox)  # stdin is an empty pipe, as in CI or a script
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "claude-health tokens: nothing on stdin; give PATH... (files, directories, globs), - for stdin, "
        "or --budget\n"
    )
    # An explicit `-` with empty stdin is a question with an answer: 0 tokens.
    explicit = run(sandbox, "-", "--json")
    assert explicit.returncode == 0 and json.loads(explicit.stdout)["tokens"] == 0


def test_unknown_model_is_called_unknown(sandbox: Sandbox) -> None:
    proc = run(sandbox, "-", "--model", "claude-sonet-4-5", "--json", stdin="Hello")
    assert proc.returncode == 1  # a warning: the count is given, the window and price are not
    out = json.loads(proc.stdout)
    assert "fit" not in out and out["cost"]["known"] is False
    [finding] = out["findings"]
    assert finding["code"] == "T006" and finding["severity"] == "warning"
    assert "Did you mean claude-sonnet-4-5" in finding["message"]
    assert "claude-opus-4-7" in finding["hint"]
    assert out["summary"] == {"errors": 0, "warnings": 1, "infos": 0, "total": 1, "healthy": False}
    human = run(sandbox, "-", "--model", "claude-sonet-4-5", stdin="Hello")
    assert human.returncode == 1
    assert "1,000,000" not in human.stdout and "Fits the" not in human.stdout
    assert "Context window unknown: claude-sonet-4-5" in human.stdout
    assert "T006" in human.stdout
    budget = run(sandbox, "--budget", "--model", "nope-9", "--json")
    assert budget.returncode == 1 and [f["code"] for f in json.loads(budget.stdout)["findings"]] == ["T006"]


def test_json_follows_the_findings_summary_contract(sandbox: Sandbox) -> None:
    proc = run(sandbox, "-", "--model", "claude-opus-4-7", "--json", stdin="Hello")
    out = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert out["findings"] == [] and out["summary"]["healthy"] is True and out["summary"]["total"] == 0
    assert {"tokens", "method", "model", "cost", "fit"} <= set(out)  # the existing keys stay


def test_exact_without_key_fails_clearly(sandbox: Sandbox, api: FakeAnthropic) -> None:
    proc = run(sandbox, "-", "--exact", stdin="hello", env={"ANTHROPIC_BASE_URL": api.base_url})
    assert proc.returncode == 1
    assert "ANTHROPIC_API_KEY" in proc.stderr
    assert api.requests == []


def test_exact_with_key_uses_the_api(sandbox: Sandbox, api: FakeAnthropic, key: str) -> None:
    env = {"ANTHROPIC_BASE_URL": api.base_url, "ANTHROPIC_API_KEY": key}
    proc = run(sandbox, "-", "--exact", "--json", stdin="hello there", env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["method"] == "exact" and out["error_band"] == [out["tokens"], out["tokens"]]
    assert key not in proc.stdout + proc.stderr


def test_exact_with_a_rejected_key(sandbox: Sandbox, api: FakeAnthropic) -> None:
    wrong = fake_key("api_key")
    env = {"ANTHROPIC_BASE_URL": api.base_url, "ANTHROPIC_API_KEY": wrong}
    proc = run(sandbox, "-", "--exact", stdin="hello", env=env)
    assert proc.returncode == 1
    assert "401" in proc.stderr and "rejected" in proc.stderr
    assert wrong not in proc.stderr + proc.stdout


def test_estimate_flag_never_sends(sandbox: Sandbox, api: FakeAnthropic, key: str) -> None:
    env = {"ANTHROPIC_BASE_URL": api.base_url, "ANTHROPIC_API_KEY": key}
    proc = run(sandbox, "-", "--estimate", "--json", stdin="hello", env=env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["method"] == "estimate"
    assert api.requests == []


def test_request_file(sandbox: Sandbox) -> None:
    body = {
        "model": "claude-opus-5",
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
    }
    path = sandbox.write(sandbox.root / "req.json", body)
    proc = run(sandbox, "--request", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["model"] == "claude-opus-5" and out["parts"]["tool_system_prompt"] == 286


@pytest.mark.parametrize(
    "content", ["{broken", "[1, 2]", '{"messages": "x"}', '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"]
)
def test_bad_request_is_a_usage_error(sandbox: Sandbox, content: str) -> None:
    proc = run(sandbox, "--request", "-", stdin=content)
    assert proc.returncode == 2
    assert "--request" in proc.stderr and "Traceback" not in proc.stderr


def test_budget_json(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "CLAUDE.md", "Rules. @missing/file.md")
    proc = run(sandbox, "--budget", "--json")
    out = json.loads(proc.stdout)
    assert out["budget"]["tokens"] > 0 and out["findings"][0]["code"] == "T002"
    assert proc.returncode == 0  # T002 is informational


def test_budget_human(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "CLAUDE.md", "Project rules.")
    proc = run(sandbox, "--budget")
    assert proc.returncode == 0 and "Per-turn context budget" in proc.stdout and "CLAUDE.md" in proc.stdout
