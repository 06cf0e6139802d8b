"""A local stand-in for Anthropic's Admin API on 127.0.0.1, following the documented contract.

Endpoints (docs/admin-api.md has the sources): ``GET /v1/organizations/rate_limits`` and
``/v1/organizations/workspaces/{id}/rate_limits`` (``{"data", "next_page"}``; ``page`` cursor),
``GET /v1/organizations/workspaces`` (``has_more``/``last_id``; ``after_id`` cursor),
``GET /v1/organizations/usage_report/messages`` and ``/v1/organizations/cost_report`` (daily
buckets; ``limit`` buckets per page, default 7, max 31; ``has_more``/``next_page``), and
``GET /v1/organizations/usage_report/claude_code`` (one day per call, ``starting_at=YYYY-MM-DD``;
``limit`` records per page, default 20, max 1000). Only ``x-api-key`` equal to the admin key is
accepted (401 otherwise), ``anthropic-version`` is required (400), and parameters outside the
contract are 400 ``invalid_request_error``, so a client that sends the wrong thing fails here
too. ``fail(prefix, reply...)`` scripts failures for one endpoint while the others answer
(partial failures); ``page_size`` forces pages where the real API would answer in one.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fake_anthropic import FakeAnthropic, Reply

RATE_LIMITS = "/v1/organizations/rate_limits"
WORKSPACES = "/v1/organizations/workspaces"
USAGE = "/v1/organizations/usage_report/messages"
COST = "/v1/organizations/cost_report"
CLAUDE_CODE = "/v1/organizations/usage_report/claude_code"
_WS_LIMITS = re.compile(r"^/v1/organizations/workspaces/([^/]+)/rate_limits$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
USAGE_GROUP_BY = {
    "account_id",
    "api_key_id",
    "context_window",
    "inference_geo",
    "model",
    "service_account_id",
    "service_tier",
    "speed",
    "workspace_id",
}
COST_GROUP_BY = {"workspace_id", "description"}


def limits(rpm: int, itpm: int, otpm: int) -> list[dict[str, Any]]:
    return [
        {"type": "requests_per_minute", "value": rpm},
        {"type": "input_tokens_per_minute", "value": itpm},
        {"type": "output_tokens_per_minute", "value": otpm},
    ]


def group(
    gid: str, gtype: str, display: str | None, models: list[str] | None, values: list[dict[str, Any]]
) -> dict[str, Any]:
    g: dict[str, Any] = {"type": gtype, "id": gid}
    if display:
        g["display_name"] = display
    return {
        "type": "rate_limit",
        "id": f"ent_{gid}",
        "group_type": gtype,
        "group": g,
        "models": models,
        "limits": values,
    }


@dataclass
class Org:
    """What the fake organisation has. ``usage``/``cost``: day -> results; ``claude_code``: day -> records."""

    rate_limits: list[dict[str, Any]] = field(default_factory=list)
    workspaces: list[dict[str, Any]] = field(default_factory=list)
    overrides: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    usage: dict[date, list[dict[str, Any]]] = field(default_factory=dict)
    cost: dict[date, list[dict[str, Any]]] = field(default_factory=dict)
    claude_code: dict[date, list[dict[str, Any]]] = field(default_factory=dict)


def sample_org(today: date) -> Org:
    """A small organisation: two model groups, batch and token-count groups, two workspaces (one
    overrides Opus), and three days of usage, cost and Claude Code activity this month."""
    org = Org()
    org.rate_limits = [
        group(
            "rlg_opus4",
            "model_group",
            "Claude Opus 4.x",
            [
                "claude-opus-4-5",
                "claude-opus-4-5-20251101",
                "claude-opus-4-6",
                "claude-opus-4-7",
                "claude-opus-4-8",
            ],
            limits(4000, 2_000_000, 400_000),
        ),
        group(
            "rlg_opus55", "model_group", "Claude Opus 5.5", ["claude-opus-5-5"], limits(3000, 900_000, 90_000)
        ),
        group("rlg_batch", "batch", None, None, [{"type": "enqueued_batch_requests", "value": 500_000}]),
        group("rlg_count", "token_count", None, None, [{"type": "requests_per_minute", "value": 6000}]),
    ]
    org.workspaces = [
        {"type": "workspace", "id": "wrkspc_alpha", "name": "Alpha", "archived_at": None},
        {"type": "workspace", "id": "wrkspc_beta", "name": "Beta", "archived_at": None},
    ]
    org.overrides = {
        "wrkspc_alpha": [
            {
                "type": "workspace_rate_limit",
                "group_type": "model_group",
                "group": {"type": "model_group", "id": "rlg_opus4", "display_name": "Claude Opus 4.x"},
                "models": org.rate_limits[0]["models"],
                "limits": [
                    {"type": "requests_per_minute", "value": 100, "org_limit": 4000},
                    {"type": "output_tokens_per_minute", "value": 20_000, "org_limit": 400_000},
                ],
            }
        ],
        "wrkspc_beta": [],
    }
    first = today.replace(day=1)
    days = [first + timedelta(days=i) for i in range(3) if first + timedelta(days=i) <= today]
    for i, day in enumerate(days):
        org.usage[day] = [
            {
                "uncached_input_tokens": 1500 + i,
                "cache_creation": {"ephemeral_1h_input_tokens": 1000, "ephemeral_5m_input_tokens": 500},
                "cache_read_input_tokens": 7000,
                "output_tokens": 500,
                "server_tool_use": {"web_search_requests": 2},
                "api_key_id": "apikey_01",
                "workspace_id": "wrkspc_alpha",
                "model": "claude-opus-4-8",
                "service_tier": "standard",
                "context_window": "0-200k",
            },
            {
                "uncached_input_tokens": 100,
                "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
                "cache_read_input_tokens": 0,
                "output_tokens": 50,
                "server_tool_use": {"web_search_requests": 0},
                "api_key_id": None,
                "workspace_id": None,
                "model": "claude-haiku-4-5-20251001",
                "service_tier": "standard",
                "context_window": "0-200k",
            },
        ]
        org.cost[day] = [
            {
                "amount": "1250.50",  # cents: $12.505
                "currency": "USD",
                "cost_type": "tokens",
                "description": "Claude Opus 4.8 Usage - Input Tokens",
                "model": "claude-opus-4-8",
                "token_type": "uncached_input_tokens",
                "service_tier": "standard",
                "context_window": "0-200k",
                "workspace_id": "wrkspc_alpha",
                "inference_geo": "global",
            },
            {
                "amount": "50",
                "currency": "USD",
                "cost_type": "web_search",
                "description": "Web Search Usage",
                "model": None,
                "token_type": None,
                "service_tier": None,
                "context_window": None,
                "workspace_id": None,
                "inference_geo": None,
            },
        ]
        org.claude_code[day] = [
            {
                "date": f"{day.isoformat()}T00:00:00Z",
                "actor": {"type": "user_actor", "email_address": "dev@example.com"},
                "organization_id": "12345678-1234-5678-1234-567812345678",
                "customer_type": "api",
                "terminal_type": "vscode",
                "core_metrics": {
                    "num_sessions": 3,
                    "lines_of_code": {"added": 100, "removed": 20},
                    "commits_by_claude_code": 2,
                    "pull_requests_by_claude_code": 1,
                },
                "tool_actions": {"edit_tool": {"accepted": 10, "rejected": 1}},
                "model_breakdown": [
                    {
                        "model": "claude-opus-4-8",
                        "tokens": {"input": 1000, "output": 500, "cache_read": 100, "cache_creation": 50},
                        "estimated_cost": {"currency": "USD", "amount": 186},
                    }
                ],
            },
            {
                "date": f"{day.isoformat()}T00:00:00Z",
                "actor": {"type": "api_actor", "api_key_name": "ci-bot"},
                "organization_id": "12345678-1234-5678-1234-567812345678",
                "customer_type": "api",
                "terminal_type": "non-interactive",
                "core_metrics": {
                    "num_sessions": 1,
                    "lines_of_code": {"added": 5, "removed": 0},
                    "commits_by_claude_code": 0,
                    "pull_requests_by_claude_code": 0,
                },
                "tool_actions": {},
                "model_breakdown": [
                    {
                        "model": "claude-sonnet-4-6",
                        "tokens": {"input": 10, "output": 5, "cache_read": 0, "cache_creation": 0},
                        "estimated_cost": {"currency": "USD", "amount": 42},
                    }
                ],
            },
        ]
    return org


def _bad(message: str) -> Reply:
    return Reply.error(400, "invalid_request_error", message)


def _limit(query: dict[str, list[str]], default: int, maximum: int) -> int | Reply:
    raw = query.get("limit", [str(default)])[-1]
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        return _bad(f"limit: must be between 1 and {maximum}")
    return int(raw)


def _when(raw: str | None, name: str) -> datetime | Reply | None:
    if raw is None:
        return None
    if not _RFC3339.match(raw):
        return _bad(f"{name}: must be an RFC 3339 timestamp")
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


class FakeAdmin(FakeAnthropic):
    """``with FakeAdmin(admin_key, org) as api:``; point CLAUDE_HEALTH_ADMIN_BASE_URL at ``base_url``."""

    def __init__(self, admin_key: str, org: Org | None = None, *, page_size: int | None = None) -> None:
        super().__init__(admin_key)
        self.org = org or sample_org(datetime.now(UTC).date())
        self.page_size = page_size
        self._failures: dict[str, deque[Reply]] = {}

    def fail(self, prefix: str, *replies: Reply) -> None:
        """Serve ``replies`` (in order, once each) to requests whose path starts with ``prefix``."""
        with self._lock:
            self._failures.setdefault(prefix, deque()).extend(replies)

    def _scripted_for(self, route: str) -> Reply | None:
        with self._lock:
            for prefix, queue in self._failures.items():
                if route.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    def default_reply(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(path)
        route = parts.path
        if not route.startswith("/v1/organizations"):
            return super().default_reply(method, path, headers, body)
        scripted = self._scripted_for(route)
        if scripted is not None:
            return scripted
        if headers.get("x-api-key") != self.api_key:
            return Reply.error(401, "authentication_error", "invalid x-api-key")
        if "anthropic-version" not in headers:
            return _bad("anthropic-version: header is required")
        if method != "GET":
            return Reply.error(405, "invalid_request_error", "method not allowed")
        query = parse_qs(parts.query, keep_blank_values=True)
        if route == RATE_LIMITS:
            return self._rate_limits(self.org.rate_limits, query)
        if route == WORKSPACES:
            return self._workspaces(query)
        match = _WS_LIMITS.match(route)
        if match:
            wid = unquote(match.group(1))
            if wid not in self.org.overrides:
                return Reply.error(404, "not_found_error", f"workspace {wid} not found")
            return self._rate_limits(self.org.overrides[wid], query)
        if route in (USAGE, COST):
            return self._report(route, query)
        if route == CLAUDE_CODE:
            return self._claude_code(query)
        return Reply.error(404, "not_found_error", f"Not found: {route}")

    # -- endpoints --------------------------------------------------------------------------

    def _rate_limits(self, entries: list[dict[str, Any]], query: dict[str, list[str]]) -> Reply:
        if "model" in query and not any(query["model"][-1] in (e.get("models") or []) for e in entries):
            return Reply.error(404, "not_found_error", "model not found")
        size = self.page_size
        if "limit" in query:
            limit = _limit(query, 1000, 1000)
            if isinstance(limit, Reply):
                return limit
            size = limit
        start = int(query.get("page", ["0"])[-1] or 0) if query.get("page", ["0"])[-1].isdigit() else -1
        if start < 0:
            return _bad("page: invalid cursor")
        if size is None:
            return Reply(200, {"data": entries[start:], "next_page": None})
        chunk = entries[start : start + size]
        more = start + size < len(entries)
        return Reply(200, {"data": chunk, "next_page": str(start + size) if more else None})

    def _workspaces(self, query: dict[str, list[str]]) -> Reply:
        limit = _limit(query, 20, 1000)
        if isinstance(limit, Reply):
            return limit
        if self.page_size:
            limit = min(limit, self.page_size)
        items = self.org.workspaces
        after = query.get("after_id", [None])[-1]
        if after is not None:
            ids = [w["id"] for w in items]
            if after not in ids:
                return _bad("after_id: not found")
            items = items[ids.index(after) + 1 :]
        chunk = items[:limit]
        return Reply(
            200,
            {
                "data": chunk,
                "has_more": len(items) > limit,
                "first_id": chunk[0]["id"] if chunk else None,
                "last_id": chunk[-1]["id"] if chunk else None,
            },
        )

    def _report(self, route: str, query: dict[str, list[str]]) -> Reply:
        start = _when(query.get("starting_at", [None])[-1], "starting_at")
        if start is None:
            return _bad("starting_at: Field required")
        end = _when(query.get("ending_at", [None])[-1], "ending_at")
        for value in (start, end):
            if isinstance(value, Reply):
                return value
        assert isinstance(start, datetime)
        width = query.get("bucket_width", ["1d"])[-1]
        if width not in (("1d", "1h", "1m") if route == USAGE else ("1d",)):
            return _bad("bucket_width: invalid value")
        allowed = USAGE_GROUP_BY if route == USAGE else COST_GROUP_BY
        if any(g not in allowed for g in query.get("group_by[]", [])):
            return _bad("group_by[]: invalid value")
        limit = _limit(query, 7, 31)
        if isinstance(limit, Reply):
            return limit
        if self.page_size:
            limit = min(limit, self.page_size)
        first = start.astimezone(UTC).date()
        last = (
            end.astimezone(UTC).date()
            if isinstance(end, datetime)
            else datetime.now(UTC).date() + timedelta(1)
        )
        page = query.get("page", [None])[-1]
        if page is not None:
            try:
                first = date.fromisoformat(page.removeprefix("page_"))
            except ValueError:
                return _bad("page: invalid cursor")
        days = [first + timedelta(d) for d in range((last - first).days)]
        source = self.org.usage if route == USAGE else self.org.cost
        chunk = days[:limit]
        data = [
            {
                "starting_at": f"{d.isoformat()}T00:00:00Z",
                "ending_at": f"{(d + timedelta(1)).isoformat()}T00:00:00Z",
                "results": source.get(d, []),
            }
            for d in chunk
        ]
        more = len(days) > limit
        return Reply(
            200,
            {
                "data": data,
                "has_more": more,
                "next_page": f"page_{days[limit].isoformat()}" if more else None,
            },
        )

    def _claude_code(self, query: dict[str, list[str]]) -> Reply:
        raw = query.get("starting_at", [None])[-1]
        if raw is None or not _DAY.match(raw):
            return _bad("starting_at: must be a UTC date in YYYY-MM-DD format")
        limit = _limit(query, 20, 1000)
        if isinstance(limit, Reply):
            return limit
        if self.page_size:
            limit = min(limit, self.page_size)
        records = self.org.claude_code.get(date.fromisoformat(raw), [])
        offset_raw = query.get("page", ["0"])[-1]
        if not offset_raw.isdigit():
            return _bad("page: invalid cursor")
        offset = int(offset_raw)
        chunk = records[offset : offset + limit]
        more = offset + limit < len(records)
        return Reply(
            200, {"data": chunk, "has_more": more, "next_page": str(offset + limit) if more else None}
        )

    def calls(self, route: str) -> list[str]:
        """The paths (with queries) of the requests made to ``route``."""
        return [r.path for r in self.requests if urlsplit(r.path).path == route]
