"""Coinbase Exchange's relay protocol: one subscribe frame, frames -> events, book resyncs.

Sources: the overview (subscribe / unsubscribe, ``subscriptions`` answers,
``error`` messages, "clients are expected to ignore messages they do not
support"): https://docs.cloud.coinbase.com/exchange/docs/websocket-overview and
https://coinbase-migration.mintlify.app/coinbase-exchange/websocket-feed/overview;
the limits page (10 inbound messages per second, 1000 burst; "users can
subscribe/unsubscribe to multiple channels and products within a single inbound
message"): https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits.

Channels and data types (one subscribe frame carries them all, as channel
objects ``{"name": ..., "product_ids": [...]}``):

- ``l2_orderbook``: ``level2_batch``. The ``level2`` channel of today's
  Exchange feed needs an authenticated subscribe and the relay holds no
  credentials; ``level2_batch`` sends the same ``snapshot`` and ``l2update``
  messages, batched every 50 ms. Every Exchange book channel is the full
  book: ``depth`` has nothing to choose from and every value (0 included)
  maps to ``level2_batch``.
- ``trade``: ``matches`` (``match``, and one ``last_match`` on subscribe).
- ``ticker``: ``ticker``.
- ``heartbeat``: subscribed for every product, one message per product per
  second; answered with an empty outcome. It keeps frames flowing on quiet
  products, so a dead connection is seen by the connection's silence checks.

A crossed book (see :mod:`.book`) is resynced by unsubscribing and subscribing
``level2_batch`` for that one product.

Duplicates and order: ``ticker`` and ``match`` messages carry the product's
``sequence``; one not newer than the last one of the same product and data
type, and at most :data:`STALE_WINDOW_SEQUENCES` behind it, is a duplicate or
out of order and is skipped (``stale_update``). One further behind is taken and
becomes the last (:class:`~relay.application.latest_id.LatestId`): the last one
came from a frame whose ``sequence`` cannot be trusted (2**63-1 in a corrupted
frame would otherwise make every later real message stale).

Dedup keys (``MarketEvent.dedup_key``):

- trade: the ``trade_id`` (so a ``last_match`` on a new connection is a
  duplicate of the ``match`` an older connection published);
- ticker: the ``sequence``;
- book snapshot: ``snapshot:<b>`` (``b``: see :mod:`.book`);
- book delta: ``<b>:<time>:<c>``: the ``b`` of the snapshot it follows,
  the venue's ``time`` string, and ``c`` the BLAKE2b hash (16 hex digits) of
  the ``changes`` list. In the recording no two updates of one product share
  ``time`` and ``changes``; the snapshot part keeps deltas that follow a new
  snapshot (another connection's, or a resync's) from being taken for the
  deltas published after an earlier snapshot.

Keepalive: the Exchange feed has no client-level ping message; the relay's
WebSocket ping frames keep the connection checked (:meth:`keepalive` is None).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import orjson

from relay.application.errors import FrameError
from relay.application.latest_id import LatestId
from relay.application.ports import BookResync, FrameOutcome, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.model import (
    DataType,
    Instrument,
    L2Update,
    MarketEvent,
    Ticker,
)
from relay.infrastructure.venues.coinbase_exchange import parse
from relay.infrastructure.venues.coinbase_exchange.book import ExchangeBook
from relay.infrastructure.venues.common import times, wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.common.subscriptions import Subscriptions

STALE_WINDOW_SEQUENCES = 1_000_000
"""A ``sequence`` at most this far behind the product's last is a duplicate or out of
order (a new connection repeats the last match within a few); further behind, the
last one is the untrustworthy one."""
DEFAULT_WS_URL = "wss://ws-feed.exchange.coinbase.com"

BOOK_CHANNEL = "level2_batch"
"""The order book channel: public (``level2`` needs authentication), full depth."""

TRADE_CHANNEL = "matches"
TICKER_CHANNEL = "ticker"
HEARTBEAT_CHANNEL = "heartbeat"

SUBSCRIBE_INTERVAL_S = 0.1
"""Least time between two frames sent: the documented 10 inbound messages per second."""


def channel_frame(kind: str, channels: Sequence[tuple[str, Sequence[str]]]) -> str:
    """A ``subscribe`` or ``unsubscribe`` frame with channel objects.

    ``channel_frame("unsubscribe", [("level2_batch", ["BAND-GBP"])])`` ->
    ``{"type":"unsubscribe","channels":[{"name":"level2_batch","product_ids":["BAND-GBP"]}]}``
    """
    return orjson.dumps(
        {
            "type": kind,
            "channels": [
                {"name": name, "product_ids": list(products)} for name, products in channels
            ],
        }
    ).decode()


class CoinbaseExchangeProtocol(VenueProtocol):
    """One Coinbase Exchange feed connection (sans-IO); see the module docstring.

    Args:
        config: the venue's config (subscriptions, URL override).
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._ws_url = config.ws_url or DEFAULT_WS_URL
        self._subscriptions = Subscriptions(config)
        self._books: dict[str, ExchangeBook] = {}
        self._latest = LatestId(STALE_WINDOW_SEQUENCES)
        for sub in config.subscriptions:
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[sub.instrument] = ExchangeBook(
                    self._subscriptions.instruments[sub.instrument]
                )
        self._handlers: dict[str, Callable[[dict[str, Any], str | bytes, int], FrameOutcome]] = {
            "l2update": self._l2update,
            "snapshot": self._snapshot,
            "match": self._match,
            "last_match": self._match,
            "ticker": self._ticker,
            "heartbeat": self._ignore,
            "subscriptions": self._ignore,
            "error": self._error,
        }

    def channels(self) -> list[tuple[str, list[str]]]:
        """(channel, product ids) for every channel this connection subscribes, in frame order."""
        by_channel: dict[str, list[str]] = {
            BOOK_CHANNEL: [],
            TRADE_CHANNEL: [],
            TICKER_CHANNEL: [],
            HEARTBEAT_CHANNEL: [],
        }
        channel_of = {
            DataType.L2_ORDERBOOK: BOOK_CHANNEL,
            DataType.TRADE: TRADE_CHANNEL,
            DataType.TICKER: TICKER_CHANNEL,
        }
        for sub in self._config.subscriptions:
            for data_type in sub.data_types:
                products = by_channel[channel_of[data_type]]
                if sub.instrument not in products:
                    products.append(sub.instrument)
            if sub.instrument not in by_channel[HEARTBEAT_CHANNEL]:
                by_channel[HEARTBEAT_CHANNEL].append(sub.instrument)
        return [(name, products) for name, products in by_channel.items() if products]

    def ws_url(self) -> str:
        """The feed URL (channels are named in the subscribe frame)."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """One ``subscribe`` frame for every channel and product (a single inbound message)."""
        channels = self.channels()
        return [channel_frame("subscribe", channels)] if channels else []

    def keepalive(self) -> None:
        """None: the feed has no client ping message; WebSocket pings check the connection."""
        return None

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one feed message.

        Shapes (trimmed from ``coinbase-exchange.jsonl``)::

            {"type":"snapshot","product_id":"BAND-GBP","asks":[["14.8024","12.77"],...],
             "bids":[["14.7551","9.40"],...]}
            {"type":"l2update","product_id":"SKL-BTC","changes":[["sell","0.00001306","660.5"]],
             "time":"2021-04-17T16:43:37.075687Z"}
            {"type":"match","trade_id":280232,"maker_order_id":"2a0d...","taker_order_id":"3c82...",
             "side":"sell","size":"985","price":"0.00001305","product_id":"SKL-BTC",
             "sequence":177100030,"time":"2021-04-17T16:43:37.089723Z"}
            {"type":"ticker","sequence":333938798,"product_id":"BAND-GBP","price":"14.7775",
             "best_bid":"14.7550","best_ask":"14.8060","side":"buy",
             "time":"2021-04-17T16:43:30.244075Z","trade_id":881613,"last_size":"0.04",...}
            {"type":"subscriptions","channels":[{"name":"level2","product_ids":["BAND-GBP",...]}]}

        ``heartbeat`` (documented example: ``{"type":"heartbeat","sequence":90,
        "last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}``)
        and ``subscriptions`` give an empty outcome.

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``unsynced``,
                ``stale_update`` or ``subscribe_error`` (see the module docstring).
        """
        message = wire.frame_object(frame)
        kind = message.get("type")
        handler = self._handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise FrameError("unknown_event", wire.clip(f"message type {wire.brief(kind)}"))
        with FrameErrors(kind):
            return handler(message, frame, received_at_ms)

    def _instrument(self, message: dict[str, Any], data_type: DataType) -> Instrument:
        return self._subscriptions.instrument(
            wire.text("product_id", message["product_id"]), data_type
        )

    def _ignore(
        self, message: dict[str, Any], frame: str | bytes, received_at_ms: int
    ) -> FrameOutcome:
        return FrameOutcome([], [], [])

    def _error(
        self, message: dict[str, Any], frame: str | bytes, received_at_ms: int
    ) -> FrameOutcome:
        """``{"type":"error","message":"Failed to subscribe","reason":"..."}``."""
        text = f"{message.get('message', '')}: {message.get('reason', '')}"
        raise FrameError("subscribe_error", wire.clip(text))

    def _snapshot(
        self, message: dict[str, Any], frame: str | bytes, received_at_ms: int
    ) -> FrameOutcome:
        instrument = self._instrument(message, DataType.L2_ORDERBOOK)
        bids = parse.levels("bids", message["bids"])
        asks = parse.levels("asks", message["asks"])
        book = self._books[instrument.instrument]
        book.reset(bids, asks, parse.digest(frame.encode() if isinstance(frame, str) else frame))
        book_bids, book_asks = book.book.levels()
        event = MarketEvent(
            instrument,
            DataType.L2_ORDERBOOK,
            received_at_ms,
            None,
            L2Update(book_bids, book_asks, True),
            f"snapshot:{book.snapshot_hash}",
        )
        return FrameOutcome([event], [], [])

    def _l2update(
        self, message: dict[str, Any], frame: str | bytes, received_at_ms: int
    ) -> FrameOutcome:
        instrument = self._instrument(message, DataType.L2_ORDERBOOK)
        book = self._books[instrument.instrument]
        time_text = wire.text("time", message["time"])
        exchange_ms = times.rfc3339_ms("time", time_text)
        changes = message["changes"]
        bids, asks = parse.changes(changes)
        if not book.gate.synced:
            raise FrameError("unsynced", f"{instrument.instrument}: no snapshot yet")
        if book.apply(bids, asks):
            return self.resync_books([instrument.instrument], "crossed_book")
        event = MarketEvent(
            instrument,
            DataType.L2_ORDERBOOK,
            received_at_ms,
            exchange_ms,
            L2Update(bids, asks, False),
            f"{book.snapshot_hash}:{time_text}:{parse.digest(orjson.dumps(changes))}",
        )
        return FrameOutcome([event], [], [])

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); unsubscribe and subscribe their
        ``level2_batch`` channel in one frame each. Products without a book here are ignored.
        """
        products = books_to_resync(self._books, instruments)
        if not products:
            return FrameOutcome([], [], [])
        for product in products:
            self._books[product].discard(reason)
        channels = [(BOOK_CHANNEL, products)]
        return FrameOutcome(
            [],
            [],
            [channel_frame("unsubscribe", channels), channel_frame("subscribe", channels)],
            [BookResync(self._books[product].instrument, reason) for product in products],
        )

    def _sequence(
        self, message: dict[str, Any], instrument: Instrument, data_type: DataType
    ) -> int:
        """The message's ``sequence``, newer than the last one of this product and data type.

        Raises:
            FrameError: ``stale_update`` when it is not.
        """
        sequence = wire.integer("sequence", message["sequence"])
        key = (instrument.instrument, data_type)
        if not self._latest.accept(key, sequence):
            raise FrameError(
                "stale_update",
                f"{instrument.instrument} {data_type.value}: sequence {sequence} <= "
                f"{self._latest.last(key)}",
            )
        return sequence

    def _match(
        self, message: dict[str, Any], frame: str | bytes, received_at_ms: int
    ) -> FrameOutcome:
        instrument = self._instrument(message, DataType.TRADE)
        trade, exchange_ms = parse.match_trade(message)
        self._sequence(message, instrument, DataType.TRADE)
        event = MarketEvent(
            instrument, DataType.TRADE, received_at_ms, exchange_ms, trade, trade.trade_id
        )
        return FrameOutcome([event], [], [])

    def _ticker(
        self, message: dict[str, Any], frame: str | bytes, received_at_ms: int
    ) -> FrameOutcome:
        instrument = self._instrument(message, DataType.TICKER)
        bid_price, bid_quantity, ask_price, ask_quantity, exchange_ms = parse.best_quotes(message)
        sequence = self._sequence(message, instrument, DataType.TICKER)
        event = MarketEvent(
            instrument,
            DataType.TICKER,
            received_at_ms,
            exchange_ms,
            Ticker(bid_price, bid_quantity, ask_price, ask_quantity, sequence),
            str(sequence),
        )
        return FrameOutcome([event], [], [])
