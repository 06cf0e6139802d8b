"""``redis://HOST:PORT/DB``: buckets shared by every machine of a team.

Each decision is one atomic Lua script (EVALSHA; on NOSCRIPT the script is loaded and the call
repeated) that reads Redis' own ``TIME`` -- so client clocks never matter -- and debits every
bucket or none. A model class keeps all its buckets in one hash (fields ``<dim>:t`` tokens,
``:s`` timestamp, ``:c`` capacity, ``:l`` learned), so a decision is one HMGET and one HSET on
the server. Keys expire a day after their last use. Needs the optional ``redis`` client:
``pip install 'claude-health[redis]'``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from claude_health.tools.limiter.bucket import State, Verdict
from claude_health.tools.limiter.stores.base import Event, StoreError, Sync

PREFIX = "claude-health:limiter:"
KEY_TTL = 86400
EVENT_TTL = 7 * 86400
MAX_EVENTS = 1000

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""
# ARGV: ttl, the dims ("rpm,itpm,..."), their configured capacities and the amounts (or
# deltas), each list as one comma-separated argument: every argument costs the Python client
# more than parsing it costs Lua. Only tokens and one shared stamp are written per decision
# (float formatting, tostring, is the dearest thing a script does here).
_PARSE = """
local function list(s, numeric)
  local out = {}
  for item in string.gmatch(s, '[^,]+') do out[#out + 1] = numeric and tonumber(item) or item end
  return out
end
local dims, caps, amounts = list(ARGV[2], false), list(ARGV[3], true), list(ARGV[4], true)
local n = #dims
local f = {}
for i = 1, n do
  local d = dims[i]
  f[#f + 1] = d .. ':t'; f[#f + 1] = d .. ':s'; f[#f + 1] = d .. ':c'; f[#f + 1] = d .. ':l'
end
-- v: HMGET reply, b: offset of a bucket in it; -> effective capacity, level (nil: no limit)
local function read(v, b, cap)
  if v[b + 4] == '1' and v[b + 3] and tonumber(v[b + 3]) > 0 then cap = tonumber(v[b + 3]) end
  if cap <= 0 then return cap, nil end
  if not v[b + 1] then return cap, cap end
  local elapsed = now - tonumber(v[b + 2])
  if elapsed < 0 then elapsed = 0 end
  return cap, math.min(cap, tonumber(v[b + 1]) + elapsed * cap / 60)
end
"""
# KEYS: class hash, hold key. Mirrors bucket.decide. Numbers go back as strings: Redis
# truncates Lua numbers to integers in replies.
ACQUIRE = (
    _NOW
    + """
local hold = redis.call('PTTL', KEYS[2])
if hold > 0 then return {1, tostring(hold / 1000), 0} end
"""
    + _PARSE
    + """
local v = redis.call('HMGET', KEYS[1], unpack(f))
local left, worst, worst_i = {}, 0, 0
for i = 1, n do
  local cap, level = read(v, 4 * (i - 1), caps[i])
  if level then
    local amount = amounts[i]
    if amount > cap then return {2, '0', i} end
    left[i] = level - amount
    if level < amount then
      local wait = (amount - level) * 60 / cap
      if wait > worst then worst = wait; worst_i = i end
    end
  end
end
if worst_i > 0 then return {1, tostring(worst), worst_i} end
local stamp = tostring(now)
local set = {}
for i = 1, n do
  if left[i] then
    set[#set + 1] = f[4 * i - 3]; set[#set + 1] = tostring(left[i])
    set[#set + 1] = f[4 * i - 2]; set[#set + 1] = stamp
  end
end
if #set > 0 then
  redis.call('HSET', KEYS[1], unpack(set))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return {0, '0', 0}
"""
)
# KEYS: class hash. The fourth argument holds deltas (negative refunds; refunds stop at capacity).
ADJUST = (
    _NOW
    + _PARSE
    + """
local v = redis.call('HMGET', KEYS[1], unpack(f))
local stamp = tostring(now)
local set = {}
for i = 1, n do
  local cap, level = read(v, 4 * (i - 1), caps[i])
  if level then
    set[#set + 1] = f[4 * i - 3]; set[#set + 1] = tostring(math.min(cap, level - amounts[i]))
    set[#set + 1] = f[4 * i - 2]; set[#set + 1] = stamp
  end
end
if #set > 0 then
  redis.call('HSET', KEYS[1], unpack(set))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return 0
"""
)
# KEYS: class hashes..., hold key (last). ARGV: ttl, hold_ms, (key index, dim, cap, tokens) x m.
SYNC = (
    _NOW
    + """
local hold_key = KEYS[#KEYS]
for j = 3, #ARGV, 4 do
  local key = KEYS[tonumber(ARGV[j])]
  local d = ARGV[j + 1]
  local cap = tonumber(ARGV[j + 2])
  redis.call('HSET', key, d .. ':t', tostring(math.min(cap, tonumber(ARGV[j + 3]))), d .. ':s', tostring(now),
    d .. ':c', tostring(cap), d .. ':l', '1')
  redis.call('EXPIRE', key, tonumber(ARGV[1]))
end
local hold_ms = tonumber(ARGV[2])
if hold_ms > 0 and redis.call('PTTL', hold_key) < hold_ms then
  redis.call('SET', hold_key, '1', 'PX', hold_ms)
end
return 0
"""
)
# KEYS: class hash, hold key. ARGV: dim x n. -> now, hold seconds, then 4 fields per dim.
SNAPSHOT = (
    _NOW
    + """
local f = {}
for i = 1, #ARGV do
  local d = ARGV[i]
  f[#f + 1] = d .. ':t'; f[#f + 1] = d .. ':s'; f[#f + 1] = d .. ':c'; f[#f + 1] = d .. ':l'
end
local v = redis.call('HMGET', KEYS[1], unpack(f))
local out = {tostring(now), tostring(math.max(0, redis.call('PTTL', KEYS[2])) / 1000)}
for i = 1, #f do out[#out + 1] = v[i] or '' end
return out
"""
)


def safe_url(url: str) -> str:
    """The URL without a password, fit for messages and status output."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def split(keys: Sequence[str]) -> tuple[str, list[str]]:
    """``ns|class|dim`` keys of one decision -> (the class hash, the dims). They must share a class."""
    hashes, dims = set(), []
    for key in keys:
        head, _, dim = key.rpartition("|")
        hashes.add(head)
        dims.append(dim)
    if len(hashes) != 1:
        raise ValueError(f"one decision must touch one model class, got {sorted(hashes)}")
    return PREFIX + hashes.pop(), dims


class _Script:
    """EVALSHA with the NOSCRIPT fallback, called straight through ``execute_command``."""

    def __init__(self, client: Any, source: str, no_script: type[BaseException]) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self.no_script = no_script

    def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return self.client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except self.no_script:
            self.sha = self.client.script_load(self.source)
            return self.client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)


class RedisStore:
    def __init__(self, url: str, connect_timeout: float = 2.0) -> None:
        self.url = safe_url(url)
        self.warnings: list[str] = []
        try:
            import redis
            from redis.exceptions import NoScriptError
        except ImportError:
            raise StoreError(
                "the redis:// limiter store needs the redis client: pip install 'claude-health[redis]'"
            ) from None
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        try:
            self._client: Any = redis.Redis.from_url(
                url, socket_timeout=connect_timeout, socket_connect_timeout=connect_timeout
            )
            self._client.ping()
        except (ValueError, *self._errors) as exc:
            raise StoreError(f"cannot reach Redis at {self.url}: {exc}") from None
        self._acquire = _Script(self._client, ACQUIRE, NoScriptError)
        self._adjust = _Script(self._client, ADJUST, NoScriptError)
        self._sync = _Script(self._client, SYNC, NoScriptError)
        self._snapshot = _Script(self._client, SNAPSHOT, NoScriptError)
        # hold_key -> (keys, caps, redis keys, static args): the per-class part of every call.
        self._prepared: dict[str, tuple[Sequence[str], Sequence[float], list[str], list[Any]]] = {}

    def _call(self, script: _Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return script(keys, args)
        except self._errors as exc:
            raise StoreError(f"Redis at {self.url} failed: {exc}") from None

    @staticmethod
    def _static(keys: Sequence[str], caps: Sequence[float]) -> tuple[str, list[Any]]:
        hash_key, dims = split(keys)
        return hash_key, [KEY_TTL, ",".join(dims), ",".join(repr(float(c)) for c in caps)]

    def acquire(
        self, keys: Sequence[str], caps: Sequence[float], amounts: Sequence[float], hold_key: str
    ) -> Verdict:
        prepared = self._prepared.get(hold_key)
        if prepared is None or prepared[0] is not keys or prepared[1] is not caps:
            hash_key, static = self._static(keys, caps)
            prepared = self._prepared[hold_key] = (keys, caps, [hash_key, PREFIX + hold_key], static)
        amount_list = ",".join([str(a) for a in amounts])
        status, wait, index = self._call(self._acquire, prepared[2], [*prepared[3], amount_list])
        return (int(status), float(wait), int(index) - 1)

    def adjust(self, keys: Sequence[str], caps: Sequence[float], deltas: Sequence[float]) -> None:
        if not keys:
            return
        hash_key, static = self._static(keys, caps)
        self._call(self._adjust, [hash_key], [*static, ",".join(repr(float(d)) for d in deltas)])

    def sync(self, items: Sequence[Sync], hold: tuple[str, float] | None = None) -> None:
        hold_key, hold_s = hold if hold is not None else ("hold:none", 0.0)
        hashes: list[str] = []
        args: list[Any] = [KEY_TTL, int(hold_s * 1000)]
        for item in items:
            head, _, dim = item.key.rpartition("|")
            if PREFIX + head not in hashes:
                hashes.append(PREFIX + head)
            args += [
                hashes.index(PREFIX + head) + 1,
                dim,
                repr(float(item.capacity)),
                repr(float(item.tokens)),
            ]
        self._call(self._sync, [*hashes, PREFIX + hold_key], args)

    def snapshot(self, keys: Sequence[str], hold_key: str) -> tuple[list[State | None], float, float]:
        hash_key, dims = split(keys)
        out = self._call(self._snapshot, [hash_key, PREFIX + hold_key], dims)
        values = [v.decode() if isinstance(v, bytes) else str(v) for v in out]
        now, hold_left = float(values[0]), float(values[1])
        states: list[State | None] = []
        for i in range(len(keys)):
            tokens, ts, cap, learned = values[2 + 4 * i : 6 + 4 * i]
            states.append(
                State(float(tokens), float(ts), float(cap or 0), learned == "1") if tokens else None
            )
        return states, hold_left, now

    def record_event(self, event: Event) -> None:
        payload = json.dumps(
            {"kind": event.kind, "model": event.model, "at": event.at, "detail": event.detail[:500]}
        )
        try:
            pipe = self._client.pipeline()
            pipe.lpush(PREFIX + "events", payload).ltrim(PREFIX + "events", 0, MAX_EVENTS - 1)
            pipe.expire(PREFIX + "events", EVENT_TTL).execute()
        except self._errors as exc:
            raise StoreError(f"Redis at {self.url} failed: {exc}") from None

    def events(self, since: float) -> list[Event]:
        try:
            raw = self._client.lrange(PREFIX + "events", 0, MAX_EVENTS - 1)
        except self._errors as exc:
            raise StoreError(f"Redis at {self.url} failed: {exc}") from None
        found: list[Event] = []
        for item in raw:
            try:
                d = json.loads(item)
                ev = Event(str(d["kind"]), str(d["model"]), float(d["at"]), str(d.get("detail", "")))
            except (ValueError, KeyError, TypeError):
                continue
            if ev.at >= since:
                found.append(ev)
        return sorted(found, key=lambda e: e.at)

    def close(self) -> None:
        with contextlib.suppress(*self._errors):
            self._client.close()
