"""A base for the plain records on a warm usage report's path: slots, equality and repr.

A warm ``usage daily --json`` is a new process whose work is a few milliseconds; importing
``dataclasses`` (which loads ``inspect``, ``ast``, ``dis``, ``tokenize``) and building its classes
cost it more than that. Records on that path declare ``__slots__`` and an ``__init__`` and get,
from here, what the dataclasses gave them: equality over their fields and a readable repr.
"""

from __future__ import annotations


class Record:
    """Equality (same class, equal fields in ``__slots__`` order) and repr; not hashable."""

    __slots__ = ()

    def _names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = self.__slots__
        return names

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._names())

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable records, as the dataclasses they were

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._names())
        return f"{type(self).__name__}({fields})"
