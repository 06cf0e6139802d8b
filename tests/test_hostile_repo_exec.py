"""No program runs on a repository's behalf.

A repository that arrives with its own ``.git`` names programs in its config (fsmonitor, hooks,
pagers, diff and merge drivers, filters, credential helpers, gpg, transports, includes), ships
its own ``git`` and ``claude`` for a PATH with relative entries, and approves its own MCP
servers in a checked-in ``.claude/settings.local.json``. Every claude-health entry point, CLI
and MCP, runs against it; each of those programs would touch a marker file, and none may appear,
while the findings (keys in the tree, in history, staged) stay right.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from claude_health.server.app import build_server
from claude_health.tools import gitsafe
from claude_health.tools.redact import fingerprint
from tests.conftest import Sandbox
from tests.fakes import fake_key
from tests.mcp_helpers import cli_path

REPO = Path(__file__).resolve().parents[1]
HOOKS = (
    "pre-commit", "post-commit", "post-checkout", "post-index-change", "reference-transaction",
    "fsmonitor-watchman", "pre-auto-gc", "post-rewrite", "post-merge", "pre-push",
)  # fmt: skip


class Hostile:
    """A git repository whose every configurable program writes a marker file."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.project = sandbox.project
        self.markers = sandbox.root / "markers"
        self.markers.mkdir()
        self.bin = sandbox.root / "evil-bin"
        self.bin.mkdir()
        self.tree_key, self.history_key, self.staged_key = fake_key(), fake_key(), fake_key("admin_key")

    def program(self, name: str) -> str:
        """A program that records that it ran (and passes data through, like a filter would)."""
        path = self.bin / name
        path.write_text(f'#!/bin/sh\ntouch "{self.markers}/{name}"\ncat >/dev/null 2>&1 </dev/null\nexit 0\n')
        path.chmod(0o755)
        return str(path)

    def ran(self) -> list[str]:
        return sorted(p.name for p in self.markers.iterdir())

    def reset(self) -> None:
        for p in self.markers.iterdir():
            p.unlink()

    def build(self) -> Hostile:
        p = self.project
        setup = ["-c", "core.hooksPath=/dev/null", "-c", "user.name=T", "-c", "user.email=t@example.com"]

        def g(*args: str) -> str:
            return subprocess.run(
                ["git", *setup, *args], cwd=p, check=True, capture_output=True, text=True
            ).stdout.strip()

        g("init", "-q")
        self.sandbox.write(p / ".gitattributes", "* diff=evil filter=evil merge=evil\n*.txt filter=a=b\n")
        self.sandbox.write(p / "app.py", f"KEY = '{self.tree_key}'\n")
        self.sandbox.write(p / "notes.txt", "hello\n")
        self.sandbox.write(p / "old.py", f"OLD = '{self.history_key}'\n")
        g("add", ".")
        g("commit", "-qm", "first")
        (p / "old.py").unlink()
        g("commit", "-qam", "remove the old key")
        # A commit carrying a (fake) signature: log.showSignature would hand it to gpg.program.
        tree, head = g("rev-parse", "HEAD^{tree}"), g("rev-parse", "HEAD")
        body = (
            f"tree {tree}\nparent {head}\nauthor T <t@example.com> 1700000000 +0000\n"
            "committer T <t@example.com> 1700000000 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n"
            " iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----\n\nsigned\n"
        )
        signed = subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
            cwd=p, input=body, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        g("update-ref", "refs/heads/main", signed)
        self.sandbox.write(p / "staged.cfg", f"admin = {self.staged_key}\n")
        g("add", "staged.cfg")
        self.sandbox.write(p / ".env", "X=1\n")
        self._configure()
        self._ship_programs()
        return self

    def _configure(self) -> None:
        p = self.project
        hooks = self.sandbox.root / "evil-hooks"
        hooks.mkdir()
        for hook in HOOKS:
            for where in (hooks, p / ".git" / "hooks"):
                target = where / hook
                target.write_text(Path(self.program(f"hook-{hook}")).read_text())
                target.chmod(0o755)
        included = self.sandbox.root / "included.cfg"
        included.write_text(f"[core]\n\tpager = {self.program('included-pager')}\n")
        settings = {
            "core.fsmonitor": self.program("fsmonitor"),
            "core.hooksPath": str(hooks),
            "core.pager": self.program("pager"),
            "pager.log": self.program("pager-log"),
            "core.editor": self.program("editor"),
            "sequence.editor": self.program("sequence-editor"),
            "core.askPass": self.program("askpass"),
            "core.sshCommand": self.program("ssh"),
            "core.gitProxy": self.program("gitproxy"),
            "core.alternateRefsCommand": self.program("alternate-refs"),
            "credential.helper": "!" + self.program("credential"),
            "diff.external": self.program("diff-external"),
            "diff.evil.command": self.program("diff-command"),
            "diff.evil.textconv": self.program("textconv"),
            "filter.evil.clean": self.program("clean"),
            "filter.evil.smudge": self.program("smudge"),
            "filter.evil.process": self.program("filter-process"),
            "filter.evil.required": "true",
            "filter.a=b.clean": self.program("clean-odd-name"),
            "merge.evil.driver": self.program("merge-driver"),
            "gpg.program": self.program("gpg"),
            "gpg.ssh.program": self.program("gpg-ssh"),
            "log.showSignature": "true",
            "uploadpack.packObjectsHook": self.program("pack-objects-hook"),
            "remote.origin.url": f"ext::{self.program('ext-transport')}",
            "include.path": str(included),
            "core.untrackedCache": "true",
        }
        for key, value in settings.items():
            subprocess.run(["git", "config", key, value], cwd=p, check=True)

    def _ship_programs(self) -> None:
        """The repository's own `git` and `claude`, for a PATH with relative entries."""
        for rel in ("git", "node_modules/.bin/claude", "node_modules/.bin/git"):
            target = self.project / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(Path(self.program(f"shipped-{rel.replace('/', '-')}")).read_text())
            target.chmod(0o755)

    def env(self) -> dict[str, str]:
        """The user's environment: relative PATH entries, and program variables a hostile
        `.mcp.json` registration could have set for the server."""
        return {
            **self.sandbox.env,
            "PATH": f".:node_modules/.bin::{os.environ['PATH']}",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(self.sandbox.root / "no-global-gitconfig"),
            "GIT_EXTERNAL_DIFF": self.program("env-external-diff"),
            "GIT_SSH_COMMAND": self.program("env-ssh"),
            "GIT_ASKPASS": self.program("env-askpass"),
            "GIT_EDITOR": self.program("env-editor"),
            "GIT_PAGER": self.program("env-pager"),
            "PAGER": self.program("env-pager2"),
        }


@pytest.fixture
def hostile(sandbox: Sandbox) -> Hostile:
    return Hostile(sandbox).build()


def run_cli(h: Hostile, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [cli_path(), *args],
        cwd=h.project,
        env=h.env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_repository_is_really_hostile(hostile: Hostile) -> None:
    """Positive control: plain git in this repository runs its programs."""
    env = {**hostile.env(), "PATH": os.environ["PATH"]}
    for args in (["ls-files"], ["log", "-p", "-1"], ["diff", "HEAD"]):
        subprocess.run(["git", *args], cwd=hostile.project, env=env, capture_output=True, check=False)
    ran = hostile.ran()
    assert "fsmonitor" in ran, ran
    assert {"textconv", "filter-process", "env-external-diff", "diff-external"} & set(ran), ran


def _findings(out: str) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(out)["findings"]
    return findings


@pytest.mark.parametrize(
    "args",
    [
        ("keys", "--json"),
        ("keys", "--json", "--history"),
        ("keys", "--json", "--staged"),
        ("keys", "--sarif", "--history"),
        ("keys",),
        ("doctor", "--json"),
        ("doctor",),
        ("settings", "--json"),
        ("auth", "--json"),
        ("tokens", "--json", "."),
        ("tokens", "--budget", "--json"),
        ("usage", "--json"),
        ("limits", "--json"),
    ],
    ids=lambda a: " ".join(a),
)
def test_cli_runs_no_repository_program(hostile: Hostile, args: tuple[str, ...]) -> None:
    done = run_cli(hostile, *args, "--project", str(hostile.project))
    assert "Traceback" not in done.stderr, done.stderr
    assert hostile.ran() == [], (hostile.ran(), done.stderr[-2000:])
    if args[:2] == ("keys", "--json"):
        fps = {(f["code"], f.get("fingerprint")) for f in _findings(done.stdout)}
        if "--staged" in args:
            assert ("K001", fingerprint(hostile.staged_key)) in fps
        else:
            assert ("K001", fingerprint(hostile.tree_key)) in fps
            assert "K008" in {code for code, _ in fps}  # .env is not ignored
        if "--history" in args:
            assert ("K010", fingerprint(hostile.history_key)) in fps


def test_doctor_finds_the_tree_key_and_does_not_run_the_shipped_claude(hostile: Hostile) -> None:
    done = run_cli(hostile, "doctor", "--json", "--project", str(hostile.project))
    payload = json.loads(done.stdout)
    assert fingerprint(hostile.tree_key) in {f.get("fingerprint") for f in payload["findings"]}
    assert hostile.ran() == []


def test_a_shipped_claude_is_reported_not_run(hostile: Hostile) -> None:
    from claude_health.tools.paths import Workspace
    from claude_health.tools.runtime.machine import claude_version

    ws = Workspace.discover(project=hostile.project, env=hostile.env(), platform="linux")
    for path in (hostile.project / "node_modules/.bin/claude", Path("node_modules/.bin/claude")):
        version, problem = claude_version(path, ws)
        assert version is None and problem and "not run" in problem
    assert hostile.ran() == []


async def _call_everything(h: Hostile) -> list[str]:
    """Every tool, resource and prompt, in both protocol eras; returns the texts seen."""
    project = str(h.project)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("auth_status", {"project_dir": project}),
        ("health_report", {"project_dir": project}),
        ("check_key_hygiene", {"project_dir": project, "history": True}),
        ("limit_status", {"project_dir": project}),
        ("check_request", {"model": "claude-sonnet-4-5", "input_tokens": 10, "max_tokens": 10}),
        ("validate_settings", {"project_dir": project}),
        ("effective_settings", {"project_dir": project}),
        (
            "explain_permission",
            {"tool": "Bash", "tool_input": {"command": "git log"}, "project_dir": project},
        ),
        ("count_tokens", {"paths": ["."], "project_dir": project}),
        ("context_budget", {"project_dir": project}),
        ("plan_usage", {"project_dir": project}),
    ]
    seen: list[str] = []
    for mode in ("legacy", "auto"):
        async with Client(build_server(), mode=mode) as c:
            listed = {t.name for t in (await c.list_tools()).tools}
            assert {name for name, _ in calls} | {"record_response"} == listed
            for name, arguments in calls:
                result = await c.call_tool(name, arguments)
                seen.append(json.dumps(result.structured_content) + str(result.content))
            for resource in (await c.list_resources()).resources:
                seen.append(str(await c.read_resource(str(resource.uri))))
            seen.append(str(await c.get_prompt("diagnose", {"project_dir": project})))
    return seen


def test_mcp_tools_run_no_repository_program(hostile: Hostile, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in hostile.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.chdir(hostile.project)
    seen = anyio.run(_call_everything, hostile)
    assert hostile.ran() == []
    keys_results = [s for s in seen if '"stats"' in s and '"history_scanned": true' in s]
    assert keys_results and all(fingerprint(hostile.history_key) in s for s in keys_results)


@pytest.mark.parametrize(
    "args",
    [
        ["rev-parse", "--show-toplevel"],
        ["ls-files", "-z", "-co", "--exclude-standard"],
        ["ls-files", "-m"],
        ["check-ignore", "-q", "--", ".env"],
        ["diff", "--cached", "--name-only"],
        ["diff"],
        ["diff", "HEAD~1"],
        ["log", "--all", "-p"],
        ["log", "--all", "--format=%G? %H"],
        ["config", "--list"],
    ],
)
def test_runner_neutralises_every_program_even_for_riskier_commands(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    for key, value in hostile.env().items():
        monkeypatch.setenv(key, value)
    gitsafe.git(args, hostile.project)
    gitsafe.git(["cat-file", "--batch"], hostile.project, stdin=b"HEAD:app.py\n")
    assert hostile.ran() == []


def test_runner_refuses_writing_and_unknown_subcommands(hostile: Hostile) -> None:
    for args in (
        ["status"],
        ["commit", "-m", "x"],
        ["config", "core.pager", "x"],
        ["cat-file", "--filters", "x"],
    ):
        with pytest.raises(gitsafe.UnsafeGitCall):
            gitsafe.git(args, hostile.project)
    with pytest.raises(gitsafe.UnsafeGitCall):
        gitsafe.git([], hostile.project)


def test_an_embedded_bare_repository_is_not_opened(sandbox: Sandbox) -> None:
    """A directory laid out as a bare repository (its own `config`) inside the project."""
    h = Hostile(sandbox)
    bare = sandbox.project / "vendor" / "lib"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    subprocess.run(["git", "config", "core.fsmonitor", h.program("bare-fsmonitor")], cwd=bare, check=True)
    assert gitsafe.is_work_tree(bare) is False
    assert gitsafe.git(["ls-files"], bare).ok is False
    assert h.ran() == []


def test_git_is_found_only_on_absolute_path_entries(tmp_path: Path) -> None:
    shipped = tmp_path / "git"
    shipped.write_text("#!/bin/sh\nexit 0\n")
    shipped.chmod(0o755)
    real = gitsafe.git_executable({"PATH": os.environ["PATH"]})
    assert real is not None and Path(real).is_absolute()
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        assert gitsafe.git_executable({"PATH": f".::{tmp_path.name}"}) is None
        assert gitsafe.git_executable({"PATH": f".:{os.environ['PATH']}"}) == real
    finally:
        os.chdir(cwd)


# -- no git subprocess bypasses the runner ------------------------------------------------------

# The only modules allowed to start processes, and what each runs.
SPAWNERS = {
    "tools/gitsafe.py": "git, through the safe runner",
    "tools/runtime/machine.py": "`claude --version`, never a program inside the project",
    "server/commands/statusline.py": "the user's own status line command (--wrap), as Claude Code would",
    "server/probe.py": "approved MCP servers (doctor --probe-servers), as Claude Code would",
    "tools/auth/keychain.py": "`security find-generic-password` (macOS), from absolute PATH entries only",
}
_SPAWN = re.compile(
    r"\bimport subprocess\b|\bfrom subprocess\b|\bsubprocess\.\w|"
    r"\bos\.(system|popen|exec\w*|spawn\w*|posix_spawn\w*|fork)\b|create_subprocess|"
    r"\bPopen\b|stdio_client|pty\.spawn"
)


def test_only_known_modules_start_processes() -> None:
    offenders = []
    for base in ("tools", "server"):
        for path in sorted((REPO / base).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            text = path.read_text(encoding="utf-8")
            code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
            if _SPAWN.search(code) and rel not in SPAWNERS and rel != "tools/forked.py":
                offenders.append(rel)
    assert offenders == [], f"start processes only through the known modules: {offenders}"


def test_git_is_named_only_in_the_runner() -> None:
    """No module builds a git command line of its own (`["git", ...]`, `which("git")`)."""
    # `"git", "log"` is an argv; `"type": "git", "url": ...` (a manifest's dict) is not.
    pattern = re.compile(
        r"""(\[\s*["']git["']|which\(\s*["']git["']|["']git["']\s*,\s*["'][a-z-]+["'](?!\s*:))"""
    )
    offenders = [
        path.relative_to(REPO).as_posix()
        for base in ("tools", "server")
        for path in (REPO / base).rglob("*.py")
        if path.name != "gitsafe.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_forked_workers_do_not_exec() -> None:
    """tools/forked.py forks the interpreter (no exec): the child runs our code only."""
    text = (REPO / "tools" / "forked.py").read_text()
    assert "os.fork" in text and not re.search(r"\bos\.exec|\bsubprocess\b", text)


# -- doctor --probe-servers trusts what Claude Code trusts ---------------------------------------


def _probe_project(sandbox: Sandbox, h: Hostile) -> None:
    sandbox.write(
        sandbox.project / ".mcp.json",
        {"mcpServers": {"shipped": {"command": h.program("probe-server"), "args": []}}},
    )


def _probe(sandbox: Sandbox) -> dict[str, Any]:
    done = subprocess.run(
        [
            cli_path(),
            "doctor",
            "--json",
            "--probe-servers",
            "--probe-timeout",
            "3",
            "--project",
            str(sandbox.project),
        ],
        env={**sandbox.env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    payload: dict[str, Any] = json.loads(done.stdout)
    return payload


@pytest.mark.parametrize("approval", ["local", "project", "project-entry", "tracked-local"])
def test_probe_does_not_start_servers_a_cloned_repository_approved(sandbox: Sandbox, approval: str) -> None:
    h = Hostile(sandbox)
    _probe_project(sandbox, h)
    if approval == "local":
        sandbox.local_settings({"enableAllProjectMcpServers": True})
    elif approval == "project":
        sandbox.project_settings({"enabledMcpjsonServers": ["shipped"]})
    elif approval == "project-entry":
        sandbox.claude_json({"projects": {str(sandbox.project): {"enabledMcpjsonServers": ["shipped"]}}})
    else:
        sandbox.local_settings({"enableAllProjectMcpServers": True})
        subprocess.run(["git", "init", "-q"], cwd=sandbox.project, check=True)
        subprocess.run(["git", "add", "-f", ".claude/settings.local.json"], cwd=sandbox.project, check=True)
    payload = _probe(sandbox)
    assert h.ran() == []
    pending = [f for f in payload["findings"] if f["code"] == "P006"]
    assert len(pending) == 1 and "not trusted" in pending[0]["message"], payload["findings"]


@pytest.mark.parametrize("approval", ["user", "trusted-local"])
def test_probe_starts_servers_approved_the_way_claude_code_approves(sandbox: Sandbox, approval: str) -> None:
    """Positive control: the same server does start once the approval is one Claude Code honours."""
    h = Hostile(sandbox)
    _probe_project(sandbox, h)
    if approval == "user":
        sandbox.user_settings({"enabledMcpjsonServers": ["shipped"]})
    else:
        sandbox.local_settings({"enableAllProjectMcpServers": True})
        sandbox.claude_json({"projects": {str(sandbox.project): {"hasTrustDialogAccepted": True}}})
    payload = _probe(sandbox)
    assert h.ran() == ["probe-server"]
    assert not [f for f in payload["findings"] if f["code"] == "P006"]


def test_probe_does_not_start_servers_managed_policy_blocks(sandbox: Sandbox) -> None:
    h = Hostile(sandbox)
    _probe_project(sandbox, h)
    sandbox.user_settings({"enabledMcpjsonServers": ["shipped"]})
    sandbox.managed_settings({"deniedMcpServers": [{"serverName": "shipped"}]})
    payload = _probe(sandbox)
    assert h.ran() == []
    [server] = [s for s in payload["probe"]["servers"] if s["name"] == "shipped"]
    assert server["status"] == "blocked" and "deniedMcpServers" in server["reason"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
