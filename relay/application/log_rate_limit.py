"""A rate limit for log lines that repeat while a condition lasts."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class LogRateLimit:
    """At most one log line per key every ``interval_s``; the next one says how many were held back.

    For error lines that repeat while a condition lasts (NATS errors during an
    outage, HTTP errors, a venue sending the same bad frame): the first line of a
    key is written, further ones within ``interval_s`` are counted, and the first
    line after the interval carries that count as ``suppressed``.

    Keys are bounded: beyond ``max_keys`` the least recently written key is
    forgotten (its suppressed count with it).

    Args:
        interval_s: seconds between two lines of one key.
        max_keys: keys remembered.
        clock: monotonic seconds (``time.monotonic``; tests pass their own).
    """

    __slots__ = ("_clock", "_interval_s", "_keys", "_max_keys")

    def __init__(
        self,
        interval_s: float = 10.0,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval_s = interval_s
        self._max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[Hashable, list[float]] = OrderedDict()
        """key -> [time of its last written line, lines held back since]."""

    def allow(self, key: Hashable) -> int | None:
        """None: hold this line back (counted). Else write it, with this many lines held back."""
        now = self._clock()
        entry = self._keys.get(key)
        if entry is not None and now - entry[0] < self._interval_s:
            entry[1] += 1
            return None
        suppressed = int(entry[1]) if entry is not None else 0
        self._keys[key] = [now, 0]
        self._keys.move_to_end(key)
        if len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)
        return suppressed
