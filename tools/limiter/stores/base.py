"""What a limiter store does; memory, SQLite and Redis implement it with the same semantics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from claude_health.tools.limiter.bucket import State, Verdict


class StoreError(RuntimeError):
    """The store cannot serve a decision (Redis down, database unusable). The message says which."""


@dataclass(frozen=True, slots=True)
class Sync:
    """Set a bucket from server truth: its limit and what remains now."""

    key: str
    capacity: float
    tokens: float


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    """``429``, ``spend_limit``, ``overloaded`` ..."""
    model: str
    at: float
    """Unix time (wall clock: it is shown to people)."""
    detail: str = ""


LATEST_EVENT_TIME = 253402300799.0  # 9999-12-31: anything later is not a time (and cannot be shown)


def is_number(value: Any) -> bool:
    """A finite int or float (never a bool, text or bytes): what a stored time or level must be."""
    if type(value) is int:
        return -(2**63) <= value < 2**63  # what SQLite stores; a larger one is no time or level
    return type(value) is float and math.isfinite(value)


def valid_state(tokens: Any, ts: Any, capacity: Any, learned: Any) -> State | None:
    """A stored bucket, or None when a value is not a finite number (a damaged or foreign row).

    Stores read their rows through here on every path but the hot one, which falls back to it
    when arithmetic on a row fails; such a bucket counts as never written (full), and the next
    write replaces the row.
    """
    if not (is_number(tokens) and is_number(ts) and is_number(capacity)) or type(learned) not in (int, bool):
        return None
    return State(float(tokens), float(ts), float(capacity), bool(learned))


def valid_event(kind: Any, model: Any, at: Any, detail: Any) -> Event | None:
    """A stored event, or None when it is not made of strings and a showable Unix time."""
    if not (isinstance(kind, str) and isinstance(model, str) and isinstance(detail, str)):
        return None
    if not is_number(at) or not 0 <= at <= LATEST_EVENT_TIME:
        return None
    return Event(kind, model, float(at), detail)


class Store(Protocol):
    url: str
    """Where the buckets live, with any password removed."""
    warnings: list[str]

    def acquire(
        self, keys: Sequence[str], caps: Sequence[float], amounts: Sequence[float], hold_key: str
    ) -> Verdict:
        """Debit every bucket or none (see :mod:`claude_health.tools.limiter.bucket`)."""
        ...

    def adjust(self, keys: Sequence[str], caps: Sequence[float], deltas: Sequence[float]) -> None:
        """Charge ``deltas`` (negative refunds) to the buckets."""

    def sync(self, items: Sequence[Sync], hold: tuple[str, float] | None = None) -> None:
        """Apply header truth; ``hold`` = (key, seconds) blocks the class for ``retry-after``."""

    def snapshot(self, keys: Sequence[str], hold_key: str) -> tuple[list[State | None], float, float]:
        """Stored states, seconds left on the hold, and the store's clock now."""
        ...

    def record_event(self, event: Event) -> None: ...

    def events(self, since: float) -> list[Event]: ...

    def close(self) -> None: ...
