"""Locating the real external clients that `.ci/test` installs (Claude Code, MCP Inspector).

A test that needs one fails with instructions when it is missing; it never skips, because a
skipped differential test would turn the suite green without checking anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NPM_BIN = REPO / ".ci" / "npm" / "node_modules" / ".bin"


def external_bin(name: str, env_var: str) -> str:
    """The path of an npm-installed client: $env_var, then .ci/npm, then PATH."""
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit
    local = NPM_BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise AssertionError(
        f"`{name}` is not installed. Run `bash .ci/test` (it installs the npm clients into .ci/npm), "
        f"or set {env_var} to its path."
    )


def claude_bin() -> str:
    return external_bin("claude", "CLAUDE_HEALTH_CLAUDE_BIN")


def inspector_bin() -> str:
    return external_bin("mcp-inspector", "CLAUDE_HEALTH_INSPECTOR_BIN")


def claude_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for the real `claude`: scratch HOME, no updates, no network chatter."""
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "NO_COLOR": "1",
    }
    env.update(extra)
    return env


def print_session(project: Path, home: Path, base_url: str, api_key: str) -> subprocess.CompletedProcess[str]:
    """One real `claude -p go --output-format json` run in ``project`` against a local fake API."""
    return subprocess.run(
        [claude_bin(), "-p", "go", "--output-format", "json"],
        cwd=project,
        env=claude_env(home, ANTHROPIC_BASE_URL=base_url, ANTHROPIC_API_KEY=api_key),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
