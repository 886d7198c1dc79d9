"""Hyperliquid's book rules: every ``l2Book`` message is a whole book, checked before it is taken.

``WsBook`` ("Snapshot feed, pushed on each block that is at least 0.5 since last
push",
https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions):
bids strictly descending, asks strictly ascending, sizes > 0, best bid below
best ask; a message not newer than the last accepted one is stale.
"""

from __future__ import annotations

import itertools
from typing import Any

from relay.application.book_state import BookGate
from relay.application.errors import FrameError
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent, PriceLevel
from relay.infrastructure.venues.common import wire

STALE_WINDOW_MS = 600_000
"""An ``l2Book`` or ``bbo`` message at most this much older than the last accepted one is stale;
older still, the last one is the untrustworthy one (10 minutes: more than any
out-of-order delivery)."""


def level(field: str, raw: Any) -> PriceLevel:
    """``{"px": "113377.0", "sz": "7.6699", "n": 17}`` -> (price > 0, size > 0)."""
    if type(raw) is not dict:
        raise InvalidValueError(field, raw, "expected a {px, sz, n} level")
    price = raw["px"]
    size = raw["sz"]
    value, quantity = wire.price("px", price), wire.quantity("sz", size)
    if not quantity:
        raise InvalidValueError("sz", size, "expected a size > 0 in a snapshot level")
    return value, quantity


def _book_side(field: str, raw: Any, descending: bool) -> tuple[PriceLevel, ...]:
    """One side of ``levels``, best first, strictly ordered (bids down, asks up)."""
    if type(raw) is not list:
        raise InvalidValueError(field, raw, "expected a list of levels")
    levels = tuple(level(field, item) for item in raw)
    for (before, _), (after, _) in itertools.pairwise(levels):
        if (after >= before) if descending else (after <= before):
            raise InvalidValueError(field, str(after), f"out of order after {before}")
    return levels


def check_newer(channel: str, coin: str, last_ms: int | None, time_ms: int) -> None:
    """Raise ``stale_update`` when ``time_ms`` is not newer than ``last_ms`` (the channel's
    last accepted time) but at most :data:`STALE_WINDOW_MS` older (further back, the last
    one came from a frame whose time cannot be trusted, and this one is taken).

    Raises:
        FrameError: ``stale_update``.
    """
    if last_ms is not None and last_ms - STALE_WINDOW_MS <= time_ms <= last_ms:
        raise FrameError("stale_update", f"{channel} {coin}: time {time_ms} <= {last_ms}")


class L2Book:
    """One coin's ``l2Book``: the last accepted message's time and the sync gate.

    Attributes:
        instrument: whose book.
        gate: SYNCED once a message was taken; RESYNCING after
            :meth:`resync` until the next one is (every message is a whole
            book, so nothing else is needed).
        last_time_ms: ``time`` of the last accepted message (None: none yet,
            or forgotten by a resync).
    """

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.gate = BookGate()
        self.last_time_ms: int | None = None

    def on_message(self, book: dict[str, Any], received_at_ms: int) -> MarketEvent:
        """Take one ``WsBook`` object; the snapshot event to publish (dedup key: its ``time``).

        Shape (the info endpoint's documented ``l2Book`` example)::

            {"coin":"BTC","time":1754450974231,"levels":[
             [{"px":"113377.0","sz":"7.6699","n":17}],[{"px":"113397.0","sz":"0.11543","n":3}]]}

        Raises:
            FrameError: ``stale_update`` (see :func:`check_newer`).
            KeyError, InvalidValueError: a missing or malformed field, levels out
                of order, a size of 0, or a crossed book; the book is left as it was.
        """
        coin = self.instrument.instrument
        time_ms = wire.integer("time", book["time"])
        check_newer("l2Book", coin, self.last_time_ms, time_ms)
        levels = book["levels"]
        if type(levels) is not list or len(levels) != 2:
            raise InvalidValueError("levels", levels, "expected [bids, asks]")
        bids = _book_side("bids", levels[0], descending=True)
        asks = _book_side("asks", levels[1], descending=False)
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise InvalidValueError("levels", str(bids[0][0]), f"crossed: ask {asks[0][0]}")
        self.last_time_ms = time_ms
        self.gate.snapshot_applied()
        return MarketEvent(
            self.instrument,
            DataType.L2_ORDERBOOK,
            received_at_ms,
            time_ms,
            L2Update(bids, asks, True),
            str(time_ms),
        )

    def resync(self, reason: str) -> None:
        """Forget the last ``time`` (``reason`` goes to the gate): the next message is taken
        whatever its time."""
        self.last_time_ms = None
        self.gate.resync(reason)
