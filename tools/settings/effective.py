"""The merged settings Claude Code ends up with, and which file set every value.

Claude Code's merge (notes §1.3): sources user -> project -> local -> managed (managed-settings.json,
then drop-ins in sorted order); objects deep-merge, arrays concatenate and de-duplicate (lower
source first), scalars come from the higher source. ``fallbackModel`` is replaced, the policy's
``availableModels``/``enforceAvailableModels`` overwrite the merge, managed-only keys count only
from managed files, and the ``allowManaged*Only`` switches drop lower-scope rules, hooks and
MCP allowlists. Files Claude Code would ignore are left out; dropped entries are already removed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from claude_health.tools.settings.keys import MANAGED_ONLY
from claude_health.tools.settings.validate import FileResult, Validation

REPLACED_ARRAYS = frozenset({"fallbackModel"})
POLICY_OVERWRITES = ("availableModels", "enforceAvailableModels")


@dataclass
class Effective:
    """The merged settings Claude Code applies, and which file each value comes from."""

    settings: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)  # dotted path -> file
    sources: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "provenance": self.provenance,
            "sources": self.sources,
            "notes": self.notes,
        }


def _child(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def _forget(prov: dict[str, str], prefix: str) -> None:
    for k in [k for k in prov if k == prefix or k.startswith(prefix + ".") or k.startswith(prefix + "[")]:
        del prov[k]


def _record(prov: dict[str, str], prefix: str, value: Any, source: str) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _record(prov, _child(prefix, k), v, source)
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            _record(prov, _child(prefix, i), v, source)
    else:
        prov[prefix] = source


def merge_into(
    target: dict[str, Any], prov: dict[str, str], src: dict[str, Any], source: str, prefix: str = ""
) -> None:
    for key, value in src.items():
        path = _child(prefix, key)
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merge_into(current, prov, value, source, path)
        elif isinstance(value, list) and isinstance(current, list) and key not in REPLACED_ARRAYS:
            for item in value:
                if item not in current:
                    current.append(copy.deepcopy(item))
                    _record(prov, _child(path, len(current) - 1), item, source)
        else:
            _forget(prov, path)
            target[key] = copy.deepcopy(value)
            _record(prov, path, value, source)


def _strip(data: dict[str, Any], managed_data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """What of a non-managed file survives the managed switches."""
    out = {k: v for k, v in data.items() if k not in MANAGED_ONLY}
    dropped: list[str] = []
    if managed_data.get("allowManagedPermissionRulesOnly") is True and isinstance(
        out.get("permissions"), dict
    ):
        perms = {k: v for k, v in out["permissions"].items() if k not in ("allow", "deny", "ask")}
        if perms != out["permissions"]:
            dropped.append("permission rules (allowManagedPermissionRulesOnly)")
        out["permissions"] = perms
    if managed_data.get("allowManagedHooksOnly") is True and "hooks" in out:
        del out["hooks"]
        dropped.append("hooks (allowManagedHooksOnly)")
    if managed_data.get("allowManagedMcpServersOnly") is True and "allowedMcpServers" in out:
        del out["allowedMcpServers"]
        dropped.append("allowedMcpServers (allowManagedMcpServersOnly)")
    return out, dropped


def effective_settings(validation: Validation) -> Effective:
    result = Effective()
    loaded = validation.settings_files()
    managed = [r for r in loaded if r.file.scope == "managed"]
    others = [r for r in loaded if r.file.scope != "managed"]
    managed_data: dict[str, Any] = {}
    for r in managed:
        merge_into(managed_data, {}, r.data or {}, str(r.file.path))
    for r in validation.files:
        if r.file.kind == "settings" and r.file.exists:
            result.sources.append({"scope": r.file.scope, "path": str(r.file.path), "loaded": bool(r.loaded)})
    merged: dict[str, Any] = {}
    prov: dict[str, str] = {}
    for r in others:
        data, dropped = _strip(r.data or {}, managed_data)
        for what in dropped:
            result.notes.append(f"{r.file.path}: {what} ignored because managed settings say so.")
        merge_into(merged, prov, data, str(r.file.path))
    any_disable_connectors = any((r.data or {}).get("disableClaudeAiConnectors") is True for r in loaded)
    for r in managed:
        merge_into(merged, prov, r.data or {}, str(r.file.path))
    for key in POLICY_OVERWRITES:
        if key in managed_data:
            _forget(prov, key)
            merged[key] = copy.deepcopy(managed_data[key])
            source = next(str(r.file.path) for r in reversed(managed) if key in (r.data or {}))
            _record(prov, key, managed_data[key], source)
    if any_disable_connectors and merged.get("disableClaudeAiConnectors") is not True:
        merged["disableClaudeAiConnectors"] = True
        source = next(
            str(r.file.path) for r in loaded if (r.data or {}).get("disableClaudeAiConnectors") is True
        )
        prov["disableClaudeAiConnectors"] = source
        result.notes.append("disableClaudeAiConnectors is true because one source says so.")
    if not validation.trusted and any(r.file.scope in ("project", "local") for r in loaded):
        result.notes.append(
            "The workspace is not trusted: Claude Code ignores project and local permissions.allow rules "
            "until the trust dialog is accepted."
        )
    result.settings = merged
    result.provenance = prov
    return result


def rule_sources(validation: Validation) -> list[tuple[str, str, FileResult]]:
    """Every (behavior, rule, file) Claude Code evaluates, in merge order, trust and switches applied."""
    loaded = validation.settings_files()
    managed_data: dict[str, Any] = {}
    for r in loaded:
        if r.file.scope == "managed":
            merge_into(managed_data, {}, r.data or {}, str(r.file.path))
    managed_only = managed_data.get("allowManagedPermissionRulesOnly") is True
    out: list[tuple[str, str, FileResult]] = []
    for r in sorted(loaded, key=lambda f: f.file.scope == "managed"):
        if managed_only and r.file.scope != "managed":
            continue
        perms = (r.data or {}).get("permissions")
        if not isinstance(perms, dict):
            continue
        for behavior in ("deny", "ask", "allow"):
            if behavior == "allow" and r.file.scope in ("project", "local") and not validation.trusted:
                continue
            for rule in perms.get(behavior, []):
                out.append((behavior, rule, r))
    return out
