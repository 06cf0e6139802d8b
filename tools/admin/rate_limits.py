"""``limits --sync``: the organisation's real rate limits from the Rate Limits API seed the limiter.

Calls (docs/admin-api.md): ``GET /v1/organizations/rate_limits`` (all pages), ``GET
/v1/organizations/workspaces`` (the workspaces, to show their overrides) and ``GET
/v1/organizations/workspaces/{id}/rate_limits`` per workspace (only what each overrides). The
organisation's values, or one workspace's effective values (``--workspace``: its overrides over
the organisation's), are written to ``org-limits.json`` with the time they were fetched; the
limiter uses them in place of the tier tables from then on.

The organisation's own list is required: without it nothing is written. Workspaces are extra:
when listing them or one workspace's overrides fails, that part is named as missing and the
organisation's limits are still saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from claude_health.tools.admin.api import (
    AFTER_ID,
    RATE_LIMITS,
    AdminApiError,
    obj,
    pages,
)
from claude_health.tools.admin.models import MissingPart, RateLimitGroup, RateLimitSync, WorkspaceOverrides
from claude_health.tools.anthropic.client import AnthropicClient
from claude_health.tools.limiter.orglimits import LIMITER_TYPES, save_org_limits, to_lookup
from claude_health.tools.limiter.table import load_table

MAX_WORKSPACES = 100
MAX_MODELS = 500
MAX_VALUE = 10**12
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def check_workspace_id(workspace: str | None) -> None:
    """Raises ``ValueError`` unless ``workspace`` is None or shaped like a workspace ID."""
    if workspace is not None and (not workspace or not set(workspace) <= _ID_CHARS or len(workspace) > 100):
        raise ValueError("workspace must be a workspace ID such as wrkspc_01Jw... (letters, digits, _ and -)")


def _text(value: Any, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def parse_group(entry: Any) -> RateLimitGroup | None:
    """One entry of a rate-limits list; None when it is not an object with a group type."""
    if not isinstance(entry, dict):
        return None
    group = obj(entry.get("group"))
    gtype = _text(group.get("type")) or _text(entry.get("group_type"))  # group_type: deprecated twin
    if gtype is None:
        return None
    models = [m[:200] for m in entry.get("models") or [] if isinstance(m, str)][:MAX_MODELS]
    limits: dict[str, int] = {}
    other: dict[str, float] = {}
    for item in entry.get("limits") or []:
        if not isinstance(item, dict):
            continue
        kind, value = item.get("type"), item.get("value")
        if not isinstance(kind, str) or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not 0 <= value <= MAX_VALUE:
            continue
        if kind in LIMITER_TYPES and value >= 1:
            limits[LIMITER_TYPES[kind]] = int(value)
        else:
            other[kind[:64]] = float(value)
    return RateLimitGroup(
        group_id=_text(group.get("id")) or _text(entry.get("rate_limit_id")) or _text(entry.get("id")),
        group_type=gtype,
        display_name=_text(group.get("display_name")),
        models=models,
        limits=limits,
        other_limits=other,
    )


def _groups(client: AnthropicClient, path: str, what: str) -> list[RateLimitGroup]:
    found: list[RateLimitGroup] = []
    for page in pages(client, path, {}, RATE_LIMITS, what):
        found.extend(g for g in (parse_group(e) for e in page["data"]) if g is not None)
    return found


def _workspaces(client: AnthropicClient) -> tuple[list[tuple[str, str | None]], bool]:
    """``[(id, name)]`` of the active workspaces, and whether there were more than listed."""
    found: list[tuple[str, str | None]] = []
    for page in pages(client, "/v1/organizations/workspaces", {"limit": "100"}, AFTER_ID, "workspaces"):
        for item in page["data"]:
            wid = _text(item.get("id")) if isinstance(item, dict) else None
            if wid is None or not set(wid) <= _ID_CHARS:
                continue
            found.append((wid, _text(item.get("name"))))
            if len(found) > MAX_WORKSPACES:
                return found[:MAX_WORKSPACES], True
    return found, False


def _key(group: RateLimitGroup) -> str:
    return group.group_id or f"{group.group_type}:{','.join(group.models)}"


def effective(org: list[RateLimitGroup], overrides: list[RateLimitGroup]) -> list[RateLimitGroup]:
    """A workspace's limits: its overrides over the organisation's, limiter type by limiter type."""
    by_key = {_key(o): o for o in overrides}
    merged: list[RateLimitGroup] = []
    for group in org:
        over = by_key.get(_key(group))
        if over is None:
            merged.append(group)
        else:
            merged.append(
                group.model_copy(
                    update={
                        "limits": {**group.limits, **over.limits},
                        "other_limits": {**group.other_limits, **over.other_limits},
                    }
                )
            )
    return merged


def sync_rate_limits(
    client: AnthropicClient,
    env: Mapping[str, str],
    home: Path,
    *,
    workspace: str | None = None,
    now: datetime | None = None,
) -> RateLimitSync:
    """Fetch, save and return the organisation's limits. Raises :class:`AdminApiError` when the
    organisation's own list (or the asked-for workspace's overrides) cannot be fetched."""
    if workspace is not None and (not workspace or not set(workspace) <= _ID_CHARS or len(workspace) > 100):
        raise AdminApiError(
            "--workspace must be a workspace ID such as wrkspc_01Jw... (letters, digits, _ -)"
        )
    fetched_at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    org = _groups(client, "/v1/organizations/rate_limits", "organisation rate limits")
    if not org:
        raise AdminApiError("organisation rate limits: the API listed no rate-limit groups; nothing saved")
    missing: list[MissingPart] = []
    overrides: list[WorkspaceOverrides] = []
    try:
        listed, more = _workspaces(client)
    except AdminApiError as exc:
        if exc.fatal:
            raise
        listed, more = [], False
        missing.append(MissingPart(part="workspaces", reason=exc.message, status=exc.status))
    if more:
        missing.append(MissingPart(part="workspaces", reason=f"only the first {MAX_WORKSPACES} are shown"))
    ids = [wid for wid, _ in listed]
    if workspace is not None and workspace not in ids:
        listed.append((workspace, None))
    chosen: list[RateLimitGroup] | None = None
    for wid, name in listed:
        what = f"rate limits of workspace {wid}"
        try:
            groups = _groups(client, f"/v1/organizations/workspaces/{quote(wid)}/rate_limits", what)
        except AdminApiError as exc:
            if exc.fatal or wid == workspace:
                raise
            missing.append(MissingPart(part=what, reason=exc.message, status=exc.status))
            continue
        overrides.append(WorkspaceOverrides(workspace_id=wid, name=name, overrides=groups))
        if wid == workspace:
            chosen = groups
    seeding = effective(org, chosen) if chosen is not None else org
    lookup, notes = to_lookup([g.model_dump() for g in seeding], load_table())
    result = RateLimitSync(
        fetched_at=fetched_at.isoformat().replace("+00:00", "Z"),
        base_url=client.base_url,
        workspace_id=workspace,
        groups=seeding,
        organisation=org,
        workspaces=overrides,
        seeded=sorted(lookup),
        notes=notes,
        missing=missing,
    )
    payload = result.model_dump(mode="json", exclude={"missing", "saved_to", "seeded", "notes"})
    path = save_org_limits(env, home, payload)
    return result.model_copy(update={"saved_to": str(path)})
