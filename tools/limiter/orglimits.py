"""The organisation's own rate limits, fetched from the Admin API, as a layer of the limiter.

``claude-health limits --sync`` (:mod:`claude_health.tools.admin.rate_limits`) writes
``org-limits.json`` beside limits.toml; every :meth:`Limiter.open` that reads the config reads it.
Precedence, lowest first: the dated tier tables, these fetched limits, the user's overrides in
limits.toml, the ``limits=`` argument; response headers still overwrite what is left at run time.

::

    {"version": 1, "fetched_at": "2026-11-24T10:00:00Z", "base_url": "https://api.anthropic.com",
     "workspace_id": null,
     "groups": [{"group_id": "rlg_...", "group_type": "model_group", "display_name": "Claude Opus 4.x",
                 "models": ["claude-opus-4-8", ...], "limits": {"rpm": 4000, "itpm": 2000000, "otpm": 400000},
                 "other_limits": {}}],
     "organisation": [...the same, before workspace overrides...],
     "workspaces": [{"workspace_id": "wrkspc_...", "name": "...", "overrides": [...]}]}

Nothing secret is in it. Written atomically (temp file + rename); a file that cannot be read is
ignored with a warning, never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from claude_health.tools.files import log_read, write_atomically
from claude_health.tools.limiter.table import (
    BucketLimits,
    LimitsDataError,
    LimitTable,
    class_of,
    clean_model,
    parse_limits,
)
from claude_health.tools.state import config_dir_name

FILE_NAME = "org-limits.json"
VERSION = 1
MAX_BYTES = 2_000_000
STALE_DAYS = 30
# The Rate Limits API's limiter types the limiter mirrors; others are shown, not enforced.
LIMITER_TYPES = {
    "requests_per_minute": "rpm",
    "input_tokens_per_minute": "itpm",
    "output_tokens_per_minute": "otpm",
}
# Group types that are an endpoint bucket of the limiter (their requests_per_minute).
ENDPOINT_GROUPS = {"token_count": "count_tokens", "batch": "batches"}


class OrgLimitsError(ValueError):
    """``org-limits.json`` cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class OrgLimits:
    """The fetched limits, keyed the way the limiter looks them up."""

    path: Path
    fetched_at: datetime
    workspace_id: str | None = None
    by_name: Mapping[str, BucketLimits] = field(default_factory=dict)
    """Class ID (``opus-4``), model ID (a model with no published class) or endpoint name."""
    notes: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        where = f" for workspace {self.workspace_id}" if self.workspace_id else ""
        return f"admin api{where} (fetched {self.fetched_at.strftime('%Y-%m-%d %H:%M UTC')})"

    def age_days(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.fetched_at).total_seconds() / 86400


def org_limits_path(env: Mapping[str, str], home: Path) -> Path:
    return Path(config_dir_name(env, home)) / FILE_NAME


def _bucket(limits: Any, where: str) -> BucketLimits:
    if not isinstance(limits, Mapping):
        raise OrgLimitsError(f"{where}: limits must be an object")
    values = {k: v for k, v in limits.items() if k in ("rpm", "itpm", "otpm")}
    try:
        return parse_limits(values, where)
    except LimitsDataError as exc:
        raise OrgLimitsError(str(exc)) from None


def to_lookup(
    groups: list[Mapping[str, Any]], table: LimitTable
) -> tuple[dict[str, BucketLimits], list[str]]:
    """Group entries -> ``{class, model or endpoint: limits}`` and notes on what did not map."""
    found: dict[str, BucketLimits] = {}
    notes: list[str] = []
    for i, group in enumerate(groups):
        gtype = str(group.get("group_type") or "")
        limits = _bucket(group.get("limits") or {}, f"groups[{i}]")
        if gtype in ENDPOINT_GROUPS:
            if limits.rpm:
                found[ENDPOINT_GROUPS[gtype]] = BucketLimits(rpm=limits.rpm)
            continue
        if gtype != "model_group":
            continue
        names: list[str] = []
        for model in group.get("models") or []:
            try:
                mid = clean_model(str(model))
            except ValueError:
                continue
            mc = class_of(mid, table)
            name = mc.id if mc else mid
            if name not in names:
                names.append(name)
        classes = [n for n in names if n in table.classes]
        if len(classes) > 1:
            label = group.get("display_name") or group.get("group_id") or f"group {i}"
            notes.append(
                f"{label} spans the classes {', '.join(classes)} of the published tables: each gets "
                "the group's limits (the API pools them, so together they may admit more)"
            )
        for name in names:
            found[name] = found[name].merged(limits) if name in found else limits
    return found, notes


def load_org_limits(env: Mapping[str, str], home: Path, table: LimitTable) -> OrgLimits | None:
    """The fetched limits, or None when ``limits --sync`` never ran. Raises :class:`OrgLimitsError`."""
    path = org_limits_path(env, home)
    try:
        if not path.is_file():
            log_read(path, "absent (organisation limits: `claude-health limits --sync` writes it)")
            return None
        if path.stat().st_size > MAX_BYTES:
            raise OrgLimitsError(f"{path}: larger than {MAX_BYTES:,} bytes")
        raw = path.read_bytes()
        log_read(path, f"read {len(raw):,} bytes (organisation limits from the Admin API)")
    except OSError as exc:
        raise OrgLimitsError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise OrgLimitsError(f"{path}: not valid JSON") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise OrgLimitsError(f"{path}: not an organisation limits file of version {VERSION}")
    try:
        fetched = datetime.fromisoformat(str(data.get("fetched_at")))
    except ValueError:
        raise OrgLimitsError(f"{path}: fetched_at is not a time") from None
    if fetched.tzinfo is None:
        fetched = fetched.replace(tzinfo=UTC)
    groups = data.get("groups")
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise OrgLimitsError(f"{path}: groups must be a list of objects")
    lookup, notes = to_lookup(groups, table)
    workspace = data.get("workspace_id")
    return OrgLimits(
        path=path,
        fetched_at=fetched.astimezone(UTC),
        workspace_id=str(workspace) if isinstance(workspace, str) and workspace else None,
        by_name=lookup,
        notes=tuple(notes),
    )


def save_org_limits(env: Mapping[str, str], home: Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` (with ``version``) atomically; returns the path."""
    path = org_limits_path(env, home)
    data = json.dumps({"version": VERSION, **payload}, indent=2, sort_keys=False).encode("utf-8") + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    return path
