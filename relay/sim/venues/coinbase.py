"""Coinbase Advanced Trade's side of a simulated connection (``relay simulate``).

Keeps books as the venue wrote them with the shared
:func:`~relay.application.order_book.apply_raw_levels`; the book channel's name
comes from :mod:`relay.infrastructure.venues.coinbase.protocol`. Registered by venue id in
:mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import orjson

from relay.application.order_book import apply_raw_levels
from relay.domain.model import (
    plain_decimal_match,
)
from relay.infrastructure.venues.coinbase import VENUE_ID
from relay.infrastructure.venues.coinbase.protocol import BOOK_CHANNEL
from relay.infrastructure.venues.common import wire
from relay.sim.venues.registry import SimulatedSide, register_simulated

_RawSide = dict[Decimal, tuple[str, str]]


class CoinbaseSimulatedVenue:
    """The venue's side of one simulated connection.

    - Every ``subscribe``/``unsubscribe`` is answered with a ``subscriptions``
      message listing the connection's subscriptions after it.
    - A ``level2`` subscribe for a product whose book was seen in the passed
      frames (so: a resubscription) is also answered with an ``l2_data``
      snapshot of that book, built from every passed frame (sent or skipped).

    The answers carry no ``sequence_num``: numbering them would collide with the
    recorded frames that follow. The timestamp is the last passed frame's.
    """

    def __init__(self) -> None:
        self._subscriptions: dict[str, list[str]] = {}
        self._books: dict[str, tuple[_RawSide, _RawSide]] = {}
        self._timestamp = "1970-01-01T00:00:00Z"

    def on_frame_passed(self, frame: str) -> None:
        """Track the books (venue strings kept) and the time of the recorded frames."""
        message = wire.parse_object(frame)
        if message is None:
            return
        if isinstance(message.get("timestamp"), str):
            self._timestamp = message["timestamp"]
        if message.get("channel") != "l2_data" or not isinstance(message.get("events"), list):
            return
        for event in message["events"]:
            if not isinstance(event, dict) or not isinstance(event.get("product_id"), str):
                continue
            if event.get("type") == "snapshot" or event["product_id"] not in self._books:
                self._books[event["product_id"]] = ({}, {})
            bids, asks = self._books[event["product_id"]]
            updates = event.get("updates")
            for update in updates if isinstance(updates, list) else ():
                if not isinstance(update, dict):
                    continue
                side = bids if update.get("side") == "bid" else asks
                price, quantity = update.get("price_level"), update.get("new_quantity")
                if not isinstance(price, str) or not isinstance(quantity, str):
                    continue
                if plain_decimal_match(price) is None or plain_decimal_match(quantity) is None:
                    continue
                apply_raw_levels(side, ((price, quantity),))

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """The acknowledgement (and resubscribed books' snapshots) for a client message."""
        message = wire.parse_object(frame)
        if message is None or message.get("type") not in ("subscribe", "unsubscribe"):
            return ()
        channel = message.get("channel")
        if not isinstance(channel, str):
            return ()
        raw_products = message.get("product_ids")
        if not isinstance(raw_products, list):
            raw_products = []
        products = [p for p in raw_products if isinstance(p, str)]
        current = self._subscriptions.setdefault(channel, [])
        if message["type"] == "subscribe":
            current.extend(p for p in products if p not in current)
        else:
            remaining = [p for p in current if p not in products] if products else []
            self._subscriptions[channel] = remaining
        replies = [
            orjson.dumps(
                {
                    "channel": "subscriptions",
                    "client_id": "",
                    "timestamp": self._timestamp,
                    "events": [
                        {"subscriptions": {c: p for c, p in self._subscriptions.items() if p}}
                    ],
                }
            ).decode()
        ]
        if message["type"] == "subscribe" and channel == BOOK_CHANNEL:
            replies.extend(self._snapshot(p) for p in products if p in self._books)
        return replies

    def _snapshot(self, product_id: str) -> str:
        bids, asks = self._books[product_id]
        updates = [
            {
                "side": side,
                "event_time": self._timestamp,
                "price_level": price,
                "new_quantity": quantity,
            }
            for side, levels in (("bid", bids), ("offer", asks))
            for price, quantity in levels.values()
        ]
        return orjson.dumps(
            {
                "channel": "l2_data",
                "client_id": "",
                "timestamp": self._timestamp,
                "events": [{"type": "snapshot", "product_id": product_id, "updates": updates}],
            }
        ).decode()


register_simulated(SimulatedSide(VENUE_ID, venue=CoinbaseSimulatedVenue))
