"""Every managed (policy) settings source Claude Code reads on this OS, and which one it applies.

Claude Code takes managed settings from the first source that delivers any ("first source wins";
code.claude.com/docs/en/managed-settings, read 2026-12-07, and the Claude Code 2.1.330 bundle),
highest first:

1. server-managed settings from the claude.ai admin console (fetched at run time: not visible
   here);
2. MDM: on macOS the ``com.anthropic.claudecode`` profile in ``/Library/Managed Preferences``
   (the per-user plist before the device one); on Windows ``HKLM\\SOFTWARE\\Policies\\ClaudeCode``,
   value ``Settings`` (a REG_SZ holding the settings JSON);
3. ``managed-settings.json`` with its ``managed-settings.d/*.json`` drop-ins;
4. on Windows ``HKCU\\SOFTWARE\\Policies\\ClaudeCode``, only when no admin source exists.

``managedSourcesBehavior: "merge"`` in the highest source present makes the admin sources (2, 3)
deep-merge instead, the higher one winning. A plist's dictionary is the settings object itself.

Injectable for tests and support: ``CLAUDE_HEALTH_MANAGED_PREFERENCES_DIR`` moves the Managed
Preferences root, and :func:`registry_reader` supplies the registry (``winreg`` is used only on
Windows; elsewhere the registry is reported as not read).
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from claude_health.tools.files import TextRead, json_object_of, read_text
from claude_health.tools.paths import Workspace

PREFERENCES_DIR_OVERRIDE = "CLAUDE_HEALTH_MANAGED_PREFERENCES_DIR"
MANAGED_PREFERENCES = "/Library/Managed Preferences"
PLIST_NAME = "com.anthropic.claudecode.plist"
REGISTRY_KEY = "SOFTWARE\\Policies\\ClaudeCode"
REGISTRY_VALUE = "Settings"
REGISTRY_STRING_TYPES = frozenset({"REG_SZ", "REG_EXPAND_SZ"})
# Claude Code reads at most 2 MiB of a registry value; a policy document is far smaller.
MAX_SOURCE_BYTES = 2 * 1024 * 1024

Tier = Literal["mdm", "file", "hkcu"]
Origin = Literal["plist", "registry", "file"]
Behavior = Literal["first-wins", "merge"]


@dataclass(frozen=True, slots=True)
class RegistryRead:
    """One registry value: absent, unreadable (``problem``), or its data and type name."""

    exists: bool
    value: object = None
    type_name: str | None = None  # "REG_SZ", "REG_DWORD", ...
    problem: str | None = None


# (hive "HKLM" or "HKCU", key under the hive, value name) -> what the registry holds.
RegistryReader = Callable[[str, str, str], RegistryRead]

_REGISTRY: ContextVar[RegistryReader | None] = ContextVar("claude_health_registry", default=None)


@contextmanager
def registry_reader(reader: RegistryReader) -> Iterator[None]:
    """Read the Windows registry through ``reader`` inside this block (tests, support tools)."""
    token = _REGISTRY.set(reader)
    try:
        yield
    finally:
        _REGISTRY.reset(token)


def _winreg_read(hive: str, key: str, value: str) -> RegistryRead:  # pragma: no cover - Windows only
    if sys.platform == "win32":
        import winreg

        root = winreg.HKEY_LOCAL_MACHINE if hive == "HKLM" else winreg.HKEY_CURRENT_USER
        names = {
            winreg.REG_SZ: "REG_SZ",
            winreg.REG_EXPAND_SZ: "REG_EXPAND_SZ",
            winreg.REG_DWORD: "REG_DWORD",
            winreg.REG_MULTI_SZ: "REG_MULTI_SZ",
            winreg.REG_BINARY: "REG_BINARY",
        }
        try:
            # SOFTWARE\Policies is shared by the 32- and 64-bit views; ask the 64-bit one explicitly.
            with winreg.OpenKey(root, key, 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY) as handle:
                data, kind = winreg.QueryValueEx(handle, value)
        except FileNotFoundError:
            return RegistryRead(exists=False)
        except OSError as exc:
            return RegistryRead(exists=True, problem=f"cannot be read: {exc.strerror or type(exc).__name__}")
        return RegistryRead(exists=True, value=data, type_name=names.get(kind, f"type {kind}"))
    return RegistryRead(exists=False, problem="the registry can only be read on Windows")


def _current_reader() -> RegistryReader | None:
    injected = _REGISTRY.get()
    if injected is not None:
        return injected
    return _winreg_read if sys.platform == "win32" else None


@dataclass(frozen=True, slots=True)
class ManagedSource:
    """One place managed settings can come from, what it holds, and whether Claude Code applies it."""

    name: str  # in words: "MDM profile (per-user)", "HKLM policy", "managed-settings.json", ...
    tier: Tier
    origin: Origin
    location: str  # a file path, or the registry value's full name
    exists: bool
    data: dict[str, Any] | None = field(default=None, repr=False)  # the object, when it parses to one
    text: str | None = field(default=None, repr=False)  # plist/registry: the JSON Claude Code judges
    problem: str | None = None  # why the source cannot be used at all
    applied: bool = False
    note: str | None = None
    # managed-settings.json and drop-ins: the file as read once, for the validator to judge.
    file_read: TextRead | None = field(default=None, repr=False, compare=False)

    @property
    def present(self) -> bool:
        """Delivers settings: Claude Code counts a source only when it holds a non-empty object."""
        return bool(self.data)

    def text_read(self) -> TextRead:
        """A plist or registry source as the text the settings validator judges.

        A source that cannot be used at all has nothing to judge: it reads as absent here, and
        the managed-source verdicts report why (S021). A file is judged from the one read that
        decided the precedence, not read again.
        """
        if self.file_read is not None:
            return self.file_read
        usable = self.exists and self.problem is None and self.text is not None
        return TextRead(Path(self.location), usable, self.text if usable else None)


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """All managed sources, highest precedence first, and how Claude Code combines them."""

    sources: tuple[ManagedSource, ...]
    behavior: Behavior = "first-wins"
    winner: ManagedSource | None = None  # the source whose settings apply (first-wins)

    def merge_order(self) -> list[ManagedSource]:
        """Lowest precedence first: the order in which applied sources merge, later winning."""
        return list(reversed(self.sources))

    def applied(self) -> list[ManagedSource]:
        return [s for s in self.merge_order() if s.applied]


def preferences_dir(ws: Workspace) -> Path:
    override = ws.env.get(PREFERENCES_DIR_OVERRIDE, "").strip()
    return Path(override).expanduser() if override else Path(MANAGED_PREFERENCES)


def os_user(ws: Workspace) -> str | None:
    """The login name the per-user profile directory is named after."""
    name = ws.env.get("USER") or ws.env.get("LOGNAME")
    if name:
        return name
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return None


def plist_paths(ws: Workspace) -> list[tuple[str, Path]]:
    """The MDM profiles Claude Code looks for on macOS, highest precedence first."""
    root = preferences_dir(ws)
    paths: list[tuple[str, Path]] = []
    user = os_user(ws)
    if user and "/" not in user and user not in {".", ".."}:
        paths.append(("MDM profile (per-user)", root / user / PLIST_NAME))
    paths.append(("MDM profile (device)", root / PLIST_NAME))
    return paths


def watch_dirs(ws: Workspace) -> list[Path]:
    """Where an MDM profile can appear (for the file watcher)."""
    if ws.os_name != "darwin":
        return []
    return sorted({path.parent for _, path in plist_paths(ws)})


def ignored_policy_files(ws: Workspace) -> list[tuple[Path, str]]:
    """Policy files people write that Claude Code never reads as policy."""
    if ws.os_name != "darwin":
        return []
    user_prefs = ws.home / "Library" / "Preferences" / PLIST_NAME
    return [
        (
            user_prefs,
            "user-writable preferences are not policy: Claude Code reads MDM settings only from "
            f"{MANAGED_PREFERENCES}",
        )
    ]


# -- reading ---------------------------------------------------------------------------------


def _read_bytes(path: Path) -> tuple[bool, bytes | None, str | None]:
    """(exists, bytes, problem) for a regular file no larger than :data:`MAX_SOURCE_BYTES`."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return True, None, "is a symbolic link that does not resolve"
        return False, None, None
    except OSError as exc:
        return True, None, f"cannot be read: {exc.strerror or type(exc).__name__}"
    if not stat.S_ISREG(info.st_mode):
        return True, None, "is not a regular file"
    if info.st_size > MAX_SOURCE_BYTES:
        return True, None, f"is {info.st_size:,} bytes, over the {MAX_SOURCE_BYTES:,}-byte limit"
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        return True, None, f"cannot be read: {exc.strerror or type(exc).__name__}"
    if len(raw) > MAX_SOURCE_BYTES:
        return True, None, f"is over the {MAX_SOURCE_BYTES:,}-byte limit"
    return True, raw, None


class _NoJsonForm(ValueError):
    pass


def _jsonable(value: Any, where: str) -> Any:
    """A plist value as JSON; dates, data and non-finite reals have no JSON form."""
    if isinstance(value, dict):
        return {k: _jsonable(v, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NoJsonForm(f"a non-finite number at {where or 'the top level'}")
        return value
    kinds = {"datetime": "a date", "bytes": "a data value", "UID": "a UID value"}
    kind = kinds.get(type(value).__name__, f"a {type(value).__name__} value")
    raise _NoJsonForm(f"{kind} at {where or 'the top level'}")


def read_plist(name: str, path: Path) -> ManagedSource:
    """An MDM profile (XML or binary plist) as the settings object it holds."""
    exists, raw, problem = _read_bytes(path)
    source = ManagedSource(name, "mdm", "plist", str(path), exists, problem=problem)
    if raw is None:
        return source
    import plistlib  # only when a profile exists: most machines have none

    try:
        value = plistlib.loads(raw)
    except RecursionError:
        return replace(source, problem="is nested too deeply to read")
    except Exception as exc:  # plistlib raises many types on hostile input; each means "not a plist"
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return replace(source, problem=f"is not a valid property list ({reason})")
    if not isinstance(value, dict):
        return replace(source, problem=f"holds a {type(value).__name__}, not a dictionary of settings")
    try:
        data = _jsonable(value, "")
        text = json.dumps(data, indent=2, ensure_ascii=False)
    except _NoJsonForm as exc:
        return replace(source, problem=f"holds {exc}, which has no JSON form, so Claude Code cannot use it")
    except RecursionError:
        return replace(source, problem="is nested too deeply to read")
    return replace(source, data=data, text=text)


def registry_location(hive: str) -> str:
    return f"{hive}\\{REGISTRY_KEY}\\{REGISTRY_VALUE}"


def read_registry(hive: str, reader: RegistryReader | None) -> ManagedSource:
    tier: Tier = "mdm" if hive == "HKLM" else "hkcu"
    source = ManagedSource(f"{hive} policy", tier, "registry", registry_location(hive), exists=False)
    if reader is None:
        return replace(source, note="not read: the registry can only be read on Windows")
    try:
        read = reader(hive, REGISTRY_KEY, REGISTRY_VALUE)
    except Exception as exc:  # an injected reader, or winreg, failing: report it, never raise
        return replace(source, exists=True, problem=f"cannot be read ({type(exc).__name__})")
    if not read.exists:
        return replace(source, problem=read.problem) if read.problem else source
    source = replace(source, exists=True)
    if read.problem:
        return replace(source, problem=read.problem)
    if read.type_name not in REGISTRY_STRING_TYPES or not isinstance(read.value, str):
        return replace(
            source,
            problem=f"is a {read.type_name or 'non-string'} value; Claude Code reads a REG_SZ string "
            "holding the settings JSON",
        )
    if len(read.value.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        return replace(source, problem=f"is over the {MAX_SOURCE_BYTES:,}-byte limit Claude Code reads")
    text = read.value
    return replace(source, text=text, data=_object(text))


def _object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _file_sources(ws: Workspace) -> list[ManagedSource]:
    out: list[ManagedSource] = []
    for name, path in [("managed-settings.json", ws.managed_settings)] + [
        ("managed-settings.d drop-in", p) for p in ws.managed_dropins()
    ]:
        text = read_text(path)
        read = json_object_of(text)
        source = ManagedSource(
            name, "file", "file", str(path), read.exists, data=read.data, problem=read.problem
        )
        out.append(replace(source, file_read=text))
    return out


# -- precedence ------------------------------------------------------------------------------


def managed_policy(ws: Workspace, *, registry: RegistryReader | None = None) -> ManagedPolicy:
    """Read every managed source of the workspace's OS and decide which Claude Code applies."""
    reader = registry or _current_reader()
    mdm: list[ManagedSource] = []
    if ws.os_name == "darwin":
        mdm = [read_plist(name, path) for name, path in plist_paths(ws)]
    elif ws.os_name == "win32":
        mdm = [read_registry("HKLM", reader)]
    files = _file_sources(ws)
    hkcu = [read_registry("HKCU", reader)] if ws.os_name == "win32" else []
    return decide(mdm, files, hkcu)


def _first_present(sources: list[ManagedSource]) -> ManagedSource | None:
    return next((s for s in sources if s.present), None)


def _behavior(mdm_winner: ManagedSource | None, files: list[ManagedSource]) -> Behavior:
    """The highest source present decides how the admin sources combine."""
    if mdm_winner is not None:
        highest = mdm_winner.data or {}
    else:
        highest = {}
        for source in files:  # the file tier as Claude Code merges it: drop-ins over the base
            highest.update(source.data or {})
    return "merge" if highest.get("managedSourcesBehavior") == "merge" else "first-wins"


def decide(mdm: list[ManagedSource], files: list[ManagedSource], hkcu: list[ManagedSource]) -> ManagedPolicy:
    """Mark which sources apply. ``mdm`` and ``hkcu`` are listed highest precedence first."""
    mdm_winner = _first_present(mdm)
    file_present = any(s.present for s in files)
    behavior = _behavior(mdm_winner, files)
    hkcu_winner = None if mdm_winner or file_present else _first_present(hkcu)
    # The file tier applies when it is the winner, when it merges, or when nothing delivers
    # settings at all (Claude Code still reads it then: an invalid file stops it from starting).
    file_applies = (mdm_winner is None and hkcu_winner is None) or behavior == "merge"
    winner = mdm_winner or hkcu_winner
    applied = {s.location for s in (mdm_winner, hkcu_winner) if s is not None}
    if file_applies:
        applied.update(s.location for s in files)
    if winner is not None:
        winning = f"{winner.name} {winner.location} supplies the managed settings"
    else:
        winning = "managed-settings.json supplies the managed settings"

    def verdict(source: ManagedSource) -> ManagedSource:
        if not source.exists:
            return source
        if source.problem is not None and source.origin != "file":
            # An unreadable profile or registry value delivers nothing; the next source is used.
            return replace(source, note=_join(source.note, f"not used: it {source.problem}"))
        if source.location in applied:
            return replace(source, applied=True)
        if source.data is None and source.text is not None:  # the validator says where it breaks
            return replace(source, note=_join(source.note, "not used: it does not hold a JSON object"))
        if not source.present and source.problem is None:
            return replace(source, note=_join(source.note, "empty: it delivers no settings"))
        why = winning
        if source.tier == "hkcu":
            why = "HKCU is read only when no admin source (MDM, HKLM or managed-settings.json) exists"
        elif source.tier == "mdm" and mdm_winner is not None:
            why = f"{mdm_winner.name} {mdm_winner.location} wins over it"
        return replace(source, note=_join(source.note, f"not applied: {why} (first source wins)"))

    # Highest precedence first: within the file tier the last drop-in wins, the base file is lowest.
    marked = tuple(verdict(s) for s in (*mdm, *reversed(files), *hkcu))
    return ManagedPolicy(
        marked, behavior, next((s for s in marked if winner and s.location == winner.location), None)
    )


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second
