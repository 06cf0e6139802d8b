"""Every Claude Code config file that applies to a project, with its scope and whether it exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_health.tools.paths import LEGACY_WINDOWS_MANAGED_DIR, Workspace
from claude_health.tools.settings.managed_sources import (
    ManagedSource,
    ignored_policy_files,
    managed_policy,
)
from claude_health.tools.settings.managed_sources import watch_dirs as managed_watch_dirs

# kind: what the file holds and therefore which validator reads it.
SETTINGS, GLOBAL, MCP, MANAGED_MCP, IGNORED = "settings", "global_config", "mcp", "managed_mcp", "ignored"


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """One file (or managed source) Claude Code may read, where it sits in the hierarchy."""

    scope: str  # user | project | local | managed | global | mcp | ignored
    kind: str
    path: Path
    exists: bool
    note: str | None = None
    # Managed settings: the source this is (an MDM profile or registry value has no JSON file).
    source: ManagedSource | None = field(default=None, compare=False, repr=False)

    def to_json(self, loaded: bool | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scope": self.scope,
            "kind": self.kind,
            "path": str(self.path),
            "exists": self.exists,
        }
        if loaded is not None:
            out["loaded"] = loaded
        if self.note:
            out["note"] = self.note
        if self.source is not None and self.source.origin != "file":
            out["origin"] = self.source.origin  # plist | registry
        return out


def _exists(path: Path) -> bool:
    try:
        return path.exists() or path.is_symlink()
    except OSError:
        return True  # unreadable: report it and let the reader say why


def _file(scope: str, kind: str, path: Path, note: str | None = None) -> ConfigFile:
    return ConfigFile(scope=scope, kind=kind, path=path, exists=_exists(path), note=note)


def mcp_json_chain(project: Path) -> list[Path]:
    """``.mcp.json`` in every directory from the filesystem root down to the project."""
    return [d / ".mcp.json" for d in reversed((project, *project.parents))]


def discover(ws: Workspace) -> list[ConfigFile]:
    """The files Claude Code reads for this workspace, settings lowest precedence first."""
    files = [
        _file("user", SETTINGS, ws.user_settings),
        _file("project", SETTINGS, ws.project_settings),
        _file("local", SETTINGS, ws.local_settings),
    ]
    git_root = ws.git_root
    if git_root is not None and git_root != ws.project:
        root_local = git_root / ".claude" / "settings.local.json"
        files.append(_file("local", SETTINGS, root_local, note="git root (where 'don't ask again' rules go)"))
    files.extend(_managed_settings_files(ws))
    files.append(_file("managed", MANAGED_MCP, ws.managed_mcp))
    files.append(_file("global", GLOBAL, ws.global_config))
    for path in mcp_json_chain(ws.project):
        if path.parent == ws.project or _exists(path):
            files.append(_file("project", MCP, path))
    files.extend(_ignored(ws))
    return files


def _managed_settings_files(ws: Workspace) -> list[ConfigFile]:
    """managed-settings.json, its drop-ins and the OS's MDM and registry policies, lowest first."""
    out: list[ConfigFile] = []
    for source in managed_policy(ws).merge_order():
        path = Path(source.location)
        exists = _exists(path) if source.origin == "file" else source.exists
        label = None if source.name == "managed-settings.json" else source.name
        note = "; ".join(part for part in (label, source.note) if part) or None
        out.append(ConfigFile("managed", SETTINGS, path, exists, note=note, source=source))
    return out


# Claude Code reads a managed-settings.d entry only when its name ends in ".json" (case matters)
# and does not start with "."; other names that still look like settings files are reported.
SKIPPED_DROPIN_NOTE = "managed-settings.d file Claude Code skips because of its name"


def dropin_is_read(name: str) -> bool:
    return name.endswith(".json") and not name.startswith(".")


def skipped_dropins(ws: Workspace) -> list[Path]:
    """Files in managed-settings.d that look like settings but that Claude Code never reads."""
    directory = ws.managed_dropin_dir
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    skipped = []
    for path in entries:
        if dropin_is_read(path.name) or ".json" not in path.name.lower():
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                continue
        except OSError:
            pass
        skipped.append(path)
    return skipped


def _ignored(ws: Workspace) -> list[ConfigFile]:
    """Files people write that Claude Code never reads; reported only when present."""
    candidates: list[tuple[Path, str]] = [(p, SKIPPED_DROPIN_NOTE) for p in skipped_dropins(ws)]
    if ws.os_name == "win32" and not ws.env.get("CLAUDE_HEALTH_MANAGED_DIR", "").strip():
        legacy = Path(LEGACY_WINDOWS_MANAGED_DIR)
        for name in ("managed-settings.json", "managed-mcp.json"):
            candidates.append((legacy / name, "legacy Windows location, not read since Claude Code 2.1.75"))
    roots = {ws.project}
    if ws.git_root is not None:
        roots.add(ws.git_root)
    for root in sorted(roots):
        candidates.append(
            (root / ".claude" / "managed-settings.json", "inside a repository; Claude Code never reads it")
        )
    candidates.extend(ignored_policy_files(ws))
    return [_file("ignored", IGNORED, p, note=n) for p, n in candidates if _exists(p)]


def watch_targets(ws: Workspace) -> list[Path]:
    """Directories where a relevant file may appear or change (for the file watcher)."""
    dirs: set[Path] = {
        ws.config_dir,
        ws.project / ".claude",
        ws.project,
        ws.managed_dir,
        ws.managed_dropin_dir,
        ws.global_config.parent,
    }
    if ws.git_root is not None:
        dirs.add(ws.git_root / ".claude")
    dirs.update(managed_watch_dirs(ws))
    dirs.update(p.parent for p in mcp_json_chain(ws.project))
    return sorted(dirs)
