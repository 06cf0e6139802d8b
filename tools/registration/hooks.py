"""``claude-health install --hooks``: add the guard's hooks to a Claude Code settings file.

Same guarantees as client registration: the plan is computed without touching the disk (so
``--dry-run`` shows the exact diff), only claude-health's own hook entries are added or removed,
every other byte and every other hook is kept, the result is parsed and compared with the
intended settings before anything is written, and the write is atomic with a backup
(:func:`claude_health.tools.registration.plan.apply`). Running it twice changes nothing.

One matcher group per event, holding one command hook::

    "SessionStart": [{"hooks": [{"type": "command", "command": "/abs/claude-health hook SessionStart",
                                 "timeout": 15}]}]

A claude-health hook is recognised by its command (``claude-health hook EVENT``, through any
launcher), so a re-install after claude-health moved replaces the old path instead of adding a
second entry.
"""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path
from typing import Any

from claude_health.tools.guard.dispatch import EVENTS
from claude_health.tools.paths import Workspace
from claude_health.tools.registration import jsonc
from claude_health.tools.registration.clients import RegistrationError, Scope
from claude_health.tools.registration.launch import (
    EXECUTABLE,
    MODULE_ARGS,
    Launch,
    detect_launch,
    is_module_launch,
)
from claude_health.tools.registration.plan import Action, Change, read_settings

HookScope = Scope
TITLE = "Claude Code hooks"
# Claude Code's own limit per hook run; `claude-health hook` gives up quietly well before it.
HOOK_TIMEOUT_S = 15
_Path = list[str | int]


def hook_command(launch: Launch, event: str) -> str:
    """The shell command for ``event`` (hosts run hooks with a minimal PATH: be absolute)."""
    if launch.how == "uvx":
        return f"uvx {EXECUTABLE} hook {event}"
    if launch.how == "python-module":
        return f"{shlex.quote(launch.command)} {' '.join(MODULE_ARGS)} hook {event}"
    return f"{shlex.quote(launch.command)} hook {event}"


def is_ours(command: object) -> bool:
    """A ``claude-health hook EVENT`` command, whichever way claude-health is launched."""
    if not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if words[:1] == ["uvx"]:
        words = words[1:]
    if len(words) >= 3 and Path(words[0]).name in (EXECUTABLE, f"{EXECUTABLE}.exe"):
        return words[1] == "hook"
    return is_module_launch(words, "hook")


def settings_file(ws: Workspace, scope: HookScope) -> Path:
    return {"user": ws.user_settings, "project": ws.project_settings, "local": ws.local_settings}[scope]


def entry(launch: Launch, event: str) -> dict[str, Any]:
    return {"hooks": [{"type": "command", "command": hook_command(launch, event), "timeout": HOOK_TIMEOUT_S}]}


# -- the settings, as data --------------------------------------------------------------------------


def _check_shape(path: Path, data: dict[str, Any]) -> None:
    hooks = data.get("hooks")
    if hooks is None:
        return
    if not isinstance(hooks, dict):
        raise RegistrationError(
            f"{path}: `hooks` is a {type(hooks).__name__}, not an object; fix it by hand first"
        )
    for event in EVENTS:
        groups = hooks.get(event)
        if groups is not None and not isinstance(groups, list):
            raise RegistrationError(f"{path}: `hooks.{event}` is not an array; fix it by hand first")


def _our_positions(groups: list[Any]) -> list[tuple[int, int | None]]:
    """(group index, hook index or None for the whole group) of every claude-health hook."""
    found: list[tuple[int, int | None]] = []
    for gi, group in enumerate(groups):
        inner = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(inner, list):
            continue
        ours = [
            hi for hi, hook in enumerate(inner) if isinstance(hook, dict) and is_ours(hook.get("command"))
        ]
        if not ours:
            continue
        if len(ours) == len(inner) and set(group) <= {"hooks", "matcher"}:
            found.append((gi, None))
        else:
            found.extend((gi, hi) for hi in ours)
    return found


def _without_ours(groups: list[Any]) -> list[Any]:
    out = copy.deepcopy(groups)
    for gi, hi in sorted(
        _our_positions(groups), key=lambda p: (p[0], -1 if p[1] is None else p[1]), reverse=True
    ):
        if hi is None:
            del out[gi]
        else:
            del out[gi]["hooks"][hi]
    return out


def target(data: dict[str, Any], launch: Launch, *, remove: bool) -> dict[str, Any]:
    """The settings as they should be after (un)installing."""
    new = copy.deepcopy(data)
    hooks = dict(new.get("hooks") or {})
    for event in EVENTS:
        groups = hooks.get(event)
        kept = _without_ours(groups) if isinstance(groups, list) else []
        if remove:
            if isinstance(groups, list) and kept != groups and not kept:
                del hooks[event]
            elif isinstance(groups, list):
                hooks[event] = kept
        else:
            hooks[event] = [*kept, entry(launch, event)]
    if remove and "hooks" in new and not hooks and data.get("hooks") != {}:
        del new["hooks"]
    elif hooks or "hooks" in new:
        new["hooks"] = hooks
    return new


def installed(data: dict[str, Any], launch: Launch) -> bool:
    """Every guard event holds exactly claude-health's current entry, once."""
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return False
    for event in EVENTS:
        groups = hooks.get(event)
        if not isinstance(groups, list) or len(_our_positions(groups)) != 1:
            return False
        if entry(launch, event) not in groups:
            return False
    return True


# -- the text, edited in place ----------------------------------------------------------------------


def _node(doc: jsonc.Document, path: _Path) -> jsonc.Node | None:
    node: jsonc.Node | None = doc.root
    for key in path:
        if node is None:
            return None
        if isinstance(key, int):
            node = node.items[key] if node.kind == "array" and key < len(node.items) else None
        else:
            node = node.get(key) if node.kind == "object" else None
    return node


def _indent(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _remove_item(doc: jsonc.Document, path: _Path, index: int) -> str:
    array = _node(doc, path)
    assert array is not None and array.kind == "array"
    text = doc.text
    items = array.items
    if len(items) == 1:
        return text[: array.start] + "[]" + text[array.end :]
    if index < len(items) - 1:
        return text[: items[index].start] + text[items[index + 1].start :]
    return text[: items[index - 1].end] + text[items[index].end :]


def _append_item(doc: jsonc.Document, path: _Path, value: Any) -> str:
    array = _node(doc, path)
    assert array is not None and array.kind == "array"
    text = doc.text
    nl = _newline(text)
    unit = jsonc.detect_indent_unit(doc)
    if not array.items:
        outer = _indent(text, array.start)
        inner = outer + unit
        body = f"[{nl}{inner}{jsonc.render_value(value, unit, inner, nl)}{nl}{outer}]"
        return text[: array.start] + body + text[array.end :]
    last = array.items[-1]
    if text.rfind("\n", 0, last.start) > array.start:  # one item per line
        indent = _indent(text, last.start)
        insertion = f",{nl}{indent}{jsonc.render_value(value, unit, indent, nl)}"
    else:
        insertion = ", " + json.dumps(value, ensure_ascii=False)
    return text[: last.end] + insertion + text[last.end :]


def _edit(text: str, data: dict[str, Any], launch: Launch, *, remove: bool) -> str:
    """Apply the (un)install to ``text`` one in-place edit at a time, re-parsing between edits."""

    def parse(current: str) -> jsonc.Document:
        return jsonc.parse(current, allow_comments=False)

    doc = parse(text)
    hooks = data.get("hooks") if isinstance(data.get("hooks"), dict) else {}
    emptied: list[str] = []
    for event in EVENTS:
        groups = hooks.get(event) if isinstance(hooks, dict) else None
        if not isinstance(groups, list):
            continue
        positions = _our_positions(groups)
        for gi, hi in sorted(positions, key=lambda p: (p[0], -1 if p[1] is None else p[1]), reverse=True):
            if hi is None:
                text = _remove_item(doc, ["hooks", event], gi)
            else:
                text = _remove_item(doc, ["hooks", event, gi, "hooks"], hi)
            doc = parse(text)
        if positions and not _without_ours(groups):
            emptied.append(event)
    for event in EVENTS:
        if remove:
            if event in emptied:
                removed = jsonc.remove_path(doc, ["hooks", event])
                if removed is None:
                    raise ValueError(f"cannot remove hooks.{event}")
                text = removed
                doc = parse(text)
            continue
        value = entry(launch, event)
        if _node(doc, ["hooks", event]) is None:
            text = jsonc.set_path(doc, ["hooks", event], [value])
        else:
            text = _append_item(doc, ["hooks", event], value)
        doc = parse(text)
    root_hooks = _node(doc, ["hooks"])
    emptied_root = root_hooks is not None and root_hooks.kind == "object" and not root_hooks.members
    if remove and emptied_root and data.get("hooks") != {}:
        removed = jsonc.remove_path(doc, ["hooks"])
        if removed is not None:
            text = removed
    return text


def plan_hooks(
    ws: Workspace, scope: HookScope = "user", *, remove: bool = False, launch: Launch | None = None
) -> Change:
    """Plan adding (or removing) claude-health's hooks in one Claude Code settings file."""
    path = settings_file(ws, scope)
    launch = launch or detect_launch(env=ws.env)
    text, _, data = read_settings(path)
    _check_shape(path, data)
    commands = {event: hook_command(launch, event) for event in EVENTS}
    summary: dict[str, Any] = {"events": commands, "timeout": HOOK_TIMEOUT_S}
    expected = target(data, launch, remove=remove)
    if expected == data or (not remove and installed(data, launch)):
        kept: Action = "absent" if remove else "unchanged"
        return Change("claude-code", TITLE, scope, path, kept, text, text, summary)
    if text is None or not text.strip():
        new_text = jsonc.render_value(expected, "  ", "", "\n") + "\n"
    else:
        try:
            new_text = _edit(text, data, launch, remove=remove)
        except (ValueError, AssertionError, jsonc.JsoncError):
            new_text = "\x00"
    try:
        ok = json.loads(new_text.removeprefix("\ufeff")) == expected
    except ValueError:
        ok = False
    if not ok:
        raise RegistrationError(f"{path}: cannot edit `hooks` safely; edit it by hand, nothing was changed")
    action: Action = "remove" if remove else ("create" if text is None else "update")
    notes = () if remove else (_note(scope),)
    return Change("claude-code", TITLE, scope, path, action, text, new_text, summary, notes)


def _note(scope: HookScope) -> str:
    events = ", ".join(EVENTS)
    where = {
        "user": "every Claude Code session",
        "project": "sessions in this project (committed file)",
        "local": "your sessions in this project",
    }[scope]
    return f"hooks for {events} run in {where}; remove them with `claude-health uninstall --hooks`"
