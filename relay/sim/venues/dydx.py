"""dYdX's side of a simulated connection (``relay simulate``).

Reads recorded book levels with the venue's own readers
(:func:`relay.infrastructure.venues.dydx.parse.snapshot_levels` and
:func:`~relay.infrastructure.venues.dydx.parse.update_levels`) into the venue's
own :class:`~relay.infrastructure.venues.dydx.book.DydxBook` (levels stamped with
message ids, crossed levels removed as the indexer's uncrossing guide says: the
indexer uncrosses the book it serves too); registered by venue id in
:mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.dydx import VENUE_ID
from relay.infrastructure.venues.dydx.book import DydxBook
from relay.infrastructure.venues.dydx.parse import snapshot_levels, update_levels
from relay.sim.venues.registry import SimulatedSide, register_simulated

_READ_ERRORS = (ValueError, KeyError, TypeError, AttributeError, InvalidValueError)
_EMPTY: dict[str, Any] = {
    "v4_trades": {"trades": []},
    "v4_candles": {"candles": []},
    "v4_markets": {"markets": {}},
}
"""The contents of a resubscribe answer of the channels whose data is not rebuilt."""


class DydxSimulatedVenue:
    """dYdX's side of one connection served by ``relay simulate``.

    - ``unsubscribe`` -> ``unsubscribed`` (channel and id echoed).
    - ``subscribe`` of a channel and id unsubscribed earlier on this connection
      (a resync) -> ``subscribed``: for ``v4_orderbook`` the book as of the last
      recorded book message passed, levels as ``{"price","size"}`` objects; for
      the other channels empty contents. A first subscribe gets the recorded
      frames only (a recording holds the indexer's ``subscribed`` answers).
    - ``ping`` -> nothing (the indexer answers WebSocket pings only); another
      ``type`` -> an ``error`` as the indexer words it; non-JSON -> nothing.

    Answers carry the ``connection_id`` and the ``message_id`` of the last
    recorded message passed (an answer takes no number from the recorded ones
    that follow). Books are rebuilt from recorded ``subscribed`` and
    ``channel_data`` ``v4_orderbook`` messages passed (see the module docstring).
    """

    def __init__(self) -> None:
        self._books: dict[str, DydxBook] = {}
        self._unsubscribed: set[tuple[str, str | None]] = set()
        self._connection_id = "simulated"
        self._message_id = 0

    def on_frame_passed(self, frame: str) -> None:
        """Track the numbering and the recorded books; other frames are ignored."""
        message = wire.parse_object(frame)
        if message is None:
            return
        message_id, connection_id = message.get("message_id"), message.get("connection_id")
        if type(message_id) is not int or not 0 <= message_id <= wire.MAX_ID:
            return
        self._message_id = message_id
        if isinstance(connection_id, str) and len(connection_id) <= 64:
            self._connection_id = connection_id
        name = message.get("id")
        if message.get("channel") != "v4_orderbook" or not isinstance(name, str):
            return
        try:
            contents = wire.json_object("contents", message["contents"])
            if message.get("type") == "subscribed":
                bids = snapshot_levels("bids", contents["bids"])
                asks = snapshot_levels("asks", contents["asks"])
                book = DydxBook()
                book.snapshot(bids, asks, message_id, "")
                self._books[name] = book
            elif message.get("type") == "channel_data" and name in self._books:
                bids = update_levels("bids", contents.get("bids"))
                asks = update_levels("asks", contents.get("asks"))
                self._books[name].apply(bids, asks, message_id)
        except _READ_ERRORS:
            return

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Answers to one client request (see the class docstring)."""
        message = wire.parse_object(frame)
        if message is None:
            return []
        kind, channel, name = message.get("type"), message.get("channel"), message.get("id")
        if kind == "ping":
            return []
        if kind not in ("subscribe", "unsubscribe"):
            return self._error(f"Invalid message type: {wire.label(kind)}")
        if not isinstance(channel, str) or not channel:
            return self._error("Invalid subscribe message: channel is required")
        key = (channel, name if isinstance(name, str) else None)
        answer: dict[str, Any] = {
            "type": f"{kind}d",
            "connection_id": self._connection_id,
            "message_id": self._message_id,
            "channel": channel,
        }
        if key[1] is not None:
            answer["id"] = key[1]
        if kind == "unsubscribe":
            self._unsubscribed.add(key)
            return _reply(answer)
        if key not in self._unsubscribed:
            return []
        self._unsubscribed.discard(key)
        if channel == "v4_orderbook":
            book = self._books.get(key[1] or "")
            bids, asks = book.book.levels() if book is not None else ((), ())
            answer["contents"] = {
                "bids": [{"price": str(p), "size": str(q)} for p, q in bids],
                "asks": [{"price": str(p), "size": str(q)} for p, q in asks],
            }
        else:
            answer["contents"] = _EMPTY.get(channel, {})
        return _reply(answer)

    def _error(self, text: str) -> list[str]:
        return _reply(
            {
                "type": "error",
                "message": text,
                "connection_id": self._connection_id,
                "message_id": self._message_id,
            }
        )


def _reply(value: dict[str, Any]) -> list[str]:
    text = wire.reply_json(value)
    return [] if text is None else [text]


register_simulated(SimulatedSide(VENUE_ID, venue=DydxSimulatedVenue))
