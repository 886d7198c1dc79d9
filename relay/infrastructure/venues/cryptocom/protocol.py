"""Crypto.com Exchange's relay protocol: subscribe requests, heartbeats, channels -> events,
book resyncs.

Sources: https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html, sections
"Websocket Root Endpoints" (market data: ``wss://stream.crypto.com/exchange/v1/market``),
"Rate Limits" (market data WebSocket: 100 requests per second; "a 1-second sleep
after establishing the websocket connection, and before requests are sent"),
"Websocket Subscriptions" (``{"id","method":"subscribe","params":{"channels"}}``,
answered ``{"id","code":0,"method":"subscribe"}``; at most 400 subscriptions per
market data connection), "Websocket Heartbeats" (``public/heartbeat`` every 30 s,
to be answered with ``public/respond-heartbeat`` and the same ``id`` within 5 s,
or the connection breaks), "Response and Reason Codes" and "Error Response
Format" (``code`` other than 0; ``id`` -1 and ``method`` ``ERROR`` when the request
had none); the channel pages cited in :mod:`.parse` and :mod:`.book`; cryptofeed's
``cryptodotcom.py`` (the heartbeat answer echoes the message's ``id``; a 1 s sleep
before subscribing).

Channels: ``trade.{instrument}``; ``ticker.{instrument}`` for ``ticker`` and
``open_interest``; ``funding.{instrument}`` for ``funding_rate`` (``estimatedfunding``,
the next interval's estimate, is not subscribed: one rate per subject);
``candlestick.{time_frame}.{instrument}``; ``book.{instrument}.{depth}`` with
``book_subscription_type`` ``SNAPSHOT_AND_UPDATE`` and ``book_update_frequency`` 10 ms,
in their own subscribe request (the two parameters apply to every channel of a request).

Depth: the book channel offers depths 10 and 50; a subscription's ``depth`` N picks
10 for 1..10, else 50 (also for 0); the relay keeps that book and the pipeline
publishes its top N levels per side when N > 0
(:class:`~relay.application.book_publication.DepthView`). The venue keeps the book
at its depth itself: a level leaving the top is sent with size 0 (the book page's
delta example removes the best ask and adds a tenth level).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, L2Update, MarketEvent
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.events import open_interest_event
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.common.subscriptions import Subscriptions
from relay.infrastructure.venues.cryptocom import parse
from relay.infrastructure.venues.cryptocom.book import CryptocomBook, Delta

WS_URL = "wss://stream.crypto.com/exchange/v1/market"

CONNECT_WAIT_S = 1.0
"""Seconds between the connection opening and the first request (the documented
1-second sleep: the venue's rate limit counts from the calendar second the
connection opened)."""

SUBSCRIBE_INTERVAL_S = 0.05
"""Least time between two requests: 20 per second, under the documented 100 per second."""

MAX_CHANNELS_PER_CONNECTION = 400
"""Documented: one market data connection carries at most 400 subscriptions
(``EXCEED_MAX_SUBSCRIPTIONS`` past it)."""

CHANNELS_PER_INSTRUMENT = 5
"""Most channels one ``[[venues.subscriptions]]`` entry needs (trade, ticker, book,
candlestick, funding)."""

CHANNELS_PER_SUBSCRIBE = 100
"""Channels in one subscribe request. The venue documents no cap; this bound is the
relay's own, to keep requests small."""

BOOK_DEPTHS = (10, 50)
"""The depths ``book.{instrument}.{depth}`` offers."""

BOOK_UPDATE_FREQUENCY_MS = 10
"""``book_update_frequency`` of the delta subscription (10 is its default, 100 the other value)."""

HEARTBEAT_METHOD = "public/heartbeat"
HEARTBEAT_ANSWER = "public/respond-heartbeat"

_TICKER_TYPES = frozenset({DataType.TICKER, DataType.OPEN_INTEREST})
_REQUEST_METHODS = frozenset({"subscribe", "unsubscribe"})


def book_depth(depth: int) -> int:
    """The book channel depth for a configured ``depth``: 10 for 1..10, else 50."""
    return BOOK_DEPTHS[0] if 0 < depth <= BOOK_DEPTHS[0] else BOOK_DEPTHS[1]


def request_frame(request_id: int, method: str, channels: Sequence[str], book: bool) -> str:
    """A subscribe or unsubscribe request, compact JSON; ``book``: with the delta book
    parameters.

    Shape::

        {"id":2,"method":"subscribe","params":{"channels":["book.BTCUSD-PERP.50"],
         "book_subscription_type":"SNAPSHOT_AND_UPDATE","book_update_frequency":10}}
    """
    params: dict[str, Any] = {"channels": list(channels)}
    if book:
        params["book_subscription_type"] = "SNAPSHOT_AND_UPDATE"
        params["book_update_frequency"] = BOOK_UPDATE_FREQUENCY_MS
    return json.dumps({"id": request_id, "method": method, "params": params}, separators=(",", ":"))


class CryptocomProtocol(VenueProtocol):
    """One Crypto.com Exchange market data connection (sans-IO): requests out, events in.

    Args:
        config: the venue's config; ``instrument`` is the venue's instrument name
            (``BTCUSD-PERP``, ``BTC_USDT``, ``BTCUSD-250328``).

    Raises:
        InvalidValueError: a candle subscription's interval is not one Crypto.com offers.
    """

    def __init__(self, config: VenueConfig) -> None:
        self._ws_url = config.ws_url or WS_URL
        self._subscriptions = Subscriptions(config)
        self._channels: list[str] = []
        self._books: dict[str, CryptocomBook] = {}
        self._open_interest: dict[str, Decimal] = {}
        self._next_id = 1
        for sub in config.subscriptions:
            name = sub.instrument
            wanted = self._subscriptions.wanted[name]
            if DataType.TRADE in wanted:
                self._channels.append(f"trade.{name}")
            if wanted & _TICKER_TYPES:
                self._channels.append(f"ticker.{name}")
            if DataType.FUNDING_RATE in wanted:
                self._channels.append(f"funding.{name}")
            if DataType.CANDLE in wanted:
                if sub.candle_interval not in parse.INTERVALS:
                    raise InvalidValueError(
                        "candle_interval",
                        sub.candle_interval,
                        f"Crypto.com offers {', '.join(parse.INTERVALS)}",
                    )
                time_frame = parse.INTERVALS[sub.candle_interval][0]
                self._channels.append(f"candlestick.{time_frame}.{name}")
            if DataType.L2_ORDERBOOK in wanted:
                self._books[name] = CryptocomBook(
                    self._subscriptions.instruments[name], f"book.{name}.{book_depth(sub.depth)}"
                )

    def ws_url(self) -> str:
        """The market data endpoint; channels are subscribed with requests."""
        return self._ws_url

    def _requests(self, method: str, channels: Sequence[str], book: bool) -> list[str]:
        frames = []
        for start in range(0, len(channels), CHANNELS_PER_SUBSCRIBE):
            frames.append(
                request_frame(
                    self._next_id, method, channels[start : start + CHANNELS_PER_SUBSCRIBE], book
                )
            )
            self._next_id += 1
        return frames

    def subscribe_frames(self) -> Sequence[str]:
        """Subscribe requests, ids counting from 1: the non-book channels, then the book
        channels with the delta parameters, at most :data:`CHANNELS_PER_SUBSCRIBE` each.

        Shape::

            {"id":1,"method":"subscribe","params":{"channels":["trade.BTCUSD-PERP",
             "ticker.BTCUSD-PERP","funding.BTCUSD-PERP","candlestick.1m.BTCUSD-PERP"]}}
            {"id":2,"method":"subscribe","params":{"channels":["book.BTCUSD-PERP.50"],
             "book_subscription_type":"SNAPSHOT_AND_UPDATE","book_update_frequency":10}}
        """
        books = [book.channel for book in self._books.values()]
        return self._requests("subscribe", self._channels, False) + self._requests(
            "subscribe", books, True
        )

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame: channel data, a request's answer or a heartbeat.

        Shapes (the v1 reference's samples, trimmed)::

            {"id":1587523073344,"method":"public/heartbeat","code":0}
            {"id":1,"code":0,"method":"subscribe"}
            {"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",
             "subscription":"book.BTCUSD-PERP.10","channel":"book.update","depth":10,
             "data":[{"update":{"asks":[["50126.000000","0","0"]],"bids":[]},
             "tt":1647917463003,"t":1647917463003,"u":7845460002,"pu":7845460001}]}}

        Returns:
            The events; for a heartbeat, its ``public/respond-heartbeat`` answer; for
            a broken book, a :class:`BookResync` and the subscribe request of its channel.

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``stale_update``,
                ``subscribe_error`` or ``request_error``.
        """
        message = wire.exact_object(frame)
        method = message.get("method")
        with FrameErrors(method):
            code = message.get("code", 0)
            if code != 0:
                reason = "subscribe_error" if method in _REQUEST_METHODS else "request_error"
                raise FrameError(
                    reason,
                    wire.clip(
                        f"{wire.label(method)} id {wire.brief(message.get('id'))}: code "
                        f"{wire.brief(code)} {wire.brief(message.get('message'))}"
                    ),
                )
            if method == HEARTBEAT_METHOD:
                request_id = wire.integer("id", message["id"])
                answer = json.dumps(
                    {"id": request_id, "method": HEARTBEAT_ANSWER}, separators=(",", ":")
                )
                return FrameOutcome([], [], [answer])
            if method == "subscribe" and "result" in message:
                result = wire.json_object("result", message["result"])
                return self._channel(result, received_at_ms)
            if method in _REQUEST_METHODS:
                return FrameOutcome([], [], [])
        raise FrameError("unknown_event", wire.clip(f"method {wire.brief(method)}"))

    def _channel(self, result: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        channel = result["channel"]
        name = result["instrument_name"]
        data = result["data"]
        if channel == "book.update":
            return self._delta(self._book(name), data, received_at_ms)
        if channel == "book":
            return self._snapshot(self._book(name), data, received_at_ms)
        if channel == "trade":
            instrument = self._subscriptions.instrument(name, DataType.TRADE)
            return FrameOutcome(parse.trade_events(instrument, data, received_at_ms), [], [])
        if channel == "ticker":
            return FrameOutcome(self._ticker(name, data, received_at_ms), [], [])
        if channel == "funding":
            instrument = self._subscriptions.instrument(name, DataType.FUNDING_RATE)
            events = [
                parse.funding_event(instrument, wire.json_object("data", entry), received_at_ms)
                for entry in wire.json_list("data", data)
            ]
            return FrameOutcome(events, [], [])
        if channel == "candlestick":
            instrument = self._subscriptions.instrument(name, DataType.CANDLE)
            time_frame = wire.text("interval", result["interval"])
            events = parse.candle_events(instrument, time_frame, data, received_at_ms)
            return FrameOutcome(events, [], [])
        raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))

    def _ticker(self, name: Any, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``ticker`` entries: the ticker, and open interest when it changed since the
        last one published (see :mod:`.parse`)."""
        instrument = self._subscriptions.instruments.get(name) if isinstance(name, str) else None
        if instrument is None or not _TICKER_TYPES & self._subscriptions.wanted[name]:
            raise FrameError("unsubscribed", f"{wire.label(name)} ticker")
        wanted = self._subscriptions.wanted[name]
        events: list[MarketEvent] = []
        for raw in wire.json_list("data", data):
            entry = wire.json_object("data", raw)
            if DataType.TICKER in wanted:
                events.append(parse.ticker_event(instrument, entry, received_at_ms))
            if DataType.OPEN_INTEREST in wanted:
                value = parse.open_interest(entry)
                if value is not None and self._open_interest.get(name) != value:
                    time = wire.integer("t", entry["t"])
                    events.append(open_interest_event(instrument, value, time, received_at_ms))
                    self._open_interest[name] = value
        return events

    def _book(self, name: Any) -> CryptocomBook:
        self._subscriptions.instrument(name, DataType.L2_ORDERBOOK)
        return self._books[name]

    def _snapshot(self, book: CryptocomBook, data: Any, received_at_ms: int) -> FrameOutcome:
        """``book``: each entry replaces the book, published whole."""
        events: list[MarketEvent] = []
        for raw in wire.json_list("data", data):
            entry = wire.json_object("data", raw)
            update_id = wire.integer("u", entry["u"])
            time = wire.integer("t", entry["t"])
            bids = parse.book_levels("bids", entry["bids"])
            asks = parse.book_levels("asks", entry["asks"])
            book.snapshot(bids, asks, update_id)
            book_bids, book_asks = book.book.levels()
            events.append(
                MarketEvent(
                    book.instrument,
                    DataType.L2_ORDERBOOK,
                    received_at_ms,
                    time,
                    L2Update(book_bids, book_asks, True, update_id, update_id),
                    f"snapshot:{update_id}",
                )
            )
        return FrameOutcome(events, [], [])

    def _delta(self, book: CryptocomBook, data: Any, received_at_ms: int) -> FrameOutcome:
        """``book.update`` entries (see :mod:`.book` for the rules); an empty delta moves
        ``u`` on and publishes nothing."""
        events: list[MarketEvent] = []
        for raw in wire.json_list("data", data):
            entry = wire.json_object("data", raw)
            update = wire.json_object("update", entry["update"])
            update_id = wire.integer("u", entry["u"])
            previous = wire.integer("pu", entry["pu"])
            time = wire.integer("t", entry["t"])
            bids = parse.book_levels("bids", update.get("bids", []))
            asks = parse.book_levels("asks", update.get("asks", []))
            if not book.gate.synced:
                continue
            check = book.check(update_id, previous)
            if check is Delta.STALE:
                raise FrameError(
                    "stale_update",
                    f"{book.instrument.instrument}: u={update_id} <= book's {book.update_id}",
                )
            if check is Delta.GAP:
                outcome = self.resync_books([book.instrument.instrument], "gap")
                outcome.events[:0] = events
                return outcome
            book.apply(bids, asks, update_id)
            if bids or asks:
                events.append(
                    MarketEvent(
                        book.instrument,
                        DataType.L2_ORDERBOOK,
                        received_at_ms,
                        time,
                        L2Update(bids, asks, False, update_id, update_id),
                        f"{book.snapshot_id}:{update_id}",
                    )
                )
        return FrameOutcome(events, [], [])

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None) and subscribe their channels again
        (no unsubscribe: the venue answers a repeated subscribe with a fresh snapshot);
        instruments without a book here are ignored."""
        names = books_to_resync(self._books, instruments)
        if not names:
            return FrameOutcome([], [], [], [])
        for name in names:
            self._books[name].reset(reason)
        channels = [self._books[name].channel for name in names]
        return FrameOutcome(
            [],
            [],
            self._requests("subscribe", channels, True),
            [BookResync(self._books[name].instrument, reason) for name in names],
        )
