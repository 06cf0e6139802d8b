"""Planning and applying a registration: what the file holds now, what it will hold, the diff.

A plan is computed first and never touches the disk, so ``--dry-run`` shows exactly what a real
run would write. Every edit is checked by parsing the result and comparing it with the
intended data: if anything besides the ``claude-health`` entry would change, nothing is written.
An existing ``claude-health`` entry is merged, not replaced: install owns how the server is
launched or reached (``command``, ``args`` up to ``serve``, ``type``, the URL key), and every
other key the user gave it (``env``, ``headers``, extra ``args`` after ``serve``, ``disabled``,
timeouts, ...) is kept. :func:`apply_fresh` plans again when another program saved the file
between the plan and the write.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from claude_health.tools.keys.literals import scrub_line
from claude_health.tools.paths import Workspace
from claude_health.tools.registration import jsonc, tomlfile
from claude_health.tools.registration.atomic import (
    NO_HOOKS,
    ConcurrentChangeError,
    Hooks,
    atomic_replace,
    read_config_bytes,
)
from claude_health.tools.registration.clients import (
    SERVER_NAME,
    ClientTemplate,
    RegistrationError,
    Scope,
    Transport,
    config_path,
    load_template,
)
from claude_health.tools.registration.launch import SERVE_ARGS, Launch, detect_launch, portable_launch
from claude_health.tools.state import backup_dir_name

ATTEMPTS = 5
"""Plans made before giving up on a file another program keeps saving."""

Action = Literal["create", "update", "unchanged", "remove", "absent", "snippet"]

DEFAULT_URL = "http://127.0.0.1:8765/mcp"


@dataclass(frozen=True)
class Change:
    """One planned edit of one client's configuration."""

    client: str
    title: str
    scope: Scope
    path: Path | None
    action: Action
    before: str | None
    after: str | None
    entry: dict[str, Any] | None
    notes: tuple[str, ...] = ()
    # Where apply() keeps the previous file: claude-health's own state directory (tools/state.py).
    backup_dir: Path | None = None

    @property
    def writes(self) -> bool:
        return self.action in ("create", "update", "remove")

    def diff(self) -> str:
        """A unified diff of the edit, with anything secret-looking redacted."""
        if not self.writes or self.after is None:
            return ""
        name = str(self.path)
        lines = _window_diff(
            (self.before or "").splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=name if self.before is not None else "/dev/null",
            tofile=name,
        )
        out = []
        for line in lines:
            out.append(scrub(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"))
        return "".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "title": self.title,
            "scope": self.scope,
            "path": str(self.path) if self.path else None,
            "action": self.action,
            "entry": self.entry,
            "notes": list(self.notes),
        }


_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def _window_diff(before: list[str], after: list[str], *, fromfile: str, tofile: str) -> Iterator[str]:
    """``difflib.unified_diff`` of the lines that differ (plus context), numbered as in the files.

    An edit changes one region of the file; diffing only that region keeps a ~/.claude.json of
    hundreds of thousands of lines from costing difflib's quadratic matching (tens of seconds).
    """
    context = 3
    same_head = 0
    limit = min(len(before), len(after))
    while same_head < limit and before[same_head] == after[same_head]:
        same_head += 1
    same_tail = 0
    while (
        same_tail < limit - same_head
        and before[len(before) - 1 - same_tail] == after[len(after) - 1 - same_tail]
    ):
        same_tail += 1
    start = max(0, same_head - context)
    cut = max(0, same_tail - context)
    window = difflib.unified_diff(
        before[start : len(before) - cut], after[start : len(after) - cut], fromfile, tofile, n=context
    )
    for line in window:
        match = _HUNK.match(line) if start else None
        if match:
            old, old_len, new, new_len = match.groups()
            head = f"@@ -{int(old) + start}{old_len or ''} +{int(new) + start}{new_len or ''} @@"
            line = head + line[match.end() :]
        yield line


def scrub(text: str) -> str:
    """Hide credential values in diff lines (config files can hold keys of any provider)."""
    return scrub_line(text)


# -- reading -------------------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    """The file's text (None when absent); any other defect is a RegistrationError."""
    raw = read_config_bytes(path)
    if raw is None:
        return None
    if b"\x00" in raw:
        raise RegistrationError(f"{path} is binary (contains NUL bytes), not a config file; not touching it")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RegistrationError(f"{path} is not valid UTF-8 (byte {exc.start}); not touching it") from None


def read_settings(path: Path) -> tuple[str | None, jsonc.Document | None, dict[str, Any]]:
    """A Claude Code settings file to edit: its text (None when absent), its document and value
    (None and {} when absent or blank). Anything but a JSON object is a RegistrationError."""
    text = _read(path)
    if text is None or not text.strip():
        return text, None, {}
    try:
        doc = jsonc.parse(text, allow_comments=False)
    except jsonc.JsoncError as exc:
        raise RegistrationError(
            f"{path}:{exc.line}:{exc.column}: not valid JSON: {exc.reason} (Claude Code ignores this "
            "file too). Fix it first; nothing was changed."
        ) from None
    if doc.root.kind != "object":
        raise RegistrationError(f"{path} must hold a JSON object; nothing was changed")
    return text, doc, doc.root.to_python()


def _parse_json(path: Path, text: str, template: ClientTemplate) -> jsonc.Document:
    allow = template.format == "jsonc"
    try:
        # Spans down to the entry's container; below, values are decoded whole (fast for a
        # ~/.claude.json of tens of MiB of project history).
        doc = jsonc.parse(text, allow_comments=allow, expand=len(template.key) + 1)
    except jsonc.JsoncError as exc:
        extra = "" if allow else f" ({template.title} reads strict JSON, so it cannot read this file either)"
        raise RegistrationError(
            f"{path}:{exc.line}:{exc.column}: not valid JSON: {exc.reason}{extra}. Fix the file or move it "
            "aside; nothing was changed."
        ) from None
    if doc.root.kind != "object":
        raise RegistrationError(f"{path} must hold a JSON object, not a {doc.root.kind}; nothing was changed")
    return doc


def _get(data: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _with(data: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    """``data`` with ``path`` set (or deleted); only the dicts along the path are copied (the
    rest is shared, never mutated: a deep copy of a big ~/.claude.json costs seconds)."""
    out = dict(data)
    node = out
    for key in path[:-1]:
        child = node.get(key)
        node[key] = dict(child) if isinstance(child, dict) else {}
        node = node[key]
    if value is _DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out


_DELETE = object()


def _check_container(path: Path, data: dict[str, Any], keys: list[str]) -> None:
    node: Any = data
    for depth, key in enumerate(keys[:-1]):
        node = node.get(key) if isinstance(node, dict) else None
        if node is not None and not isinstance(node, dict):
            where = ".".join(keys[: depth + 1])
            raise RegistrationError(
                f"{path}: `{where}` is a {type(node).__name__}, not an object/table; fix it by hand first"
            )


def _verify(
    path: Path, new_text: str, expected: dict[str, Any], template: ClientTemplate, *also: dict[str, Any]
) -> None:
    """Parse what would be written; anything other than the intended change aborts the write."""
    try:
        if template.format == "toml":
            got: Any = tomlfile.parse(new_text)
        else:
            got = jsonc.parse(new_text, allow_comments=template.format == "jsonc", expand=0).root.to_python()
            if template.format == "json":
                got = json.loads(new_text.removeprefix("\ufeff"))
    except ValueError as exc:  # TomlProblem, JSON errors
        got = f"unparseable: {exc}"
    if got != expected and got not in also:
        raise RegistrationError(
            f"{path}: cannot edit this file safely (the claude-health entry is written in a form this tool "
            "does not rewrite, e.g. an inline table or dotted keys). Edit it by hand; nothing was changed."
        )


# -- planning ------------------------------------------------------------------------------------


def backup_dir(ws: Workspace) -> Path:
    """Where backups of the files claude-health edits go: never beside them (see tools/state.py)."""
    return Path(backup_dir_name(ws.env, ws.home))


def _owned_keys(template: ClientTemplate) -> set[str]:
    """The entry keys install writes: how the server is launched or reached (never ``env``)."""
    shapes = [template.stdio, template.http or {}]
    return {key for shape in shapes for key in shape if key != "env"}


def _merged_args(existing: Any, ours: Any) -> Any:
    """Our launch arguments, then whatever the user added after ``serve``."""
    if not isinstance(existing, list) or not isinstance(ours, list):
        return ours
    marker = SERVE_ARGS[-1]
    if marker not in existing:
        return ours
    return [*ours, *existing[existing.index(marker) + 1 :]]


def merge_entry(template: ClientTemplate, existing: Any, entry: dict[str, Any]) -> dict[str, Any]:
    """The entry to write over ``existing``: install's keys from ``entry``, the rest as it was.

    Keys of the other transport (``command``/``args`` when switching to HTTP, the URL when
    switching to stdio) are dropped: they would contradict the new ones. Key order is kept.
    """
    if not isinstance(existing, dict):
        return entry
    owned = _owned_keys(template)
    merged: dict[str, Any] = {}
    for key, value in existing.items():
        if key in owned and key not in entry:
            continue
        merged[key] = value
    for key, value in entry.items():
        if key == "env":
            merged.setdefault(key, value)
        elif key == "args":
            merged[key] = _merged_args(existing.get(key), value)
        else:
            merged[key] = value
    return merged


def plan_install(
    ws: Workspace,
    client: str,
    *,
    scope: Scope | None = None,
    transport: Transport = "stdio",
    launch: Launch | None = None,
    url: str = DEFAULT_URL,
    portable: bool = False,
) -> Change:
    """Plan registering claude-health with ``client``.

    ``launch`` is the command to write (default: see :func:`_launch_for`); ``portable`` asks for
    one that works on every machine (``claude-health`` on PATH, else ``uvx claude-health``).
    """
    change = _plan_install(
        ws, client, scope=scope, transport=transport, launch=launch, url=url, portable=portable
    )
    return dataclasses.replace(change, backup_dir=backup_dir(ws))


def _launch_for(
    ws: Workspace, client: str, path: Path | None, launch: Launch | None, *, shared: bool, portable: bool
) -> tuple[Launch, tuple[str, ...]]:
    """The stdio command to write, and what the user must know about it.

    A project-scope file (``.mcp.json``, ``.vscode/mcp.json``, ...) is meant to be committed, so
    this machine's virtualenv path does not belong in it. When ``claude-health`` is on PATH the
    bare name works here and elsewhere, so it is the default there; otherwise the absolute path
    is kept (it works now) with a warning that names the portable alternative.
    """
    if launch is None:
        if portable:
            launch = portable_launch(ws.env)
        else:
            launch = detect_launch(env=ws.env)
            if shared and launch.machine_specific and portable_launch(ws.env).how == "path":
                detected = launch.command
                launch = portable_launch(ws.env)
                name = path.name if path else "the file"
                return launch, (
                    f"Wrote `{launch.shown()}` (claude-health is on PATH here) rather than {detected}: "
                    f"{name} is meant to be committed, and that path exists on this machine only. "
                    "Everyone using the project needs `claude-health` on PATH (e.g. `pipx install "
                    "claude-health`); `--command PATH` writes a path instead.",
                )
    if not shared:
        return launch, ()
    name = path.name if path else "the file"
    if launch.machine_specific:
        alternative = portable_launch(ws.env)
        return launch, (
            f"Warning: {name} is meant to be committed, but this entry runs {launch.command}, which "
            f"exists on this machine only. For an entry that works on every machine, run `claude-health "
            f"install --client {client} --portable` (it writes `{alternative.shown()}`"
            + ("; everyone needs uv" if alternative.how == "uvx" else "")
            + "), or keep the file out of git.",
        )
    if launch.how == "uvx":
        return launch, (
            f"`{launch.shown()}` needs uv on every machine that uses {name}; it runs the claude-health "
            "release on PyPI.",
        )
    return launch, ()


def _plan_install(
    ws: Workspace,
    client: str,
    *,
    scope: Scope | None,
    transport: Transport,
    launch: Launch | None,
    url: str,
    portable: bool,
) -> Change:
    template = load_template(client)
    scope = scope or template.default_scope
    path = config_path(client, scope, ws)
    shared = scope == "project" and path is not None and transport == "stdio"
    launch, launch_notes = _launch_for(ws, client, path, launch, shared=shared, portable=portable)
    entry = template.entry(transport, launch.command, launch.args, url)
    notes = (*launch_notes, *template.notes)
    if path is None:
        snippet = json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2) + "\n"
        return Change(client, template.title, scope, None, "snippet", None, snippet, entry, notes)
    keys = [*template.key, SERVER_NAME]
    fresh = entry
    text = _read(path)
    if text is None or not text.strip():
        data: dict[str, Any] = {}
        if template.format == "toml":
            new_text = tomlfile.render_tables(keys, entry)
        else:
            new_text = jsonc.render_value(_with({}, keys, entry), "  ", "", "\n") + "\n"
        _verify(path, new_text, _with(data, keys, entry), template)
        return Change(
            client,
            template.title,
            scope,
            path,
            "create" if text is None else "update",
            text,
            new_text,
            entry,
            notes,
        )
    if template.format == "toml":
        try:
            data = tomlfile.parse(text)
        except ValueError as exc:
            raise RegistrationError(
                f"{path}: not valid TOML: {exc}. Fix the file first; nothing was changed."
            ) from None
        _check_container(path, data, keys)
        entry = merge_entry(template, _get(data, keys), fresh)
        if _get(data, keys) == entry:
            return Change(client, template.title, scope, path, "unchanged", text, text, entry, notes)
        new_text = tomlfile.set_table(text, keys, entry)
    else:
        doc = _parse_json(path, text, template)
        data = doc.root.to_python()
        _check_container(path, data, keys)
        entry = merge_entry(template, _get(data, keys), fresh)
        if _get(data, keys) == entry:
            return Change(client, template.title, scope, path, "unchanged", text, text, entry, notes)
        try:
            new_text = jsonc.set_path(doc, keys, entry)
        except ValueError as exc:
            raise RegistrationError(f"{path}: {exc}; fix it by hand first, nothing was changed") from None
    _verify(path, new_text, _with(data, keys, entry), template)
    return Change(client, template.title, scope, path, "update", text, new_text, entry, notes)


def plan_uninstall(ws: Workspace, client: str, *, scope: Scope | None = None) -> Change:
    return dataclasses.replace(_plan_uninstall(ws, client, scope), backup_dir=backup_dir(ws))


def _plan_uninstall(ws: Workspace, client: str, scope: Scope | None) -> Change:
    template = load_template(client)
    scope = scope or template.default_scope
    path = config_path(client, scope, ws)
    if path is None:
        return Change(client, template.title, scope, None, "snippet", None, None, None, template.notes)
    keys = [*template.key, SERVER_NAME]
    text = _read(path)
    if text is None or not text.strip():
        return Change(client, template.title, scope, path, "absent", text, text, None)
    if template.format == "toml":
        try:
            data = tomlfile.parse(text)
        except ValueError as exc:
            raise RegistrationError(
                f"{path}: not valid TOML: {exc}. Fix the file first; nothing was changed."
            ) from None
        if _get(data, keys) is None:
            return Change(client, template.title, scope, path, "absent", text, text, None)
        new_text = tomlfile.remove_table(text, keys)
    else:
        doc = _parse_json(path, text, template)
        data = doc.root.to_python()
        if _get(data, keys) is None and not _has_key(data, keys):
            return Change(client, template.title, scope, path, "absent", text, text, None)
        try:
            new_text = jsonc.remove_path(doc, keys)
        except ValueError as exc:
            raise RegistrationError(f"{path}: {exc}; fix it by hand first, nothing was changed") from None
    if new_text is None:
        new_text = "\x00"  # forces the verification below to refuse
    expected = _with(data, keys, _DELETE)
    # A TOML parent table that only held our entry disappears with it; that is the same file.
    pruned = _with(expected, keys[:-1], _DELETE) if _get(expected, keys[:-1]) == {} else expected
    _verify(path, new_text, expected, template, pruned)
    return Change(client, template.title, scope, path, "remove", text, new_text, _get(data, keys))


def _has_key(data: Any, keys: list[str]) -> bool:
    parent = _get(data, keys[:-1])
    return isinstance(parent, dict) and keys[-1] in parent


@dataclass(frozen=True)
class Applied:
    change: Change
    backup: Path | None


def apply(change: Change, now: datetime | None = None, hooks: Hooks = NO_HOOKS) -> Applied:
    """Write a planned change (atomically, with a backup); a no-op for unchanged/absent/snippet.

    :class:`ConcurrentChangeError` when the file no longer holds what the change was planned
    from: nothing was written.
    """
    if not change.writes or change.path is None or change.after is None:
        return Applied(change, None)
    expected = None if change.before is None else change.before.encode("utf-8")
    after = change.after.encode("utf-8")
    backup = atomic_replace(
        change.path, after, expected=expected, now=now, backup_dir=change.backup_dir, hooks=hooks
    )
    return Applied(change, backup)


def apply_fresh(
    make: Callable[[], Change],
    *,
    attempts: int = ATTEMPTS,
    now: datetime | None = None,
    hooks: Hooks = NO_HOOKS,
) -> Applied:
    """Plan with ``make`` and write; when another program saved the file in between, plan again
    on what it saved, up to ``attempts`` times, then give up (nothing written either way)."""
    for attempt in range(1, attempts + 1):
        change = make()
        try:
            return apply(change, now=now, hooks=hooks)
        except ConcurrentChangeError as exc:
            if attempt >= attempts:
                raise ConcurrentChangeError(
                    f"{change.path} kept changing while claude-health was editing it ({attempts} "
                    "attempts); nothing was changed. Another program is saving it (Claude Code "
                    "rewrites ~/.claude.json often): run the command again when it is idle"
                ) from exc
    raise ValueError(f"attempts must be at least 1, got {attempts}")
