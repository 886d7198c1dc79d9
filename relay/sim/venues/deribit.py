"""Deribit's side of a simulated connection (``relay simulate``).

Reads recorded book levels with the venue's own reader
(:func:`relay.infrastructure.venues.deribit.parse.book_levels`) into the shared
:class:`~relay.application.order_book.OrderBook`; registered by venue id in
:mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from relay.application.order_book import OrderBook
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    PriceLevel,
)
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.deribit import VENUE_ID
from relay.infrastructure.venues.deribit.parse import book_levels
from relay.sim.venues.registry import SimulatedSide, register_simulated


class DeribitSimulatedVenue:
    """Deribit's side of one connection served by ``relay simulate``.

    - ``public/set_heartbeat`` -> ``"ok"``; ``public/test`` -> ``{"version": ...}``;
      ``public/subscribe`` and ``public/unsubscribe`` -> the requested channels (every
      request is answered, with its own id; the protocol ignores answers it did not
      ask for); any other method -> a JSON-RPC ``Method not found`` error.
    - After a ``public/subscribe`` answer, one fresh ``snapshot`` notification for
      every book channel subscribed again (unsubscribed earlier on this connection,
      as a resync does) whose instrument's book the replay has already passed: the
      book as of the last recorded frame passed, with its ``change_id``, so recorded
      changes that follow chain onto it. A first subscribe gets the recorded frames
      only, as the recording answered it.

    Books are rebuilt from recorded ``book.<instrument>.<interval>`` frames passed
    (snapshot, then changes applied whatever their continuity).
    """

    def __init__(self) -> None:
        self._books: dict[str, tuple[OrderBook, int, int]] = {}
        self._unsubscribed: set[str] = set()

    def on_frame_passed(self, frame: str) -> None:
        """Track the recorded books; frames that are not book notifications are ignored."""
        message = wire.parse_object(frame, exact=True)
        if message is None:
            return
        try:
            params = message["params"]
            parts = params["channel"].split(".")
            if message.get("method") != "subscription" or parts[0] != "book" or len(parts) != 3:
                return
            data = params["data"]
            bids = book_levels("bids", data["bids"])
            asks = book_levels("asks", data["asks"])
            change_id = wire.integer("change_id", data["change_id"])
            timestamp = wire.integer("timestamp", data["timestamp"])
        except (ValueError, KeyError, TypeError, AttributeError, InvalidValueError):
            return
        name = parts[1]
        if data.get("type") == "snapshot" or name not in self._books:
            book = OrderBook()
            book.reset(bids, asks)
        else:
            book = self._books[name][0]
            book.apply(bids, asks)
        self._books[name] = (book, change_id, timestamp)

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Answers to one client request (see the class docstring); ``[]`` for non-requests."""
        message = wire.parse_object(frame)
        if message is None:
            return []
        try:
            method = message["method"]
            request_id = message.get("id")
            params = message.get("params") or {}
        except (ValueError, KeyError, TypeError):
            return []
        if not isinstance(params, dict):
            params = {}
        result: Any
        snapshots: list[str] = []
        if method == "public/set_heartbeat":
            result = "ok"
        elif method == "public/test":
            result = {"version": "relay-simulator"}
        elif method in ("public/subscribe", "public/unsubscribe"):
            channels = params.get("channels")
            if not isinstance(channels, list):
                channels = []
            result = [c for c in channels if isinstance(c, str)]
            if method == "public/subscribe":
                again = [c for c in result if c in self._unsubscribed]
                self._unsubscribed.difference_update(again)
                snapshots = [s for c in again if (s := self._snapshot(c)) is not None]
            else:
                self._unsubscribed.update(result)
        else:
            error = {"code": -32601, "message": "Method not found"}
            refusal = wire.reply_json({"jsonrpc": "2.0", "id": request_id, "error": error})
            return [] if refusal is None else [refusal]
        answer = wire.reply_json({"jsonrpc": "2.0", "id": request_id, "result": result})
        if answer is None:  # an id orjson cannot write (nested past 255): no answer
            return []
        return [answer, *snapshots]

    def _snapshot(self, channel: str) -> str | None:
        parts = channel.split(".")
        if parts[0] != "book" or len(parts) != 3 or parts[1] not in self._books:
            return None
        book, change_id, timestamp = self._books[parts[1]]
        bids, asks = book.levels()

        def levels(side: tuple[PriceLevel, ...]) -> str:
            return ",".join(f'["new",{price},{amount}]' for price, amount in side)

        name = json.dumps(parts[1])
        return (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":'
            f'{json.dumps(channel)},"data":{{"type":"snapshot","timestamp":{timestamp},'
            f'"instrument_name":{name},"change_id":{change_id},'
            f'"bids":[{levels(bids)}],"asks":[{levels(asks)}]}}}}}}'
        )


register_simulated(SimulatedSide(VENUE_ID, venue=DeribitSimulatedVenue))
