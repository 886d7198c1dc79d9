"""Coinbase Exchange's side of a simulated connection (``relay simulate``).

Keeps books as the venue wrote them (levels checked by
:func:`~relay.infrastructure.venues.common.wire.simulated_levels`, applied by the shared
:func:`~relay.application.order_book.apply_raw_levels`); registered by venue id in
:mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from relay.application.order_book import apply_raw_levels
from relay.infrastructure.venues.coinbase_exchange import VENUE_ID
from relay.infrastructure.venues.coinbase_exchange.protocol import BOOK_CHANNEL
from relay.infrastructure.venues.common import wire
from relay.sim.venues.registry import SimulatedSide, register_simulated


def _list(raw: Any) -> list[Any]:
    """``raw`` if it is a list, else an empty one (a client frame's odd field)."""
    return raw if isinstance(raw, list) else []


class SimulatedCoinbaseExchange:
    """The venue side of one ``relay simulate`` connection for this feed.

    - Keeps every product's book from the recorded ``snapshot`` and ``l2update``
      frames the replay passed.
    - The first ``subscribe`` of the connection gets no reply: the recording
      answers it. Every later ``subscribe`` or ``unsubscribe`` is answered with
      a ``subscriptions`` message listing the channels now subscribed (the
      protocol ignores those), and a ``subscribe`` naming a book channel
      (``level2``, ``level2_batch``) is followed by a fresh ``snapshot`` of each
      named product whose recorded snapshot the replay has passed, built from
      the frames passed (levels as recorded, best first).
    - Anything else the client sends gets no answer.
    """

    BOOK_CHANNELS = frozenset({"level2", BOOK_CHANNEL})
    """Book channels a subscribe may name: the relay's ``level2_batch`` and the
    authenticated ``level2`` (same messages)."""

    def __init__(self) -> None:
        self._books: dict[str, tuple[dict[Decimal, list[str]], dict[Decimal, list[str]]]] = {}
        self._subscribed: dict[str, list[str]] = {}
        self._subscribes_seen = 0

    def on_frame_passed(self, frame: str) -> None:
        """Follow the recorded books (frames that are not book messages are ignored)."""
        message = wire.parse_object(frame)
        if message is None:
            return
        kind = message.get("type")
        product = message.get("product_id")
        if kind == "snapshot" and isinstance(product, str):
            snapshot_bids = wire.simulated_levels(message.get("bids", []))
            snapshot_asks = wire.simulated_levels(message.get("asks", []))
            if snapshot_bids is None or snapshot_asks is None:
                return
            self._books[product] = (
                {Decimal(p): [p, q] for p, q, *_ in snapshot_bids},
                {Decimal(p): [p, q] for p, q, *_ in snapshot_asks},
            )
        elif kind == "l2update" and isinstance(product, str) and product in self._books:
            changes = wire.simulated_levels(message.get("changes", []), width=3)
            if changes is None:
                return
            bids, asks = self._books[product]
            for side, price, size, *_ in changes:
                apply_raw_levels(bids if side == "buy" else asks, ([price, size],))

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Answer a client frame: ``subscriptions`` and fresh snapshots, as described above."""
        message = wire.parse_object(frame)
        if message is None or message.get("type") not in ("subscribe", "unsubscribe"):
            return []
        requested = self._requested(message)
        subscribe = message["type"] == "subscribe"
        for name, products in requested:
            current = self._subscribed.setdefault(name, [])
            for product in products:
                if subscribe and product not in current:
                    current.append(product)
                elif not subscribe and product in current:
                    current.remove(product)
        if subscribe:
            self._subscribes_seen += 1
            if self._subscribes_seen == 1:
                return []
        replies = [self._subscriptions()]
        if subscribe:
            for name, products in requested:
                if name in self.BOOK_CHANNELS:
                    replies.extend(self._snapshot(p) for p in products if p in self._books)
        return replies

    @staticmethod
    def _requested(message: dict[str, Any]) -> list[tuple[str, list[str]]]:
        """(channel, products) pairs of a (un)subscribe: channel objects or names + product_ids."""
        shared = [p for p in _list(message.get("product_ids")) if isinstance(p, str)]
        requested: list[tuple[str, list[str]]] = []
        for channel in _list(message.get("channels")):
            if isinstance(channel, str):
                requested.append((channel, shared))
            elif isinstance(channel, dict) and isinstance(channel.get("name"), str):
                named = channel.get("product_ids", shared)
                products = [p for p in _list(named) if isinstance(p, str)]
                requested.append((channel["name"], products))
        return requested

    def _subscriptions(self) -> str:
        return orjson.dumps(
            {
                "type": "subscriptions",
                "channels": [
                    {"name": name, "product_ids": products}
                    for name, products in self._subscribed.items()
                    if products
                ],
            }
        ).decode()

    def _snapshot(self, product: str) -> str:
        bids, asks = self._books[product]
        return orjson.dumps(
            {
                "type": "snapshot",
                "product_id": product,
                "bids": [bids[price] for price in sorted(bids, reverse=True)],
                "asks": [asks[price] for price in sorted(asks)],
            }
        ).decode()


register_simulated(SimulatedSide(VENUE_ID, venue=SimulatedCoinbaseExchange))
