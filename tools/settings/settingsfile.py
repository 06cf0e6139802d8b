"""One settings file (user, project, local or managed): keys, types, permission rules, hooks, env.

Returns the document as Claude Code would keep it (dropped entries removed), which is what the
effective-settings merge uses.
"""

from __future__ import annotations

from typing import Any

from claude_health.tools.findings import Severity
from claude_health.tools.jsonspan import JsonPath as Path
from claude_health.tools.settings import permissions as P
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.context import FileContext, did_you_mean, dotted
from claude_health.tools.settings.envblock import validate_env
from claude_health.tools.settings.extras import (
    check_blocked,
    check_marketplaces,
    check_tls_scope,
    check_vim_remaps,
)
from claude_health.tools.settings.guards import misplaced_guard_key
from claude_health.tools.settings.hooks import EVENT_SET, validate_hooks
from claude_health.tools.settings.keys import (
    CLAUDE_CODE_VERSION,
    DEPRECATED,
    MANAGED_ONLY,
    PERMISSIONS,
    TOP_LEVEL,
    Spec,
    type_problem,
)
from claude_health.tools.settings.managed import PER_FIELD as MANAGED_PER_FIELD
from claude_health.tools.settings.managed import fallback as managed_fallback
from claude_health.tools.settings.mcp import validate_filter

COMMAND_HELPERS = (
    "apiKeyHelper",
    "awsAuthRefresh",
    "awsCredentialExport",
    "gcpAuthRefresh",
    "otelHeadersHelper",
)


def validate_settings(ctx: FileContext, data: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    misplaced = _guards_outside_hooks(ctx, data)
    for key, value in data.items():
        at: Path = (key,)
        spec = TOP_LEVEL.get(key)
        if spec is None:
            if key != misplaced:  # already reported as misplaced hooks
                _unknown(ctx, key, at, TOP_LEVEL)
            kept[key] = value
            continue
        if key in MANAGED_ONLY and not ctx.managed:
            ctx.emit(
                R.MANAGED_ONLY,
                f"`{key}` is honoured only in managed settings; in {ctx.scope} settings it is ignored.",
                at,
                key=True,
            )
        if key in DEPRECATED:
            ctx.emit(R.DEPRECATED, f"`{key}` is {DEPRECATED[key]}.", at, key=True)
        result = _value(ctx, key, spec, value, at)
        if result is not _DROP:
            kept[key] = result
    _security(ctx, data)
    return kept


_DROP: Any = object()


def _guards_outside_hooks(ctx: FileContext, data: dict[str, Any]) -> str | None:
    """PreToolUse/PermissionRequest hooks written outside ``hooks`` (Claude Code 2.1.332 scans for
    them and, since they may be what guards the permissions, ignores a file that has them)."""
    where = misplaced_guard_key(data, EVENT_SET)
    if where is None:
        return None
    at: Path = (where,)
    if ctx.managed:
        ctx.emit(
            R.GUARD_OUTSIDE_HOOKS,
            f"`{where}` declares PreToolUse/PermissionRequest hooks outside `hooks`; Claude Code never "
            "runs them. The rest of the managed file still applies.",
            at,
            key=True,
            severity=Severity.WARNING,
        )
        return where
    ctx.emit(
        R.GUARD_OUTSIDE_HOOKS,
        f"`{where}` declares PreToolUse/PermissionRequest hooks outside `hooks`. Such a hook may be "
        "what guards the permissions beside it, so Claude Code ignores this whole file.",
        at,
        key=True,
    )
    return where


def _unknown(ctx: FileContext, key: str, at: Path, known: dict[str, Spec]) -> None:
    guess = None if ctx.saturated(R.UNKNOWN_KEY) else did_you_mean(key, known)
    if guess is None and len(at) == 1 and key in PERMISSIONS.fields:
        guess = f"permissions.{key}"
    where = dotted(at)
    message = f"Unknown key `{where}` is ignored by Claude Code"
    if guess:
        message += f'. Did you mean "{guess}"?'
    ctx.emit(R.UNKNOWN_KEY, message, at, key=True)


def _type_error(ctx: FileContext, spec: Spec, problem: str, at: Path) -> Any:
    """Report a type problem the way Claude Code reacts to it; returns _DROP when it drops the value."""
    where = dotted(at)
    substitute = managed_fallback(at) if ctx.managed else None
    if spec.catch and substitute is None:
        ctx.emit(R.VALUE_IGNORED, f"`{where}`: {problem}. Claude Code ignores this value.", at)
        return _DROP
    if ctx.managed:
        consequence = (
            f"{substitute[1]}; the rest of the managed settings still apply"
            if substitute
            else "In managed settings Claude Code drops this key and keeps the rest"
        )
        ctx.emit(R.WRONG_TYPE, f"`{where}`: {problem}. {consequence}.", at, severity=Severity.WARNING)
        return substitute[0] if substitute else _DROP
    ctx.emit(R.WRONG_TYPE, f"`{where}`: {problem}. Claude Code ignores this whole file.", at)
    return _DROP


def _value(ctx: FileContext, key: str, spec: Spec, value: Any, at: Path) -> Any:
    if spec.kind == "hooks":
        hooks = validate_hooks(ctx, value, at)
        return _DROP if hooks is None else hooks
    if spec.kind == "env":
        env = validate_env(ctx, value, at)
        return _DROP if env is None else env
    if spec.kind == "mcpfilter":
        kept = validate_filter(ctx, value, at)
        return _DROP if kept is None else kept
    # A caught object, or in managed settings any object but the few whose fields Claude Code
    # judges one by one, is dropped whole for a problem anywhere inside it.
    whole = spec.catch or (ctx.managed and key not in MANAGED_PER_FIELD)
    problem = type_problem(spec, value) or (_inner_problem(spec, value) if whole else None)
    if problem:
        return _type_error(ctx, spec, problem, at)
    if spec is PERMISSIONS:
        return _permissions(ctx, value, at)
    if key == "extraKnownMarketplaces":
        return check_marketplaces(ctx, value, at)
    if key == "blockedMarketplaces":
        check_blocked(ctx, value, at)
    if key == "vimInsertModeRemaps":
        check_vim_remaps(ctx, value, at)
    if key == "sandbox":
        check_tls_scope(ctx, value, at)
    if spec.kind in ("obj", "obj[]", "map"):
        return _nested(ctx, spec, value, at)
    if key in COMMAND_HELPERS and ctx.scope == "project":
        ctx.emit(R.COMMITTED_HELPER, f"`{key}` in project settings runs a command for every contributor.", at)
    return value


def _inner_problem(spec: Spec, value: Any) -> str | None:
    """The first problem below an object (see ``_value`` for when that drops it whole)."""
    if spec.item is not None and spec.kind in ("obj[]", "map"):
        items = (
            enumerate(value) if isinstance(value, list) else value.items() if isinstance(value, dict) else ()
        )
        for name, item in items:
            problem = type_problem(spec.item, item) or _inner_problem(spec.item, item)
            if problem:
                return f"`{name}`: {problem}"
        return None
    if spec.kind != "obj" or not isinstance(value, dict):
        return None
    for name in spec.required:
        if name not in value:
            return f"`{name}` is required"
    for name, item in value.items():
        child = spec.fields.get(name)
        if child is None:
            continue
        problem = type_problem(child, item) or _inner_problem(child, item)
        if problem:
            return f"`{name}`: {problem}"
    return None


def _object(ctx: FileContext, spec: Spec, value: dict[str, Any], at: Path) -> Any:
    for name in spec.required:
        if name not in value:
            return _type_error(ctx, spec, f"`{name}` is required", at)
    kept: dict[str, Any] = {}
    for name, item in value.items():
        child = spec.fields.get(name)
        if child is None:
            if spec.strict:
                _unknown(ctx, name, (*at, name), spec.fields)
            kept[name] = item
            continue
        result = _nested(ctx, child, item, (*at, name))
        if result is not _DROP:
            kept[name] = result
    return kept


def _nested(ctx: FileContext, spec: Spec, value: Any, at: Path) -> Any:
    problem = type_problem(spec, value)
    if problem:
        return _type_error(ctx, spec, problem, at)
    if spec.kind == "obj" and spec.fields:
        return _object(ctx, spec, value, at)
    if spec.kind == "obj[]" and spec.item is not None:
        items = [_nested(ctx, spec.item, v, (*at, i)) for i, v in enumerate(value)]
        return [v for v in items if v is not _DROP]
    if spec.kind == "map" and spec.item is not None:
        pairs = {k: _nested(ctx, spec.item, v, (*at, k)) for k, v in value.items()}
        return {k: v for k, v in pairs.items() if v is not _DROP}
    return value


def _permissions(ctx: FileContext, value: dict[str, Any], at: Path) -> Any:
    kept: dict[str, Any] = {}
    for name, item in value.items():
        where = (*at, name)
        spec = PERMISSIONS.fields.get(name)
        if spec is None:
            _unknown(ctx, name, where, PERMISSIONS.fields)
            kept[name] = item
            continue
        if spec.kind == "rules":
            if not isinstance(item, list):
                result = _type_error(
                    ctx, Spec("str[]"), f"expected array, received {type(item).__name__}", where
                )
                if result is not _DROP:
                    kept[name] = result
                continue
            kept[name] = _rules(ctx, name, item, where)
            continue
        problem = type_problem(spec, item)
        if problem:
            result = _type_error(ctx, spec, problem, where)
            if result is not _DROP:
                kept[name] = result  # a managed lock read as its restrictive value
            continue
        if name == "defaultMode" and item == "bypassPermissions":
            ctx.emit(
                R.DANGEROUS_BREADTH,
                "`defaultMode: bypassPermissions` runs every tool without asking.",
                where,
            )
        kept[name] = item
    return kept


def _rules(ctx: FileContext, behavior: str, items: list[Any], at: Path) -> list[str]:
    kept: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        where = (*at, i)
        if not isinstance(raw, str):
            ctx.emit(R.NON_STRING_RULE, f"Non-string value in {behavior} array is removed.", where)
            continue
        parsed = P.parse(raw)
        reason = parsed if isinstance(parsed, str) else P.validate(parsed, behavior)
        if reason is not None:
            ctx.emit(R.INVALID_RULE, f'Invalid permission rule "{raw}" is skipped: {reason}.', where)
            continue
        assert isinstance(parsed, P.ParsedRule)
        if raw in seen:
            ctx.emit(R.DUPLICATE_RULE, f'"{raw}" appears more than once in {behavior}.', where)
        seen.add(raw)
        kept.append(raw)
        _rule_semantics(ctx, behavior, parsed, where)
    return kept


def _rule_semantics(ctx: FileContext, behavior: str, rule: P.ParsedRule, at: Path) -> None:
    tool, content = rule.tool, rule.content
    if rule.written_tool in P.ALIASES:
        ctx.emit(R.TOOL_ALIAS, f'"{rule.raw}": {rule.written_tool} is a legacy name for {tool}.', at)
    if not rule.is_mcp and "*" not in tool and tool not in P.KNOWN_TOOLS:
        ctx.emit(
            R.NEVER_MATCHES,
            f'"{rule.raw}": {tool} is not a tool Claude Code {ctx_version()} knows; '
            "the rule may never match.",
            at,
            severity=Severity.INFO,
        )
    if content is None or rule.whole_tool:
        if behavior == "allow" and tool in P.SHELL_TOOLS:
            ctx.emit(R.DANGEROUS_BREADTH, f'"{rule.raw}" allows every {tool} command without asking.', at)
        return
    if P.param_match(content) and tool not in P.SHELL_TOOLS:
        return  # Tool(param:value) matches an input parameter; not a path or prefix
    if tool in P.PATH_TOOLS_NEVER_CONSULTED:
        replacement = "Edit" if tool in P.EDIT_TOOLS else "Read"
        ctx.emit(
            R.PATH_RULE_NEVER_CONSULTED,
            f'"{rule.raw}" is never consulted: only Read and Edit path rules are. '
            f"Use {replacement}({content}).",
            at,
        )
    if tool in P.PATH_TOOLS_CONSULTED and content.startswith("/") and not content.startswith("//"):
        base = "the Claude config directory" if ctx.scope == "user" else "the project directory"
        ctx.emit(
            R.ANCHORED_PATH,
            f'"{rule.raw}": a single leading "/" is relative to {base}, not the filesystem root. '
            f"Use {rule.written_tool}(/{content}) for an absolute path.",
            at,
        )
    if tool in P.SHELL_TOOLS:
        if content.endswith(":*") and content != ":*":
            ctx.emit(
                R.LEGACY_PREFIX,
                f'"{rule.raw}" uses the legacy ":*" form; write {tool}({content[:-2]} *).',
                at,
            )
        elif ":*" in content:
            ctx.emit(
                R.NEVER_MATCHES,
                f'"{rule.raw}": ":*" is only special at the end; here it is matched literally.',
                at,
                severity=Severity.INFO,
            )
        if behavior == "allow" and content.strip() in ("*", ":*"):
            ctx.emit(R.DANGEROUS_BREADTH, f'"{rule.raw}" allows every {tool} command.', at)


def ctx_version() -> str:
    return CLAUDE_CODE_VERSION


def _security(ctx: FileContext, data: dict[str, Any]) -> None:
    if data.get("skipDangerousModePermissionPrompt") is True:
        ctx.emit(
            R.DANGEROUS_BREADTH,
            "`skipDangerousModePermissionPrompt: true` skips the confirmation before bypass mode.",
            ("skipDangerousModePermissionPrompt",),
            key=True,
        )
