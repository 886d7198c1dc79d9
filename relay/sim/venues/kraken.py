"""Kraken's side of a simulated connection (``relay simulate``).

Reuses the venue's own level reader, book and checksum code
(:mod:`relay.infrastructure.venues.kraken.parse` and ``.book``); registered by venue id in
:mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from relay.application.errors import FrameError
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Instrument,
    PriceLevel,
)
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.kraken import VENUE_ID
from relay.infrastructure.venues.kraken.book import BOOK_DEPTHS, KrakenBook
from relay.infrastructure.venues.kraken.parse import levels, plain
from relay.sim.venues.registry import SimulatedSide, register_simulated


class KrakenSimulatedVenue:
    """Kraken's side of one connection served by ``relay simulate``.

    - ``{"method":"ping"}`` -> ``{"method":"pong"}`` (with the request's ``req_id``,
      without the ``time_in``/``time_out`` stamps).
    - ``subscribe`` / ``unsubscribe`` -> one success ack per symbol, as the docs
      show (``{"method":"subscribe","result":{"channel":"book","symbol":"BTC/USD",
      "depth":10,"snapshot":true},"success":true}``); the protocol ignores
      duplicate acks.
    - a ``book`` subscribe for a symbol whose recorded book frames the replay has
      passed -> after the ack, a fresh snapshot of that book as it stands now
      (truncated to the requested depth, with its checksum).
    """

    def __init__(self) -> None:
        self._books: dict[str, KrakenBook] = {}
        self._timestamps: dict[str, str] = {}

    def on_frame_passed(self, frame: str) -> None:
        """Track the book of every ``book`` frame the replay passed."""
        try:
            message = wire.exact_object(frame)
            if message.get("channel") != "book":
                return
            entry = message["data"][0]
            symbol = entry["symbol"]
            bids = levels("bids", entry["bids"])
            asks = levels("asks", entry["asks"])
        except (FrameError, KeyError, IndexError, TypeError, InvalidValueError):
            return
        if not isinstance(symbol, str):
            return
        book = self._books.get(symbol)
        if book is None or message.get("type") == "snapshot":
            book = self._books[symbol] = KrakenBook(
                Instrument(VENUE_ID, symbol, symbol.replace("/", "-")), BOOK_DEPTHS[-1]
            )
        book.apply(bids, asks)
        if isinstance(entry.get("timestamp"), str):
            self._timestamps[symbol] = entry["timestamp"]

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Pong, acks, and a fresh book snapshot for a ``book`` subscribe."""
        message = wire.parse_object(frame)
        if message is None:
            return []
        method = message.get("method")
        if method == "ping":
            pong: dict[str, Any] = {"method": "pong"}
            if "req_id" in message:
                pong["req_id"] = message["req_id"]
            reply = wire.reply_json(pong)
            return [] if reply is None else [reply]
        if method not in ("subscribe", "unsubscribe"):
            return []
        params = message.get("params")
        if not isinstance(params, dict) or not isinstance(params.get("symbol"), list):
            return []
        channel = params.get("channel")
        replies: list[str] = []
        for symbol in params["symbol"]:
            result: dict[str, Any] = {"channel": channel, "symbol": symbol}
            for key in ("depth", "interval", "snapshot", "event_trigger"):
                if key in params:
                    result[key] = params[key]
            ack: dict[str, Any] = {"method": method, "result": result, "success": True}
            if "req_id" in message:
                ack["req_id"] = message["req_id"]
            reply = wire.reply_json(ack)
            if reply is None:  # a value orjson cannot write (nested past 255): no answer
                continue
            replies.append(reply)
            if method == "subscribe" and channel == "book" and params.get("snapshot", True):
                snapshot = self._snapshot(symbol, params.get("depth", BOOK_DEPTHS[0]))
                if snapshot is not None:
                    replies.append(snapshot)
        return replies

    def _snapshot(self, symbol: Any, depth: Any) -> str | None:
        source = self._books.get(symbol) if isinstance(symbol, str) else None
        if source is None or not isinstance(depth, int):
            return None
        book = KrakenBook(source.instrument, depth)
        book.price_decimals, book.qty_decimals = source.price_decimals, source.qty_decimals
        bids, asks = source.levels()
        book.apply(list(bids[:depth]), list(asks[:depth]))
        book_bids, book_asks = book.levels()

        def side(levels: Iterable[PriceLevel]) -> str:
            return ",".join(f'{{"price":{plain(p)},"qty":{plain(q)}}}' for p, q in levels)

        timestamp = self._timestamps.get(symbol)
        stamp = "" if timestamp is None else f',"timestamp":{json.dumps(timestamp)}'
        return (
            f'{{"channel":"book","type":"snapshot","data":[{{"symbol":{json.dumps(symbol)},'
            f'"bids":[{side(book_bids)}],"asks":[{side(book_asks)}],'
            f'"checksum":{book.checksum()}{stamp}}}]}}'
        )


register_simulated(SimulatedSide(VENUE_ID, venue=KrakenSimulatedVenue))
