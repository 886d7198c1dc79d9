"""Skipping a venue's duplicate and out-of-order messages without letting one bad id silence it."""

from __future__ import annotations

from collections.abc import Hashable


class LatestId:
    """The latest id (a sequence number, an update id, an exchange time) seen per key.

    :meth:`accept` of ``value`` for ``key``, with ``last`` the key's latest:

    - no ``last`` yet, or ``value > last``: accepted; ``value`` becomes ``last``;
    - ``last - stale_window <= value <= last``: refused, a duplicate or a
      message out of order (the venue re-sent it, or a new connection repeats
      what the old one delivered);
    - ``value < last - stale_window``: accepted, and ``value`` becomes ``last``.
      Real duplicates are never that far behind, so it is ``last`` that cannot
      be trusted: one frame carried an id far ahead of the venue's (corrupted,
      or fuzzed: 2**63-1). Without this rule every later real message would be
      refused as stale until the connection is replaced (silent loss).

    ``stale_window`` is in the id's own units (sequence numbers, ms); the caller
    names them. A pure, bounded-per-key structure: one int per key.
    """

    __slots__ = ("_last", "_stale_window")

    def __init__(self, stale_window: int) -> None:
        if stale_window < 0:
            raise ValueError("stale_window must be >= 0")
        self._stale_window = stale_window
        self._last: dict[Hashable, int] = {}

    def accept(self, key: Hashable, value: int) -> bool:
        """True (and ``value`` is now the key's latest) unless ``value`` is a recent repeat."""
        last = self._last.get(key)
        if last is not None and last - self._stale_window <= value <= last:
            return False
        self._last[key] = value
        return True

    def last(self, key: Hashable) -> int | None:
        """The key's latest accepted id, None before the first."""
        return self._last.get(key)

    def forget(self, key: Hashable) -> None:
        """Drop the key's latest (the next value is accepted whatever it is)."""
        self._last.pop(key, None)
