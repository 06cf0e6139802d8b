"""Planning and applying a registration: what the file holds now, what it will hold, the diff.

A plan is computed first and never touches the disk, so ``--dry-run`` shows exactly what a real
run would write. Every edit is checked by parsing the result and comparing it with the
intended data: if anything besides the ``claude-health`` entry would change, nothing is written.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from claude_health.tools.paths import Workspace
from claude_health.tools.registration import jsonc, tomlfile
from claude_health.tools.registration.atomic import atomic_replace, read_config_bytes
from claude_health.tools.registration.clients import (
    SERVER_NAME,
    ClientTemplate,
    RegistrationError,
    Scope,
    Transport,
    config_path,
    load_template,
)
from claude_health.tools.registration.launch import Launch, detect_launch

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

    @property
    def writes(self) -> bool:
        return self.action in ("create", "update", "remove")

    def diff(self) -> str:
        """A unified diff of the edit, with anything secret-looking redacted."""
        if not self.writes or self.after is None:
            return ""
        name = str(self.path)
        lines = difflib.unified_diff(
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


def scrub(text: str) -> str:
    """Hide credential values in diff lines (config files can hold keys of any provider)."""
    from claude_health.tools.keys.literals import scrub_line

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


def _parse_json(path: Path, text: str, template: ClientTemplate) -> jsonc.Document:
    allow = template.format == "jsonc"
    try:
        doc = jsonc.parse(text, allow_comments=allow)
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
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
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
            got = jsonc.parse(new_text, allow_comments=template.format == "jsonc").root.to_python()
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


def plan_install(
    ws: Workspace,
    client: str,
    *,
    scope: Scope | None = None,
    transport: Transport = "stdio",
    launch: Launch | None = None,
    url: str = DEFAULT_URL,
) -> Change:
    template = load_template(client)
    scope = scope or template.default_scope
    path = config_path(client, scope, ws)
    launch = launch or detect_launch(env=ws.env)
    entry = template.entry(transport, launch.command, launch.args, url)
    notes = template.notes
    if path is None:
        snippet = json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2) + "\n"
        return Change(client, template.title, scope, None, "snippet", None, snippet, entry, notes)
    keys = [*template.key, SERVER_NAME]
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
        if _get(data, keys) == entry:
            return Change(client, template.title, scope, path, "unchanged", text, text, entry, notes)
        new_text = tomlfile.set_table(text, keys, entry)
    else:
        doc = _parse_json(path, text, template)
        data = doc.root.to_python()
        _check_container(path, data, keys)
        if _get(data, keys) == entry:
            return Change(client, template.title, scope, path, "unchanged", text, text, entry, notes)
        try:
            new_text = jsonc.set_path(doc, keys, entry)
        except ValueError as exc:
            raise RegistrationError(f"{path}: {exc}; fix it by hand first, nothing was changed") from None
    _verify(path, new_text, _with(data, keys, entry), template)
    return Change(client, template.title, scope, path, "update", text, new_text, entry, notes)


def plan_uninstall(ws: Workspace, client: str, *, scope: Scope | None = None) -> Change:
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


def apply(change: Change, now: datetime | None = None) -> Applied:
    """Write a planned change (atomically, with a backup); a no-op for unchanged/absent/snippet."""
    if not change.writes or change.path is None or change.after is None:
        return Applied(change, None)
    expected = None if change.before is None else change.before.encode("utf-8")
    backup = atomic_replace(change.path, change.after.encode("utf-8"), expected=expected, now=now)
    return Applied(change, backup)
