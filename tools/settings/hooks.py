"""The ``hooks`` block: events, matcher objects, hook commands, and the traps in each.

Observed in Claude Code 2.1.332 (tests/test_settings_e2e.py and test_settings_e2e_managed.py):
a hook under PreToolUse, PermissionRequest or PreSkillShellCommand is a guard (it may be what
protects the permissions beside it). If one cannot be loaded, or guard hooks hide where a matcher
or event was expected, Claude Code ignores the whole file; in managed settings it ignores the
file's whole ``hooks`` field instead and keeps the rest. The same defect under any other event
drops only that entry (:mod:`claude_health.tools.settings.guards` holds the scan).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from claude_health.tools.findings import Rule, Severity
from claude_health.tools.jsonspan import JsonPath as Path
from claude_health.tools.settings import rules as R
from claude_health.tools.settings.context import FileContext, did_you_mean
from claude_health.tools.settings.guards import GUARD_EVENTS, hides_guard, holds_matchers, looks_like_matcher
from claude_health.tools.settings.keys import json_type

EVENTS = (
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification",
    "UserPromptSubmit", "UserPromptExpansion", "SessionStart", "SessionEnd", "Stop", "StopFailure",
    "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "PreModelSwitch", "PostModelSwitch",
    "PermissionRequest", "PermissionDenied", "Setup", "TeammateIdle", "TaskCreated", "TaskCompleted",
    "Elicitation", "ElicitationResult", "ConfigChange", "WorktreeCreate", "WorktreeRemove",
    "InstructionsLoaded", "CwdChanged", "FileChanged", "DirectoryAdded", "MessageDisplay",
    "PreSkillShellCommand",
)  # fmt: skip
EVENT_SET = frozenset(EVENTS)
STRICT_EVENTS = GUARD_EVENTS
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

# A field check returns what is wrong with a value (in Claude Code's words), or None.
FieldCheck = Callable[[Any], str | None]


def _expect(kind: str, test: Callable[[Any], bool]) -> FieldCheck:
    return lambda value: None if test(value) else f"expected {kind}, received {json_type(value)}"


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _str_list(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"expected array, received {json_type(value)}"
    bad = next((i for i, item in enumerate(value) if not isinstance(item, str)), None)
    return None if bad is None else f"item {bad}: expected string, received {json_type(value[bad])}"


def _str_map(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"expected record, received {json_type(value)}"
    bad = next((k for k, item in value.items() if not isinstance(item, str)), None)
    return None if bad is None else f"{bad}: expected string, received {json_type(value[bad])}"


def _positive(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected number, received {json_type(value)}"
    return None if value > 0 else "must be a number > 0"


def _one_of(*options: str) -> FieldCheck:
    shown = "|".join(f'"{o}"' for o in options)
    return lambda value: None if value in options and isinstance(value, str) else f"expected one of {shown}"


def _non_empty(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"expected string, received {json_type(value)}"
    return None if value else "expected a string of at least 1 character"


_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BAD_HOST = re.compile(r"[\s#%/:<>?@\[\\\]^|]")


def _url(value: Any) -> str | None:
    """What ``new URL()`` refuses (Claude Code validates http hook URLs that way): no scheme, or
    a web scheme without a usable host. Other schemes (``mailto:``, even ``localhost:8080``) pass."""
    if not isinstance(value, str):
        return f"expected string, received {json_type(value)}"
    text = value.strip()
    scheme = _SCHEME.match(text)
    if scheme is None:
        return "Invalid URL"
    if scheme.group(0)[:-1].lower() not in _SPECIAL_SCHEMES:
        return None
    rest = text[scheme.end() :].lstrip("/\\")
    try:
        parts = urlsplit("http://" + rest)
        host = parts.hostname
        _ = parts.port  # a port that is not a number in range raises
    except ValueError:
        return "Invalid URL"
    if not host or (":" not in host and _BAD_HOST.search(host)):
        return "Invalid URL"
    return None


_ANY: FieldCheck = lambda value: None  # noqa: E731 - Claude Code reads any value (or catches it)
_COMMON: dict[str, FieldCheck] = {
    "type": _ANY,
    "if": _expect("string", _is_str),
    "timeout": _positive,
    "statusMessage": _expect("string", _is_str),
    "once": _expect("boolean", lambda v: isinstance(v, bool)),
}
_BOOL = _expect("boolean", lambda v: isinstance(v, bool))
_FAILURE = _one_of("continue", "block")
# Per hook type: required fields, then every field Claude Code reads with its check.
HOOK_FIELDS: dict[str, tuple[tuple[str, ...], dict[str, FieldCheck]]] = {
    "command": (
        ("command",),
        {
            **_COMMON,
            "command": _expect("string", _is_str),
            "args": _str_list,
            "shell": _one_of("bash", "powershell"),
            "onFailure": _FAILURE,
            "async": _BOOL,
            "asyncRewake": _BOOL,
            "holdsTools": _BOOL,
            "rewakeMessage": _non_empty,
            "rewakeSummary": _non_empty,
            "cloud": _ANY,
        },
    ),
    "prompt": (
        ("prompt",),
        {
            **_COMMON,
            "prompt": _expect("string", _is_str),
            "model": _expect("string", _is_str),
            "continueOnBlock": _BOOL,
        },
    ),
    "agent": (
        ("prompt",),
        {**_COMMON, "prompt": _expect("string", _is_str), "model": _expect("string", _is_str)},
    ),
    "http": (
        ("url",),
        {
            **_COMMON,
            "url": _url,
            "headers": _str_map,
            "allowedEnvVars": _str_list,
            "onFailure": _FAILURE,
            "cloud": _ANY,
        },
    ),
    "mcp_tool": (
        ("server", "tool"),
        {
            **_COMMON,
            "server": _expect("string", _is_str),
            "tool": _expect("string", _is_str),
            "input": _expect("record", lambda v: isinstance(v, dict)),
            "onFailure": _ANY,  # any value other than "continue" reads as "block"
        },
    ),
}
MATCHER_FIELDS = {"matcher", "hooks"}

_EXACT_LIST = re.compile(r"^[A-Za-z0-9_|,-]+$")
# Variables people expect from older docs and blog posts; Claude Code never sets them.
_PHANTOM_VAR = re.compile(r"\$\{?(CLAUDE_(?:TOOL|FILE|HOOK|INPUT|USER_PROMPT|NOTIFICATION|PROMPT)[A-Z0-9_]*)")


class _Block:
    """Findings for one ``hooks`` block; remembers whether a guard hook could not be loaded."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.unloadable_guard = False

    def guard(self, rule: Rule, message: str, at: Path) -> None:
        """A guard hook Claude Code cannot load: the file is ignored (managed: its hooks are)."""
        self.unloadable_guard = True
        if self.ctx.managed:
            self.ctx.emit(
                rule,
                f"{message}. A guard hook that cannot be loaded makes Claude Code ignore this managed "
                "file's whole `hooks` field (none of its hooks run); the rest of the file still applies.",
                at,
                severity=Severity.WARNING,
            )
            return
        self.ctx.emit(
            rule,
            f"{message}. A PreToolUse/PermissionRequest hook that cannot be loaded may be what guards "
            "the permissions beside it, so Claude Code ignores this whole file.",
            at,
            severity=Severity.ERROR,
        )

    def defect(self, event: str, message: str, at: Path) -> None:
        if event in STRICT_EVENTS:
            self.guard(R.INVALID_HOOK, f"{message} (under {event})", at)
        else:
            self.ctx.emit(
                R.INVALID_HOOK, f"{message}; Claude Code drops this entry.", at, severity=Severity.WARNING
            )


def validate_hooks(ctx: FileContext, value: Any, at: Path) -> dict[str, Any] | None:
    """Check a ``hooks`` block; returns what Claude Code keeps (None: the block is ignored)."""
    block = _Block(ctx)
    kept = _events(block, value, at)
    if block.unloadable_guard and ctx.managed:
        return None
    return kept


def _events(block: _Block, value: Any, at: Path) -> dict[str, Any] | None:
    ctx = block.ctx
    if not isinstance(value, dict):
        received = json_type(value)
        if isinstance(value, list) and (
            any(isinstance(v, dict) for v in value) or holds_matchers(value, EVENT_SET)
        ):
            block.guard(
                R.HOOKS_SHAPE,
                f"`hooks` must be an object mapping event names to matcher arrays; received {received}",
                at,
            )
            return None
        ctx.emit(
            R.HOOKS_SHAPE,
            f"`hooks` must be an object mapping event names to matcher arrays; received {received}. "
            "Claude Code ignores the field.",
            at,
        )
        return None
    if looks_like_matcher(value, EVENT_SET):
        block.guard(
            R.HOOKS_SHAPE,
            "`hooks` must be an object mapping event names to matcher arrays; received a single matcher",
            at,
        )
        return None
    kept: dict[str, Any] = {}
    for event, matchers in value.items():
        where = (*at, event)
        if event not in EVENT_SET:
            if hides_guard(matchers, EVENT_SET, matchers_count=not isinstance(matchers, list)):
                block.guard(
                    R.HOOKS_SHAPE,
                    f'"{event}" is not a hook event, but it holds PreToolUse/PermissionRequest hooks',
                    where,
                )
                continue
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
            message = f'Hook event "{event}" must be an array of matchers; received {json_type(matchers)}'
            if (event in STRICT_EVENTS and matchers is not None) or hides_guard(
                matchers, EVENT_SET, matchers_count=False
            ):
                block.guard(R.HOOKS_SHAPE, message, where)
            else:
                ctx.emit(R.HOOKS_SHAPE, f"{message}. The event is ignored.", where)
            continue
        kept_matchers = [_matcher(block, event, m, (*where, i)) for i, m in enumerate(matchers)]
        kept[event] = [m for m in kept_matchers if m is not None]
    return kept


def _matcher(block: _Block, event: str, entry: Any, at: Path) -> dict[str, Any] | None:
    """The matcher as Claude Code keeps it (unknown fields and bad hooks dropped), or None."""
    ctx = block.ctx
    if hides_guard(entry, EVENT_SET, matchers_count=False):
        block.guard(
            R.HOOKS_SHAPE,
            f"An entry of {event} holds PreToolUse/PermissionRequest hooks where a matcher was expected",
            at,
        )
        return None
    if not isinstance(entry, dict):
        block.defect(event, f"Hook matcher must be an object; received {json_type(entry)}", at)
        return None
    ok = True
    matcher = entry.get("matcher")
    if "matcher" in entry and not isinstance(matcher, str):
        block.defect(event, f"Hook matcher must be a string; received {json_type(matcher)}", (*at, "matcher"))
        ok = False
    hooks = entry.get("hooks")
    if not isinstance(hooks, list):
        received = "nothing" if "hooks" not in entry else json_type(hooks)
        block.defect(event, f'Hook matcher needs a "hooks" array of hook entries; received {received}', at)
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
            if _hook(block, event, hook, (*at, "hooks", i)):
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


def _hook(block: _Block, event: str, hook: Any, at: Path) -> bool:
    """Check one hook entry; True when Claude Code keeps it."""
    ctx = block.ctx
    if not isinstance(hook, dict):
        block.defect(event, f"Hook entry must be an object; received {json_type(hook)}", at)
        return False
    kind = hook.get("type")
    # A JSON array or object is unhashable: test the type before looking it up.
    if not isinstance(kind, str) or kind not in HOOK_FIELDS:
        if "type" not in hook:
            problem = 'Hook entry has no "type"'
        elif not isinstance(kind, str):
            problem = f'Unknown hook type: "type" must be a string; received {json_type(kind)}'
        else:
            problem = f'Unknown hook type "{kind}"'
        where = (*at, "type") if "type" in hook else at
        block.defect(event, f"{problem}. Valid types: {', '.join(HOOK_FIELDS)}", where)
        return False
    required, fields = HOOK_FIELDS[kind]
    problems = [f"`{name}` is required" for name in required if name not in hook]
    for name, value in hook.items():
        check = fields.get(name)
        wrong = check(value) if check is not None else None
        if wrong:
            problems.append(f"`{name}`: {wrong}")
    if problems:
        block.defect(event, f"Invalid {kind} hook ({'; '.join(problems)})", at)
    for key in hook:
        if key not in fields:
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
    return not problems
