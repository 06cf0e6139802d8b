"""The ``hooks`` block: events, matcher objects, hook commands, and the traps in each.

Observed in Claude Code 2.1.330 (notes §6 and the differential tests): a defective matcher or
hook under PreToolUse or PermissionRequest rejects the whole file (such a hook may be what guards
permissions); the same defect under any other event drops only that entry.
"""

from __future__ import annotations

import re
from typing import Any

from claude_health.tools.findings import Severity
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.context import FileContext, did_you_mean
from claude_health.tools.settings.jsonpos import Path
from claude_health.tools.settings.keys import json_type

EVENTS = (
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification",
    "UserPromptSubmit", "UserPromptExpansion", "SessionStart", "SessionEnd", "Stop", "StopFailure",
    "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "PreModelSwitch", "PostModelSwitch",
    "PermissionRequest", "PermissionDenied", "Setup", "TeammateIdle", "TaskCreated", "TaskCompleted",
    "Elicitation", "ElicitationResult", "ConfigChange", "WorktreeCreate", "WorktreeRemove",
    "InstructionsLoaded", "CwdChanged", "FileChanged", "DirectoryAdded", "MessageDisplay",
)  # fmt: skip
STRICT_EVENTS = frozenset({"PreToolUse", "PermissionRequest"})
TOOL_EVENTS = frozenset(
    {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied"}
)
MATCHERLESS_EVENTS = frozenset(
    {
        "UserPromptSubmit",
        "Stop",
        "TeammateIdle",
        "TaskCreated",
        "TaskCompleted",
        "WorktreeCreate",
        "WorktreeRemove",
    }
)
NO_MODEL_HOOK_EVENTS = frozenset({"SessionStart", "Setup", "SubagentStart"})

_COMMON = {"type", "timeout", "statusMessage", "once", "if"}
HOOK_FIELDS: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "command": (("command",), _COMMON | {"command", "args", "shell", "async", "asyncRewake"}),
    "prompt": (("prompt",), _COMMON | {"prompt", "model", "continueOnBlock"}),
    "agent": (("prompt",), _COMMON | {"prompt", "model"}),
    "http": (("url",), _COMMON | {"url", "headers", "allowedEnvVars"}),
    "mcp_tool": (("server", "tool"), _COMMON | {"server", "tool", "input"}),
}
MATCHER_FIELDS = {"matcher", "hooks"}

_EXACT_LIST = re.compile(r"^[A-Za-z0-9_|,-]+$")
# Variables people expect from older docs and blog posts; Claude Code never sets them.
_PHANTOM_VAR = re.compile(r"\$\{?(CLAUDE_(?:TOOL|FILE|HOOK|INPUT|USER_PROMPT|NOTIFICATION|PROMPT)[A-Z0-9_]*)")


def validate_hooks(ctx: FileContext, value: Any, at: Path) -> dict[str, Any] | None:
    """Check a ``hooks`` block; returns what Claude Code keeps (None: the block is ignored)."""
    if not isinstance(value, dict):
        ctx.emit(
            R.HOOKS_SHAPE,
            f"`hooks` must be an object mapping event names to matcher arrays; received {json_type(value)}. "
            "Claude Code ignores the field.",
            at,
        )
        return None
    kept: dict[str, Any] = {}
    for event, matchers in value.items():
        where = (*at, event)
        if event not in EVENTS:
            guess = None if ctx.saturated(R.UNKNOWN_EVENT) else did_you_mean(event, EVENTS)
            ctx.emit(
                R.UNKNOWN_EVENT,
                f'Unknown hook event "{event}" is ignored.'
                + (f' Did you mean "{guess}"?' if guess else f" Valid events: {', '.join(EVENTS)}"),
                where,
                key=True,
            )
            continue
        if not isinstance(matchers, list):
            ctx.emit(
                R.HOOKS_SHAPE,
                f'Hook event "{event}" must be an array of matchers; received {json_type(matchers)}. '
                "The event is ignored.",
                where,
            )
            continue
        kept_matchers = [_matcher(ctx, event, m, (*where, i)) for i, m in enumerate(matchers)]
        kept[event] = [m for m in kept_matchers if m is not None]
    return kept


def _defect(ctx: FileContext, event: str, message: str, at: Path) -> None:
    if event in STRICT_EVENTS:
        ctx.emit(
            R.INVALID_HOOK,
            f"{message}. Under {event} this makes Claude Code ignore the whole file.",
            at,
            severity=Severity.ERROR,
        )
    else:
        ctx.emit(R.INVALID_HOOK, f"{message}; Claude Code drops this entry.", at, severity=Severity.WARNING)


def _matcher(ctx: FileContext, event: str, entry: Any, at: Path) -> dict[str, Any] | None:
    """The matcher as Claude Code keeps it (unknown fields and bad hooks dropped), or None."""
    if not isinstance(entry, dict):
        _defect(ctx, event, f"Hook matcher must be an object; received {json_type(entry)}", at)
        return None
    ok = True
    matcher = entry.get("matcher")
    if "matcher" in entry and not isinstance(matcher, str):
        _defect(ctx, event, f"Hook matcher must be a string; received {json_type(matcher)}", (*at, "matcher"))
        ok = False
    hooks = entry.get("hooks")
    if not isinstance(hooks, list):
        received = "nothing" if "hooks" not in entry else json_type(hooks)
        _defect(ctx, event, f'Hook matcher needs a "hooks" array of hook entries; received {received}', at)
        ok = False
    for key in entry:
        if key not in MATCHER_FIELDS:
            ctx.emit(
                R.HOOK_FIELD_DROPPED,
                f'Field "{key}" in a hook matcher is not a Claude Code field and is dropped.',
                (*at, key),
                key=True,
            )
    if isinstance(matcher, str):
        _matcher_semantics(ctx, event, matcher, (*at, "matcher"))
    kept_hooks = []
    if isinstance(hooks, list):
        for i, hook in enumerate(hooks):
            if _hook(ctx, event, hook, (*at, "hooks", i)):
                known = HOOK_FIELDS[hook["type"]][1]
                kept_hooks.append({k: v for k, v in hook.items() if k in known})
    if not ok:
        return None
    cleaned: dict[str, Any] = {"hooks": kept_hooks}
    if "matcher" in entry:
        cleaned = {"matcher": matcher, **cleaned}
    return cleaned


def _matcher_semantics(ctx: FileContext, event: str, matcher: str, at: Path) -> None:
    if matcher in ("", "*"):
        return
    if event in MATCHERLESS_EVENTS:
        ctx.emit(R.MATCHER_IGNORED, f'{event} ignores matchers; "{matcher}" does not filter anything.', at)
        return
    if _EXACT_LIST.match(matcher):
        for name in re.split(r"[|,]", matcher):
            if name.startswith("mcp__") and name.count("__") == 1 and len(name) > 5:
                ctx.emit(
                    R.MATCHER_MATCHES_NOTHING,
                    f'Matcher "{name}" is compared as an exact tool name and matches no tool. '
                    f'To match every tool of this server use "{name}__.*".',
                    at,
                )
        return
    try:
        re.compile(matcher)
    except re.error as exc:
        ctx.emit(
            R.MATCHER_MATCHES_NOTHING,
            f'Matcher "{matcher}" is not a valid regular expression ({exc}); it never matches.',
            at,
        )


def _hook(ctx: FileContext, event: str, hook: Any, at: Path) -> bool:
    if not isinstance(hook, dict):
        _defect(ctx, event, f"Hook entry must be an object; received {json_type(hook)}", at)
        return False
    kind = hook.get("type")
    # A JSON array or object is unhashable: test the type before looking it up.
    if not isinstance(kind, str) or kind not in HOOK_FIELDS:
        shown = kind if isinstance(kind, str) else json_type(kind)
        _defect(
            ctx,
            event,
            f'Unknown hook type "{shown}". Valid types: {", ".join(HOOK_FIELDS)}',
            (*at, "type") if "type" in hook else at,
        )
        return False
    required, known = HOOK_FIELDS[kind]
    ok = True
    for name in required:
        if not isinstance(hook.get(name), str):
            received = "nothing" if name not in hook else json_type(hook[name])
            _defect(ctx, event, f"Invalid {kind} hook: `{name}` must be a string; received {received}", at)
            ok = False
    timeout = hook.get("timeout")
    if "timeout" in hook and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        _defect(ctx, event, f"Invalid {kind} hook: `timeout` must be a number > 0", (*at, "timeout"))
        ok = False
    shell = hook.get("shell")
    if kind == "command" and "shell" in hook and shell not in ("bash", "powershell"):
        _defect(ctx, event, 'Invalid command hook: `shell` must be "bash" or "powershell"', (*at, "shell"))
        ok = False
    for key in hook:
        if key not in known:
            ctx.emit(
                R.HOOK_FIELD_DROPPED,
                f'Field "{key}" is not a field of a {kind} hook; Claude Code drops it, so it has no effect.',
                (*at, key),
                key=True,
            )
    if "if" in hook and event not in TOOL_EVENTS:
        ctx.emit(
            R.IF_NEVER_RUNS,
            f"`if` only works on tool events; on {event} this hook never runs.",
            (*at, "if"),
            key=True,
        )
    if kind in ("prompt", "agent") and event in NO_MODEL_HOOK_EVENTS:
        ctx.emit(R.HOOK_TYPE_NOT_ALLOWED, f"{kind} hooks do not run on {event}.", (*at, "type"))
    command = hook.get("command")
    if kind == "command" and isinstance(command, str):
        for var in sorted(set(_PHANTOM_VAR.findall(command))):
            ctx.emit(
                R.UNSET_HOOK_VARIABLE,
                f"The command reads ${var}, which Claude Code never sets (it expands to an empty string).",
                (*at, "command"),
            )
    return ok
