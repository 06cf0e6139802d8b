"""Validate every Claude Code config file of a workspace and the way they combine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from claude_health.tools import causes
from claude_health.tools.files import value_count_problem
from claude_health.tools.findings import Finding, Severity, Summary, sort_findings
from claude_health.tools.jsonspan import Document, JsonSyntaxError, loads
from claude_health.tools.paths import Workspace
from claude_health.tools.settings import permissions as P
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.context import FileContext, fold_findings
from claude_health.tools.settings.discovery import (
    GLOBAL,
    IGNORED,
    MANAGED_MCP,
    MCP,
    SETTINGS,
    SKIPPED_DROPIN_NOTE,
    ConfigFile,
    discover,
)
from claude_health.tools.settings.keys import CLAUDE_CODE_VERSION, json_type
from claude_health.tools.settings.managed_verdicts import managed_verdicts, source_text
from claude_health.tools.settings.mcp import Server, filter_matches, validate_servers
from claude_health.tools.settings.scrub import scrub_text
from claude_health.tools.settings.settingsfile import validate_settings

LEGACY_PROJECT_KEYS = ("allowedTools", "ignorePatterns", "env", "todoFeatureEnabled")


@dataclass
class FileResult:
    """One file's verdict: loaded or ignored, and what Claude Code keeps of it."""

    file: ConfigFile
    loaded: bool | None = None  # None: absent, or too large to judge (unknown, not ignored)
    data: dict[str, Any] | None = None  # what Claude Code keeps
    raw: dict[str, Any] | None = None
    doc: Document | None = None

    def to_json(self) -> dict[str, Any]:
        return self.file.to_json(self.loaded)


@dataclass
class Validation:
    """Every file's verdict and every finding, as Claude Code would judge this workspace."""

    ws: Workspace
    files: list[FileResult]
    findings: list[Finding]
    servers: list[Server] = field(default_factory=list)
    trusted: bool = False

    def settings_files(self) -> list[FileResult]:
        return [f for f in self.files if f.file.kind == SETTINGS and f.loaded]

    @property
    def summary(self) -> Summary:
        return Summary.of(self.findings)

    def payload(self) -> dict[str, Any]:
        ordered = sort_findings(self.findings)
        return {
            "claude_code_version": CLAUDE_CODE_VERSION,
            "project": str(self.ws.project),
            "trusted": self.trusted,
            "files": [f.to_json() for f in self.files],
            "servers": [s.to_json() for s in self.servers],
            "findings": [f.to_json() for f in ordered],
            "summary": Summary.of(ordered).to_json(),
        }


def _load(result: FileResult, ws: Workspace) -> tuple[FileContext | None, list[Finding]]:
    """Read and parse one file; no context when it is absent or unusable (the findings say why)."""
    cfg = result.file
    read = source_text(cfg)  # a file, or the JSON an MDM profile or registry policy holds
    if not read.exists:
        return None, []
    placeholder = FileContext(cfg, loads("{}"), ws)
    crowded = value_count_problem(read.text) if read.text is not None else None
    if read.too_large or crowded:
        # Unknown, not ignored: ``loaded`` stays None so no check reads it as rejected.
        placeholder.emit(R.TOO_LARGE, f"{cfg.path.name} {crowded or read.problem}.")
        return None, placeholder.findings
    if read.text is None:
        placeholder.emit(R.UNREADABLE, f"{cfg.path.name} {read.problem}.")
        result.loaded = False
        return None, placeholder.findings
    if not read.text.strip():
        placeholder.emit(R.INVALID_JSON, f"{cfg.path.name} is empty; Claude Code cannot parse it.")
        result.loaded = False
        return None, placeholder.findings
    try:
        doc = loads(read.text)
    except JsonSyntaxError as exc:
        consequence = (
            "Claude Code refuses to start while managed settings are invalid."
            if cfg.scope == "managed"
            else "Claude Code ignores the whole file."
        )
        if cfg.source is not None and cfg.source.origin != "file":  # a registry policy value
            consequence = "Claude Code takes no settings from it."
        elif cfg.source is not None and not cfg.source.applied:  # shadowed: first source wins
            consequence = "Claude Code does not read it while a higher managed source supplies the settings."
        finding = R.INVALID_JSON.finding(
            scrub_text(f"{cfg.path.name} is not valid JSON: {exc.reason}. {consequence}"),
            path=str(cfg.path),
            line=exc.line,
            column=exc.column,
            cause=causes.ignored_file(cfg.path),
        )
        result.loaded = False
        return None, [finding]
    ctx = FileContext(cfg, doc, ws)
    result.doc = doc
    if not isinstance(doc.value, dict):
        ctx.emit(R.NOT_OBJECT, f"{cfg.path.name} must hold a JSON object, not {json_type(doc.value)}.")
        result.loaded = False
        return None, ctx.findings
    result.raw = doc.value
    return ctx, []


def validate_workspace(ws: Workspace) -> Validation:
    results = [FileResult(f) for f in discover(ws)]
    findings: list[Finding] = []
    servers: list[Server] = []
    raw_servers: dict[tuple[str, str], Any] = {}
    managed_mcp_active = False
    global_data: dict[str, Any] = {}
    for result in results:
        cfg = result.file
        if not cfg.exists:
            continue
        if cfg.kind == IGNORED:
            result.loaded = False
            findings.append(_never_read(cfg))
            continue
        ctx, problems = _load(result, ws)
        findings.extend(problems)
        if ctx is None:
            continue
        data = result.raw or {}
        if cfg.kind == SETTINGS:
            result.data = validate_settings(ctx, data)
        elif cfg.kind in (MCP, MANAGED_MCP):
            scope = "managed" if cfg.kind == MANAGED_MCP else "project"
            found = _mcp_file(ctx, data, scope)
            for s in found:
                raw_servers[(s.path, s.name)] = data.get("mcpServers", {}).get(s.name)
            servers.extend(found)
            result.data = data
            if cfg.kind == MANAGED_MCP and not ctx.rejected:
                managed_mcp_active = True
                ctx.emit(
                    R.MANAGED_MCP_EXCLUSIVE,
                    "managed-mcp.json is active: Claude Code loads only its MCP servers.",
                )
        elif cfg.kind == GLOBAL:
            found = _global_config(ctx, data)
            for s in found:
                block = (
                    data.get("mcpServers", {})
                    if s.scope == "user"
                    else _project_entry(ws, data)[1].get("mcpServers", {})
                )
                raw_servers[(s.path, s.name)] = block.get(s.name) if isinstance(block, dict) else None
            servers.extend(found)
            global_data = data
            result.data = data
        result.loaded = not ctx.rejected
        findings.extend(ctx.findings)
    findings = managed_verdicts(results, findings)
    validation = Validation(ws=ws, files=results, findings=findings, servers=servers)
    validation.trusted = bool(_project_entry(ws, global_data)[1].get("hasTrustDialogAccepted") is True)
    per_file = len(validation.findings)  # already capped per file by FileContext
    _server_states(validation, global_data, managed_mcp_active, raw_servers)
    _cross_file_rules(validation)
    cross_file = fold_findings(validation.findings[per_file:])
    validation.findings = sort_findings(validation.findings[:per_file] + cross_file)
    return validation


def _never_read(cfg: ConfigFile) -> Finding:
    """A file Claude Code never reads: a legacy managed path, or a drop-in it skips by name."""
    if cfg.note != SKIPPED_DROPIN_NOTE:
        return R.LEGACY_MANAGED_PATH.finding(
            scrub_text(f"{cfg.path} is never read by Claude Code: {cfg.note}."),
            path=str(cfg.path),
            line=1,
            column=1,
            cause=causes.ignored_file(cfg.path),
        )
    name = cfg.path.name
    # A wrong-case extension is an accident; a hidden name or an extra suffix (.bak, .disabled)
    # is how administrators switch a drop-in off, so that is only worth a note.
    deliberate = name.startswith(".") or not name.lower().endswith(".json")
    why = (
        "its name starts with a dot"
        if name.startswith(".")
        else "its name does not end in .json (lower case)"
    )
    return R.SKIPPED_DROPIN.finding(
        scrub_text(
            f"{name} in managed-settings.d is never read by Claude Code because {why}, so none of its "
            "settings apply." + (" If it was switched off on purpose, ignore this." if deliberate else "")
        ),
        severity=Severity.INFO if deliberate else None,
        path=str(cfg.path),
        line=1,
        column=1,
    )


def _mcp_file(ctx: FileContext, data: dict[str, Any], scope: str) -> list[Server]:
    if "mcpServers" not in data:
        if "servers" in data:
            ctx.emit(
                R.SERVERS_KEY,
                'Missing "mcpServers" — found "servers" instead (the VS Code spelling); no server in this '
                "file is loaded.",
                ("servers",),
                key=True,
            )
        return []
    return validate_servers(ctx, data["mcpServers"], ("mcpServers",), scope)


def _project_entry(ws: Workspace, data: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    projects = data.get("projects")
    if not isinstance(projects, dict):
        return None, {}
    candidates = [str(ws.project)]
    root = ws.git_root
    if root is not None:
        candidates.append(str(root))
    for key in candidates:
        entry = projects.get(key)
        if isinstance(entry, dict):
            return key, entry
    return None, {}


def _global_config(ctx: FileContext, data: dict[str, Any]) -> list[Server]:
    servers: list[Server] = []
    if "mcpServers" in data:
        servers.extend(validate_servers(ctx, data["mcpServers"], ("mcpServers",), "user"))
    key, entry = _project_entry(ctx.ws, data)
    if key is not None:
        if "mcpServers" in entry:
            servers.extend(
                validate_servers(ctx, entry["mcpServers"], ("projects", key, "mcpServers"), "local")
            )
        for legacy in LEGACY_PROJECT_KEYS:
            if legacy in entry and entry[legacy] not in ([], {}, None, False):
                ctx.emit(
                    R.LEGACY_GLOBAL_KEY,
                    f"`projects[{key!r}].{legacy}` in ~/.claude.json is no longer read by Claude Code.",
                    ("projects", key, legacy),
                    key=True,
                )
    return servers


def _str_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


_SCOPE_RANK = {"user": 0, "project": 1, "local": 2, "managed": 3}


def _winners(servers: list[Server]) -> dict[str, Server]:
    """Per name, the entry Claude Code uses: local > project (deeper .mcp.json wins) > user."""
    best: dict[str, tuple[tuple[int, int], Server]] = {}
    for server in servers:
        if not server.valid:
            continue
        rank = (_SCOPE_RANK.get(server.scope, 0), server.path.count("/"))
        if server.name not in best or rank >= best[server.name][0]:
            best[server.name] = (rank, server)
    return {name: entry[1] for name, entry in best.items()}


def _server_states(
    v: Validation,
    global_data: dict[str, Any],
    managed_mcp_active: bool,
    raw_servers: dict[tuple[str, str], Any],
) -> None:
    # Approvals come from settings outside the repository; project and local settings and the
    # ~/.claude.json project entry approve only once the workspace is trusted (Claude Code
    # 2.1.330 `mcp list` leaves a server pending otherwise). A rejection counts from anywhere.
    enable_all, enabled, disabled = False, set[str](), set[str]()
    denied: list[dict[str, Any]] = []
    allowed: list[dict[str, Any]] | None = None
    managed_only = any(
        r.file.scope == "managed" and (r.data or {}).get("allowManagedMcpServersOnly") is True
        for r in v.settings_files()
    )
    for r in v.settings_files():
        data = r.data or {}
        if r.file.scope not in ("project", "local") or v.trusted:
            enable_all = enable_all or data.get("enableAllProjectMcpServers") is True
            enabled.update(_str_list(data.get("enabledMcpjsonServers")))
        disabled.update(_str_list(data.get("disabledMcpjsonServers")))
        denied.extend(d for d in data.get("deniedMcpServers", []) if isinstance(d, dict))
        if "allowedMcpServers" in data and (r.file.scope == "managed" or not managed_only):
            allowed = (allowed or []) + [a for a in data["allowedMcpServers"] if isinstance(a, dict)]
    _, entry = _project_entry(v.ws, global_data)
    if v.trusted:
        enable_all = enable_all or entry.get("enableAllProjectMcpServers") is True
        enabled.update(_str_list(entry.get("enabledMcpjsonServers")))
    disabled.update(_str_list(entry.get("disabledMcpjsonServers")))
    winners = _winners(v.servers)
    for server in v.servers:
        raw = raw_servers.get((server.path, server.name))
        if server.valid and winners.get(server.name) is not server:
            server.status = "overridden"
            continue
        if managed_mcp_active and server.scope != "managed":
            server.status = "ignored"
        elif server.scope == "project":
            if server.name in disabled:
                server.status = "disabled"
            elif enable_all or server.name in enabled:
                server.status = "enabled"
            else:
                server.status = "pending"
        if any(filter_matches(d, server, raw) for d in denied) or (
            allowed is not None and not any(filter_matches(a, server, raw) for a in allowed)
        ):
            server.status = "blocked"
        if not server.valid:
            continue
        if server.status in ("pending", "disabled"):
            line, column = server.position()
            v.findings.append(
                R.APPROVAL_STATE.finding(
                    scrub_text(
                        f"Project MCP server {server.name!r} is {server.status}"
                        + (_pending_note(v.trusted) if server.status == "pending" else ".")
                    ),
                    path=server.path,
                    line=line,
                    column=column,
                    cause=causes.mcp_server(server.name),
                )
            )
        elif server.status == "blocked":
            line, column = server.position()
            v.findings.append(
                R.SERVER_BLOCKED.finding(
                    scrub_text(
                        f"MCP server {server.name!r} is blocked by allowedMcpServers/deniedMcpServers."
                    ),
                    path=server.path,
                    line=line,
                    column=column,
                    cause=causes.mcp_server(server.name),
                )
            )


def _pending_note(trusted: bool) -> str:
    if trusted:
        return " (not started until approved)."
    return (
        " (not started until approved; the workspace is not trusted, so approvals in the project's "
        ".claude/settings.json, .claude/settings.local.json or ~/.claude.json project entry do not count)."
    )


def _covers(blocker: P.ParsedRule, allow: P.ParsedRule) -> bool:
    if blocker.is_mcp or allow.is_mcp:
        return P.mcp_tool_matches(blocker.tool, allow.tool) and blocker.content is None
    if blocker.tool != allow.tool:
        return False
    if blocker.whole_tool:
        return True
    if allow.whole_tool or allow.content is None or blocker.content is None:
        return False
    if blocker.content == allow.content:
        return True
    if allow.tool in P.SHELL_TOOLS and "*" not in allow.content and not allow.content.endswith(":*"):
        return P.shell_pattern_matches(blocker.content, allow.content)
    return False


def _index_key(rule: P.ParsedRule) -> str:
    """MCP rules group by server (``mcp__server`` covers its tools); others by tool name."""
    if rule.is_mcp:
        return "__".join(rule.tool.split("__")[:2])
    return rule.tool


def _cross_file_rules(v: Validation) -> None:
    blockers: list[tuple[str, P.ParsedRule, FileResult]] = []
    allows: list[tuple[int, P.ParsedRule, FileResult]] = []
    for r in v.settings_files():
        perms = (r.data or {}).get("permissions")
        if not isinstance(perms, dict):
            continue
        for behavior in ("deny", "ask"):
            for raw in perms.get(behavior, []):
                parsed = P.parse(raw)
                if isinstance(parsed, P.ParsedRule):
                    blockers.append((behavior, parsed, r))
        raw_perms = (r.raw or {}).get("permissions")
        raw_allow = raw_perms.get("allow", []) if isinstance(raw_perms, dict) else []
        # Where each rule first appears, found once: list.index per rule is quadratic, and a
        # file with 20,000 rules took seconds.
        first: dict[str, int] = {}
        for i, raw in enumerate(raw_allow if isinstance(raw_allow, list) else []):
            if isinstance(raw, str):
                first.setdefault(raw, i)
        for raw in perms.get("allow", []):
            parsed = P.parse(raw)
            if isinstance(parsed, P.ParsedRule):
                allows.append((first.get(raw, 0) if isinstance(raw, str) else 0, parsed, r))
    # Index blockers by tool so the check stays linear in the number of rules.
    by_tool: dict[str, list[tuple[str, P.ParsedRule, FileResult]]] = {}
    broad: list[tuple[str, P.ParsedRule, FileResult]] = []
    for entry in blockers:
        rule = entry[1]
        if "*" in rule.tool:
            broad.append(entry)
        else:
            by_tool.setdefault(_index_key(rule), []).append(entry)
    for index, allow, r in allows:
        candidates = by_tool.get(_index_key(allow), []) + broad
        for behavior, blocker, source in candidates:
            if _covers(blocker, allow):
                pos = r.doc.value_pos(("permissions", "allow", index)) if r.doc else None
                v.findings.append(
                    R.SHADOWED_ALLOW.finding(
                        scrub_text(
                            f'Allow rule "{allow.raw}" never applies: {behavior} rule "{blocker.raw}" in '
                            f"{source.file.path} is checked first."
                        ),
                        path=str(r.file.path),
                        line=pos.line if pos else None,
                        column=pos.column if pos else None,
                    )
                )
                break
    if not v.trusted:
        for r in v.settings_files():
            if r.file.scope not in ("project", "local"):
                continue
            allow = (r.data or {}).get("permissions", {}).get("allow")
            if allow and r.doc is not None:
                pos = r.doc.key_pos(("permissions", "allow"))
                v.findings.append(
                    R.UNTRUSTED_RULES.finding(
                        f"{len(allow)} permissions.allow entr{'y' if len(allow) == 1 else 'ies'} in "
                        f"{r.file.path.name} are ignored until the workspace is trusted.",
                        path=str(r.file.path),
                        line=pos.line,
                        column=pos.column,
                        severity=Severity.INFO,
                    )
                )
