"""Would a tool call be allowed, asked or denied, and by which rule in which file?

Claude Code evaluates deny, then ask, then allow; the first matching rule wins, whatever its
scope (notes §1.3). A compound shell command is denied or asked if any part matches, and
allowed only when every part is allowed.
"""

from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass, field
from typing import Any

from claude_health.tools.settings import permissions as P
from claude_health.tools.settings.discovery import SETTINGS
from claude_health.tools.settings.effective import effective_settings, rule_sources
from claude_health.tools.settings.scrub import scrub_text
from claude_health.tools.settings.validate import FileResult, Validation

PATH_KEYS = ("file_path", "path", "notebook_path")


@dataclass
class MatchedRule:
    behavior: str
    rule: str
    path: str
    scope: str
    line: int | None = None
    column: int | None = None


@dataclass
class Explanation:
    tool: str
    decision: str  # allow | ask | deny
    reason: str
    matched: list[MatchedRule] = field(default_factory=list)
    default_mode: str = "default"
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The explanation as it may be shown: rules and commands quote credentials often
        (``Bash(export ANTHROPIC_API_KEY=...)``), so every quoted text is scrubbed."""
        data = asdict(self)
        data["tool"] = scrub_text(self.tool)
        data["default_mode"] = scrub_text(self.default_mode)
        data["reason"] = scrub_text(self.reason)
        data["notes"] = [scrub_text(n) for n in self.notes]
        for matched in data["matched"]:
            matched["rule"] = scrub_text(matched["rule"])
        return data


@dataclass(frozen=True)
class Call:
    tool: str
    data: dict[str, Any]
    text: str  # the main input: command, absolute path, URL or query


def make_call(tool: str, tool_input: str | dict[str, Any] | None, validation: Validation) -> Call:
    canonical = P.ALIASES.get(tool, tool)
    data = tool_input if isinstance(tool_input, dict) else {}
    text = tool_input if isinstance(tool_input, str) else ""
    if canonical in P.SHELL_TOOLS:
        text = text or str(data.get("command", ""))
    elif canonical in P.EDIT_TOOLS or canonical in P.READ_TOOLS:
        raw = text or next((str(data[k]) for k in PATH_KEYS if k in data), "")
        text = _absolute(raw, validation) if raw else ""
    elif canonical == "WebFetch":
        text = text or str(data.get("url", ""))
    elif canonical == "WebSearch":
        text = text or str(data.get("query", ""))
    elif canonical == "Agent":
        text = text or str(data.get("subagent_type", ""))
    elif canonical == "Skill":
        text = text or str(data.get("skill", data.get("command", "")))
    return Call(canonical, data, text)


def _absolute(path: str, validation: Validation) -> str:
    ws = validation.ws
    if path.startswith("~/"):
        path = str(ws.home) + path[1:]
    elif not path.startswith("/"):
        path = str(ws.project) + "/" + path
    return posixpath.normpath(path)


def _base(r: FileResult, validation: Validation) -> str:
    return str(validation.ws.config_dir if r.file.scope == "user" else validation.ws.project)


def rule_matches(rule: P.ParsedRule, call: Call, r: FileResult, validation: Validation, text: str) -> bool:
    tool = call.tool
    if rule.is_mcp:
        return tool.startswith("mcp__") and P.mcp_tool_matches(rule.tool, tool)
    if "*" in rule.tool:
        return P.shell_pattern_matches(rule.tool, tool)
    same = rule.tool == tool
    if rule.tool == "Edit" and tool in P.EDIT_TOOLS:
        same = True
    if rule.tool == "Read" and tool in P.READ_TOOLS:
        same = True
    if not same:
        return False
    if rule.whole_tool:
        return True
    content = rule.content or ""
    param = P.param_match(content)
    if param and rule.tool not in P.SHELL_TOOLS and param[0] in call.data:
        return P.shell_pattern_matches(param[1], str(call.data[param[0]]))
    if rule.tool in P.SHELL_TOOLS:
        return P.shell_pattern_matches(content, text)
    if rule.tool in P.PATH_TOOLS_CONSULTED:
        ws = validation.ws
        return bool(text) and P.path_pattern_matches(
            content, text, base=_base(r, validation), cwd=str(ws.project), home=str(ws.home)
        )
    if rule.tool in P.PATH_TOOLS_NEVER_CONSULTED:
        return False
    if rule.tool == "WebFetch":
        return bool(text) and P.domain_matches(content, text)
    if rule.tool == "Skill" and content.endswith(" *"):
        return text == content[:-2] or text.startswith(content[:-1])
    return P.shell_pattern_matches(content, text)


def _matched(behavior: str, raw: str, r: FileResult) -> MatchedRule:
    pos = None
    if r.doc is not None:
        perms = (r.raw or {}).get("permissions", {})
        items = perms.get(behavior, []) if isinstance(perms, dict) else []
        if isinstance(items, list) and raw in items:
            pos = r.doc.value_pos(("permissions", behavior, items.index(raw)))
    return MatchedRule(
        behavior=behavior,
        rule=raw,
        path=str(r.file.path),
        scope=r.file.scope,
        line=pos.line if pos else None,
        column=pos.column if pos else None,
    )


def explain_permission(
    validation: Validation, tool: str, tool_input: str | dict[str, Any] | None
) -> Explanation:
    call = make_call(tool, tool_input, validation)
    rules = [
        (behavior, parsed, raw, r)
        for behavior, raw, r in rule_sources(validation)
        if isinstance(parsed := P.parse(raw), P.ParsedRule)
    ]
    parts = P.split_command(call.text) if call.tool in P.SHELL_TOOLS and call.text else [call.text]
    effective = effective_settings(validation).settings
    perms = effective.get("permissions") if isinstance(effective.get("permissions"), dict) else {}
    mode = str((perms or {}).get("defaultMode", "default"))
    notes: list[str] = []
    if not validation.trusted:
        notes.append("Workspace not trusted: project and local allow rules are not applied.")
    if len(parts) > 1:
        notes.append(f"Compound command checked as {len(parts)} parts: {parts}")
    notes.extend(_ignored_matches(validation, call, parts))
    for behavior in ("deny", "ask"):
        for b, rule, raw, r in rules:
            if b == behavior and any(rule_matches(rule, call, r, validation, part) for part in parts):
                return Explanation(
                    tool=call.tool,
                    decision=behavior,
                    reason=f'{behavior} rule "{raw}" in {r.file.path} matches '
                    "(deny and ask are checked before allow).",
                    matched=[_matched(behavior, raw, r)],
                    default_mode=mode,
                    notes=notes,
                )
    allowed: list[MatchedRule] = []
    for part in parts:
        hit = next(
            (
                (raw, r)
                for b, rule, raw, r in rules
                if b == "allow" and rule_matches(rule, call, r, validation, part)
            ),
            None,
        )
        if hit is None:
            allowed = []
            break
        allowed.append(_matched("allow", hit[0], hit[1]))
    if allowed:
        names = ", ".join(f'"{m.rule}"' for m in allowed)
        return Explanation(call.tool, "allow", f"allowed by {names}.", allowed, mode, notes)
    decision, reason = _default(call, mode, validation)
    return Explanation(call.tool, decision, reason, [], mode, notes)


def _ignored_matches(validation: Validation, call: Call, parts: list[str]) -> list[str]:
    """Rules that would decide this call but do not count: their file is ignored by Claude Code."""
    notes: list[str] = []
    for r in validation.files:
        if r.file.kind != SETTINGS or r.loaded is not False or not isinstance(r.raw, dict):
            continue
        perms = r.raw.get("permissions")
        for behavior in ("deny", "ask", "allow"):
            items = perms.get(behavior) if isinstance(perms, dict) else None
            for raw in items if isinstance(items, list) else []:
                rule = P.parse(raw) if isinstance(raw, str) else None
                if isinstance(rule, P.ParsedRule) and any(
                    rule_matches(rule, call, r, validation, p) for p in parts
                ):
                    notes.append(
                        f'{behavior} rule "{raw}" in {r.file.path} would match, but Claude Code ignores that '
                        "whole file (see `claude-health settings`), so the rule does not apply."
                    )
    return notes


def _additional(validation: Validation) -> list[str]:
    """``permissions.additionalDirectories`` from every loaded file: working directories too."""
    out: list[str] = []
    for r in validation.settings_files():
        perms = (r.data or {}).get("permissions")
        if isinstance(perms, dict) and isinstance(perms.get("additionalDirectories"), list):
            out.extend(d for d in perms["additionalDirectories"] if isinstance(d, str) and d)
    return out


def _default(call: Call, mode: str, validation: Validation) -> tuple[str, str]:
    if mode == "bypassPermissions":
        return "allow", "no rule matched; defaultMode bypassPermissions allows every call."
    if mode == "dontAsk":
        return "deny", "no rule matched; defaultMode dontAsk denies whatever is not allowed."
    roots = [str(validation.ws.project), *(_absolute(str(d), validation) for d in _additional(validation))]
    inside = any(call.text == root or call.text.startswith(root.rstrip("/") + "/") for root in roots)
    if call.tool in P.READ_TOOLS and inside:
        return "allow", "no rule matched; reading inside the working directory needs no permission."
    if mode == "acceptEdits" and call.tool in P.EDIT_TOOLS and inside:
        return "allow", "no rule matched; defaultMode acceptEdits allows edits inside the working directory."
    return "ask", f"no rule matched; in defaultMode {mode} Claude Code asks."
