"""Kraken Futures' relay protocol: subscribe frames, feeds -> events, book resyncs.

Sources: https://docs.kraken.com/exchange/api-reference/futures-websocket (endpoint
``wss://futures.kraken.com/ws/v1``; "send a ping at least every 60 seconds");
https://support.kraken.com/articles/360022635632-subscriptions-websockets-api-derivatives
(subscribe / unsubscribe requests ``{"event","feed","product_ids"}``, answered by
``{"event":"subscribed","feed","product_ids"}`` or ``subscribed_failed``; the ping
requirement); the book and trade pages cited in :mod:`.parse`; the frames of
``kraken-futures.jsonl``.

Feeds: ``trade`` (its ``trade_snapshot``, the product's last trades sent on
subscribing, is history and is not republished); ``ticker`` for ``ticker``,
``funding_rate`` (perpetuals) and ``open_interest`` (published when it changes;
the venue re-sends every field about once a second); ``book`` (see :mod:`.book`).
Frames of feeds the relay never subscribes (``ticker_lite`` in the recording,
which carries no sizes) are refused as ``unknown_event``.

Keepalive: the documented ping every 60 s is met by the connection's WebSocket
PING frames (``ping_interval_s``, 20 s by default); the venue needs no
application-level ping.

Depth: the ``book`` feed has one depth, the full book, which the relay verifies;
a subscription's ``depth`` N > 0 is honoured by the pipeline, which publishes the
top N levels per side of it
(:class:`~relay.application.book_publication.DepthView`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.model import DataType, L2Update, MarketEvent, Side
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.events import open_interest_event
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.common.subscriptions import Subscriptions
from relay.infrastructure.venues.kraken_futures import parse
from relay.infrastructure.venues.kraken_futures.book import Delta, FuturesBook

WS_URL = "wss://futures.kraken.com/ws/v1"

SUBSCRIBE_INTERVAL_S = 0.1
"""Least time between two subscribe frames. Kraken Futures documents no subscribe
rate limit for public feeds; this is the relay's own pacing."""

_FEEDS: tuple[tuple[str, frozenset[DataType]], ...] = (
    ("trade", frozenset({DataType.TRADE})),
    ("ticker", frozenset({DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST})),
    ("book", frozenset({DataType.L2_ORDERBOOK})),
)
"""Feed -> the data types it carries, in subscription order."""

_TICKER_TYPES = _FEEDS[1][1]

_EVENTS = frozenset({"info", "subscribed", "unsubscribed", "alert"})
"""``event`` answers that carry nothing to publish (``alert``: an informative notice)."""


def request_frame(event: str, feed: str, product_ids: Sequence[str]) -> str:
    """``{"event":"subscribe","feed":"book","product_ids":["PI_XBTUSD"]}`` (event
    ``subscribe`` or ``unsubscribe``), compact JSON."""
    return json.dumps(
        {"event": event, "feed": feed, "product_ids": list(product_ids)}, separators=(",", ":")
    )


class KrakenFuturesProtocol(VenueProtocol):
    """One Kraken Futures connection (sans-IO): subscribe frames, frames in, events out.

    Args:
        config: the venue's config; ``instrument`` is the product id as the
            WebSocket names it (``PI_XBTUSD``, ``FI_XBTUSD_210924``: upper case).
    """

    def __init__(self, config: VenueConfig) -> None:
        self._ws_url = config.ws_url or WS_URL
        self._subscriptions = Subscriptions(config)
        self._open_interest: dict[str, Decimal] = {}
        self._books = {
            name: FuturesBook(instrument)
            for name, instrument in self._subscriptions.instruments.items()
            if DataType.L2_ORDERBOOK in self._subscriptions.wanted[name]
        }

    def ws_url(self) -> str:
        """The ws/v1 endpoint; feeds are subscribed with frames."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """One ``subscribe`` frame per feed, every product wanting it in its ``product_ids``.

        Shape::

            {"event":"subscribe","feed":"trade","product_ids":["PI_XBTUSD","PI_ETHUSD"]}
            {"event":"subscribe","feed":"ticker","product_ids":["PI_XBTUSD"]}
            {"event":"subscribe","feed":"book","product_ids":["PI_XBTUSD"]}
        """
        frames = []
        for feed, data_types in _FEEDS:
            names = [n for n, wanted in self._subscriptions.wanted.items() if data_types & wanted]
            if names:
                frames.append(request_frame("subscribe", feed, names))
        return frames

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame: an ``event`` answer, a trade, or a book snapshot or delta.

        Shapes (trimmed from ``kraken-futures.jsonl``)::

            {"event":"subscribed","feed":"book","product_ids":["PI_XRPUSD"]}
            {"feed":"book_snapshot","product_id":"FI_BCHUSD_210730","timestamp":1626994925378,
             "seq":91192,"tickSize":null,"bids":[{"price":439.3,"qty":20108.0}],
             "asks":[{"price":439.6,"qty":50.0}]}
            {"feed":"book","product_id":"PI_ETHUSD","side":"sell","seq":26660860,
             "price":2004.85,"qty":4787.0,"timestamp":1626994927744}

        Returns:
            The events; for a broken book, a :class:`BookResync` and its
            unsubscribe + subscribe frames.

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``stale_update`` or ``subscribe_error``.
        """
        message = wire.exact_object(frame)
        feed = message.get("feed")
        if "event" in message:
            return self._event(message)
        with FrameErrors(feed):
            if feed == "book":
                return self._delta(message, received_at_ms)
            if feed == "trade":
                instrument = self._subscriptions.instrument(message["product_id"], DataType.TRADE)
                return FrameOutcome(
                    [parse.trade_event(instrument, message, received_at_ms)], [], []
                )
            if feed == "ticker":
                return FrameOutcome(self._ticker(message, received_at_ms), [], [])
            if feed == "book_snapshot":
                return self._snapshot(message, received_at_ms)
            if feed == "trade_snapshot":
                self._subscriptions.instrument(message["product_id"], DataType.TRADE)
                return FrameOutcome([], [], [])
        raise FrameError("unknown_event", wire.clip(f"feed {wire.brief(feed)}"))

    def _ticker(self, message: dict[str, Any], received_at_ms: int) -> list[MarketEvent]:
        """A ``ticker`` message: the ticker, a perpetual's funding, and open interest when
        it changed since the last one published (see :mod:`.parse`)."""
        name = message["product_id"]
        instrument = self._subscriptions.instruments.get(name) if isinstance(name, str) else None
        if instrument is None or not _TICKER_TYPES & self._subscriptions.wanted[name]:
            raise FrameError("unsubscribed", f"{wire.label(name)} ticker")
        wanted = self._subscriptions.wanted[name]
        events: list[MarketEvent] = []
        if DataType.TICKER in wanted:
            events.append(parse.ticker_event(instrument, message, received_at_ms))
        if DataType.FUNDING_RATE in wanted and parse.is_perpetual(message):
            events.append(parse.funding_event(instrument, message, received_at_ms))
        if DataType.OPEN_INTEREST in wanted:
            value = parse.open_interest(message)
            if self._open_interest.get(name) != value:
                time = wire.integer("time", message["time"])
                events.append(open_interest_event(instrument, value, time, received_at_ms))
                self._open_interest[name] = value
        return events

    def _event(self, message: dict[str, Any]) -> FrameOutcome:
        event = message["event"]
        if event in ("subscribed_failed", "unsubscribed_failed", "error"):
            raise FrameError(
                "subscribe_error", wire.clip(f"{wire.label(event)}: {wire.brief(message)}")
            )
        if isinstance(event, str) and event in _EVENTS:
            return FrameOutcome([], [], [])
        raise FrameError("unknown_event", wire.clip(f"event {wire.brief(event)}"))

    def _book(self, message: dict[str, Any]) -> FuturesBook:
        name = message["product_id"]
        self._subscriptions.instrument(name, DataType.L2_ORDERBOOK)
        return self._books[name]

    def _snapshot(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """A ``book_snapshot``: the book replaced, published whole."""
        book = self._book(message)
        seq = wire.integer("seq", message["seq"])
        timestamp = wire.integer("timestamp", message["timestamp"])
        bids = parse.book_levels("bids", message["bids"])
        asks = parse.book_levels("asks", message["asks"])
        book.snapshot(bids, asks, seq)
        book_bids, book_asks = book.book.levels()
        event = MarketEvent(
            book.instrument,
            DataType.L2_ORDERBOOK,
            received_at_ms,
            timestamp,
            L2Update(book_bids, book_asks, True, seq, seq),
            f"snapshot:{seq}",
        )
        return FrameOutcome([event], [], [])

    def _delta(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """A ``book`` message: one level of one side (see :mod:`.book` for the rules)."""
        book = self._book(message)
        side, level, seq, timestamp = parse.book_delta(message)
        if not book.gate.synced:
            return FrameOutcome([], [], [])
        check = book.check(seq)
        if check is Delta.STALE:
            raise FrameError(
                "stale_update", f"{book.instrument.instrument}: seq={seq} <= book's {book.seq}"
            )
        if check is Delta.GAP:
            return self.resync_books([book.instrument.instrument], "gap")
        bids, asks = ((level,), ()) if side is Side.BUY else ((), (level,))
        book.apply(bids, asks, seq)
        event = MarketEvent(
            book.instrument,
            DataType.L2_ORDERBOOK,
            received_at_ms,
            timestamp,
            L2Update(bids, asks, False, seq, seq),
            f"{book.snapshot_seq}:{seq}",
        )
        return FrameOutcome([event], [], [])

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); ``unsubscribe`` + ``subscribe`` the
        ``book`` feed for them (one frame each, every product in it); instruments
        without a book here are ignored."""
        names = books_to_resync(self._books, instruments)
        if not names:
            return FrameOutcome([], [], [], [])
        for name in names:
            self._books[name].reset(reason)
        return FrameOutcome(
            [],
            [],
            [
                request_frame("unsubscribe", "book", names),
                request_frame("subscribe", "book", names),
            ],
            [BookResync(self._books[name].instrument, reason) for name in names],
        )
