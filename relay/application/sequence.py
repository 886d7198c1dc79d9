"""The relay's own sequence numbers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from relay.domain.model import DataType, Instrument


class SequenceTracker:
    """Assigns ``sequence``: 1, 2, 3, ... per (venue, instrument, data type).

    A consumer that sees a hole in ``sequence`` on one subject knows the relay
    dropped an event there. Numbers restart at 1 when the process starts, except
    for a hot standby taking over, which continues each stream from the number
    JetStream holds (:meth:`start_at`).
    """

    __slots__ = ("_counters",)

    def __init__(self) -> None:
        self._counters: dict[tuple[Instrument, DataType], Iterator[int]] = {}

    def counter(self, instrument: Instrument, data_type: DataType) -> Iterator[int]:
        """The stream's numbers: ``next()`` of it is the next sequence number.

        The same iterator for the same stream, so a caller may keep it (the
        pipeline does, per stream) instead of looking it up per event.
        """
        key = (instrument, data_type)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = itertools.count(1)
        return counter

    def start_at(self, key: tuple[Instrument, DataType], counter: Iterator[int]) -> None:
        """From now on the stream ``key`` is numbered by ``counter`` (a takeover's numbers)."""
        self._counters[key] = counter
