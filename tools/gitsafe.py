"""The one way claude-health runs git, on repositories it does not own.

A repository that arrives with its ``.git`` (a zip, a tarball, a shared folder) brings its own
``.git/config``, and git runs programs that config names: ``core.fsmonitor`` on every command
that looks at the index (``ls-files``, ``diff --cached``, ``check-ignore``, ``cat-file``),
textconv and external diff drivers and smudge filters on ``log -p``, ``gpg.program`` for a
signed commit, hooks, pagers, credential helpers and transports. Every call here:

- runs only read-only subcommands from :data:`SUBCOMMANDS` (anything else is a programming
  error), with ``--no-ext-diff --no-textconv`` forced on ``diff`` and ``log``;
- overrides every program-valued setting on the command line (:data:`SAFE_CONFIG`; command-line
  configuration beats the repository's), and, before any command that may read a work-tree
  file, empties every ``filter.<driver>`` the configuration defines (through ``GIT_CONFIG_KEY_<n>``,
  which a driver name containing ``=`` cannot break);
- refuses an embedded bare repository (``safe.bareRepository=explicit``) and keeps git's
  ``safe.directory`` ownership check: a repository owned by someone else fails to open and the
  caller falls back to reading files;
- resolves ``git`` from absolute ``PATH`` entries only (a relative entry such as ``.`` would run
  the repository's own ``./git``), with no terminal, stdin closed, no pager, no prompt and no
  program named by the environment (``GIT_EXTERNAL_DIFF``, ``GIT_SSH_COMMAND``, ...);
- ignores replace refs, so a ``refs/replace`` object cannot hide a commit from the history scan.

The system and global configuration are read as usual: they are the administrator's and the
user's (``core.excludesFile``, ``safe.directory``), not the repository's, and every setting that
names a program is overridden anyway.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT = 60.0
HISTORY_TIMEOUT = 300.0  # a walk of the whole history may take longer than one git command

# Read-only subcommands claude-health needs; git never writes the index or refs for them
# (GIT_OPTIONAL_LOCKS=0 keeps even the opportunistic index refresh away).
SUBCOMMANDS = frozenset({"rev-parse", "ls-files", "check-ignore", "diff", "log", "cat-file", "config"})
# Subcommands that never read a work-tree file's contents (so no filter can apply); every other
# one may (`ls-files -m` and `diff` hash work-tree files through the clean filter).
_NO_CONTENT = frozenset({"rev-parse", "config"})
_FORCED_FLAGS = {
    "diff": ("--no-ext-diff", "--no-textconv"),
    "log": ("--no-ext-diff", "--no-textconv", "--no-show-signature"),
}
_REFUSED_FLAGS = {"cat-file": ("--filters", "--textconv", "--path")}
_CONFIG_READS = ("--get", "--get-all", "--get-regexp", "--list", "-l")

# Every setting git reads that names a program, a hook directory or a transport, set to a value
# that runs nothing; plus the settings that would change the output our parsers read.
SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.pager", "cat"),
    ("core.editor", ":"),
    ("sequence.editor", ":"),
    ("core.askPass", ""),
    ("core.sshCommand", ""),
    ("core.gitProxy", ""),
    ("core.alternateRefsCommand", ""),
    ("core.useReplaceRefs", "false"),
    ("credential.helper", ""),
    ("diff.external", ""),
    ("log.showSignature", "false"),
    ("gpg.program", "/dev/null"),
    ("gpg.openpgp.program", "/dev/null"),
    ("gpg.x509.program", "/dev/null"),
    ("gpg.ssh.program", "/dev/null"),
    ("gpg.ssh.defaultKeyCommand", ""),
    ("uploadpack.packObjectsHook", ""),
    ("protocol.allow", "never"),
    ("submodule.recurse", "false"),
    ("safe.bareRepository", "explicit"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    # Output the parsers rely on: plain paths, no colour, a/ b/ prefixes, every root commit.
    ("core.quotepath", "off"),
    ("color.ui", "never"),
    ("diff.noprefix", "false"),
    ("diff.mnemonicPrefix", "false"),
    ("diff.relative", "false"),
    ("diff.interHunkContext", "0"),
    ("log.showRoot", "true"),
)

# Environment variables that name a program git would run, or change the diff format.
_DROPPED_ENV = (
    "GIT_EXTERNAL_DIFF",
    "GIT_DIFF_OPTS",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "EDITOR",
    "VISUAL",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_PROXY_COMMAND",
)
_FIXED_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_NO_REPLACE_OBJECTS": "1",
    "LC_ALL": "C",
}


@dataclass(frozen=True, slots=True)
class GitResult:
    ok: bool
    stdout: bytes = b""
    error: str | None = None


class UnsafeGitCall(ValueError):
    """A subcommand or flag outside what this runner allows (a bug in the caller)."""


def git_executable(env: Mapping[str, str] | None = None) -> str | None:
    """``git`` from the absolute entries of PATH: a relative entry (``.``, ``bin``, an empty one)
    depends on the working directory, which is the scanned repository."""
    path = (os.environ if env is None else env).get("PATH", "")
    for entry in path.split(os.pathsep):
        if not entry or not Path(entry).is_absolute():
            continue
        candidate = Path(entry) / "git"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def safe_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for git: the caller's, minus every variable that names a program."""
    env = dict(os.environ if base is None else base)
    for name in _DROPPED_ENV:
        env.pop(name, None)
    env.update(_FIXED_ENV)
    return env


def command(args: Sequence[str]) -> list[str]:
    """The full argument list after ``git``: the safe overrides, then the checked subcommand."""
    if not args or args[0] not in SUBCOMMANDS:
        raise UnsafeGitCall(f"git {args[0] if args else '(nothing)'} is not an allowed subcommand")
    sub, rest = args[0], list(args[1:])
    refused = [a for a in rest if a.split("=", 1)[0] in _REFUSED_FLAGS.get(sub, ())]
    if refused:
        raise UnsafeGitCall(f"git {sub} {refused[0]} is not allowed")
    if sub == "config" and not any(a in _CONFIG_READS for a in rest):
        raise UnsafeGitCall("git config may only read")
    overrides = [part for key, value in SAFE_CONFIG for part in ("-c", f"{key}={value}")]
    return ["--no-pager", *overrides, sub, *_FORCED_FLAGS.get(sub, ()), *rest]


def _run(
    exe: str, args: list[str], cwd: Path, env: dict[str, str], timeout: float, stdin: bytes | None
) -> GitResult:
    import subprocess  # here: a key scan outside git never starts git (see is_work_tree)

    try:
        proc = subprocess.run(
            [exe, *args],
            cwd=cwd,
            capture_output=True,
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return GitResult(False, error=f"git {args[0] if args else ''} took longer than {timeout:.0f} s")
    except OSError as exc:
        return GitResult(False, error=f"git could not run: {exc.strerror}")
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return GitResult(False, proc.stdout, error=message[-1] if message else f"exit {proc.returncode}")
    return GitResult(True, proc.stdout)


def _filter_drivers(exe: str, cwd: Path, env: dict[str, str]) -> list[str]:
    """Names of the ``filter.<driver>`` sections any configuration file defines."""
    listed = _run(
        exe, command(["config", "-z", "--name-only", "--get-regexp", r"^filter\."]), cwd, env, 10, None
    )
    drivers: set[str] = set()
    for raw in listed.stdout.split(b"\0"):
        name = raw.decode("utf-8", "surrogateescape").strip()
        section, _, rest = name.partition(".")
        driver, dot, _key = rest.rpartition(".")
        if section.lower() == "filter" and dot and driver:
            drivers.add(driver)
    return sorted(drivers)


def _without_filters(env: dict[str, str], drivers: list[str]) -> dict[str, str]:
    """``env`` with every named filter driver emptied (an empty command is no filter)."""
    out = dict(env)
    try:
        count = int(out.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    for driver in drivers:
        for key, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")):
            out[f"GIT_CONFIG_KEY_{count}"] = f"filter.{driver}.{key}"
            out[f"GIT_CONFIG_VALUE_{count}"] = value
            count += 1
    out["GIT_CONFIG_COUNT"] = str(count)
    return out


def git(
    args: Sequence[str], cwd: Path, *, timeout: float = GIT_TIMEOUT, stdin: bytes | None = None
) -> GitResult:
    """Run ``git <args>`` in ``cwd`` so that nothing the repository configures can run."""
    full = command(args)
    exe = git_executable()
    if exe is None:
        return GitResult(False, error="git is not installed (no git in the absolute PATH entries)")
    env = safe_env()
    if args[0] not in _NO_CONTENT:
        drivers = _filter_drivers(exe, cwd, env)
        if drivers:
            env = _without_filters(env, drivers)
    return _run(exe, full, cwd, env, timeout, stdin)


def repository_may_exist(directory: Path) -> bool:
    """False only when git cannot find a repository from ``directory``: the environment names no
    git directory, and neither ``directory`` nor any folder above it (by its own path or its
    resolved one, which is what git walks up) holds a ``.git`` folder or file."""
    if any(os.environ.get(name) for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR")):
        return True
    for start in {directory.absolute(), directory.resolve()}:
        for folder in (start, *start.parents):
            dot_git = folder / ".git"
            try:
                if dot_git.is_symlink() or dot_git.exists():
                    return True
            except OSError:  # cannot tell (a folder we may not search): git decides
                return True
    return False


def is_work_tree(directory: Path) -> bool:
    if not repository_may_exist(directory):
        return False  # git would look in the same folders and find nothing: no process started
    result = git(["rev-parse", "--is-inside-work-tree"], directory, timeout=10)
    return result.ok and result.stdout.strip() == b"true"


def split_z(raw: bytes) -> list[str]:
    return [os.fsdecode(p) for p in raw.split(b"\0") if p]
