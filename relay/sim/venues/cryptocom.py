"""Crypto.com Exchange's side of a simulated connection (``relay simulate``).

Reads recorded book levels with the venue's own reader
(:func:`relay.infrastructure.venues.cryptocom.parse.book_levels`) into the shared
:class:`~relay.application.order_book.OrderBook`; registered by venue id in
:mod:`relay.sim.venues.registry`. Frame shapes follow the Exchange API v1
reference (https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from relay.application.order_book import OrderBook
from relay.domain.errors import InvalidValueError
from relay.domain.model import PriceLevel
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.cryptocom import VENUE_ID
from relay.infrastructure.venues.cryptocom.parse import book_levels
from relay.sim.venues.registry import SimulatedSide, register_simulated

_READ_ERRORS = (ValueError, KeyError, TypeError, AttributeError, InvalidValueError)
_DEPTH = re.compile("[1-9][0-9]{0,5}")
"""A channel's depth written as a JSON number in the snapshot (the reference's ``"depth":10``)."""

UNKNOWN_METHOD_CODE = 40001
"""``code`` of the answer to a method the simulated venue does not know (the
reference's ``BAD_REQUEST`` family of codes)."""


class CryptocomSimulatedVenue:
    """Crypto.com's side of one connection served by ``relay simulate``.

    - ``subscribe`` / ``unsubscribe`` -> ``{"id":<id>,"code":0,"method":<method>}``
      (the reference's initial response); ``public/respond-heartbeat`` -> nothing
      (the venue answers none); any other method ->
      ``{"id":<id>,"code":40001,"method":<method>,"message":"Unknown method"}``;
      non-requests -> nothing.
    - After a ``subscribe`` answer, one fresh ``book`` snapshot for every book
      channel this connection had subscribed before (a resync subscribes again,
      without unsubscribing) whose book the replay has already passed: the book as
      of the last recorded book message passed, with its ``u``, so recorded deltas
      that follow chain onto it. A first subscribe gets the recorded frames only.

    Books are rebuilt from recorded ``book`` and ``book.update`` messages passed
    (snapshot, then deltas applied whatever their continuity).
    """

    def __init__(self) -> None:
        self._books: dict[str, tuple[OrderBook, int, int]] = {}
        self._subscribed: set[str] = set()

    def on_frame_passed(self, frame: str) -> None:
        """Track the recorded books; frames that are not book messages are ignored."""
        message = wire.parse_object(frame, exact=True)
        if message is None:
            return
        try:
            result = message["result"]
            channel = result["channel"]
            if channel not in ("book", "book.update"):
                return
            name = result["instrument_name"]
            if not isinstance(name, str):
                return
            for entry in result["data"]:
                update_id = wire.integer("u", entry["u"])
                time = wire.integer("t", entry["t"])
                levels = entry if channel == "book" else entry["update"]
                bids = book_levels("bids", levels.get("bids", []))
                asks = book_levels("asks", levels.get("asks", []))
                if channel == "book" or name not in self._books:
                    book = OrderBook()
                    book.reset(bids, asks)
                else:
                    book = self._books[name][0]
                    book.apply(bids, asks)
                self._books[name] = (book, update_id, time)
        except _READ_ERRORS:
            return

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Answers to one client request (see the class docstring)."""
        message = wire.parse_object(frame)
        if message is None or "method" not in message:
            return []
        method, request_id = message["method"], message.get("id")
        if method == "public/respond-heartbeat":
            return []
        answer: dict[str, Any] = {"id": request_id, "code": 0, "method": method}
        if method not in ("subscribe", "unsubscribe"):
            answer.update(code=UNKNOWN_METHOD_CODE, message="Unknown method")
            refusal = wire.reply_json(answer)
            return [] if refusal is None else [refusal]
        params = message.get("params")
        channels = params.get("channels") if isinstance(params, dict) else None
        names = [c for c in channels if isinstance(c, str)] if isinstance(channels, list) else []
        reply = wire.reply_json(answer)
        if reply is None:  # an id orjson cannot write: no answer
            return []
        if method == "unsubscribe":
            self._subscribed.difference_update(names)
            return [reply]
        again = [c for c in names if c in self._subscribed and c.startswith("book.")]
        self._subscribed.update(names)
        return [reply, *(s for c in again if (s := self._snapshot(c)) is not None)]

    def _snapshot(self, channel: str) -> str | None:
        parts = channel.split(".")
        if len(parts) != 3 or parts[1] not in self._books:
            return None
        name, depth = parts[1], parts[2]
        book, update_id, time = self._books[name]
        bids, asks = book.levels()

        def levels(side: tuple[PriceLevel, ...]) -> str:
            return ",".join(f'["{price}","{size}","1"]' for price, size in side)

        return (
            '{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":'
            f'{json.dumps(name)},"subscription":{json.dumps(channel)},"channel":"book",'
            f'"depth":{depth if _DEPTH.fullmatch(depth) else json.dumps(depth)},'
            f'"data":[{{"asks":[{levels(asks)}],'
            f'"bids":[{levels(bids)}],"tt":{time},"t":{time},"u":{update_id}}}]}}}}'
        )


register_simulated(SimulatedSide(VENUE_ID, venue=CryptocomSimulatedVenue))
