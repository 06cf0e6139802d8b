"""Would a tool call be allowed, asked or denied, and by which rule in which file?

Claude Code evaluates deny, then ask, then allow; the first matching rule wins, whatever its
scope (notes §1.3). A compound shell command is denied or asked if any part matches, and
allowed only when every part is allowed.
"""

from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass, field
from typing import Any

from claude_health.tools.findings import Severity
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
class UnappliedRule(MatchedRule):
    """A rule that matches the call but that Claude Code does not apply, and why."""

    why: str = ""


@dataclass
class Explanation:
    tool: str
    decision: str  # allow | ask | deny
    reason: str
    matched: list[MatchedRule] = field(default_factory=list)
    default_mode: str = "default"
    notes: list[str] = field(default_factory=list)
    # Rules that would match but are not applied (file ignored, rule dropped, folder untrusted, policy).
    not_applied: list[UnappliedRule] = field(default_factory=list)
    # The decision if every rule applied as written, when that differs from ``decision``.
    as_written: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The explanation as it may be shown: rules and commands quote credentials often
        (``Bash(export ANTHROPIC_API_KEY=...)``), so every quoted text is scrubbed."""
        data = asdict(self)
        data["tool"] = scrub_text(self.tool)
        data["default_mode"] = scrub_text(self.default_mode)
        data["reason"] = scrub_text(self.reason)
        data["notes"] = [scrub_text(n) for n in self.notes]
        for matched in (*data["matched"], *data["not_applied"]):
            matched["rule"] = scrub_text(matched["rule"])
        for unapplied in data["not_applied"]:
            unapplied["why"] = scrub_text(unapplied["why"])
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


def _position(behavior: str, raw: str, r: FileResult) -> tuple[int | None, int | None]:
    if r.doc is None:
        return None, None
    perms = (r.raw or {}).get("permissions", {})
    items = perms.get(behavior, []) if isinstance(perms, dict) else []
    if isinstance(items, list) and raw in items:
        pos = r.doc.value_pos(("permissions", behavior, items.index(raw)))
        return pos.line, pos.column
    return None, None


def _matched(behavior: str, raw: str, r: FileResult) -> MatchedRule:
    line, column = _position(behavior, raw, r)
    return MatchedRule(behavior, raw, str(r.file.path), r.file.scope, line, column)


Rule = tuple[str, P.ParsedRule, str, FileResult]  # behavior, parsed, as written, file


@dataclass
class _Decision:
    decision: str
    reason: str
    matched: list[MatchedRule]


def _decide(call: Call, parts: list[str], rules: list[Rule], mode: str, validation: Validation) -> _Decision:
    """Deny, then ask, then allow; first match wins; a compound command is allowed only whole."""
    for behavior in ("deny", "ask"):
        for b, rule, raw, r in rules:
            if b == behavior and any(rule_matches(rule, call, r, validation, part) for part in parts):
                return _Decision(
                    behavior,
                    f'{behavior} rule "{raw}" in {r.file.path} matches '
                    "(deny and ask are checked before allow).",
                    [_matched(behavior, raw, r)],
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
        return _Decision("allow", f"allowed by {names}.", allowed)
    decision, reason = _default(call, mode, validation)
    return _Decision(decision, reason, [])


def _file_problem(r: FileResult, validation: Validation) -> str:
    """Why Claude Code ignores a file: its first rejecting finding."""
    path = str(r.file.path)
    first = next((f for f in validation.findings if f.path == path and f.severity is Severity.ERROR), None)
    return first.message if first is not None else "it cannot be used"


def _unapplied_rules(validation: Validation) -> list[tuple[Rule, str]]:
    """Every permission rule written in a settings file that Claude Code does not apply, with why:
    the whole file is ignored, the rule is dropped as invalid, the folder is not trusted (project
    and local allow rules), or managed settings allow only their own rules."""
    applied = {(b, raw, id(r)) for b, raw, r in rule_sources(validation)}
    managed_only = any(
        (r.data or {}).get("allowManagedPermissionRulesOnly") is True
        for r in validation.settings_files()
        if r.file.scope == "managed"
    )
    out: list[tuple[Rule, str]] = []
    for r in validation.files:
        if r.file.kind != SETTINGS or not r.file.exists or not isinstance(r.raw, dict):
            continue
        perms = r.raw.get("permissions")
        if not isinstance(perms, dict):
            continue
        for behavior in ("deny", "ask", "allow"):
            written = perms.get(behavior)
            if not isinstance(written, list):
                continue
            for raw in written:
                if not isinstance(raw, str) or (behavior, raw, id(r)) in applied:
                    continue
                parsed = P.parse(raw)
                if not isinstance(parsed, P.ParsedRule):
                    continue  # unparseable: it can match nothing, as written or not
                if not r.loaded:
                    why = f"Claude Code ignores that whole file ({_file_problem(r, validation).rstrip('.')})"
                elif (problem := P.validate(parsed, behavior)) is not None:
                    why = f"Claude Code drops it as invalid ({problem})"
                elif managed_only and r.file.scope != "managed":
                    why = "managed settings set allowManagedPermissionRulesOnly, so only managed rules apply"
                elif behavior == "allow" and r.file.scope in ("project", "local") and not validation.trusted:
                    why = "the workspace is not trusted, so project and local allow rules do not apply"
                else:
                    continue
                out.append(((behavior, parsed, raw, r), why))
    return out


def explain_permission(
    validation: Validation, tool: str, tool_input: str | dict[str, Any] | None
) -> Explanation:
    """Claude Code's decision for one call, and the rules written for it that do not apply.

    When a rule Claude Code does not apply (its file is ignored, it is dropped, ...) would change
    the decision, ``as_written`` says what the files' authors wrote and the reason says so first:
    a deny rule in an ignored file is exactly the guard a user believes in and does not have.
    """
    call = make_call(tool, tool_input, validation)
    rules: list[Rule] = [
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
    decided = _decide(call, parts, rules, mode, validation)
    unapplied = [
        (rule, why)
        for rule, why in _unapplied_rules(validation)
        if any(rule_matches(rule[1], call, rule[3], validation, part) for part in parts)
    ]
    explanation = Explanation(call.tool, decided.decision, decided.reason, decided.matched, mode, notes)
    if not unapplied:
        return explanation
    for (behavior, _, raw, r), why in unapplied:
        line, column = _position(behavior, raw, r)
        explanation.not_applied.append(
            UnappliedRule(behavior, raw, str(r.file.path), r.file.scope, line, column, why)
        )
    written = _decide(call, parts, _as_written(rules, [rule for rule, _ in unapplied]), mode, validation)
    if written.decision != decided.decision:
        explanation.as_written = written.decision
        decisive = written.matched[0] if written.matched else None
        first = next(
            (
                u
                for u in explanation.not_applied
                if decisive is not None and (u.rule, u.path) == (decisive.rule, decisive.path)
            ),
            explanation.not_applied[0],
        )
        where = f"{first.path}:{first.line}" if first.line else first.path
        explanation.reason = (
            f"Claude Code will {decided.decision.upper()} this call, but as written it would be "
            f'{written.decision}: {first.behavior} rule "{first.rule}" ({where}) is not applied because '
            f"{first.why.rstrip('.')}. What the file's author wrote is not what Claude Code does. "
            f"Claude Code's own reason: {decided.reason}"
        )
    else:
        explanation.notes.append(
            f"{len(unapplied)} matching rule(s) are not applied; the decision would be the same with them."
        )
    return explanation


def _as_written(applied: list[Rule], unapplied: list[Rule]) -> list[Rule]:
    """Every rule as the files' authors wrote them, in Claude Code's order (managed last)."""
    return sorted([*applied, *unapplied], key=lambda rule: rule[3].file.scope == "managed")


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
