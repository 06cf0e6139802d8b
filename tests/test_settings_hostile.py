"""Hostile settings files: wrong JSON types where strings belong, numbers past Python's limits,
patterns built to make a regex backtrack, and floods of findings. Each must end in findings,
never a traceback and never a hang."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_health.tools.findings import Finding, Severity
from claude_health.tools.jsonspan import loads
from claude_health.tools.settings import permissions as P
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.context import MAX_PER_RULE, did_you_mean
from claude_health.tools.settings.explain import explain_permission
from claude_health.tools.settings.mcp import url_pattern_matches
from claude_health.tools.settings.validate import Validation, validate_workspace
from tests.conftest import Sandbox

UNHASHABLE: list[Any] = [[], {}, [1], {"a": 1}]


def run(sandbox: Sandbox) -> Validation:
    return validate_workspace(sandbox.workspace())


def codes(v: Validation, path: object | None = None) -> list[str]:
    return [f.code for f in v.findings if path is None or f.path == str(path)]


def _trusted(sandbox: Sandbox) -> None:
    sandbox.claude_json({"projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}}})


# -- unhashable JSON values where a name is looked up -------------------------------------------


@pytest.mark.parametrize("kind", UNHASHABLE)
def test_hook_type_of_any_json_type_is_an_invalid_hook(sandbox: Sandbox, kind: Any) -> None:
    path = sandbox.user_settings({"hooks": {"PreToolUse": [{"hooks": [{"type": kind}]}]}})
    v = run(sandbox)
    (bad,) = [f for f in v.findings if f.code == R.INVALID_HOOK.code]
    assert bad.severity is Severity.ERROR and bad.path == str(path)
    assert "Unknown hook type" in bad.message


@pytest.mark.parametrize("kind", UNHASHABLE)
def test_mcp_server_type_of_any_json_type_is_an_invalid_server(sandbox: Sandbox, kind: Any) -> None:
    path = sandbox.write(
        sandbox.project / ".mcp.json", {"mcpServers": {"b": {"type": kind, "url": "https://h"}}}
    )
    v = run(sandbox)
    assert R.INVALID_SERVER.code in codes(v, path)
    (server,) = [s for s in v.payload()["servers"] if s["name"] == "b"]
    assert server["status"] == "invalid" and server["type"] == "?"


@pytest.mark.parametrize("kind", UNHASHABLE)
def test_inline_plugin_source_of_any_json_type_is_reported(sandbox: Sandbox, kind: Any) -> None:
    plugin = {"name": "p", "source": {"source": kind}}
    market = {"m": {"source": {"source": "settings", "name": "m", "plugins": [plugin]}}}
    path = sandbox.user_settings({"extraKnownMarketplaces": market})
    v = run(sandbox)
    wrong = [f for f in v.findings if f.code == R.WRONG_TYPE.code and f.path == str(path)]
    assert wrong and "Plugin source type" in wrong[0].message


# -- server filters against servers of any shape -------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [True, None, 3, "npx", ["npx"], {"command": "npx", "args": None}, {"command": "npx", "args": "x"}],
)
def test_server_command_filter_with_malformed_server_entries(sandbox: Sandbox, entry: Any) -> None:
    _trusted(sandbox)
    sandbox.user_settings({"deniedMcpServers": [{"serverCommand": ["npx"]}, {"serverUrl": "https://*"}]})
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"a": entry}})
    v = run(sandbox)
    (server,) = v.servers
    assert server.status != "blocked" and not server.valid


def test_server_filters_still_block_what_they_name(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    sandbox.user_settings(
        {
            "enableAllProjectMcpServers": True,
            "deniedMcpServers": [
                {"serverCommand": ["sh", "-c", "x"]},
                {"serverUrl": "https://*.evil.test/*"},
            ],
        }
    )
    sandbox.write(
        sandbox.project / ".mcp.json",
        {
            "mcpServers": {
                "cmd": {"command": "sh", "args": ["-c", "x"]},
                "other": {"command": "sh", "args": ["-c", "y"]},
                "web": {"type": "http", "url": "https://api.evil.test/mcp"},
            }
        },
    )
    status = {s.name: s.status for s in run(sandbox).servers}
    assert status == {"cmd": "blocked", "other": "enabled", "web": "blocked"}


def test_server_url_wildcards_are_linear() -> None:
    url = "https://" + "a" * 20_000 + ".test"
    assert url_pattern_matches("https://*a*a*a*a*a*b", url) is False
    assert url_pattern_matches("https://*a*a*a*.test", url) is True


# -- numbers past Python's int-conversion limit --------------------------------------------------


def test_integer_literals_past_4300_digits_become_infinities() -> None:
    text = '{"a": ' + "9" * 5000 + ', "b": [-' + "1" * 5000 + "]}"
    doc = loads(text)
    assert doc.value == {"a": float("inf"), "b": [float("-inf")]}
    assert doc.value_pos(("b", 0)).column == len('{"a": ') + 5000 + len(', "b": [') + 1


def test_huge_integer_setting_is_a_type_finding(sandbox: Sandbox) -> None:
    path = sandbox.user_settings('{"model": ' + "7" * 5000 + ', "cleanupPeriodDays": ' + "3" * 4400 + "}")
    v = run(sandbox)
    model, days = sorted((f for f in v.findings if f.code == R.WRONG_TYPE.code), key=lambda f: f.column or 0)
    assert model.path == str(path) and "expected string, received number" in model.message
    assert (model.line, model.column) == (1, 11)
    assert "cleanupPeriodDays" in days.message and days.column == len('{"model": , ') + 5000 + 22


# -- patterns that make a backtracking regex explode ---------------------------------------------


def test_star_pattern_on_long_command_is_decided() -> None:
    assert P.shell_pattern_matches("*a*a*a*b", "a" * 5000) is False
    assert P.shell_pattern_matches("*a*a*a*b", "a" * 5000 + "b") is True
    assert P.mcp_tool_matches("mcp__*a*a*a*b", "mcp__" + "a" * 5000) is False


def test_glob_pattern_on_long_path_is_decided() -> None:
    where = {"base": "/p", "cwd": "/p", "home": "/home/u"}
    deep = "/p/" + "a/" * 3000 + "a"
    assert P.path_pattern_matches("/**a**a**a**a**b", deep, **where) is False
    assert P.path_pattern_matches("/**/a/**/a/**/a/**/b", deep, **where) is False
    assert P.path_pattern_matches("/**/a/**/a/**/a", deep, **where) is True
    assert P.path_pattern_matches("/" + "*a" * 2000 + "b", "/p/" + "a" * 4000, **where) is False


def test_shadow_check_with_pathological_deny_rule(sandbox: Sandbox) -> None:
    path = sandbox.user_settings(
        {"permissions": {"deny": ["Bash(*a*a*a*b)"], "allow": ["Bash(" + "a" * 3000 + ")", "Bash(xaaayb)"]}}
    )
    line = path.read_text().splitlines().index('      "Bash(xaaayb)"') + 1
    shadowed = [f for f in run(sandbox).findings if f.code == R.SHADOWED_ALLOW.code]
    assert [(f.path, f.line) for f in shadowed] == [(str(path), line)]


def test_explain_with_pathological_rules_and_huge_input(sandbox: Sandbox) -> None:
    sandbox.user_settings(
        {"permissions": {"deny": ["Bash(*a*a*a*a*b)", "Read(/**a**a**a**a**b)"], "allow": ["Bash(a*)"]}}
    )
    v = run(sandbox)
    assert explain_permission(v, "Bash", "a" * 100_000).decision == "allow"
    assert explain_permission(v, "Bash", "a" * 99_999 + "b").decision == "deny"
    read = explain_permission(v, "Read", "/" + "a/" * 50_000 + "c")
    assert read.decision == "ask"


def _glob_regex(pattern: str) -> str:
    """The backtracking translation the linear matcher replaced: the reference semantics."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def _reference_path_match(pattern: str, path: str) -> bool:
    if pattern in ("*", "**"):
        return True
    absolute, anchored = P.resolve_path_pattern(pattern, base="/p", cwd="/p", home="/home/u")
    target = str(PurePosixPath(path))
    if anchored:
        regex = _glob_regex(absolute.rstrip("/")) + "(?:/.*)?"
    else:
        root, _, name = absolute.rpartition("/")
        regex = re.escape(root) + "/(?:.*/)?" + _glob_regex(name.rstrip("/")) + "(?:/.*)?"
    return re.fullmatch(regex, target, re.DOTALL) is not None


@settings(max_examples=1500, deadline=None)
@given(
    prefix=st.sampled_from(["", "/", "./", "~/", "//"]),
    pattern=st.text(alphabet="ab/*?.", min_size=1, max_size=12),
    root=st.sampled_from(["", "/p", "/p/a", "/home/u"]),
    path=st.text(alphabet="ab/.", max_size=12),
)
def test_path_glob_agrees_with_regex_semantics(prefix: str, pattern: str, root: str, path: str) -> None:
    target = root + "/" + path
    expected = _reference_path_match(prefix + pattern, target)
    assert P.path_pattern_matches(prefix + pattern, target, base="/p", cwd="/p", home="/home/u") is expected


@settings(max_examples=1500, deadline=None)
@given(pattern=st.text(alphabet="ab *", max_size=8), command=st.text(alphabet="ab ", max_size=10))
def test_star_wildcard_agrees_with_regex_semantics(pattern: str, command: str) -> None:
    regex = ".*".join(re.escape(p) for p in pattern.split("*"))
    assert P.wildcard_matches(pattern, command) is (re.fullmatch(regex, command, re.DOTALL) is not None)


# -- floods of findings --------------------------------------------------------------------------


def _by_code(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def test_unknown_key_flood_is_folded(sandbox: Sandbox) -> None:
    keys = {"Model": 1} | {f"unknown{i}": 1 for i in range(19_999)}
    path = sandbox.user_settings(keys)
    unknown = _by_code(run(sandbox).findings, R.UNKNOWN_KEY.code)
    assert len(unknown) == MAX_PER_RULE + 1
    (summary,) = [f for f in unknown if f.message.startswith("...and")]
    assert f"{20_000 - MAX_PER_RULE} more {R.UNKNOWN_KEY.code}" in summary.message
    assert summary.path == str(path) and summary.line is not None
    assert sum('Did you mean "model"?' in f.message for f in unknown) == 1


def test_no_spelling_suggestion_for_very_long_names() -> None:
    # difflib is quadratic in the name; past 64 characters no suggestion is computed at all.
    long_name = "permissions" * 6
    assert did_you_mean(long_name, [long_name + "x"]) is None
    assert did_you_mean("modle", ["model", "env"]) == "model"


def test_folded_errors_still_reject_the_file(sandbox: Sandbox) -> None:
    hooks = [{"hooks": [{"type": "command", "command": "x", "timeout": -1}]}] * (MAX_PER_RULE + 5)
    path = sandbox.user_settings({"hooks": {"PreToolUse": hooks}})
    v = run(sandbox)
    invalid = _by_code(v.findings, R.INVALID_HOOK.code)
    assert len(invalid) == MAX_PER_RULE + 1
    assert all(f.severity is Severity.ERROR for f in invalid)
    assert next(r.loaded for r in v.files if str(r.file.path) == str(path)) is False


def test_cross_file_findings_are_folded(sandbox: Sandbox) -> None:
    sandbox.user_settings({"permissions": {"deny": ["Bash(rm:*)"]}})
    local = sandbox.project_settings({"permissions": {"allow": [f"Bash(rm {i})" for i in range(300)]}})
    _trusted(sandbox)
    shadowed = _by_code(run(sandbox).findings, R.SHADOWED_ALLOW.code)
    assert len(shadowed) == MAX_PER_RULE + 1 and all(f.path == str(local) for f in shadowed)
    assert any(f"{300 - MAX_PER_RULE} more" in f.message for f in shadowed)


def test_every_finding_is_serialisable(sandbox: Sandbox) -> None:
    sandbox.user_settings('{"n": ' + "1" * 5000 + ', "hooks": {"Stop": [{"hooks": [{"type": {}}]}]}}')
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"a": True, "b": {"type": [None]}}})
    payload = run(sandbox).payload()
    assert json.loads(json.dumps(payload))["summary"]["warnings"] >= 2
