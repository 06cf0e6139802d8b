"""Managed settings: our verdict against the real Claude Code, offline.

Claude Code reads managed settings only from /etc/claude-code on Linux. Each run here gets its
own mount namespace in which a throw-away overlay of /etc holds the sandbox's managed directory
at /etc/claude-code, so nothing outside the test's temp dir is written and the machine's /etc
is untouched. claude-health reads the same directory through CLAUDE_HEALTH_MANAGED_DIR.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from claude_health.tools.settings.explain import explain_permission
from claude_health.tools.settings.validate import Validation, validate_workspace
from tests.conftest import Sandbox
from tests.external import claude_bin, claude_env
from tests.fake_messages import TOOL_COMMAND, FakeMessages, bash_once
from tests.fakes import fake_key

pytestmark = pytest.mark.e2e

_MOUNT = (
    "mount --make-rprivate / && "
    'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc && '
    'mkdir -p /etc/claude-code && mount --bind "$3" /etc/claude-code && shift 3 && exec "$@"'
)


def in_namespace(sandbox: Sandbox, argv: list[str]) -> list[str]:
    """``argv`` run where /etc/claude-code is the sandbox's managed directory."""
    if shutil.which("unshare") is None:
        raise AssertionError("these tests need `unshare` (util-linux) to give Claude Code a private /etc")
    upper, work = sandbox.root / "etc-upper", sandbox.root / "etc-work"
    upper.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
    return [*unshare, "sh", "-c", _MOUNT, "sh", str(upper), str(work), str(sandbox.managed), *argv]


def claude(sandbox: Sandbox, *args: str, **env: str) -> tuple[int, str]:
    proc = subprocess.run(
        in_namespace(sandbox, [claude_bin(), *args]),
        cwd=sandbox.project,
        env=claude_env(sandbox.home, **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert "unshare:" not in out and "mount:" not in out, f"could not set up the managed directory: {out}"
    return proc.returncode, out


def ours(sandbox: Sandbox) -> Validation:
    return validate_workspace(sandbox.workspace())


def doctor_lines(out: str, name: str) -> list[str]:
    """`claude doctor`'s invalid-settings lines for one managed file, without the path."""
    marker = f"/etc/claude-code/{name} \u203a "  # doctor: "<path> <U+203A> <key>: <message>"
    return [line.split(marker, 1)[1] for line in out.splitlines() if marker in line]


def data_of(v: Validation, name: str) -> dict[str, Any]:
    result = next(r for r in v.files if r.file.path.name == name)
    assert result.loaded is True, name
    return result.data or {}


CMD = {"type": "command", "command": "true"}
MATCHER = {"matcher": "Bash", "hooks": [CMD]}
START = [{"hooks": [CMD]}]

BAD_URL = {"PreToolUse": [{"hooks": [{"type": "http", "url": "x"}]}]}

# One drop-in per case: (hooks-related content, does Claude Code drop the document's hooks field).
HOOK_CASES: dict[str, tuple[dict[str, Any], bool]] = {
    "01-pre-without-hooks.json": (
        {"hooks": {"PreToolUse": [{"matcher": "Bash"}], "SessionStart": START}},
        True,
    ),
    "02-pre-event-object.json": ({"hooks": {"PreToolUse": MATCHER, "SessionStart": START}}, True),
    "03-hooks-array.json": ({"hooks": [MATCHER]}, True),
    "04-request-string.json": ({"hooks": {"PermissionRequest": "x", "SessionStart": START}}, True),
    "05-pre-bad-url.json": ({"hooks": {**BAD_URL, "SessionStart": START}}, True),
    "06-stop-without-hooks.json": ({"hooks": {"Stop": [{"matcher": "x"}], "SessionStart": START}}, False),
    "07-top-level-pre.json": ({"PreToolUse": [MATCHER], "hooks": {"SessionStart": START}}, False),
    "08-clean.json": ({"hooks": {"PreToolUse": [MATCHER], "SessionStart": START}}, False),
}


def test_managed_hook_verdicts_match_claude(sandbox: Sandbox) -> None:
    """A guard hook that cannot be loaded costs a managed document its `hooks` field, not its
    other settings: the document's env still reaches `claude auth status`."""
    for name, (content, _) in HOOK_CASES.items():
        sandbox.write(sandbox.managed / "managed-settings.d" / name, content)
    sandbox.managed_settings({"env": {"ANTHROPIC_API_KEY": fake_key()}})
    code, out = claude(sandbox, "doctor")
    assert code == 0 and "Claude Code doctor" in out, out
    v = ours(sandbox)
    for name, (_, dropped) in HOOK_CASES.items():
        lines = doctor_lines(out, f"managed-settings.d/{name}")
        cc_dropped = any(re.match(r"hooks: .*This field was ignored", line) for line in lines)
        assert cc_dropped is dropped, f"{name}: {lines}"
        assert ("hooks" not in data_of(v, name)) is dropped, name
    _, status = claude(sandbox, "auth", "status", "--json")
    assert json.JSONDecoder().raw_decode(status[status.index("{") :])[0]["authMethod"] == "api_key"


# Invalid managed values: what Claude Code uses instead ("treating it as X" / an empty allowlist),
# or None when it drops the key. The values are compared with what claude-health keeps.
FAIL_CLOSED: dict[str, Any] = {
    "permissions": {"defaultMode": "yolo", "disableBypassPermissionsMode": True, "deny": "Bash"},
    "sandbox": {"enabled": "yes", "network": {"allowManagedDomainsOnly": "yes", "allowedDomains": "x"}},
    "worktree": {"bgIsolation": "x"},
    "attribution": "x",
    "allowManagedHooksOnly": "yes",
    "enableAllProjectMcpServers": "yes",
    "disableAutoMode": 1,
    "availableModels": "opus",
    "allowedHttpHookUrls": "x",
    "model": 5,
    "cleanupPeriodDays": 0,
    "statusLine": {"type": "command"},
}


def _cc_substitute(line: str) -> tuple[str, Any] | None:
    """(key path, value Claude Code uses) from one doctor line; "drop" when it drops the key."""
    match = re.match(r"([\w.]+): (.*)", line)
    if match is None:
        return None
    path, message = match.groups()
    value = re.search(r'treating it as ("[^"]*"|true|false)', message)
    if value:
        return path, json.loads(value.group(1))
    if "empty allowlist" in message:
        return path, []
    if "treating its locks as their restrictive values" in message:
        return path, "locks"
    return path, "drop"


def _lookup(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return "drop"
        node = node[part]
    return node


def test_managed_settings_fail_closed_like_claude(sandbox: Sandbox) -> None:
    sandbox.managed_settings(FAIL_CLOSED)
    code, out = claude(sandbox, "doctor")
    assert code == 0, out
    cc = dict(s for line in doctor_lines(out, "managed-settings.json") if (s := _cc_substitute(line)))
    kept = data_of(ours(sandbox), "managed-settings.json")
    assert set(cc) == {
        "permissions.defaultMode",
        "permissions.disableBypassPermissionsMode",
        "permissions.deny",
        "sandbox.enabled",
        "sandbox.network.allowManagedDomainsOnly",
        "sandbox.network.allowedDomains",
        "worktree.bgIsolation",
        "attribution",
        "allowManagedHooksOnly",
        "enableAllProjectMcpServers",
        "disableAutoMode",
        "availableModels",
        "allowedHttpHookUrls",
        "model",
        "cleanupPeriodDays",
        "statusLine",
    }, out
    for path, value in cc.items():
        if value == "locks":
            assert _lookup(kept, path) == {"sessionUrl": False}, path
        else:
            assert _lookup(kept, path) == value, (path, value)


def test_managed_invalid_allowlist_admits_no_mcp_server(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / ".mcp.json", {"mcpServers": {"a": {"command": "true"}}})
    sandbox.user_settings({"enableAllProjectMcpServers": True})
    for value in ("a", [5]):
        sandbox.managed_settings({"allowedMcpServers": value})
        _, listed = claude(sandbox, "mcp", "list")
        assert "No MCP servers configured" in listed, listed
        assert [s.to_json()["status"] for s in ours(sandbox).servers] == ["blocked"]
    sandbox.managed_settings({"allowedMcpServers": [{"serverName": "a"}]})
    _, listed = claude(sandbox, "mcp", "list")
    assert re.search(r"^a: ", listed, re.MULTILINE), listed
    assert [s.to_json()["status"] for s in ours(sandbox).servers] == ["enabled"]


DROPIN_NAMES = ("10-read.json", "20-upper.JSON", ".30-hidden.json", "40-backup.json.bak", "50-Mixed.Json")


def test_dropins_skipped_by_name_match_claude(sandbox: Sandbox) -> None:
    """Each drop-in carries an invalid rule naming it; doctor reports it only for files it read."""

    def rule(name: str) -> str:
        return "Bash(" + re.sub(r"\W", "", name)  # malformed on purpose: doctor names it

    for name in DROPIN_NAMES:
        sandbox.write(sandbox.managed / "managed-settings.d" / name, {"permissions": {"allow": [rule(name)]}})
    _, out = claude(sandbox, "doctor")
    read_by_cc = {name for name in DROPIN_NAMES if f'Invalid permission rule "{rule(name)}"' in out}
    assert read_by_cc == {"10-read.json"}, out
    v = ours(sandbox)
    assert {r.file.path.name for r in v.files if r.file.scope == "managed" and r.loaded} == read_by_cc
    skipped = {Path(f.path or "").name for f in v.findings if f.code == "S022"}
    assert skipped == set(DROPIN_NAMES) - read_by_cc


def test_session_with_a_broken_managed_guard_hook(sandbox: Sandbox) -> None:
    """Case (b) in a real session: the broken document's hooks never run, its deny rule holds,
    and the hooks of a sound drop-in still run."""
    marker = sandbox.root / "markers"
    marker.mkdir()

    def touch(name: str) -> list[dict[str, Any]]:
        return [{"hooks": [{"type": "command", "command": f"touch {marker / name}"}]}]

    sandbox.managed_settings(
        {
            "hooks": {"PreToolUse": [{"matcher": "Bash"}], "SessionStart": touch("broken-start")},
            "permissions": {"deny": [f"Bash({TOOL_COMMAND})"]},
        }
    )
    sandbox.write(
        sandbox.managed / "managed-settings.d" / "10-sound.json",
        {"hooks": {"SessionStart": touch("sound-start")}},
    )
    with FakeMessages(bash_once()) as api:
        _, out = claude(
            sandbox,
            "-p",
            "go",
            "--output-format",
            "json",
            ANTHROPIC_BASE_URL=api.base_url,
            ANTHROPIC_API_KEY=fake_key(),
        )
        assert len(api.requests) >= 2, out
    result, _ = json.JSONDecoder().raw_decode(out[out.index("{") :])  # stderr notes follow
    assert [d["tool_name"] for d in result["permission_denials"]] == ["Bash"], out
    assert sorted(p.name for p in marker.iterdir()) == ["sound-start"]
    v = ours(sandbox)
    assert "hooks" not in data_of(v, "managed-settings.json")
    assert "hooks" in data_of(v, "10-sound.json")
    assert explain_permission(v, "Bash", {"command": TOOL_COMMAND}).decision == "deny"
