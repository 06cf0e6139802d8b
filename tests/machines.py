"""Whole machines built in a temp HOME: the messy setup of issue 12, as a new user has it.

Real git repositories, real files, fake keys made at run time; nothing is mocked. Used by the
tests that assert the doctor reports one problem per cause.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import Sandbox
from tests.fakes import fake_key

FUTURE_MS = int((time.time() + 86_400) * 1000)


@dataclass
class MessyMachine:
    """What was planted, so tests can name each cause."""

    sandbox: Sandbox
    stray_key: str  # exported in ~/.zshrc line 3 and present in the environment
    committed_key: str  # in src/config.py, committed
    zshrc: Path
    project_settings: Path
    local_settings: Path
    mcp_json: Path
    missing_command: str


def git(cwd: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def git_env(sandbox: Sandbox) -> dict[str, str]:
    """No user or system git config leaks in (global excludes, hooks, signing)."""
    cfg = sandbox.root / "gitconfig"
    cfg.write_text("[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n")
    return {
        **os.environ,
        "HOME": str(sandbox.home),
        "GIT_CONFIG_GLOBAL": str(cfg),
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def messy_machine(sandbox: Sandbox) -> MessyMachine:
    """A Max login, a stray key in ~/.zshrc:3, an ignored project settings file holding a deny rule,
    a tracked settings.local.json allowing `rm -rf`, a working and a missing MCP server, and a key
    committed in src/config.py."""
    stray, committed = fake_key(), fake_key()
    sandbox.credentials(
        {
            "claudeAiOauth": {
                "accessToken": fake_key("oauth_access_token"),
                "refreshToken": fake_key("oauth_refresh_token"),
                "expiresAt": FUTURE_MS,
                "scopes": ["user:inference", "user:profile"],
                "subscriptionType": "max",
                "rateLimitTier": "default_claude_max_20x",
            }
        }
    )
    (sandbox.home / ".claude" / ".credentials.json").chmod(0o600)
    zshrc = sandbox.write(
        sandbox.home / ".zshrc",
        f'export PATH="$HOME/.local/bin:$PATH"\nalias ll="ls -la"\nexport ANTHROPIC_API_KEY="{stray}"\n',
    )
    sandbox.env["ANTHROPIC_API_KEY"] = stray
    sandbox.env["SHELL"] = "/bin/zsh"
    project = sandbox.project
    sandbox.claude_json(
        {
            "projects": {
                str(project): {"hasTrustDialogAccepted": True, "enabledMcpjsonServers": ["health", "broken"]}
            }
        }
    )
    (sandbox.home / ".claude.json").chmod(0o600)
    # One type error (cleanupPeriodDays must be a number) makes Claude Code ignore the whole file,
    # deny rule included.
    project_settings = sandbox.project_settings(
        {"cleanupPeriodDays": "thirty", "permissions": {"deny": ["Read(./.env)"]}}
    )
    local_settings = sandbox.local_settings({"permissions": {"allow": ["Bash(rm -rf:*)"]}})
    missing = str(sandbox.root / "opt" / "mcp-missing" / "bin" / "server")
    mcp_json = sandbox.write(
        project / ".mcp.json",
        {
            "mcpServers": {
                "health": {
                    "command": sys.executable,
                    "args": ["-m", "claude_health.server", "serve"],
                    "env": {"CLAUDE_HEALTH_WATCH": "0"},
                },
                "broken": {"command": missing, "args": []},
            }
        },
    )
    sandbox.write(project / "src" / "config.py", f'ANTHROPIC_API_KEY = "{committed}"\nDEBUG = False\n')
    sandbox.write(project / "src" / "app.py", "print('hello')\n")
    sandbox.write(project / ".gitignore", ".env\n")
    sandbox.write(project / ".env", "DATABASE_URL=postgres://localhost/app\n")
    env = git_env(sandbox)
    git(project, "init", "-q", env=env)
    git(project, "add", "-A", env=env)
    git(project, "add", "-f", ".claude/settings.local.json", env=env)
    git(project, "commit", "-q", "-m", "initial", env=env)
    return MessyMachine(
        sandbox=sandbox,
        stray_key=stray,
        committed_key=committed,
        zshrc=zshrc,
        project_settings=project_settings,
        local_settings=local_settings,
        mcp_json=mcp_json,
        missing_command=missing,
    )
