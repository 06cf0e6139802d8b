"""Problems, not symptoms: the messy machine of issue 12, built for real, reported one cause at a time.

A Max login; a stray ANTHROPIC_API_KEY exported in ~/.zshrc line 3 and in the environment; a
project .claude/settings.json with one type error that also holds `deny: ["Read(./.env)"]`; a
tracked .claude/settings.local.json allowing `Bash(rm -rf:*)`; an .mcp.json with a working server
and one whose absolute command does not exist; a key committed in src/config.py.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from claude_health.server.probe import run_probe
from claude_health.tools.doctor import run_doctor
from claude_health.tools.findings import Finding
from claude_health.tools.problems import group_problems
from tests.conftest import Sandbox
from tests.machines import MessyMachine, messy_machine
from tests.mcp_helpers import cli_path

HEALTH_REPORT_BUDGET = 6_000  # bytes of structured content, compact JSON

# One group per planted cause: the codes of the findings each cause produces.
PLANTED = [
    {"K005", "A001", "K007"},  # the stray key: billing, environment, shell start-up file
    {"K001"},  # the committed key
    {"S004"},  # the ignored project settings (no A004: the file holds no auth settings)
    {"S306", "P001"},  # the MCP server whose command does not exist
    {"K009"},  # settings.local.json tracked by git
    {"S105"},  # Bash(rm -rf:*): the legacy `:*` form
]
# What this machine adds by itself: Claude Code not installed, tier not set, no status line data,
# the session guard not installed.
MACHINE = [{"R002"}, {"L006"}, {"U004"}, {"G001"}]


@pytest.fixture
def machine(sandbox: Sandbox) -> MessyMachine:
    return messy_machine(sandbox)


def identity(f: Finding | dict[str, Any]) -> tuple[Any, ...]:
    data = f.to_json() if isinstance(f, Finding) else f
    return (data["code"], data.get("path"), data.get("line"), data.get("column"), data["message"])


def test_one_problem_per_cause(machine: MessyMachine) -> None:
    sb = machine.sandbox
    ws = sb.workspace()
    report = run_doctor(ws, extra={"probe": lambda w: run_probe(w, timeout=30)})
    groups = [{f.code for f in p.findings} for p in report.problems]
    assert sorted(map(sorted, groups)) == sorted(map(sorted, PLANTED + MACHINE)), groups
    assert len(report.problems) == 10 and len(report.findings) == 13

    # Every finding under exactly one problem.
    grouped = Counter(identity(f) for p in report.problems for f in p.findings)
    assert grouped == Counter(identity(f) for f in report.findings)

    # Money first: the stray key leads, one error, its origin named.
    stray = report.problems[0]
    assert {f.code for f in stray.findings} == {"K005", "A001", "K007"}
    assert stray.severity.value == "error" and stray.concern == "money"
    assert stray.summary == (
        "ANTHROPIC_API_KEY, exported in ~/.zshrc:3, makes Claude Code bill API credits instead of "
        "your Max plan"
    )
    assert "~/.zshrc:3" in stray.fix and "unset ANTHROPIC_API_KEY" in stray.fix

    by_code = {code: p for p in report.problems for code in {f.code for f in p.findings}}
    ignored = by_code["S004"]
    assert ignored.severity.value == "error" and ignored.concern == "security"  # a guard is lost
    assert ignored.summary.startswith("Claude Code ignores .claude/settings.json entirely")
    assert "deny rule Read(./.env)" in ignored.summary
    assert ".claude/settings.json:2:" in ignored.fix
    server = by_code["P001"]
    assert server.severity.value == "error"
    assert server.summary == (
        f"MCP server 'broken' (.mcp.json) cannot start: {machine.missing_command} does not exist"
    )
    committed = by_code["K001"]
    assert committed.summary.startswith("An Anthropic API key (sk-ant-api03-…")
    assert committed.summary.endswith("is exposed in src/config.py:1")

    # The probe saw the working server work.
    servers = {s["name"]: s for s in report.sections["probe"]["servers"]}
    assert servers["health"]["status"] == "ok" and servers["broken"]["status"] == "failed"

    # Ranked: severity first, then money and security before the rest.
    ranks = [(p.severity.rank, {"money": 0, "security": 1, "other": 2}[p.concern]) for p in report.problems]
    assert ranks == sorted(ranks)

    for text in (json.dumps(report.to_json()), *(p.summary + p.fix for p in report.problems)):
        assert machine.stray_key not in text and machine.committed_key not in text


def test_without_the_view_findings_stay_apart(machine: MessyMachine) -> None:
    """Grouping is by data: without the view's facts the stray key's findings still share their
    cause key (env:ANTHROPIC_API_KEY), and nothing is grouped by message text."""
    report = run_doctor(machine.sandbox.workspace())
    plain = group_problems(report.findings)
    groups = sorted(sorted(f.code for f in p.findings) for p in plain)
    assert ["A001", "K005", "K007"] in groups
    assert sum(len(p.findings) for p in plain) == len(report.findings)


def test_doctor_json_contract(machine: MessyMachine) -> None:
    sb = machine.sandbox
    proc = subprocess.run(
        [cli_path(), "doctor", "--json", "--project", str(sb.project)],
        env=sb.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert {"findings", "summary", "problems", "checks"} <= set(report)
    for problem in report["problems"]:
        assert set(problem) == {"id", "severity", "summary", "fix", "findings"}
    under = Counter(json.dumps(f, sort_keys=True) for p in report["problems"] for f in p["findings"])
    assert under == Counter(json.dumps(f, sort_keys=True) for f in report["findings"])
    assert report["problems"][0]["summary"].startswith("ANTHROPIC_API_KEY, exported in ~/.zshrc:3")
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["keys"]["ok"] is False and checks["keys"]["status"] == "error"
    assert checks["tokens"]["ok"] is True
    human = subprocess.run(
        [cli_path(), "doctor", "--project", str(sb.project)],
        env=sb.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    ).stdout
    first = human.split("\n\n", 1)[1]
    assert first.startswith("ERROR   ANTHROPIC_API_KEY, exported in ~/.zshrc:3")
    assert "keys errors" in human and machine.stray_key not in human + proc.stdout


async def test_in_session_answers(machine: MessyMachine) -> None:
    """Through a real stdio MCP client: explain_permission tells the whole story, health_report
    stays under its budget by default and carries every finding at full detail."""
    sb = machine.sandbox
    params = StdioServerParameters(
        command=cli_path(),
        args=["serve"],
        env={**sb.env, "CLAUDE_HEALTH_WATCH": "0"},
        cwd=str(sb.project),
    )
    project = str(sb.project)
    async with Client(params) as client:
        explained = await client.call_tool(
            "explain_permission", {"tool": "Read", "tool_input": ".env", "project_dir": project}
        )
        brief = await client.call_tool("health_report", {"project_dir": project})
        full = await client.call_tool("health_report", {"project_dir": project, "detail": "full"})

    data = explained.structured_content
    assert data is not None and explained.is_error is False
    assert data["decision"] == "allow" and data["as_written"] == "deny"
    [rule] = data["not_applied"]
    assert rule["rule"] == "Read(./.env)" and rule["path"] == str(machine.project_settings)
    assert rule["behavior"] == "deny" and rule["line"] == 5
    assert "ignores that whole file" in rule["why"] and "cleanupPeriodDays" in rule["why"]
    assert data["reason"].startswith("Claude Code will ALLOW this call, but as written it would be deny")
    assert str(machine.project_settings) in data["reason"]

    assert brief.structured_content is not None and full.structured_content is not None
    size = len(json.dumps(brief.structured_content, separators=(",", ":")))
    assert size <= HEALTH_REPORT_BUDGET, size
    problems = brief.structured_content["problems"]
    assert problems[0]["summary"].startswith("ANTHROPIC_API_KEY, exported in ~/.zshrc:3")
    assert all({"id", "severity", "summary", "fix"} <= set(p) for p in problems)
    assert "findings" not in problems[0] and "sections" not in brief.structured_content

    report = run_doctor(sb.workspace())
    carried = Counter(identity(f) for p in full.structured_content["problems"] for f in p["findings"])
    assert carried == Counter(identity(f) for f in report.findings)
    assert full.structured_content["sections"]["auth"]["billing"] == "api"
    for result in (explained, brief, full):
        text = json.dumps(result.structured_content) + "".join(getattr(c, "text", "") for c in result.content)
        assert machine.stray_key not in text and machine.committed_key not in text
