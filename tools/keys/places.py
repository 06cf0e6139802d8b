"""Where credentials should not be, outside the project tree: the environment, settings `env`
blocks and ~/.claude.json, shell start-up files, and readable credential files."""

from __future__ import annotations

import stat
from typing import Any

from claude_health.tools import causes
from claude_health.tools.files import log_read
from claude_health.tools.findings import Finding, Severity
from claude_health.tools.keys.formats import find_in_text, label
from claude_health.tools.keys.locations import settings_files, shell_startup_files
from claude_health.tools.keys.rules import (
    CREDENTIAL_FILE_READABLE,
    KEY_IN_PROCESS_ENV,
    KEY_IN_SETTINGS_ENV,
    KEY_IN_SHELL_STARTUP,
    KEY_OVERRIDES_PLAN,
)
from claude_health.tools.keys.scanner import scan_file
from claude_health.tools.keys.vault import hit_fields, remember
from claude_health.tools.paths import Workspace
from claude_health.tools.redact import fingerprint, redact

# The variables Claude Code takes a first-party credential from (auth precedence).
BILLING_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
# Claude Code's own store for a Console-login key; the auth check reports it, not this one.
OWN_STORE_FIELDS = frozenset({"primaryApiKey"})


def json_fields_holding(data: Any, secret: str, trail: str = "") -> list[str]:
    """Dotted paths of the JSON string values that contain ``secret``."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(data, trail)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, str) and secret in value:
            found.append(where)
    return found


# -- the environment -------------------------------------------------------------------------


def _overridden_plan(ws: Workspace) -> str | None:
    """The plan name when an API credential overrides it, else None.

    A plan is overridden exactly when the auth check says so (its A001): Claude Code bills API
    credits although a usable subscription exists (a claude.ai login with an access token and
    the user:inference scope, or a CLAUDE_CODE_OAUTH_TOKEN). A cloud provider (Bedrock, Vertex)
    or an unusable stored login is not a plan being overridden.
    """
    # The auth route (and its imports, a fifth of the CLI key scan's start) is resolved only when
    # a billing variable is set: without one no credential overrides a plan.
    if not any((ws.view.env.get(name) or "").strip() for name in BILLING_VARS):
        return None
    from claude_health.tools.auth.inputs import gather
    from claude_health.tools.auth.route import resolve
    from claude_health.tools.auth.rules import API_KEY_OVERRIDES_SUBSCRIPTION

    result = resolve(gather(ws))
    if not any(f.code == API_KEY_OVERRIDES_SUBSCRIPTION.code for f in result.findings):
        return None
    login = ws.view.credentials.login
    usable = login is not None and login.has_access_token and "user:inference" in login.scopes
    return (login.subscription_type if usable and login else None) or "claude.ai"


def effective_env(ws: Workspace) -> tuple[dict[str, str], dict[str, str]]:
    """The environment Claude Code builds (values, origin of each), from the workspace's view."""
    env = ws.view.env
    return env.mapping(), {name: env.source(name) for name in env}


def environment_findings(ws: Workspace) -> list[Finding]:
    findings: list[Finding] = []
    plan = _overridden_plan(ws)
    env = ws.view.env
    flagged: set[str] = set()
    if plan:
        for name in BILLING_VARS:
            value = (env.get(name) or "").strip()
            if not value:
                continue
            flagged.add(name)
            hits = find_in_text(value)
            for kind, secret, _ in hits:
                remember(kind, secret)
            gateway = (env.get("ANTHROPIC_BASE_URL") or "").strip()
            payer = (
                f"requests go to {gateway} with this credential"
                if gateway and "api.anthropic.com" not in gateway
                else "Claude Code bills API credits instead of the plan"
            )
            findings.append(
                KEY_OVERRIDES_PLAN.finding(
                    f"{name} ({redact(value)}, {env.described(name)}) overrides your {plan} login: {payer}.",
                    kind=hits[0][0] if hits else None,
                    redacted=redact(value),
                    fingerprint=fingerprint(value),
                    cause=causes.env(name),
                )
            )
    for name, value in sorted(ws.env.items()):
        if name in flagged:
            continue
        for kind, secret, _ in find_in_text(value):
            remember(kind, secret)
            severity = Severity.ERROR if kind == "admin_key" else None
            findings.append(
                KEY_IN_PROCESS_ENV.finding(
                    f"Environment variable {name} ({env.described(name)}) holds an Anthropic {label(kind)}.",
                    severity=severity,
                    kind=kind,
                    redacted=redact(secret),
                    fingerprint=fingerprint(secret),
                    cause=causes.env(name),
                )
            )
    return findings


# -- settings files and ~/.claude.json --------------------------------------------------------


def settings_findings(ws: Workspace) -> list[Finding]:
    findings: list[Finding] = []
    for scope, path in settings_files(ws):
        scan = scan_file(path, escapes=True)  # JSON: every client decodes its escapes
        if not scan.hits:
            continue
        seen = ws.view.file(path)
        data = seen.raw if seen is not None else None
        for hit in scan.hits:
            fields = json_fields_holding(data, hit.secret) if data is not None else []
            if fields and all(f in OWN_STORE_FIELDS for f in fields):
                continue
            place = f" in `{fields[0]}`" if fields else ""
            env_name = fields[0][4:] if fields and fields[0].startswith("env.") else None
            findings.append(
                KEY_IN_SETTINGS_ENV.finding(
                    f"{scope} ({path.name}) holds an Anthropic {label(hit.kind)}{place}.",
                    severity=Severity.ERROR if hit.kind == "admin_key" else None,
                    path=str(path),
                    cause=causes.setting_env(path, env_name) if env_name else causes.key(hit.fingerprint),
                    **hit_fields(hit),
                )
            )
    return findings


# -- shell start-up files ---------------------------------------------------------------------


def shell_findings(ws: Workspace) -> list[Finding]:
    """K007 for every key in a shell start-up file. A key the environment holds under a name is
    about that variable (one problem with the variable's own findings); any other is about the key."""
    findings: list[Finding] = []
    exported = {fingerprint(value): name for name, value in sorted(ws.env.items()) if value.strip()}
    for path in shell_startup_files(ws):
        scan = scan_file(path, escapes=True)  # $'\x2d' in a shell is a dash
        skipped = "absent" if scan.skipped == "missing" else scan.skipped
        log_read(path, skipped or f"scanned {scan.size:,} bytes for keys")
        for hit in scan.hits:
            name = exported.get(hit.fingerprint)
            findings.append(
                KEY_IN_SHELL_STARTUP.finding(
                    f"{path.name} exports an Anthropic {label(hit.kind)} into every shell"
                    + (f" (it is {name} in this environment)." if name else "."),
                    severity=Severity.ERROR if hit.kind == "admin_key" else None,
                    path=str(path),
                    cause=causes.env(name) if name else causes.key(hit.fingerprint),
                    **hit_fields(hit),
                )
            )
    return findings


# -- credential files -------------------------------------------------------------------------


def permission_findings(ws: Workspace) -> list[Finding]:
    if ws.os_name == "win32":
        return []  # POSIX modes mean nothing there; ACLs are out of scope
    findings: list[Finding] = []
    for path in (ws.credentials_file, ws.global_config):
        try:
            st = path.stat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        mode = stat.S_IMODE(st.st_mode)
        if not mode & 0o044:
            continue
        who = "everyone" if mode & 0o004 else "its group"
        findings.append(
            CREDENTIAL_FILE_READABLE.finding(
                f"{path} has mode {mode:04o}: {who} can read it.",
                severity=Severity.ERROR if mode & 0o004 and path == ws.credentials_file else None,
                path=str(path),
                hint=f"chmod 600 {path}",
            )
        )
    return findings
