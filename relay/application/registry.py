"""A registry of values by id that modules fill when they are imported.

The venue registry (``relay.infrastructure.venues.registry``: a ``VenueSpec``
per venue id) and the simulator's (``relay.sim.venues.registry``: a simulated
side per venue id) are both this: each module of a fixed list registers its
ids at import, and every lookup first imports the list, so generic code finds
an id without ever naming a venue.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Values of type ``T`` by id, registered by the modules it imports on lookup.

    Args:
        modules: dotted names of the modules that register when imported
            (``"relay.infrastructure.venues.okx"``); imported, in order, before
            every lookup (Python imports each once).

    Raises (on lookup):
        ImportError: a listed module is missing (a programming error).
    """

    __slots__ = ("_entries", "_modules")

    def __init__(self, modules: Iterable[str]) -> None:
        self._modules = tuple(modules)
        self._entries: dict[str, T] = {}

    def register(self, key: str, value: T) -> T:
        """Add ``value`` under ``key`` (a second registration replaces the first); returns it."""
        self._entries[key] = value
        return value

    def pop(self, key: str) -> T:
        """Remove ``key`` and return its value (tests that registered a venue of their own).

        Raises:
            KeyError: nothing registered under ``key``.
        """
        return self._entries.pop(key)

    def entries(self) -> Mapping[str, T]:
        """Every registered id -> value, after importing the listed modules (a read-only view)."""
        for name in self._modules:
            importlib.import_module(name)
        return MappingProxyType(self._entries)
