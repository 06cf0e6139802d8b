"""``redis+cluster://HOST:PORT[,HOST:PORT...]``: the Redis store on a Redis Cluster (or Valkey).

The decision is the Redis store's own single Lua script (:mod:`.redis_store`: ``TIME``, one
``GET``, one ``SET``); only where it runs differs. Keys carry the namespace as a hash tag
(``claude-health:limiter:v2:{org}|opus-4``), so every key one decision, one header sync or one
snapshot touches lives in one slot, on one master, and the script stays atomic there.

Failover. Redis replicates asynchronously: a master killed right after answering can take its
last writes with it, and a replica promoted without them would hand out those tokens again. So
a write (a decision, a refund, a header sync) is sent in one pipeline with ``WAIT``: it counts
only once a replica holds it. A decision no replica confirmed within ``wait_timeout_ms``, or one
that cannot reach a master of its slot within ``failover_wait`` seconds (the old master is gone
and no replica has taken over yet), fails closed: :class:`StoreError`, nothing admitted. Why not
fall back to the local SQLite store: every machine of the team would then admit against a full
local bucket, up to N times the organisation's limit at once -- exactly the burst of 429s the
shared limiter exists to prevent -- while a failover takes seconds. Slots whose master has no
replica skip the ``WAIT`` (nothing could confirm it; such a cluster loses those slots on a crash
anyway).

Query options: ``wait_replicas`` (default 1; 0 turns the confirmation off), ``wait_timeout_ms``
(default 500), ``failover_wait`` (seconds, default 5), ``connect_timeout`` (seconds, default 2).
``rediss+cluster://`` uses TLS. Valkey speaks the same protocol and cluster bus.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from claude_health.tools.limiter.bucket import ALLOWED, Verdict
from claude_health.tools.limiter.stores.base import StoreError
from claude_health.tools.limiter.stores.redis_store import (
    PREFIX,
    RedisStore,
    _Script,
    class_key,
    hold_class,
    split,
)

SCHEMES = ("redis+cluster://", "rediss+cluster://")
DEFAULT_WAIT_REPLICAS = 1
DEFAULT_WAIT_TIMEOUT_MS = 500
DEFAULT_FAILOVER_WAIT = 5.0
DEFAULT_CONNECT_TIMEOUT = 2.0
MAX_NODES = 64
TOPOLOGY_TTL = 30.0
"""Seconds between topology reads: a replica that joins (or is listed late) starts confirming."""
_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9_.-]+)):(?P<port>\d{1,5})$")
_OPTIONS = {"wait_replicas", "wait_timeout_ms", "failover_wait", "connect_timeout"}


@dataclass(frozen=True)
class ClusterURL:
    """A parsed ``redis+cluster://`` URL (the password never appears in :attr:`shown`)."""

    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    wait_replicas: int = DEFAULT_WAIT_REPLICAS
    wait_timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS
    failover_wait: float = DEFAULT_FAILOVER_WAIT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    @property
    def shown(self) -> str:
        auth = "***@" if self.password is not None or self.username else ""
        return self.hosts.replace("://", f"://{auth}", 1)

    @property
    def hosts(self) -> str:
        """The URL without credentials or options."""
        scheme = SCHEMES[1] if self.tls else SCHEMES[0]
        return scheme + ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.nodes)


def _number(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also false for nan
        raise StoreError(
            f"redis+cluster URL: {name} must be a number from {low:g} to {high:g}, got {raw[:20]!r}"
        )
    return value


def parse_cluster_url(url: str) -> ClusterURL:
    """Parse ``redis+cluster://[user:pass@]HOST:PORT[,HOST:PORT...][?option=value...]``."""
    text = url.strip()
    scheme = next((s for s in SCHEMES if text.lower().startswith(s)), None)
    if scheme is None:
        raise StoreError("expected redis+cluster://HOST:PORT[,HOST:PORT...]")
    rest, _, query = text[len(scheme) :].partition("?")
    rest = rest.rstrip("/")
    username = password = None
    if "@" in rest:
        auth, rest = rest.rsplit("@", 1)
        user, colon, secret = auth.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    if "/" in rest:
        raise StoreError(
            "redis+cluster URL: a cluster has only database 0; remove the /DB part after the host list"
        )
    nodes: list[tuple[str, int]] = []
    for part in rest.split(","):
        match = _HOST_PORT.match(part.strip())
        port = int(match.group("port")) if match else 0
        if match is None or not 0 < port < 65536:
            shown = part.strip()[:60]
            raise StoreError(f"redis+cluster URL: {shown!r} is not HOST:PORT (a port from 1 to 65535)")
        nodes.append((match.group("v6") or match.group("host"), port))
    if len(nodes) > MAX_NODES:
        raise StoreError(f"redis+cluster URL: at most {MAX_NODES} start-up nodes, got {len(nodes)}")
    options: dict[str, float] = {}
    for name, raw in parse_qsl(query, keep_blank_values=True):
        if name not in _OPTIONS:
            raise StoreError(
                f"redis+cluster URL: unknown option {name[:40]!r} (known: {', '.join(sorted(_OPTIONS))})"
            )
        limits = {
            "wait_replicas": (0, 5),
            "wait_timeout_ms": (1, 60_000),
            "failover_wait": (0, 120),
            "connect_timeout": (0.05, 60),
        }[name]
        options[name] = _number(name, raw, *limits)
    return ClusterURL(
        nodes=tuple(nodes),
        username=username,
        password=password,
        tls=scheme == SCHEMES[1],
        wait_replicas=int(options.get("wait_replicas", DEFAULT_WAIT_REPLICAS)),
        wait_timeout_ms=int(options.get("wait_timeout_ms", DEFAULT_WAIT_TIMEOUT_MS)),
        failover_wait=options.get("failover_wait", DEFAULT_FAILOVER_WAIT),
        connect_timeout=options.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT),
    )


# -- key naming: one hash tag per namespace ------------------------------------------------------


def tagged(key: str) -> str:
    """``claude-health:limiter:v2:ns|class`` -> ``claude-health:limiter:v2:{ns}|class``.

    An empty namespace would give ``{}``, which Redis ignores (it hashes the whole key): ``-``
    stands in for it. A ``}`` inside the namespace ends the tag early, but at the same place for
    every key of that namespace, so they still share a slot.
    """
    ns, _, rest = key[len(PREFIX) :].partition("|")
    return f"{PREFIX}{{{ns or '-'}}}|{rest}"


def tagged_class_key(key: str) -> tuple[str, int]:
    name, slot = class_key(key)
    return tagged(name), slot


def tagged_split(keys: Sequence[str]) -> tuple[str, list[int]]:
    name, slots = split(keys)
    return tagged(name), slots


def tagged_hold_class(hold_key: str) -> str:
    return tagged(hold_class(hold_key))


class RedisClusterStore(RedisStore):
    """The Redis store's scripts on a Redis Cluster; see the module docstring for failover."""

    _split = staticmethod(tagged_split)
    _class_key = staticmethod(tagged_class_key)
    _hold_class = staticmethod(tagged_hold_class)

    def __init__(self, url: str) -> None:
        self.options = parse_cluster_url(url)
        # The base class shows this URL in messages; _connect reads the parsed options instead.
        super().__init__(self.options.hosts, connect_timeout=self.options.connect_timeout)
        self.url = self.options.shown
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import RedisClusterException, ResponseError, TimeoutError

        # Retried until ``failover_wait`` runs out: the master of the slot is unreachable, or no
        # node covers the slot yet.
        self._unreachable: tuple[type[BaseException], ...] = (
            RedisConnectionError,
            TimeoutError,
            OSError,
            RedisClusterException,
        )
        self._response_error = ResponseError
        self._topology_at = time.monotonic()

    def _connect(self, url: str, connect_timeout: float) -> Any:
        from redis import cluster

        node: Any = cluster.ClusterNode  # its constructor is untyped in redis-py
        opts = self.options
        return cluster.RedisCluster(
            startup_nodes=[node(host, port) for host, port in opts.nodes],
            username=opts.username,
            password=opts.password,
            ssl=opts.tls,
            socket_timeout=connect_timeout,
            socket_connect_timeout=connect_timeout,
        )

    # -- running a script on the slot's master, confirmed by a replica -------------------------

    def _refresh(self) -> None:
        """Ask the cluster again who serves which slot (after a failover or a MOVED)."""
        self._topology_at = time.monotonic()
        with contextlib.suppress(*self._errors):  # no node answered yet: the next attempt asks
            self._client.nodes_manager.initialize()

    def _replicas(self, key: str) -> int:
        slot = self._client.keyslot(key)
        return max(0, len(self._client.nodes_manager.slots_cache.get(slot) or ()) - 1)

    def confirming_replicas(self, key: str) -> int:
        """How many replicas must hold a write to ``key`` (a class key) before it counts."""
        return min(self.options.wait_replicas, self._replicas(key))

    def _run(self, key: str, command: Sequence[Any], script: _Script, *, confirm: bool) -> Any:
        """``command`` (an EVALSHA on ``key``) on the master of ``key``'s slot; with ``confirm``
        the reply counts only once ``WAIT`` says a replica holds the write."""
        deadline = time.monotonic() + self.options.failover_wait
        if deadline - self._topology_at > TOPOLOGY_TTL + self.options.failover_wait:
            self._refresh()
        problem = ""
        while True:
            try:
                node = self._client.get_node_from_key(key)
                need = self.confirming_replicas(key) if confirm else 0
                pipe = node.redis_connection.pipeline(transaction=False)
                pipe.execute_command(*command)
                if need:
                    pipe.execute_command("WAIT", need, self.options.wait_timeout_ms)
                replies = pipe.execute(raise_on_error=False)
            except self._unreachable as exc:
                problem = f"no master of the slot answers ({type(exc).__name__}: {str(exc)[:200]})"
            else:
                reply = replies[0]
                if isinstance(reply, self._no_script):  # a new master: its script cache is empty
                    node.redis_connection.script_load(script.source)
                    continue
                if not isinstance(reply, self._response_error):
                    acked = int(replies[1]) if need else need
                    if acked >= need:
                        return reply
                    self._refresh()  # a replica that left the cluster is dropped from the topology
                    raise StoreError(
                        f"Redis Cluster at {self.url}: no replica confirmed the write within "
                        f"{self.options.wait_timeout_ms} ms; not admitted (fails closed: a failover now "
                        "could lose it and admit twice). Check the replicas, or set wait_replicas=0."
                    )
                text = str(reply)
                if not text.startswith(("MOVED", "ASK", "CLUSTERDOWN", "TRYAGAIN", "LOADING")):
                    raise StoreError(f"Redis Cluster at {self.url} failed: {text[:300]}")
                problem = text.split("\n", 1)[0][:200]
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"Redis Cluster at {self.url}: {problem}; gave up after "
                    f"{self.options.failover_wait:g} s (failover in progress?). Nothing was admitted: "
                    "the cluster store fails closed rather than fall back to a local store, which "
                    "would let every machine admit the organisation's full limit. Retry shortly."
                )
            self._refresh()
            time.sleep(0.05)

    def acquire(
        self, keys: Sequence[str], caps: Sequence[float], amounts: Sequence[float], hold_key: str
    ) -> Verdict:
        prepared = self._prepared.get(hold_key)
        if prepared is None or prepared[0] is not keys or prepared[1] is not caps:
            prepared = self._prepare(keys, caps, hold_key)
        command = prepared[2]
        reply = self._run(command[3].decode(), (*command, prepared[3](amounts)), self._acquire, confirm=True)
        if reply == 0:
            return ALLOWED
        status, wait, slot = reply
        return (int(status), float(wait), prepared[4].get(int(slot), -1))

    def _call(self, script: _Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        return self._run(keys[0], command, script, confirm=script is not self._snapshot)
