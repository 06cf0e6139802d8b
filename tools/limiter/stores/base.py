"""What a limiter store does; memory, SQLite and Redis implement it with the same semantics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
