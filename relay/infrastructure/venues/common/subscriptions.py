"""A connection's subscribed instruments by venue id, and the one ``unsubscribed`` check.

For venues whose frames name an instrument by its venue id (``"ETH-USD"``,
``"BTC-USDT-SWAP"``, ``"MATIC/USD"``) and whose protocol checks, per frame,
that the instrument was subscribed for that data type.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relay.application.errors import FrameError
from relay.config.model import VenueConfig
from relay.domain.model import DataType, Instrument
from relay.infrastructure.venues.common import wire


class Subscriptions:
    """The instruments of one connection's ``[[venues.subscriptions]]``.

    Attributes:
        instruments: venue id -> :class:`Instrument` (venue, id, canonical symbol).
        wanted: venue id -> the data types subscribed for it.

    Args:
        config: the connection's venue config; a later subscription of the same
            id replaces an earlier one.
    """

    __slots__ = ("instruments", "wanted")

    def __init__(self, config: VenueConfig) -> None:
        self.instruments: dict[str, Instrument] = {}
        self.wanted: dict[str, frozenset[DataType]] = {}
        for sub in config.subscriptions:
            self.instruments[sub.instrument] = Instrument(
                config.id, sub.instrument, sub.canonical_symbol
            )
            self.wanted[sub.instrument] = frozenset(sub.data_types)

    def add(self, instrument: Instrument, data_types: Iterable[DataType]) -> list[DataType]:
        """Subscribe ``data_types`` of ``instrument`` too (a runtime change); returns the ones
        that were not subscribed yet, in the order given."""
        have = self.wanted.get(instrument.instrument, frozenset())
        new = [d for d in dict.fromkeys(data_types) if d not in have]
        self.instruments.setdefault(instrument.instrument, instrument)
        self.wanted[instrument.instrument] = have | frozenset(new)
        return new

    def remove(self, venue_id: str, data_types: Iterable[DataType]) -> list[DataType]:
        """Unsubscribe ``data_types`` of ``venue_id`` (a runtime change); returns the ones that
        were subscribed. An instrument left with none is forgotten."""
        have = self.wanted.get(venue_id, frozenset())
        gone = [d for d in dict.fromkeys(data_types) if d in have]
        left = have - frozenset(gone)
        if left:
            self.wanted[venue_id] = left
        else:
            self.wanted.pop(venue_id, None)
            self.instruments.pop(venue_id, None)
        return gone

    def find(self, venue_id: Any, data_type: DataType) -> Instrument | None:
        """The instrument ``venue_id`` names if it is subscribed for ``data_type``, else None
        (also for a ``venue_id`` that is not a str)."""
        instrument = self.instruments.get(venue_id) if isinstance(venue_id, str) else None
        if instrument is None or data_type not in self.wanted[venue_id]:
            return None
        return instrument

    def instrument(self, venue_id: Any, data_type: DataType) -> Instrument:
        """Like :meth:`find`, but a frame for anything not subscribed is refused.

        Raises:
            FrameError: ``unsubscribed``, detail ``"<venue id> <data type>"``
                (``"ETH-USD l2_orderbook"``; a venue id not a str through :func:`wire.label`).
        """
        instrument = self.find(venue_id, data_type)
        if instrument is None:
            raise FrameError("unsubscribed", f"{wire.label(venue_id)} {data_type.value}")
        return instrument
