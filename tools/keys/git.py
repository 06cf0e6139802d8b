"""Running git: fixed argument lists, no shell, no pager, no user hooks, bounded time."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT = 60.0
HISTORY_TIMEOUT = 300.0  # a walk of the whole history may take longer than one git command


@dataclass(frozen=True, slots=True)
class GitResult:
    ok: bool
    stdout: bytes = b""
    error: str | None = None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Never prompt, never page, and never let the user's config rewrite the output format.
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
    return env


def git(args: list[str], cwd: Path, *, timeout: float = GIT_TIMEOUT, stdin: bytes | None = None) -> GitResult:
    exe = shutil.which("git")
    if exe is None:
        return GitResult(False, error="git is not installed")
    try:
        proc = subprocess.run(
            [exe, "-c", "core.quotepath=off", *args],
            cwd=cwd,
            capture_output=True,
            input=stdin,
            timeout=timeout,
            env=_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return GitResult(False, error=f"git {args[0]} took longer than {timeout:.0f} s")
    except OSError as exc:
        return GitResult(False, error=f"git could not run: {exc.strerror}")
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return GitResult(False, proc.stdout, error=message[-1] if message else f"exit {proc.returncode}")
    return GitResult(True, proc.stdout)


def is_work_tree(directory: Path) -> bool:
    result = git(["rev-parse", "--is-inside-work-tree"], directory, timeout=10)
    return result.ok and result.stdout.strip() == b"true"


def split_z(raw: bytes) -> list[str]:
    return [os.fsdecode(p) for p in raw.split(b"\0") if p]
