"""The Claude Code runtime as a doctor check: findings R001-R014 and a ``runtime`` section."""

from __future__ import annotations

import os
import re
from typing import Any

from claude_health.tools import causes
from claude_health.tools.findings import Finding
from claude_health.tools.outcome import CheckOutcome
from claude_health.tools.paths import Workspace
from claude_health.tools.runtime import rules
from claude_health.tools.runtime.machine import (
    VERSION_TIMEOUT,
    Install,
    Runtime,
    claude_version,
    gather,
    needs_node,
    npm_prefix_of,
    parse_version,
    writable_by,
)

_WINDOWS_MOUNT = re.compile(r"^/mnt/[a-zA-Z](/|$)")


def managed_version_bounds(ws: Workspace) -> dict[str, tuple[str, str]]:
    """``requiredMinimumVersion`` / ``requiredMaximumVersion`` -> (value, file), drop-ins winning,
    as Claude Code has them after merging the managed files it loads (the view's settings)."""
    bounds: dict[str, tuple[str, str]] = {}
    for key in ("requiredMinimumVersion", "requiredMaximumVersion"):
        found = ws.view.managed(key)
        if found is not None and found[0] is not None:
            bounds[key] = (str(found[0]), found[1])
    return bounds


def _install_json(install: Install) -> dict[str, Any]:
    return {"path": str(install.path), "resolved": str(install.resolved), "method": install.method}


def _path_findings(rt: Runtime) -> list[Finding]:
    if rt.claude is None:
        if rt.others:
            first = rt.others[0]
            return [
                rules.NOT_ON_PATH.finding(
                    f"`claude` ({first.method} install) exists at {first.path}, but {first.path.parent} "
                    "is not on PATH.",
                    path=str(first.path),
                    hint=f'Add it to PATH: export PATH="{first.path.parent}:$PATH" in your shell profile.',
                )
            ]
        return [rules.NOT_INSTALLED.finding("No `claude` on PATH and no installation in the usual places.")]
    findings: list[Finding] = []
    if rt.others:
        listed = ", ".join(f"{i.path} ({i.method})" for i in [rt.claude, *rt.others])
        findings.append(
            rules.MULTIPLE_INSTALLS.finding(
                f"PATH runs {rt.claude.path} ({rt.claude.method}); also installed: "
                + ", ".join(f"{i.path} ({i.method})" for i in rt.others)
                + ".",
                hint=f"Installations: {listed}. " + rules.MULTIPLE_INSTALLS.fix,
            )
        )
    return findings


def _npm_findings(rt: Runtime, uid: int, groups: set[int]) -> list[Finding]:
    findings: list[Finding] = []
    claude = rt.claude
    if claude is None:
        return findings
    if needs_node(claude) and rt.node is None:
        findings.append(
            rules.NODE_MISSING.finding(
                f"{claude.path} is a Node.js script ({claude.resolved}) and `node` is not on PATH.",
                path=str(claude.resolved),
            )
        )
    if claude.method == "npm-global":
        prefix = npm_prefix_of(claude)
        modules = claude.resolved
        while modules.name != "node_modules" and modules != modules.parent:
            modules = modules.parent
        if prefix is not None and modules.name == "node_modules" and not writable_by(modules, uid, groups):
            findings.append(
                rules.NPM_PREFIX_NOT_WRITABLE.finding(
                    f"Claude Code is installed under npm prefix {prefix}, and {modules} is not writable "
                    "by you.",
                    path=str(modules),
                )
            )
    return findings


def _ripgrep_findings(rt: Runtime) -> list[Finding]:
    value = rt.builtin_ripgrep
    where = rt.builtin_ripgrep_source
    path = where if where and where != "environment" else None
    if value is None:
        if rt.musl and rt.ripgrep is None:
            return [rules.RIPGREP_MUSL.finding("musl libc detected and no system `rg` on PATH.")]
        return []
    normalized = value.strip().lower()
    cause = causes.env("USE_BUILTIN_RIPGREP")
    if normalized not in ("0", "1", "true", "false"):
        return [
            rules.RIPGREP_BAD_VALUE.finding(
                f"USE_BUILTIN_RIPGREP={value!r} (from {where}).", path=path, cause=cause
            )
        ]
    if normalized in ("0", "false") and rt.ripgrep is None:
        return [
            rules.RIPGREP_MISSING.finding(
                f"USE_BUILTIN_RIPGREP={value} (from {where}) and no `rg` on PATH.", path=path, cause=cause
            )
        ]
    return []


def _wsl_findings(rt: Runtime, ws: Workspace) -> list[Finding]:
    if not rt.wsl:
        return []
    findings: list[Finding] = []
    project = ws.project.as_posix()
    if _WINDOWS_MOUNT.match(project):
        findings.append(
            rules.WSL_WINDOWS_FS.finding(f"The project {project} is on the Windows filesystem.", path=project)
        )
    for name, found in (
        ("claude", rt.claude.resolved if rt.claude else None),
        ("node", rt.node),
        ("npm", rt.npm),
    ):
        if found is not None and _WINDOWS_MOUNT.match(found.as_posix()):
            findings.append(
                rules.WSL_WINDOWS_BINARY.finding(
                    f"`{name}` resolves to the Windows side: {found}.", path=str(found)
                )
            )
    return findings


def _version_findings(rt: Runtime, ws: Workspace, timeout: float) -> tuple[list[Finding], dict[str, Any]]:
    findings: list[Finding] = []
    bounds = managed_version_bounds(ws)
    data: dict[str, Any] = {}
    if bounds:
        data["managed_bounds"] = {k: v for k, (v, _) in bounds.items()}
    if rt.claude is None:
        return findings, data
    version, problem = claude_version(rt.claude.path, ws, timeout)
    data["version"] = version
    if problem:
        findings.append(rules.VERSION_UNKNOWN.finding(problem, path=str(rt.claude.path)))
        return findings, data
    current = parse_version(version or "")
    for key, (value, where) in bounds.items():
        bound = parse_version(value)
        if bound is None or not re.fullmatch(r"\s*\d+\.\d+\.\d+\s*", value):
            findings.append(
                rules.VERSION_BOUND_INVALID.finding(f"{key} is {value!r} in {where}.", path=where)
            )
            continue
        if current is None:
            continue
        if key == "requiredMinimumVersion" and current < bound:
            findings.append(
                rules.VERSION_TOO_OLD.finding(
                    f"Claude Code {version} is older than requiredMinimumVersion {value} ({where}).",
                    path=where,
                )
            )
        if key == "requiredMaximumVersion" and current > bound:
            findings.append(
                rules.VERSION_TOO_NEW.finding(
                    f"Claude Code {version} is newer than requiredMaximumVersion {value} ({where}).",
                    path=where,
                )
            )
    return findings, data


def run_check(
    ws: Workspace,
    *,
    version_timeout: float = VERSION_TIMEOUT,
    uid: int | None = None,
    groups: set[int] | None = None,
) -> CheckOutcome:
    rt = gather(ws)
    if uid is None:
        uid = os.getuid() if hasattr(os, "getuid") else 0
    if groups is None:
        groups = set(os.getgroups()) if hasattr(os, "getgroups") else set()
    findings = _path_findings(rt)
    findings += _npm_findings(rt, uid, groups)
    findings += _ripgrep_findings(rt)
    findings += _wsl_findings(rt, ws)
    version_findings, version_data = _version_findings(rt, ws, version_timeout)
    findings += version_findings
    data: dict[str, Any] = {
        "claude": _install_json(rt.claude) if rt.claude else None,
        "other_installs": [_install_json(i) for i in rt.others],
        "node": str(rt.node) if rt.node else None,
        "ripgrep": str(rt.ripgrep) if rt.ripgrep else None,
        "use_builtin_ripgrep": rt.builtin_ripgrep,
        "wsl": rt.wsl,
        **version_data,
    }
    return CheckOutcome(findings=findings, data=data)
