"""What start-up imports: `claude-health serve` before its first request, and `claude-health --help`.

Laziness lives at the server and CLI boundary (a command imports its domain code when it runs, an
MCP tool when it is called); these allow-lists are where that shows. A module added to start-up
fails here until it is added to the list, on purpose: say in the commit why start-up needs it.
Measured by module presence (``PYTHONPROFILEIMPORTTIME``), not by timing (bench/cold_start.py
times it).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.conftest import Sandbox
from tests.mcp_helpers import cli_path

# claude_health modules loaded by `serve` before it reads its first request, once the install's
# listing is recorded (every start but the first): no adapter, no result model, no check. The
# listing answers tools/list; an adapter registers when one of its tools is first called.
SERVE_MODULES = {
    "claude_health",
    "claude_health.server",
    "claude_health.server.app",
    "claude_health.server.cli",
    "claude_health.server.commands.common",
    "claude_health.server.listing",  # the recorded tools/resources/prompts listing
    "claude_health.server.redacting",
    "claude_health.server.safe_results",  # results cleaned of lone surrogates before they are sent
    "claude_health.server.stdio",  # the stdio transport
    "claude_health.server.watcher",
    "claude_health.tools",
    "claude_health.tools.paths",
    "claude_health.tools.platform",  # which OS's rules the workspace follows
    "claude_health.tools.redact",
    "claude_health.tools.state",  # where the listing is recorded
    "claude_health.tools.terminal",
}
# The first start of an install registers every adapter (and records the listing): the adapters
# and the result models that are the tools' output schemas, never the checks behind them.
FIRST_SERVE_MODULES = SERVE_MODULES | {
    "claude_health.server.mcp_tools",
    "claude_health.server.mcp_tools._common",
    "claude_health.tools.admin",
    "claude_health.tools.admin.models",
    "claude_health.tools.auth",
    "claude_health.tools.auth.models",
    "claude_health.tools.files",  # writes the listing's record
    "claude_health.tools.findings",
    "claude_health.tools.keys",
    "claude_health.tools.keys.models",
    "claude_health.tools.limiter",
    "claude_health.tools.limiter.models",
    "claude_health.tools.records",
    "claude_health.tools.tokens",
    "claude_health.tools.tokens.results",
    "claude_health.tools.usage",
    "claude_health.tools.usage.models",
}
# Third-party packages `serve` imports beyond what a minimal one-tool MCPServer imports.
SERVE_EXTRA_PACKAGES: set[str] = set()

# `--help` builds every subcommand's parser: their options, not their code.
HELP_MODULES = {
    "claude_health",
    "claude_health.server",
    "claude_health.server.cli",
    "claude_health.server.commands.common",
    "claude_health.server.output",
    "claude_health.server.redacting",
    "claude_health.tools",
    "claude_health.tools.findings",
    "claude_health.tools.guard",
    "claude_health.tools.guard.dispatch",  # the hook events `hook` accepts
    "claude_health.tools.guard.payload",
    "claude_health.tools.guard.state",
    "claude_health.tools.paths",
    "claude_health.tools.platform",  # which OS's rules the workspace follows
    "claude_health.tools.records",
    "claude_health.tools.redact",
    "claude_health.tools.registration",
    "claude_health.tools.registration.clients",  # the clients `install` accepts
    "claude_health.tools.state",
    "claude_health.tools.tokens",
    "claude_health.tools.tokens.models",  # the default model `tokens --model` shows
}
# Third-party packages `--help` imports beyond what the bare interpreter imports at start-up.
HELP_EXTRA_PACKAGES: set[str] = set()

# `keys` forks the child that lists and scans the tree as soon as it has read its arguments (a
# plain invocation skips the parser): what the child needs (the workspace, the listing, the
# scanner) is loaded first, once for both processes; the output layer, logging and the other
# checks (settings view, auth route, transcripts, findings and rules) load in this process
# while the child reads.
KEYS_BEFORE_THE_SCAN = {
    "claude_health",
    "claude_health.server",
    "claude_health.server.cli",
    "claude_health.server.commands",
    "claude_health.server.commands.common",
    "claude_health.server.commands.keys",
    "claude_health.server.commands.keys_early",
    "claude_health.tools",
    "claude_health.tools.forked",
    "claude_health.tools.gitsafe",  # the history scan's default timeout; git's file list
    "claude_health.tools.keys",
    "claude_health.tools.keys.dedicated",
    "claude_health.tools.keys.early",
    "claude_health.tools.keys.formats",
    "claude_health.tools.keys.history_files",
    "claude_health.tools.keys.locations",
    "claude_health.tools.keys.report",
    "claude_health.tools.keys.scanner",
    "claude_health.tools.keys.tree",
    "claude_health.tools.paths",
    "claude_health.tools.platform",
}
# Standard-library modules only this process needs, loaded after the fork (the parser never).
KEYS_AFTER_THE_SCAN_STARTS = {"argparse", "gettext", "logging", "sqlite3"}
KEYS_DRIVER = """
import json, sys
from claude_health.tools.keys import early

real_start = early.start


def start(*args, **kwargs):
    loaded = sorted(sys.modules)
    sys.stderr.write("LOADED " + json.dumps(loaded) + "\\n")
    return real_start(*args, **kwargs)


early.start = start
from claude_health.server.cli import main

sys.exit(main(sys.argv[1:]))
"""

MINIMAL_SERVER = '''
from mcp.server import MCPServer

server = MCPServer("minimal")


@server.tool()
def ping() -> str:
    """Answer pong."""
    return "pong"


server.run()
'''


def imported(argv: list[str], env: dict[str, str], codes: tuple[int, ...] = (0,)) -> set[str]:
    """Every module ``argv`` imports, run to its end with stdin closed (no request ever arrives)."""
    done = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
        timeout=120,
        check=False,
    )
    lines = done.stderr.decode(errors="replace").splitlines()
    assert done.returncode in codes, "\n".join(line for line in lines if not line.startswith("import time:"))
    return {
        line.rsplit("|", 1)[1].strip()
        for line in lines
        if line.startswith("import time:") and not line.endswith("imported package")
    }


def packages(modules: set[str]) -> set[str]:
    """The installed third-party distributions' top-level packages among ``modules``."""
    installed = set(packages_distributions())
    return {m.split(".")[0] for m in modules if m.split(".")[0] in installed} - {"claude_health"}


def environment(sandbox: Sandbox) -> dict[str, str]:
    # The settings watcher stays on (the default): it starts with the first subscription, so it
    # imports nothing before one arrives.
    return {**sandbox.env, "PATH": os.environ.get("PATH", "")}


def test_serve_imports_no_adapter_once_its_listing_is_recorded(sandbox: Sandbox, tmp_path: Path) -> None:
    env = environment(sandbox)
    first = imported([cli_path(), "serve"], env)
    serve = imported([cli_path(), "serve"], env)
    for seen, expected in ((first, FIRST_SERVE_MODULES), (serve, SERVE_MODULES)):
        mine = {m for m in seen if m.startswith("claude_health")}
        assert mine == expected, {"unexpected": sorted(mine - expected), "gone": sorted(expected - mine)}
    script = tmp_path / "minimal_server.py"
    script.write_text(MINIMAL_SERVER)
    floor = imported([sys.executable, str(script)], env)
    assert "mcp" in packages(floor)  # the comparison means something
    assert packages(serve) - packages(floor) == SERVE_EXTRA_PACKAGES


def test_help_imports_only_the_parsers(sandbox: Sandbox) -> None:
    env = environment(sandbox)
    help_run = imported([cli_path(), "--help"], env)
    mine = {m for m in help_run if m.startswith("claude_health")}
    assert mine == HELP_MODULES, {
        "unexpected": sorted(mine - HELP_MODULES),
        "gone": sorted(HELP_MODULES - mine),
    }
    bare = imported([sys.executable, "-c", "pass"], env)
    assert packages(help_run) - packages(bare) == HELP_EXTRA_PACKAGES
    assert not {"pydantic", "mcp", "httpx", "anyio"} & packages(help_run)


# The guard's hooks run before every session and every prompt (`claude-health hook EVENT` skips
# the CLI parser). The usual SessionStart (its cached verdict, inputs re-checked) and every
# UserPromptSubmit load the guard's state and nothing of the checks:
HOOK_COMMON_MODULES = {
    "claude_health",
    "claude_health.server",
    "claude_health.server.cli",
    "claude_health.server.commands",
    "claude_health.server.commands.hook",
    "claude_health.tools",
    "claude_health.tools.guard",
    "claude_health.tools.guard.dispatch",
    "claude_health.tools.guard.payload",
    "claude_health.tools.guard.state",
    "claude_health.tools.state",
}
SESSION_START_CACHED_MODULES = HOOK_COMMON_MODULES | {
    "claude_health.tools.guard.fingerprint",
    "claude_health.tools.guard.session_start",
}
USER_PROMPT_MODULES = HOOK_COMMON_MODULES | {
    "claude_health.tools.guard.prompt",
    "claude_health.tools.guard.thresholds",
    "claude_health.tools.terminal",  # alert text cleaned of control characters
    "claude_health.tools.usage",
    "claude_health.tools.usage.snapshot",  # the status line's official percentages
}
# A SessionStart whose inputs changed re-judges the auth route and the view with its settings
# validation (what the doctor reads); the key scan's part is cached apart (its inputs are the
# project's files), so a new variable or a settings edit loads none of the scan.
SESSION_START_REJUDGE_MODULES = SESSION_START_CACHED_MODULES | {
    "claude_health.tools.auth",
    "claude_health.tools.auth.inputs",
    "claude_health.tools.auth.keychain_report",
    "claude_health.tools.auth.login",
    "claude_health.tools.auth.models",
    "claude_health.tools.auth.route",
    "claude_health.tools.auth.rules",
    "claude_health.tools.causes",
    "claude_health.tools.files",
    "claude_health.tools.findings",
    "claude_health.tools.guard.facts",
    "claude_health.tools.guard.lost_rules",
    "claude_health.tools.jsonspan",
    "claude_health.tools.keys",
    "claude_health.tools.keys.locations",  # (view.shell) where shell start-up files are
    "claude_health.tools.paths",
    "claude_health.tools.platform",
    "claude_health.tools.records",
    "claude_health.tools.redact",
    "claude_health.tools.runtime",
    "claude_health.tools.runtime.commands",
    "claude_health.tools.settings",
    "claude_health.tools.settings.context",
    "claude_health.tools.settings.discovery",
    "claude_health.tools.settings.effective",
    "claude_health.tools.settings.envblock",
    "claude_health.tools.settings.extras",
    "claude_health.tools.settings.guards",
    "claude_health.tools.settings.hooks",
    "claude_health.tools.settings.keys",
    "claude_health.tools.settings.managed",
    "claude_health.tools.settings.managed_sources",
    "claude_health.tools.settings.managed_verdicts",
    "claude_health.tools.settings.mcp",
    "claude_health.tools.settings.permissions",
    "claude_health.tools.settings.rules",
    "claude_health.tools.settings.scrub",
    "claude_health.tools.settings.settingsfile",
    "claude_health.tools.settings.validate",
    "claude_health.tools.urls",
    "claude_health.tools.view",
    "claude_health.tools.view.env",
    "claude_health.tools.view.files",
    "claude_health.tools.view.model",
    "claude_health.tools.view.shell",
}
# When the key scan's own inputs changed (or its hour is up), its K001/K002 only (keys.leaks),
# never the transcript, shell-history, permission or history checks, the usage scanner or a model.
SESSION_START_RECOMPUTE_MODULES = SESSION_START_REJUDGE_MODULES | {
    "claude_health.tools.forked",
    "claude_health.tools.gitsafe",
    "claude_health.tools.guard.keyscan",
    "claude_health.tools.keys.config",
    "claude_health.tools.keys.dedicated",  # which files the tree scan leaves to other checks
    "claude_health.tools.keys.formats",
    "claude_health.tools.keys.history_files",  # which files the tree scan leaves to K016
    "claude_health.tools.keys.leaks",
    "claude_health.tools.keys.literals",
    "claude_health.tools.keys.rules",
    "claude_health.tools.keys.scanner",
    "claude_health.tools.keys.tree",
    "claude_health.tools.keys.vault",
    "claude_health.tools.usage",
    "claude_health.tools.usage.discovery",  # which folders the tree scan leaves to K015
}
# Standard-library modules the recompute must not load: archive codecs (shutil), pickle (forked
# children only), TOML, difflib (only for an unknown name), logging (the macOS Keychain only),
# OpenSSL (_hashlib: the verdict's fingerprint is blake2b; only a key found needs a sha256).
HOOK_NEVER = {"bz2", "lzma", "pickle", "tomllib", "difflib", "logging", "msgspec", "_hashlib"}


def test_hooks_import_only_what_their_event_needs(sandbox: Sandbox) -> None:
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": "test-not-a-token",
                "expiresAt": int((time.time() + 86400) * 1000),
                "scopes": ["user:inference"],
                "subscriptionType": "max",
            }
        }
    )
    sandbox.write(sandbox.project / ".claude" / "settings.json", {"permissions": {"deny": ["Bash(rm *)"]}})
    sandbox.write(sandbox.project / "app.py", "x = 1\n")
    env = {**environment(sandbox), "CLAUDE_PROJECT_DIR": str(sandbox.project)}
    bare = packages(imported([sys.executable, "-c", "pass"], env))
    # The recompute's leak scan searches with the key scan's own search (one scanner): stringzilla's
    # SIMD find, a 0.5 ms import; nothing else third-party, and nothing at all on the other runs.
    runs = [
        ("SessionStart", {}, SESSION_START_RECOMPUTE_MODULES, {"stringzilla"}),  # computes the verdict
        ("SessionStart", {}, SESSION_START_CACHED_MODULES, set()),  # the next start reads it
        # A new variable: who pays is decided again, the key scan's part is reused.
        ("SessionStart", {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}, SESSION_START_REJUDGE_MODULES, set()),
        ("UserPromptSubmit", {}, USER_PROMPT_MODULES, set()),
    ]
    for event, extra, expected, scanner in runs:
        loaded = imported([cli_path(), "hook", event], {**env, **extra})
        mine = {m for m in loaded if m.startswith("claude_health")}
        assert mine == expected, (
            event,
            {"unexpected": sorted(mine - expected), "gone": sorted(expected - mine)},
        )
        assert packages(loaded) == bare | scanner, event
        assert not HOOK_NEVER & loaded, (event, sorted(HOOK_NEVER & loaded))
    guard = sandbox.home / ".cache" / "claude-health" / "guard.db"
    conn = sqlite3.connect(guard)
    try:
        assert json.loads(conn.execute("SELECT verdict FROM guard_facts").fetchone()[0])["depends_on"]
        assert conn.execute("SELECT COUNT(*) FROM guard_runs WHERE ok = 0").fetchone()[0] == 0
    finally:
        conn.close()


def test_keys_starts_its_scan_before_the_other_checks_load(sandbox: Sandbox) -> None:
    sandbox.write(sandbox.project / "app.py", "print('hello')\n")
    env = {**environment(sandbox), "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", KEYS_DRIVER, "keys", "--project", str(sandbox.project), "--json"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stderr.decode().splitlines() if line.startswith("LOADED ")]
    assert done.returncode in (0, 1) and len(lines) == 1, done.stderr.decode()[-2000:]
    loaded = set(json.loads(lines[0].removeprefix("LOADED ")))
    # (An editable install's import finder is not part of the package.)
    mine = {m for m in loaded if m.startswith("claude_health")}
    assert mine == KEYS_BEFORE_THE_SCAN, {
        "unexpected": sorted(mine - KEYS_BEFORE_THE_SCAN),
        "gone": sorted(KEYS_BEFORE_THE_SCAN - mine),
    }
    assert not loaded & KEYS_AFTER_THE_SCAN_STARTS, sorted(loaded & KEYS_AFTER_THE_SCAN_STARTS)


def test_plain_keys_runs_without_the_argument_parser(sandbox: Sandbox) -> None:
    """`keys --json` (and the other plain invocations) are read without argparse; anything the
    lean reader does not know (here an abbreviation) still goes through the parser."""
    sandbox.write(sandbox.project / "app.py", "print('hello')\n")
    env = {**environment(sandbox), "CLAUDE_HEALTH_WATCH": "0"}
    for argv, parser in (
        (["keys", "--project", str(sandbox.project), "--json", "--no-transcripts"], False),
        (["keys", f"--project={sandbox.project}", "-v", "--jobs", "2", "--color", "never"], False),
        (["keys", "--project", str(sandbox.project), "--no-trans"], True),
    ):
        loaded = imported([cli_path(), *argv], env, codes=(0, 1))
        assert ("argparse" in loaded) is parser, argv


# A JSON usage report is what other tools run on a schedule, each time a new process: once the
# ledger holds the history, its own work is a few milliseconds, and what it imports is most of
# its time. The ledger, its scan, the line parser of a small read and the reports: no typed
# decoder (msgspec), findings model, argparse, logging or workspace.
WARM_USAGE_MODULES = {
    "claude_health",
    "claude_health.server",
    "claude_health.server.cli",
    "claude_health.server.commands",
    "claude_health.server.commands.usage_json",
    "claude_health.tools",
    "claude_health.tools.state",
    "claude_health.tools.tokens",
    "claude_health.tools.tokens.models",  # the one price table
    "claude_health.tools.usage",
    "claude_health.tools.usage.aggregate",
    "claude_health.tools.usage.block_cache",
    "claude_health.tools.usage.discovery",
    "claude_health.tools.usage.fork_reader",
    "claude_health.tools.usage.parse",
    "claude_health.tools.usage.period_cache",
    "claude_health.tools.usage.pricing",
    "claude_health.tools.usage.record",
    "claude_health.tools.usage.reports",
    "claude_health.tools.usage.rows",
    "claude_health.tools.usage.scan",
    "claude_health.tools.usage.session",
    "claude_health.tools.usage.store",
    "claude_health.tools.usage.timezones",
}
# Standard-library modules a warm report must not load: each costs a new process milliseconds
# (dataclasses loads inspect, ast, dis and tokenize; pathlib loads urllib.parse and ipaddress;
# zoneinfo is not needed for UTC), and none is needed for the work.
WARM_USAGE_NEVER = {
    "argparse",
    "dataclasses",
    "inspect",
    "ipaddress",
    "logging",
    "pathlib",
    "pickle",
    "threading",
    "typing",
    "urllib.parse",
    "zoneinfo",
}


# Run as the console script runs it, after forgetting the modules above: an editable install's
# import hook loads pathlib at start-up, which would hide an import of it by the report.
WARM_USAGE_DRIVER = """
import json, sys
never = set(json.loads(sys.argv.pop(1)))
for name in never:
    sys.modules.pop(name, None)
before = set(sys.modules)
from claude_health.server.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
sys.stderr.write("LOADED " + json.dumps(sorted(set(sys.modules) - before)) + "\\n")
sys.exit(code)
"""


def test_a_warm_json_usage_report_imports_only_what_it_needs(sandbox: Sandbox) -> None:
    from datetime import UTC, datetime, timedelta

    from claude_health.tools.usage.synthetic import assistant_record, line

    transcript = sandbox.home / ".claude" / "projects" / "-home-user-project" / "s1.jsonl"
    transcript.parent.mkdir(parents=True)
    now = datetime.now(UTC)

    def response(i: int, at: datetime) -> str:
        return line(assistant_record(session="s1", msg_id=f"msg_{i}", request_id=f"req_{i}", at=at))

    transcript.write_text("".join(response(i, now - timedelta(hours=30 - i)) for i in range(20)))
    env = {**environment(sandbox), "CLAUDE_HEALTH_STATE_DB": str(sandbox.root / "state.db"), "TZ": "UTC"}
    installed = set(packages_distributions())
    for i, report in enumerate(("daily", "blocks", "daily", "monthly")):
        if i:  # a warm run: the ledger holds the history, a response or two are new
            with transcript.open("a") as fh:
                fh.write(response(100 + i, now - timedelta(minutes=5 - i)))
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                WARM_USAGE_DRIVER,
                json.dumps(sorted(WARM_USAGE_NEVER)),
                "usage",
                report,
                "--json",
            ],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert json.loads(done.stdout)["summary"]["healthy"] is True
        lines = [x for x in done.stderr.decode().splitlines() if x.startswith("LOADED ")]
        loaded = set(json.loads(lines[-1].removeprefix("LOADED ")))
        if not i:
            continue  # the first load of the ledger
        mine = {m for m in loaded if m.startswith("claude_health")}
        assert mine == WARM_USAGE_MODULES, (
            report,
            {"unexpected": sorted(mine - WARM_USAGE_MODULES), "gone": sorted(WARM_USAGE_MODULES - mine)},
        )
        assert not WARM_USAGE_NEVER & loaded, (report, sorted(WARM_USAGE_NEVER & loaded))
        third_party = {m.split(".")[0] for m in loaded} & installed - {"claude_health"}
        assert not third_party, (report, sorted(third_party))
