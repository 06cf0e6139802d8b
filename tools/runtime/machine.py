"""Looking at the machine: where `claude` is, how it was installed, what it needs around it.

Everything is derived from the workspace (its PATH, HOME and environment), plus a few reads of
the filesystem and one short `claude --version`, so checks run in a test's fake HOME exactly as
on a real machine.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from claude_health.tools.paths import Workspace

VERSION_TIMEOUT = 5.0
_VERSION = re.compile(r"\b(\d+)\.(\d+)\.(\d+)\b")


@dataclass(frozen=True)
class Install:
    """One place `claude` lives: the path found and what it resolves to."""

    path: Path
    resolved: Path
    method: str  # native | npm-global | npm-local | homebrew | unknown


@dataclass
class Runtime:
    """What the runtime checks look at, gathered once."""

    claude: Install | None = None
    others: list[Install] = field(default_factory=list)
    node: Path | None = None
    npm: Path | None = None
    ripgrep: Path | None = None
    builtin_ripgrep: str | None = None  # effective USE_BUILTIN_RIPGREP value
    builtin_ripgrep_source: str | None = None
    wsl: bool = False
    musl: bool = False


def which(name: str, ws: Workspace) -> Path | None:
    found = shutil.which(name, path=ws.env.get("PATH", ""))
    return Path(found) if found else None


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def classify(path: Path, resolved: Path, ws: Workspace) -> str:
    text = resolved.as_posix()
    if "/.local/share/claude/versions/" in text or path == ws.home / ".local" / "bin" / "claude":
        return "native"
    if "/.claude/local/" in text or "/.claude/local/" in path.as_posix():
        return "npm-local"
    if "/node_modules/@anthropic-ai/claude-code" in text:
        return "npm-global"
    if "/Caskroom/" in text or "/homebrew/" in text.lower() or "/Cellar/" in text:
        return "homebrew"
    return "unknown"


def _install(path: Path, ws: Workspace) -> Install:
    resolved = _resolve(path)
    return Install(path, resolved, classify(path, resolved, ws))


def npm_prefixes(ws: Workspace) -> list[Path]:
    """npm global prefixes named by the environment or ~/.npmrc (npm itself is not run)."""
    prefixes: list[Path] = []
    for var in ("NPM_CONFIG_PREFIX", "npm_config_prefix"):
        value = ws.env.get(var, "").strip()
        if value:
            prefixes.append(Path(value).expanduser())
    npmrc = ws.home / ".npmrc"
    try:
        lines = npmrc.read_text(encoding="utf-8", errors="replace").splitlines() if npmrc.is_file() else []
    except OSError:
        lines = []
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() == "prefix" and value.strip():
            raw = value.strip().replace("${HOME}", str(ws.home))
            prefixes.append(Path(raw.replace("~", str(ws.home), 1) if raw.startswith("~") else raw))
    prefixes.append(ws.home / ".npm-global")
    return prefixes


def candidate_paths(ws: Workspace) -> list[Path]:
    """Where Claude Code installers put `claude`, whether or not that is on PATH."""
    paths = [ws.home / ".local" / "bin" / "claude", ws.config_dir / "local" / "claude"]
    paths += [prefix / "bin" / "claude" for prefix in npm_prefixes(ws)]
    paths += [Path("/opt/homebrew/bin/claude"), Path("/usr/local/bin/claude")]
    return paths


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def find_installs(ws: Workspace) -> tuple[Install | None, list[Install]]:
    """The `claude` PATH would run, and every other distinct installation."""
    on_path = which("claude", ws)
    first = _install(on_path, ws) if on_path else None
    seen = {first.resolved} if first else set()
    others: list[Install] = []
    path_dirs = [Path(d) for d in ws.env.get("PATH", "").split(os.pathsep) if d]
    for path in [d / "claude" for d in path_dirs] + candidate_paths(ws):
        if not _is_file(path) or not os.access(path, os.X_OK):
            continue
        install = _install(path, ws)
        if install.resolved in seen:
            continue
        seen.add(install.resolved)
        others.append(install)
    return first, others


def needs_node(install: Install) -> bool:
    """True when `claude` is a JavaScript entry point (older npm packages), not a native binary."""
    if install.resolved.suffix in (".js", ".cjs", ".mjs"):
        return True
    try:
        with install.resolved.open("rb") as handle:
            head = handle.read(256)
    except OSError:
        return False
    first_line = head.split(b"\n", 1)[0]
    return first_line.startswith(b"#!") and b"node" in first_line


def npm_prefix_of(install: Install) -> Path | None:
    """The npm prefix an npm-global install lives in (``<prefix>/lib/node_modules/...``)."""
    parts = install.resolved.parts
    if "node_modules" not in parts:
        return None
    index = parts.index("node_modules")
    modules = Path(*parts[: index + 1])
    return modules.parent.parent if modules.parent.name == "lib" else modules.parent


def writable_by(path: Path, uid: int, groups: set[int]) -> bool:
    """Whether user ``uid`` may create files in ``path``, judged from its mode bits (not os.access,
    which always says yes to root and so cannot describe the user's own future npm runs)."""
    if uid == 0:
        return True
    try:
        st = path.stat()
    except OSError:
        return True
    mode = st.st_mode
    if st.st_uid == uid:
        return bool(mode & stat.S_IWUSR)
    if st.st_gid in groups:
        return bool(mode & stat.S_IWGRP)
    return bool(mode & stat.S_IWOTH)


def effective_builtin_ripgrep(ws: Workspace) -> tuple[str | None, str | None]:
    """USE_BUILTIN_RIPGREP as Claude Code sees it (the view's environment: the process's, then
    settings ``env`` of the files Claude Code loads), and where it was set."""
    origin = ws.view.env.origin("USE_BUILTIN_RIPGREP")
    if origin is None:
        return None, None
    return origin.value, "environment" if origin.from_process else str(origin.path)


def is_wsl(ws: Workspace, osrelease: Path = Path("/proc/sys/kernel/osrelease")) -> bool:
    if ws.os_name != "linux":
        return False
    if ws.env.get("WSL_DISTRO_NAME") or ws.env.get("WSL_INTEROP"):
        return True
    try:
        return "microsoft" in osrelease.read_text(encoding="ascii", errors="replace").lower()
    except OSError:
        return False


def is_musl(ws: Workspace, root: Path = Path("/")) -> bool:
    if ws.os_name != "linux":
        return False
    try:
        return (root / "etc" / "alpine-release").exists() or any((root / "lib").glob("ld-musl-*"))
    except OSError:
        return False


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(text)
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2)), int(match.group(3)))


def repository_program(path: Path, ws: Workspace) -> str | None:
    """Why ``path`` must not be run, or None: a relative path (it depends on the working
    directory) or a program inside the project, which the repository, not the user, provides."""
    if not path.is_absolute():
        return "its PATH entry is relative, so the directory it runs from decides what it is"
    projects = {ws.project, _resolve(ws.project)}
    for candidate in (path, _resolve(path)):
        if any(candidate == p or p in candidate.parents for p in projects):
            return f"it lies inside the project ({ws.project}), and a repository's own programs are never run"
    return None


def claude_version(
    path: Path, ws: Workspace, timeout: float = VERSION_TIMEOUT
) -> tuple[str | None, str | None]:
    """``(version, problem)`` from ``claude --version``, offline: no updater, no telemetry."""
    refused = repository_program(path, ws)
    if refused:
        return None, f"`{path}` was not run to read its version: {refused}"
    env = dict(ws.env)
    env.update(
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_TELEMETRY="1",
        NO_COLOR="1",
    )
    try:
        proc = subprocess.run(
            [str(path), "--version"],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
            cwd=ws.home if ws.home.is_dir() else None,
        )
    except subprocess.TimeoutExpired:
        return None, f"`{path} --version` did not finish within {timeout:g} s"
    except OSError as exc:
        return None, f"`{path} --version` could not start: {exc.strerror or type(exc).__name__}"
    output = (proc.stdout or "").strip()
    version = parse_version(output)
    if proc.returncode != 0 or version is None:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()
        last = detail[-1][:200] if detail else "no output"
        return None, f"`{path} --version` exited with {proc.returncode}: {last}"
    return ".".join(map(str, version)), None


def gather(ws: Workspace) -> Runtime:
    claude, others = find_installs(ws)
    rg_value, rg_source = effective_builtin_ripgrep(ws)
    return Runtime(
        claude=claude,
        others=others,
        node=which("node", ws),
        npm=which("npm", ws),
        ripgrep=which("rg", ws),
        builtin_ripgrep=rg_value,
        builtin_ripgrep_source=rg_source,
        wsl=is_wsl(ws),
        musl=is_musl(ws),
    )
