"""The relay's own sequence numbers."""

from __future__ import annotations

from relay.domain.model import DataType, Instrument


class SequenceTracker:
    """Assigns ``sequence``: 1, 2, 3, ... per (venue, instrument, data type).

    A consumer that sees a hole in ``sequence`` on one subject knows the relay
    dropped an event there. Numbers restart at 1 when the process starts.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[tuple[Instrument, DataType], int] = {}

    def next(self, instrument: Instrument, data_type: DataType) -> int:
        """The next sequence number for this stream (the first is 1)."""
        key = (instrument, data_type)
        value = self._last.get(key, 0) + 1
        self._last[key] = value
        return value
