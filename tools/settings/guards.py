"""Where Claude Code looks for "guard" hooks it cannot load.

Claude Code 2.1.332 treats a PreToolUse, PermissionRequest or PreSkillShellCommand hook as a
guard: it may be what protects the permissions declared beside it. When such a hook is written
in a shape Claude Code cannot load, it does not apply anything else from that settings file
(a managed document instead loses its whole ``hooks`` field). To find such hooks it also scans,
three levels deep, the places where people put them by mistake: the top level of the file, other
keys, another event's array, an unknown event, or a ``hooks`` value that is one matcher or an
array of matchers. The functions below reproduce that scan (observed with ``claude doctor``;
tests/test_settings_e2e.py holds the cases).
"""

from __future__ import annotations

from typing import Any

GUARD_EVENTS = frozenset({"PreToolUse", "PermissionRequest", "PreSkillShellCommand"})

# Keys whose values are never scanned for misplaced guard hooks (they hold other people's
# documents or free-form maps).
UNSCANNED_SETTINGS_KEYS = frozenset(
    {
        "mcpServers",
        "managedMcpServers",
        "lspServers",
        "pluginConfigs",
        "enabledPlugins",
        "extraKnownMarketplaces",
        "env",
        "skillOverrides",
        "modelSettings",
    }
)
SCAN_DEPTH = 3


def declares_guard(value: Any) -> bool:
    """An object with a guard event whose value is set (not null, not an empty array)."""
    return isinstance(value, dict) and any(
        key in GUARD_EVENTS and item is not None and item != [] for key, item in value.items()
    )


def looks_like_matcher(value: Any, events: frozenset[str]) -> bool:
    """An object shaped like ``{"matcher": ..., "hooks": [...]}`` (one matcher, not an event map)."""
    if not isinstance(value, dict):
        return False
    if "matcher" not in value and any(key in events for key in value):
        return False
    hooks = value.get("hooks")
    if isinstance(hooks, list):
        return len(hooks) > 0
    return isinstance(hooks, dict) and ("matcher" in value or isinstance(hooks.get("type"), str))


def hides_guard(
    value: Any,
    events: frozenset[str],
    depth: int = SCAN_DEPTH,
    *,
    matchers_count: bool = True,
    unscanned: frozenset[str] = frozenset(),
    in_hooks_list: bool = False,
) -> bool:
    """Does ``value`` hold guard hooks (or, when ``matchers_count``, a matcher) within ``depth``?

    A matcher below an event name does not count (it belongs to that event); hook entries of a
    ``hooks`` list are not looked into.
    """
    if declares_guard(value):
        return True
    if matchers_count and looks_like_matcher(value, events):
        return True
    if depth == 0:
        return False
    if isinstance(value, list):
        return any(
            hides_guard(
                item,
                events,
                depth - 1,
                matchers_count=matchers_count,
                unscanned=unscanned,
                in_hooks_list=in_hooks_list,
            )
            for item in value
        )
    if not isinstance(value, dict):
        return False
    if in_hooks_list and isinstance(value.get("type"), str):
        return False
    return any(
        key not in unscanned
        and hides_guard(
            item,
            events,
            depth - 1,
            matchers_count=matchers_count and key not in events,
            unscanned=unscanned,
            in_hooks_list=key == "hooks" and isinstance(item, list),
        )
        for key, item in value.items()
    )


def holds_matchers(value: Any, events: frozenset[str]) -> bool:
    """A matcher, or an array (of arrays, at any depth) holding one, or an object declaring guard
    hooks. Iterative: the nesting depth is the file's to choose."""
    stack = [value]
    while stack:
        item = stack.pop()
        if looks_like_matcher(item, events) or declares_guard(item):
            return True
        if isinstance(item, list):
            stack.extend(item)
    return False


def misplaced_guard_key(data: dict[str, Any], events: frozenset[str]) -> str | None:
    """The top-level key at or under which guard hooks (or matchers) are declared outside
    ``hooks``, or None."""
    for key, item in data.items():
        if key in GUARD_EVENTS and item is not None and item != []:
            return key
    for key, item in data.items():
        if key == "hooks" or key in UNSCANNED_SETTINGS_KEYS:
            continue
        if hides_guard(item, events, unscanned=UNSCANNED_SETTINGS_KEYS, matchers_count=key not in events):
            return key
    return None
