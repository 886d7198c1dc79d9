"""Coinbase Exchange WebSocket feed (``wss://ws-feed.exchange.coinbase.com``): book, trades, ticker.

This is the Exchange feed (formerly Coinbase Pro), not the Advanced Trade API.

Sources (the formats parsed here follow the recorded session
``coinbase-exchange.jsonl`` in ``shared/captures``, recorded 2021-04 on the same
protocol, and these pages):

- Channels (heartbeat, ticker, level2, level2_batch, matches; the heartbeat
  example message): https://docs.cdp.coinbase.com/exchange/websocket-feed/channels
- Overview (subscribe / unsubscribe, ``subscriptions`` answers, ``error``
  messages, "clients are expected to ignore messages they do not support"):
  https://docs.cloud.coinbase.com/exchange/docs/websocket-overview and
  https://coinbase-migration.mintlify.app/coinbase-exchange/websocket-feed/overview
- Limits (10 inbound messages per second, 1000 burst; 10 subscriptions per
  product and channel per account; "users can subscribe/unsubscribe to multiple
  channels and products within a single inbound message"):
  https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits
- Products listing: https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products/get-all-known-trading-pairs
- Which side a match's ``side`` names: the match message documentation says
  "The side field indicates the maker order side" (quoted in
  https://kiwix.lema.org/stackoverflow.com_en_all_2023-11/questions/66683387/coinbase-websocket-channel-match-vs-ticker;
  the ticker's ``side`` is the taker side). The recording agrees: each ticker
  carries the opposite ``side`` of the match with the same ``trade_id``.

The search corpus held the heartbeat, status and limits sections of the
channels pages but not the text of the level2, ticker and matches sections;
their message shapes are taken from the recorded frames.

Channels and data types (one subscribe frame carries them all, as channel
objects ``{"name": ..., "product_ids": [...]}``):

- ``l2_orderbook``: ``level2_batch``. The ``level2`` channel of today's
  Exchange feed needs an authenticated subscribe and the relay holds no
  credentials; ``level2_batch`` sends the same ``snapshot`` and ``l2update``
  messages, batched every 50 ms. Every Exchange book channel is the full
  book: ``depth`` has nothing to choose from and every value (0 included)
  maps to ``level2_batch``.
- ``trade``: ``matches`` (``match``, and one ``last_match`` on subscribe).
  The aggressor side is the opposite of the maker side given in ``side``.
- ``ticker``: ``ticker`` (``best_bid``/``best_ask``; ``best_bid_size``/
  ``best_ask_size`` when present. The 2021 recording has no sizes: the
  quantities are then published as 0, meaning "not sent").
- ``heartbeat``: subscribed for every product, one message per product per
  second; answered with an empty outcome. It keeps frames flowing on quiet
  products, so a dead connection is seen by the connection's silence checks.

Book procedure (one :class:`_Book` per product): the ``snapshot`` message
replaces the book and is published as a snapshot event; each ``l2update``
(``changes`` ``[side, price, size]``, size 0 removes the level) is applied and
published as a delta. An ``l2update`` for a product whose snapshot has not
arrived (before the first one, or after a resync) is skipped (``unsynced``).
The level2 messages carry no sequence numbers, so the only check the relay can
make is the book itself: an update that leaves the book crossed (best bid >=
best ask) throws that book away and resyncs it by unsubscribing and
subscribing ``level2_batch`` for that one product (a ``crossed_book``
:class:`~relay.application.ports.BookResync`); nothing is published for it
until the new snapshot arrives.

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
- book snapshot: ``snapshot:<b>``. ``b`` is ``h``, the first 16 hex digits
  of the BLAKE2b hash of the snapshot frame (the message has no time and no
  id), for the first snapshot of a product on a connection, and ``h:<n>`` for
  its ``n``-th later one (``n`` = 1, 2, ...: a resync's): a resync snapshot
  equal byte for byte to an earlier one is still published, while the same
  frame re-sent on a new connection (a replay) still maps to the same key;
- book delta: ``<b>:<time>:<c>``: the ``b`` of the snapshot it follows,
  the venue's ``time`` string, and ``c`` the BLAKE2b hash (16 hex digits) of
  the ``changes`` list. In the recording no two updates of one product share
  ``time`` and ``changes``; the snapshot part keeps deltas that follow a new
  snapshot (another connection's, or a resync's) from being taken for the
  deltas published after an earlier snapshot.

Keepalive: the Exchange feed has no client-level ping message; the relay's
WebSocket ping frames keep the connection checked (:meth:`keepalive` is None).

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``unsynced`` (an
``l2update`` for a book without a snapshot), ``stale_update`` (a duplicate or
out-of-order ``ticker`` or ``match``), ``subscribe_error`` (an ``error``
message).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from decimal import Decimal
from typing import Any

import orjson

from relay.application.book_state import BookState
from relay.application.errors import FrameError
from relay.application.latest_id import LatestId
from relay.application.order_book import OrderBook
from relay.application.ports import BookResync, FrameOutcome, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    DataType,
    Instrument,
    L2Update,
    MarketEvent,
    PriceLevel,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.common import sides, times, wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
    VenueSpec,
    register,
)

VENUE_ID = "coinbase-exchange"
STALE_WINDOW_SEQUENCES = 1_000_000
"""A ``sequence`` at most this far behind the product's last is a duplicate or out of
order (a new connection repeats the last match within a few); further behind, the
last one is the untrustworthy one."""
DEFAULT_WS_URL = "wss://ws-feed.exchange.coinbase.com"
DEFAULT_REST_URL = "https://api.exchange.coinbase.com"

BOOK_CHANNEL = "level2_batch"
"""The order book channel: public (``level2`` needs authentication), full depth."""

TRADE_CHANNEL = "matches"
TICKER_CHANNEL = "ticker"
HEARTBEAT_CHANNEL = "heartbeat"

SUBSCRIBE_INTERVAL_S = 0.1
"""Least time between two frames sent: the documented 10 inbound messages per second."""


HASH_BYTES = 8
"""BLAKE2b digest size of the content hashes in dedup keys (16 hex digits)."""

_ZERO = Decimal(0)

_DOCS = (
    "https://docs.cdp.coinbase.com/exchange/websocket-feed/channels",
    "https://docs.cloud.coinbase.com/exchange/docs/websocket-overview",
    "https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits",
    "https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products/"
    "get-all-known-trading-pairs",
)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=HASH_BYTES).hexdigest()


def _level(field: str, price: Any, quantity: Any) -> PriceLevel:
    """One (price > 0, quantity >= 0) level from the venue's strings."""
    return wire.price(field, price), wire.quantity(field, quantity)


def _levels(field: str, raw: Any) -> tuple[PriceLevel, ...]:
    """``[["14.8024", "12.77"], ...]`` -> ((price, quantity), ...)."""
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list of [price, size]")
    levels: list[PriceLevel] = []
    for level in raw:
        if type(level) is not list or len(level) != 2:
            raise InvalidValueError(field, level, "expected [price, size]")
        levels.append(_level(field, level[0], level[1]))
    return tuple(levels)


def _changes(raw: Any) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
    """``[["sell", "0.00001306", "660.5"], ...]`` -> (bid levels, ask levels), in order."""
    if not isinstance(raw, list):
        raise InvalidValueError("changes", raw, "expected a list of [side, price, size]")
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []
    for change in raw:
        if type(change) is not list or len(change) != 3:
            raise InvalidValueError("changes", change, "expected [side, price, size]")
        side, price, quantity = change
        if side == "buy":
            bids.append(_level("changes", price, quantity))
        elif side == "sell":
            asks.append(_level("changes", price, quantity))
        else:
            raise InvalidValueError("changes", side, "expected side buy or sell")
    return tuple(bids), tuple(asks)


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


class _Book:
    """One product's book and the dedup part (``b``) of the snapshot it was built from."""

    __slots__ = ("book", "instrument", "snapshot_hash", "snapshots", "state")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.state = BookState.AWAITING_SNAPSHOT
        self.book = OrderBook()
        self.snapshot_hash = ""
        self.snapshots = 0
        """Snapshots of this product taken on this connection so far."""

    def reset(
        self, bids: tuple[PriceLevel, ...], asks: tuple[PriceLevel, ...], frame_hash: str
    ) -> None:
        self.book.reset(bids, asks)
        self.snapshot_hash = f"{frame_hash}:{self.snapshots}" if self.snapshots else frame_hash
        self.snapshots += 1
        self.state = BookState.SYNCED

    def apply(self, bids: tuple[PriceLevel, ...], asks: tuple[PriceLevel, ...]) -> bool:
        """Apply a delta; True when it leaves the book crossed (best bid >= best ask)."""
        self.book.apply(bids, asks)
        return self.book.crossed

    def discard(self) -> None:
        self.state = BookState.AWAITING_SNAPSHOT
        self.book = OrderBook()
        self.snapshot_hash = ""


class CoinbaseExchangeProtocol(VenueProtocol):
    """One Coinbase Exchange feed connection (sans-IO); see the module docstring.

    Args:
        config: the venue's config (subscriptions, URL override).
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._ws_url = config.ws_url or DEFAULT_WS_URL
        self._instruments: dict[str, Instrument] = {}
        self._wanted: dict[str, frozenset[DataType]] = {}
        self._books: dict[str, _Book] = {}
        self._latest = LatestId(STALE_WINDOW_SEQUENCES)
        for sub in config.subscriptions:
            instrument = Instrument(config.id, sub.instrument, sub.canonical_symbol)
            self._instruments[sub.instrument] = instrument
            self._wanted[sub.instrument] = frozenset(sub.data_types)
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[sub.instrument] = _Book(instrument)
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
        product = wire.text("product_id", message["product_id"])
        wanted = self._wanted.get(product)
        if wanted is None or data_type not in wanted:
            raise FrameError("unsubscribed", wire.clip(f"{wire.label(product)} {data_type.value}"))
        return self._instruments[product]

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
        bids = _levels("bids", message["bids"])
        asks = _levels("asks", message["asks"])
        book = self._books[instrument.instrument]
        book.reset(bids, asks, _digest(frame.encode() if isinstance(frame, str) else frame))
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
        bids, asks = _changes(changes)
        if book.state is not BookState.SYNCED:
            raise FrameError("unsynced", f"{instrument.instrument}: no snapshot yet")
        if book.apply(bids, asks):
            return self.resync_books([instrument.instrument], "crossed_book")
        event = MarketEvent(
            instrument,
            DataType.L2_ORDERBOOK,
            received_at_ms,
            exchange_ms,
            L2Update(bids, asks, False),
            f"{book.snapshot_hash}:{time_text}:{_digest(orjson.dumps(changes))}",
        )
        return FrameOutcome([event], [], [])

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); unsubscribe and subscribe their
        ``level2_batch`` channel in one frame each. Products without a book here are ignored.
        """
        products = (
            list(self._books)
            if instruments is None
            else [p for p in dict.fromkeys(instruments) if p in self._books]
        )
        if not products:
            return FrameOutcome([], [], [])
        for product in products:
            self._books[product].discard()
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
        trade_id = str(wire.integer("trade_id", message["trade_id"]))
        trade = Trade(
            trade_id,
            wire.price("price", message["price"]),
            wire.quantity("size", message["size"]),
            sides.opposite(sides.side("side", message["side"], "buy", "sell")),
        )
        exchange_ms = times.rfc3339_ms("time", message["time"])
        self._sequence(message, instrument, DataType.TRADE)
        event = MarketEvent(
            instrument, DataType.TRADE, received_at_ms, exchange_ms, trade, trade_id
        )
        return FrameOutcome([event], [], [])

    def _ticker(
        self, message: dict[str, Any], frame: str | bytes, received_at_ms: int
    ) -> FrameOutcome:
        instrument = self._instrument(message, DataType.TICKER)
        bid_size = message.get("best_bid_size")
        ask_size = message.get("best_ask_size")
        bid_price = wire.price("best_bid", message["best_bid"])
        ask_price = wire.price("best_ask", message["best_ask"])
        bid_quantity = _ZERO if bid_size is None else wire.quantity("best_bid_size", bid_size)
        ask_quantity = _ZERO if ask_size is None else wire.quantity("best_ask_size", ask_size)
        exchange_ms = times.rfc3339_ms("time", message["time"])
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


def parse_products(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """``GET /products``: every product whose ``status`` is ``online``, as ``BASE/QUOTE`` spot.

    Shape (fields as in the documented product objects)::

        [{"id":"BTC-USD","base_currency":"BTC","quote_currency":"USD",
          "status":"online",...}, ...]

    Raises:
        ValueError: the body is not a JSON list of product objects.
    """
    products = orjson.loads(body)
    if not isinstance(products, list):
        raise ValueError("expected a JSON list of products")
    listed: list[ListedInstrument] = []
    for product in products:
        if not isinstance(product, dict):
            raise ValueError(f"expected a product object, got {product!r}")
        if product.get("status", "online") != "online":
            continue
        product_id = wire.text("id", product["id"])
        base = wire.text("base_currency", product["base_currency"])
        quote = wire.text("quote_currency", product["quote_currency"])
        listed.append(ListedInstrument(product_id, f"{base}/{quote}", "spot"))
    return listed


register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset({DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK}),
        default_ws_url=DEFAULT_WS_URL,
        default_rest_url=DEFAULT_REST_URL,
        protocol_factory=CoinbaseExchangeProtocol,
        docs=_DOCS,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        instrument_listing=InstrumentListing((ListingRequest("/products"),), parse_products),
    )
)
