"""Kraken Futures' side of a simulated connection (``relay simulate``).

Reads recorded book levels with the venue's own readers
(:func:`relay.infrastructure.venues.kraken_futures.parse.book_levels` and
:func:`~relay.infrastructure.venues.kraken_futures.parse.book_delta`) into the
shared :class:`~relay.application.order_book.OrderBook`; registered by venue id
in :mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from relay.application.order_book import OrderBook
from relay.domain.errors import InvalidValueError
from relay.domain.model import PriceLevel, Side
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.kraken_futures import VENUE_ID
from relay.infrastructure.venues.kraken_futures.parse import book_delta, book_levels
from relay.sim.venues.registry import SimulatedSide, register_simulated

_READ_ERRORS = (ValueError, KeyError, TypeError, AttributeError, InvalidValueError)


class KrakenFuturesSimulatedVenue:
    """Kraken Futures' side of one connection served by ``relay simulate``.

    - ``subscribe`` / ``unsubscribe`` -> one ``subscribed`` / ``unsubscribed`` answer
      per product id (as ``kraken-futures.jsonl`` shows them); any other ``event`` ->
      ``{"event":"error","message":"Unknown event"}``; non-requests -> nothing.
    - After a ``subscribe`` answer of the ``book`` feed, one fresh ``book_snapshot``
      for every product subscribed again (unsubscribed earlier on this connection,
      as a resync does) whose book the replay has already passed: the book as of
      the last recorded book message passed, with its ``seq``, so recorded deltas
      that follow chain onto it. A first subscribe gets the recorded frames only.

    Books are rebuilt from recorded ``book_snapshot`` and ``book`` frames passed
    (snapshot, then deltas applied whatever their continuity).
    """

    def __init__(self) -> None:
        self._books: dict[str, tuple[OrderBook, int, int]] = {}
        self._unsubscribed: set[str] = set()

    def on_frame_passed(self, frame: str) -> None:
        """Track the recorded books; frames that are not book messages are ignored."""
        message = wire.parse_object(frame, exact=True)
        if message is None:
            return
        try:
            feed = message.get("feed")
            name = message["product_id"] if feed in ("book", "book_snapshot") else None
            if not isinstance(name, str):
                return
            if feed == "book_snapshot":
                bids = book_levels("bids", message["bids"])
                asks = book_levels("asks", message["asks"])
                seq = wire.integer("seq", message["seq"])
                timestamp = wire.integer("timestamp", message["timestamp"])
                book = OrderBook()
                book.reset(bids, asks)
                self._books[name] = (book, seq, timestamp)
                return
            side, level, seq, timestamp = book_delta(message)
        except _READ_ERRORS:
            return
        if name not in self._books:
            return
        book = self._books[name][0]
        if side is Side.BUY:
            book.apply((level,), ())
        else:
            book.apply((), (level,))
        self._books[name] = (book, seq, timestamp)

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Answers to one client request (see the class docstring)."""
        message = wire.parse_object(frame)
        if message is None or "event" not in message:
            return []
        event, feed, products = message["event"], message.get("feed"), message.get("product_ids")
        if event not in ("subscribe", "unsubscribe"):
            return ['{"event":"error","message":"Unknown event"}']
        names = [p for p in products if isinstance(p, str)] if isinstance(products, list) else []
        answers = [
            answer
            for name in names
            if (
                answer := wire.reply_json(
                    {"event": f"{event}d", "feed": feed, "product_ids": [name]}
                )
            )
            is not None
        ]
        if feed != "book":
            return answers
        if event == "unsubscribe":
            self._unsubscribed.update(names)
            return answers
        again = [n for n in names if n in self._unsubscribed]
        self._unsubscribed.difference_update(again)
        return answers + [s for n in again if (s := self._snapshot(n)) is not None]

    def _snapshot(self, name: str) -> str | None:
        if name not in self._books:
            return None
        book, seq, timestamp = self._books[name]
        bids, asks = book.levels()

        def levels(side: tuple[PriceLevel, ...]) -> str:
            return ",".join(f'{{"price":{price},"qty":{qty}}}' for price, qty in side)

        return (
            f'{{"feed":"book_snapshot","product_id":{json.dumps(name)},"timestamp":{timestamp},'
            f'"seq":{seq},"tickSize":null,"bids":[{levels(bids)}],"asks":[{levels(asks)}]}}'
        )


register_simulated(SimulatedSide(VENUE_ID, venue=KrakenFuturesSimulatedVenue))
