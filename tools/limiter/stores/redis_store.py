"""``redis://HOST:PORT/DB``: buckets shared by every machine of a team.

Each decision is one atomic Lua script (EVALSHA; on NOSCRIPT the script is loaded and the call
repeated) that reads Redis' own ``TIME`` -- so client clocks never matter -- and debits every
bucket or none. A model class keeps everything in one string key holding fifteen packed
little-endian doubles (Lua's bundled ``struct`` library): the ``retry-after`` hold, the key's
expiry deadline, then tokens, timestamp and learned capacity for each of RPM, ITPM, OTPM and TPM,
then the hold's length. ``TIME`` is the server's wall clock, which may step: as in
:mod:`claude_health.tools.limiter.bucket`, a bucket dated in the future is re-dated to now (a
refusal writes it too), and a hold never has more than its length left. A key written by the
previous version (fourteen doubles, no hold length) is read with the longest hold length allowed
and rewritten in the new layout.
A decision is therefore ``TIME``, ``GET`` and one ``SET``, and neither side formats or parses a
number as text on the hot path. Keys expire 23 to 24 hours after their last write (the TTL is
renewed, by ``SET ... PX``, only once it has under 23 hours left; other writes keep it with
``KEEPTTL``, Redis 6.0+). Needs the optional ``redis`` client:
``pip install 'claude-health[redis]'``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import struct
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from claude_health.tools.limiter.bucket import ALLOWED, State, Verdict, hold_left
from claude_health.tools.limiter.headers import MAX_RETRY_AFTER
from claude_health.tools.limiter.stores.base import Event, StoreError, Sync, is_number, valid_event
from claude_health.tools.limiter.table import DIMENSIONS
from claude_health.tools.urls import parse_url, shown_url

PREFIX = "claude-health:limiter:v2:"
"""Class keys (``v2``: the packed layout; the hashes of the first layout are never misread)."""
EVENTS_KEY = "claude-health:limiter:events"
KEY_TTL = 86400
"""Seconds a class key lives after a write (the scripts spell it out: 86400, renewed under 82800)."""
EVENT_TTL = 7 * 86400
MAX_EVENTS = 1000

SLOTS = {dim: i for i, dim in enumerate(DIMENSIONS)}
"""Where each dimension lives in a class key: slot ``i`` holds doubles ``3 + 3i .. 5 + 3i``."""
STATE = struct.Struct("<15d")
OLD_STATE = struct.Struct("<14d")
"""The layout before the hold length (read, never written)."""

# The state of a class key, as a Lua table ``s``:
#   s[1] hold: server time until which a retry-after blocks the class (0: none)
#   s[2] the key's expiry deadline (server time) as last set
#   s[b], s[b+1], s[b+2] with b = 3 + 3 * slot: tokens, timestamp (0: never written, so full)
#   and learned capacity (0: not learned, -1: learned as zero, else the server's limit).
#   s[15] the hold's length in seconds (bucket.hold_left: it never has more than that left).
# ARGV[1] of ADJUST packs n slots, n configured capacities and n deltas (ACQUIRE's is below).
_PRELUDE = """
local STATE = '<ddddddddddddddd'
local ARGS = {'<ddd', '<dddddd', '<ddddddddd', '<dddddddddddd'}
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function load(key)
  local raw = redis.call('GET', key)
  if raw and #raw == 120 then return {struct.unpack(STATE, raw)} end
  if raw and #raw == 112 then
    local s = {struct.unpack('<dddddddddddddd', raw)}
    s[15] = 86400
    return s
  end
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
end
local function save(key, s)
  if s[2] - now < 82800 or s[1] >= s[2] then
    local deadline = now + 86400
    if s[1] >= deadline then deadline = s[1] + 1 end
    s[2] = deadline
    redis.call('SET', key, struct.pack(STATE, unpack(s, 1, 15)), 'PX', math.ceil((deadline - now) * 1000))
  else
    redis.call('SET', key, struct.pack(STATE, unpack(s, 1, 15)), 'KEEPTTL')
  end
end
local function args(a)
  local n = #a / 24
  return n, {struct.unpack(ARGS[n] or ('<' .. string.rep('d', 3 * n)), a)}
end
-- bucket.level with bucket.effective_capacity: -> capacity, level (nil: no limit known)
local function read(s, b, cap)
  if s[b + 2] > 0 then cap = s[b + 2] end
  if cap <= 0 then return cap, nil end
  if s[b + 1] <= 0 then return cap, cap end
  local elapsed = now - s[b + 1]
  if elapsed < 0 then elapsed = 0 end
  local level = s[b] + elapsed * cap / 60
  if level > cap then level = cap end
  return cap, level
end
"""
# KEYS: the class key. ARGV[1]: the four configured capacities in slot order (-1: the slot is not
# part of this decision) and the four amounts. Mirrors bucket.decide, unrolled over the slots
# into locals: tables and closures are what a script this small spends its time on. Allowed ->
# 0; otherwise {status, wait as text, slot} (Redis truncates Lua numbers to integers in replies).
# A refusal writes nothing unless a step of the server's clock left a bucket or the hold dated
# too far ahead, or a hold is over (``dirty``): then the key is re-dated, as bucket.decide and
# bucket.hold_left do, and a hold that is over is cleared (a later step back cannot revive it).
_ACQUIRE_SLOT = """
local v{i}
if c{i} >= 0 then
  if l{i} > 0 then c{i} = l{i} end
  if c{i} > 0 then
    if a{i} > c{i} then return {{2, '0', {i}}} end
    local lv = c{i}
    if s{i} > 0 then
      lv = t{i}
      local el = now - s{i}
      if el > 0 then lv = lv + el * c{i} / 60 elseif el < 0 then s{i} = now; dirty = true end
      if lv > c{i} then lv = c{i} end
    end
    if lv < a{i} then
      local w = (a{i} - lv) * 60 / c{i}
      if w > worst then worst = w; wi = {i} end
    end
    v{i} = lv - a{i}
  end
end
"""
ACQUIRE = (
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local raw = redis.call('GET', KEYS[1])
local h, e, t1, s1, l1, t2, s2, l2, t3, s3, l3, t4, s4, l4, hl = 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
if raw then
  if #raw == 120 then
    h, e, t1, s1, l1, t2, s2, l2, t3, s3, l3, t4, s4, l4, hl = struct.unpack('<ddddddddddddddd', raw)
  elseif #raw == 112 then
    h, e, t1, s1, l1, t2, s2, l2, t3, s3, l3, t4, s4, l4 = struct.unpack('<dddddddddddddd', raw)
    hl = 86400
  end
end
local dirty, reply = false, nil
if h > now then
  if h - now > hl then h = now + hl; dirty = true end
  if h > now then
    reply = {1, tostring(h - now), 0}
    if not dirty then return reply end
  end
elseif h > 0 then
  h = 0; dirty = true
end
if not reply then
local c1, c2, c3, c4, a1, a2, a3, a4 = struct.unpack('<dddddddd', ARGV[1])
local worst, wi = 0, 0
"""
    + "".join(_ACQUIRE_SLOT.format(i=i) for i in range(1, 5))
    + """
if wi > 0 then
  reply = {1, tostring(worst), wi}
  if not dirty then return reply end
elseif v1 or v2 or v3 or v4 then
  if v1 then t1 = v1; s1 = now end
  if v2 then t2 = v2; s2 = now end
  if v3 then t3 = v3; s3 = now end
  if v4 then t4 = v4; s4 = now end
  reply = 0
else
  if not dirty then return 0 end
  reply = 0
end
end
local renew = e - now < 82800
if renew then e = now + 86400 end
local state = struct.pack('<ddddddddddddddd', h, e, t1, s1, l1, t2, s2, l2, t3, s3, l3, t4, s4, l4, hl)
if renew then
  redis.call('SET', KEYS[1], state, 'PX', 86400000)
else
  redis.call('SET', KEYS[1], state, 'KEEPTTL')
end
return reply
"""
)
# KEYS: the class key. Mirrors bucket.adjusted: refunds never fill past capacity, debt stops at
# one capacity below zero.
ADJUST = (
    _PRELUDE
    + """
local s = load(KEYS[1])
local n, q = args(ARGV[1])
local changed = false
for i = 1, n do
  local b = 3 + 3 * q[i]
  local cap, level = read(s, b, q[n + i])
  if level then
    s[b] = math.max(-cap, math.min(cap, level - q[n + n + i])); s[b + 1] = now; changed = true
  end
end
if changed then save(KEYS[1], s) end
return 0
"""
)
# KEYS: class keys. ARGV: index of the key holding the hold (0: none), hold seconds, then
# (key index, slot, capacity, tokens) per header truth.
SYNC = (
    _PRELUDE
    + """
local states = {}
for k = 1, #KEYS do states[k] = load(KEYS[k]) end
for j = 3, #ARGV, 4 do
  local s = states[tonumber(ARGV[j])]
  local b = 3 + 3 * tonumber(ARGV[j + 1])
  local cap = tonumber(ARGV[j + 2])
  s[b] = math.min(cap, tonumber(ARGV[j + 3])); s[b + 1] = now
  if cap > 0 then s[b + 2] = cap else s[b + 2] = -1 end
end
local h = tonumber(ARGV[1])
local hold = tonumber(ARGV[2])
if h > 0 and hold > 0 and states[h][1] < now + hold then states[h][1] = now + hold; states[h][15] = hold end
for k = 1, #KEYS do save(KEYS[k], states[k]) end
return 0
"""
)
# KEYS: the class key, the class key of the hold. -> TIME seconds, microseconds, both states.
SNAPSHOT = """
local t = redis.call('TIME')
return {t[1], t[2], redis.call('GET', KEYS[1]) or '', redis.call('GET', KEYS[2]) or ''}
"""


def _unpack(raw: bytes) -> tuple[float, ...] | None:
    """A class key's fifteen doubles (the previous layout's fourteen get the longest hold length)."""
    if len(raw) == STATE.size:
        values: tuple[float, ...] = STATE.unpack(raw)
        return values
    if len(raw) == OLD_STATE.size:
        return (*OLD_STATE.unpack(raw), MAX_RETRY_AFTER)
    return None


def _single_host_urls(url: str) -> list[str]:
    """A ``redis+cluster://`` URL lists several ``host:port`` pairs: each is checked as a URL of
    its own (a list is no valid port); any other URL is checked as it is."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.endswith("+cluster"):
        return [url]
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    return [f"{scheme}://{userinfo}{at}{host}{slash}{tail}" for host in hosts.split(",")]


def safe_url(url: str) -> str:
    """The URL without a password, fit for messages and status output.

    Raises :class:`StoreError` for a URL that cannot be parsed (e.g. ``redis://[::1``).
    """
    try:
        for one in _single_host_urls(url):
            parse_url(one)
        parts = urlsplit(url)
    except ValueError as exc:
        raise StoreError(f"the limiter store URL {shown_url(url)!r} is not a valid URL: {exc}") from None
    if parts.scheme.endswith("+cluster"):
        _userinfo, at, hosts = parts.netloc.rpartition("@")
        netloc = f"***@{hosts}" if at else hosts
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def class_key(key: str) -> tuple[str, int]:
    """``ns|class|dim`` -> (the Redis key of the class, the dimension's slot)."""
    head, _, dim = key.rpartition("|")
    slot = SLOTS.get(dim)
    if slot is None or not head:
        raise ValueError(f"limiter keys look like NAMESPACE|CLASS|{'/'.join(DIMENSIONS)}, got {key!r}")
    return PREFIX + head, slot


def split(keys: Sequence[str]) -> tuple[str, list[int]]:
    """The keys of one decision -> (their class key, their slots). They must share a class."""
    pairs = [class_key(k) for k in keys]
    hashes = {h for h, _ in pairs}
    if len(hashes) != 1:
        raise ValueError(f"one decision must touch one model class, got {sorted(hashes)}")
    return hashes.pop(), [s for _, s in pairs]


def hold_class(hold_key: str) -> str:
    """``ns|class|hold`` -> the Redis key of the class, where the hold is kept."""
    return PREFIX + hold_key.rpartition("|")[0]


def _packer(slots: Sequence[int], caps: Sequence[float]) -> Callable[[Sequence[float]], bytes]:
    """``deltas -> ARGV[1]`` of ADJUST: the slots and capacities packed once, the deltas per call."""
    n = len(slots)
    static = struct.pack(f"<{2 * n}d", *slots, *caps)
    pack = struct.Struct(f"<{n}d").pack
    return lambda amounts: static + pack(*amounts)


_FOUR = struct.Struct("<4d")


def _acquire_packer(slots: Sequence[int], caps: Sequence[float]) -> Callable[[Sequence[float]], bytes]:
    """``amounts -> ARGV[1]`` of ACQUIRE: four capacities by slot (-1: not in the decision), four amounts."""
    if list(slots) != sorted(set(slots)):
        # The script visits slots in order; keeping the caller's order keeps bucket.decide's answer.
        raise ValueError(f"the buckets of a decision must come in the order {', '.join(DIMENSIONS)}")
    by_slot = [-1.0] * len(DIMENSIONS)
    for slot, cap in zip(slots, caps, strict=True):
        by_slot[slot] = float(cap)
    static = _FOUR.pack(*by_slot)
    pack = _FOUR.pack
    if len(slots) == len(DIMENSIONS):
        return lambda amounts: static + pack(*amounts)

    def spread(amounts: Sequence[float]) -> bytes:
        values = [0.0] * len(DIMENSIONS)
        for slot, amount in zip(slots, amounts, strict=True):
            values[slot] = amount
        return static + pack(*values)

    return spread


_Prepared = tuple[
    Sequence[str], Sequence[float], tuple[Any, ...], Callable[[Sequence[float]], bytes], dict[int, int]
]


class _Script:
    """EVALSHA with the NOSCRIPT fallback, called straight through ``execute_command``."""

    def __init__(self, client: Any, source: str, no_script: type[BaseException]) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self.no_script = no_script

    def load(self) -> None:
        self.sha = self.client.script_load(self.source)

    def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return self.client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except self.no_script:
            self.load()
            return self.client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)


class RedisStore:
    # Key naming; the cluster store (redis_cluster.py) puts every key of a namespace in one slot.
    _split = staticmethod(split)
    _class_key = staticmethod(class_key)
    _hold_class = staticmethod(hold_class)

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
        # RedisClusterException is the cluster client's (redis+cluster://) error that is no RedisError.
        self._errors: tuple[type[BaseException], ...] = (
            redis.RedisError,
            redis.exceptions.RedisClusterException,
            OSError,
        )
        self._no_script = NoScriptError
        try:
            self._client: Any = self._connect(url, connect_timeout)
            self._client.ping()
        except TypeError as exc:  # redis-py passes unknown query parameters on as keyword arguments
            unknown = re.search(r"keyword argument '([^']+)'", str(exc))
            name = f" {unknown.group(1)!r}" if unknown else ""
            raise StoreError(
                f"the Redis URL {self.url} has a query parameter{name} that is not a Redis connection "
                "option; remove it (see the redis-py URL format)"
            ) from None
        except (ValueError, *self._errors) as exc:
            raise StoreError(f"cannot reach Redis at {self.url}: {exc}") from None
        self._acquire = _Script(self._client, ACQUIRE, NoScriptError)
        self._adjust = _Script(self._client, ADJUST, NoScriptError)
        self._sync = _Script(self._client, SYNC, NoScriptError)
        self._snapshot = _Script(self._client, SNAPSHOT, NoScriptError)
        # hold_key -> (keys, caps, the EVALSHA command up to ARGV, the ARGV[1] packer, and the
        # index in ``keys`` of each slot the script may name).
        self._prepared: dict[str, _Prepared] = {}

    def _connect(self, url: str, connect_timeout: float) -> Any:
        import redis

        return redis.Redis.from_url(
            url, socket_timeout=connect_timeout, socket_connect_timeout=connect_timeout
        )

    @property
    def client(self) -> Any:
        """The redis-py client every call goes through (the benchmark times a raw round trip on it)."""
        return self._client

    def _failed(self, exc: BaseException, keys: Sequence[str | bytes]) -> StoreError:
        """The error to raise, naming the key when another program's value sits under our name."""
        if "WRONGTYPE" in str(exc):
            names = ", ".join(k.decode() if isinstance(k, bytes) else k for k in keys)
            return StoreError(
                f"Redis at {self.url}: the key {names} holds another type of value, not claude-health's "
                "limiter state; delete it (redis-cli DEL) or use another database number in the URL"
            )
        return StoreError(f"Redis at {self.url} failed: {exc}")

    def _call(self, script: _Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return script(keys, args)
        except self._errors as exc:
            raise self._failed(exc, keys) from None

    def _prepare(self, keys: Sequence[str], caps: Sequence[float], hold_key: str) -> _Prepared:
        key, slots = self._split(keys)
        if self._hold_class(hold_key) != key:
            raise ValueError(f"the hold {hold_key!r} must belong to the class of {keys[0]!r}")
        command = ("EVALSHA", self._acquire.sha, 1, key.encode())
        index = {slot + 1: i for i, slot in enumerate(slots)}
        prepared = self._prepared[hold_key] = (keys, caps, command, _acquire_packer(slots, caps), index)
        return prepared

    def acquire(
        self, keys: Sequence[str], caps: Sequence[float], amounts: Sequence[float], hold_key: str
    ) -> Verdict:
        # The hot path: one EVALSHA whose only per-call argument is 8 bytes per bucket.
        prepared = self._prepared.get(hold_key)
        if prepared is None or prepared[0] is not keys or prepared[1] is not caps:
            prepared = self._prepare(keys, caps, hold_key)
        try:
            try:
                reply = self._client.execute_command(*prepared[2], prepared[3](amounts))
            except self._no_script:  # a restarted or flushed server: load and repeat, once
                self._acquire.load()
                self._prepared.clear()
                prepared = self._prepare(keys, caps, hold_key)
                reply = self._client.execute_command(*prepared[2], prepared[3](amounts))
        except self._errors as exc:
            raise self._failed(exc, [prepared[2][3]]) from None
        if reply == 0:
            return ALLOWED
        status, wait, slot = reply
        return (int(status), float(wait), prepared[4].get(int(slot), -1))

    def adjust(self, keys: Sequence[str], caps: Sequence[float], deltas: Sequence[float]) -> None:
        if not keys:
            return
        key, slots = self._split(keys)
        self._call(self._adjust, [key], [_packer(slots, caps)(deltas)])

    def sync(self, items: Sequence[Sync], hold: tuple[str, float] | None = None) -> None:
        keys: list[str] = []
        args: list[Any] = [0, 0]
        for item in items:
            key, slot = self._class_key(item.key)
            if key not in keys:
                keys.append(key)
            args += [keys.index(key) + 1, slot, repr(float(item.capacity)), repr(float(item.tokens))]
        if hold is not None and hold[1] > 0:
            key = self._hold_class(hold[0])
            if key not in keys:
                keys.append(key)
            args[0], args[1] = keys.index(key) + 1, repr(float(hold[1]))
        if keys:
            self._call(self._sync, keys, args)

    def snapshot(self, keys: Sequence[str], hold_key: str) -> tuple[list[State | None], float, float]:
        key, slots = self._split(keys)
        secs, micros, raw, hold_raw = self._call(self._snapshot, [key, self._hold_class(hold_key)], [])
        now = int(secs) + int(micros) / 1_000_000
        values = _unpack(raw)
        hold_values = _unpack(hold_raw)
        left = (
            hold_left(hold_values[0], hold_values[14], now)
            if hold_values and is_number(hold_values[0]) and is_number(hold_values[14])
            else 0.0
        )
        states: list[State | None] = []
        for slot in slots:
            b = 2 + 3 * slot
            # NaN or infinity is not a level anyone wrote: shown as never written, like the scripts do.
            if values is None or not all(map(is_number, values[b : b + 3])) or values[b + 1] <= 0:
                states.append(None)
                continue
            tokens, ts, learned = values[b : b + 3]
            states.append(State(tokens, ts, max(learned, 0.0), learned != 0))
        return states, left, now

    def record_event(self, event: Event) -> None:
        payload = json.dumps(
            {"kind": event.kind, "model": event.model, "at": event.at, "detail": event.detail[:500]}
        )
        try:
            pipe = self._client.pipeline()
            pipe.lpush(EVENTS_KEY, payload).ltrim(EVENTS_KEY, 0, MAX_EVENTS - 1)
            pipe.expire(EVENTS_KEY, EVENT_TTL).execute()
        except self._errors as exc:
            raise self._failed(exc, [EVENTS_KEY]) from None

    def events(self, since: float) -> list[Event]:
        try:
            raw = self._client.lrange(EVENTS_KEY, 0, MAX_EVENTS - 1)
        except self._errors as exc:
            raise self._failed(exc, [EVENTS_KEY]) from None
        found: list[Event] = []
        for item in raw:
            try:
                d = json.loads(item)
                ev = valid_event(d["kind"], d["model"], d["at"], d.get("detail", ""))
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                continue  # not an event this store wrote
            if ev is not None and ev.at >= since:
                found.append(ev)
        return sorted(found, key=lambda e: e.at)

    def close(self) -> None:
        with contextlib.suppress(*self._errors):
            self._client.close()
