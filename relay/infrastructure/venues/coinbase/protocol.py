"""Coinbase Advanced Trade: the public market data WebSocket (``wss://advanced-trade-ws.coinbase.com``).

No recorded session of this feed exists; every format parsed here follows the
documented example messages of these pages (found with the documentation
search, copied in the code corpus with their ``source_url``):

- Channels (heartbeats, candles, market_trades, ticker, level2 examples):
  https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
- Overview (subscribe within 5 s, one channel per subscribe message,
  ``sequence_num`` rules):
  https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview
- Rate limits (unauthenticated messages: 8 per second per IP):
  https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits
- Public products (instrument listing):
  https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/list-public-products

Two shapes are not in those pages' examples and follow other sources: the
``subscriptions`` acknowledgement (``{"channel":"subscriptions",...,"events":
[{"subscriptions":{"level2":["BTC-USD"]}}]}``, as in nautilus_trader's Coinbase
test data) and the error message (``{"type":"error","message":...}``, as ccxt's
coinbase WebSocket handler reads it).

Every message of one connection carries ``sequence_num``, one more than the
message before it on that connection, whatever its channel. The overview says
a number more than one above the previous means messages were dropped, and a
number not above it is an out-of-order message that can be ignored. A drop may
have hit any channel, so a gap resyncs every book of the connection: each one
is thrown away (nothing more is published for it), reported as a ``gap``
:class:`~relay.application.ports.BookResync`, and ``level2`` is unsubscribed and
subscribed again for all of them; the fresh ``snapshot`` event restores
publishing. After a gap the next numbered message sets the baseline again, and a
number more than :data:`STALE_WINDOW_SEQUENCES` below the last is a gap too, not
a stale message: one frame with a corrupted ``sequence_num`` (2**63-1) costs a
resync, never every later message refused as stale until reconnect. An update
that crosses a book that was not crossed before it (best bid >= best ask)
resyncs that one book with reason ``crossed_book`` (a book already crossed in
its snapshot, as in an auction, is left alone).
An ``l2_data`` message that cannot be read (a missing field, a bad value, an
unknown event type) may have held updates the books now lack: every book is
resynced with reason ``bad_update`` (the frames go out with the next outcome,
as the malformed message itself raises).

``sequence_num`` may be missing only on messages that cannot break a book:
``heartbeats``, ``subscriptions`` and ``l2_data`` messages holding only
snapshots (the simulated venue's answers carry none, so that the recorded
numbering stays continuous). Every other message without it is refused.

Depth: ``level2`` is the only book channel and always carries the full book, so
every ``depth`` (0 or N) maps to it. Candles: the ``candles`` channel has one
granularity, five minutes; ``candle_interval`` is not used and candles are
published with interval ``"5m"``. Trades: the channels page says a market
trade's ``side`` "refers to the makers side", so the aggressor is the other
side (``"BUY"`` -> SELL).

Dedup keys (no venue update ids exist except the trade id; ``sequence_num``
is per connection and never used): trade: ``trade_id``; ticker: the message
``timestamp`` as sent (nanoseconds), then its price, 24 h volume and best
bid/ask with quantities; candle: start and OHLCV (the volume only grows within
a candle, so an update never repeats an earlier key); l2 update: the latest
``event_time`` (ms) and a digest of its updates; l2 snapshot: ``snapshot:``,
the message ``timestamp`` and a digest of its levels. The message timestamp
keeps a quote that returns to an earlier value, or a resync snapshot equal to
an earlier one, from being taken for a duplicate; a re-sent frame still maps
to the same key.

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``stale_update``
(a ``sequence_num`` not above the last one) and ``subscribe_error``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import orjson

from relay.application.book_state import BookState
from relay.application.errors import FrameError
from relay.application.latest_id import LatestId
from relay.application.order_book import OrderBook
from relay.application.ports import (
    BookResync,
    FrameOutcome,
    Keepalive,
    VenueProtocol,
)
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
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
from relay.infrastructure.venues.common.wire import (
    MAX_ID,
)
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
    VenueSpec,
    register,
)

VENUE_ID = "coinbase"
STALE_WINDOW_SEQUENCES = 10_000
"""A ``sequence_num`` at most this far below the last is an out-of-order message
(ignored, ``stale_update``); further below, a gap (the last came from a bad frame)."""
WS_URL = "wss://advanced-trade-ws.coinbase.com"
REST_URL = "https://api.coinbase.com"

CHANNELS_DOC = (
    "https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels"
)
OVERVIEW_DOC = (
    "https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview"
)
RATE_LIMITS_DOC = (
    "https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits"
)
PRODUCTS_DOC = (
    "https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/"
    "list-public-products"
)

PRODUCTS_PATH = "/api/v3/brokerage/market/products?product_type=SPOT"
"""The public products listing, spot products only."""

CANDLE_INTERVAL = "5m"
CANDLE_MS = 5 * 60 * 1000
"""The ``candles`` channel's only granularity: five minutes."""

SUBSCRIBE_INTERVAL_S = 0.25
"""Unauthenticated messages are limited to 8 per second per IP; one connection
sends at most 4 per second, so two connections subscribing at once stay within it."""

MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
"""No per-connection product limit is documented (one subscribe message per
channel carries every product). A ``sequence_num`` gap resyncs every book of
the connection, so this bounds what one gap costs."""

REST_REQUESTS_PER_MINUTE = 600
"""Public REST requests: 10 per second (the Advanced Trade REST rate-limit page is
not in the searchable documents; ccxt's coinbase module states this figure). Only
the instrument listing uses REST."""


_BOOK_CHANNEL = "level2"
_CHANNEL_FOR: dict[DataType, str] = {
    DataType.TRADE: "market_trades",
    DataType.TICKER: "ticker",
    DataType.L2_ORDERBOOK: _BOOK_CHANNEL,
    DataType.CANDLE: "candles",
}
"""Subscribe channel of each data type (``l2_data`` is what ``level2`` messages are named)."""


def _list(field: str, raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list")
    return raw


def _digest(parts: Iterable[str]) -> str:
    """A short content digest (16 hex characters) for dedup keys."""
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


class CoinbaseBook:
    """The relay's copy of one ``level2`` book and whether it may be published."""

    __slots__ = ("book", "instrument", "state")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.book = OrderBook()
        self.state = BookState.AWAITING_SNAPSHOT

    def reset(self, bids: Sequence[PriceLevel], asks: Sequence[PriceLevel]) -> None:
        """Replace the book with a snapshot; it may be published from now on."""
        self.book.reset(bids, asks)
        self.state = BookState.SYNCED

    def drop(self) -> None:
        """Throw the book away; nothing is published for it until the next snapshot."""
        self.book = OrderBook()
        self.state = BookState.AWAITING_SNAPSHOT

    def apply(self, bids: Sequence[PriceLevel], asks: Sequence[PriceLevel]) -> bool:
        """Apply an update; True when it crossed a book that was not crossed before it."""
        was_crossed = self.book.crossed
        self.book.apply(bids, asks)
        return not was_crossed and self.book.crossed


def subscribe_frame(channel: str, product_ids: Sequence[str], action: str = "subscribe") -> str:
    """One (un)subscribe message: one channel, its products (none for ``heartbeats``).

    Shape (channels page, without the optional ``jwt``)::

        {"type":"subscribe","product_ids":["ETH-USD","BTC-USD"],"channel":"level2"}
    """
    message: dict[str, Any] = {"type": action}
    if product_ids:
        message["product_ids"] = list(product_ids)
    message["channel"] = channel
    return orjson.dumps(message).decode()


def _levels(updates: list[Any]) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...], int, str]:
    """``updates`` of an ``l2_data`` event -> (bids, asks, latest event time ms, digest).

    Raises:
        InvalidValueError, KeyError: a malformed update.
    """
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []
    parts: list[str] = []
    latest_ms = 0
    for raw in updates:
        update = wire.json_object("updates[]", raw)
        side = update["side"]
        price_text = update["price_level"]
        quantity_text = update["new_quantity"]
        price = wire.price("price_level", price_text)
        quantity = wire.quantity("new_quantity", quantity_text)
        if side == "bid":
            bids.append((price, quantity))
        elif side == "offer":
            asks.append((price, quantity))
        else:
            raise InvalidValueError("side", side, "expected bid or offer")
        event_time = update["event_time"]
        latest_ms = max(latest_ms, times.rfc3339_ms("event_time", event_time))
        parts.extend((side, price_text, quantity_text))
    return tuple(bids), tuple(asks), latest_ms, _digest(parts)


class CoinbaseProtocol(VenueProtocol):
    """One Advanced Trade market data connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL override).
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._ws_url = config.ws_url or WS_URL
        self._instruments: dict[str, Instrument] = {}
        self._wanted: dict[str, frozenset[DataType]] = {}
        self._books: dict[str, CoinbaseBook] = {}
        for sub in config.subscriptions:
            instrument = Instrument(config.id, sub.instrument, sub.canonical_symbol)
            self._instruments[sub.instrument] = instrument
            self._wanted[sub.instrument] = frozenset(sub.data_types)
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[sub.instrument] = CoinbaseBook(instrument)
        self._latest = LatestId(STALE_WINDOW_SEQUENCES)
        self._pending_resyncs: list[BookResync] = []
        self._pending_replies: list[str] = []

    def ws_url(self) -> str:
        """The market data endpoint (or the configured override)."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """``heartbeats`` first, then one message per channel with every product needing it.

        One channel per subscribe message is the documented rule; the first message
        goes out at once (the venue disconnects a connection not subscribed within 5 s).
        """
        frames = [subscribe_frame("heartbeats", ())]
        for data_type, channel in _CHANNEL_FOR.items():
            products = [
                sub.instrument for sub in self._config.subscriptions if data_type in sub.data_types
            ]
            if products:
                frames.append(subscribe_frame(channel, products))
        return frames

    def keepalive(self) -> Keepalive | None:
        """None: the subscribed ``heartbeats`` channel keeps the connection open."""
        return None

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one message.

        Shapes (trimmed from the channels page)::

            {"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z",
             "sequence_num":0,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[
             {"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73",
              "new_quantity":"0.06317902"}]}]}
            {"channel":"market_trades",...,"events":[{"type":"snapshot","trades":[{"trade_id":
             "000000000","product_id":"ETH-USD","price":"1260.01","size":"0.3","side":"BUY",
             "time":"2019-08-14T20:42:27.265Z"}]}]}
            {"channel":"heartbeats",...,"events":[{"current_time":"2023-06-23 20:31:56...",
             "heartbeat_counter":"3049"}]}

        A ``sequence_num`` gap adds the resyncs and the ``level2`` unsubscribe +
        subscribe frames of every book to this outcome (or to the next one, if
        this message turns out malformed).

        Raises:
            FrameError: ``not_json``, ``unknown_event`` (unknown channel or event
                type), ``missing_field``, ``invalid_value``, ``unsubscribed``,
                ``stale_update`` (``sequence_num`` not above the last one) or
                ``subscribe_error`` (the venue's ``error`` message).
        """
        message = wire.frame_object(frame)
        if message.get("type") == "error":
            raise FrameError("subscribe_error", wire.label(message.get("message", message)))
        channel = message.get("channel")
        on_error = self._resync_bad_update if channel == "l2_data" else None
        try:
            with FrameErrors(channel, on_error=on_error):
                self._check_sequence(channel, message)
                events: list[MarketEvent] = []
                if channel == "l2_data":
                    self._l2_data(message, received_at_ms, events)
                elif channel == "market_trades":
                    self._market_trades(message, received_at_ms, events)
                elif channel == "ticker":
                    self._ticker(message, received_at_ms, events)
                elif channel == "candles":
                    self._candles(message, received_at_ms, events)
                elif channel not in ("heartbeats", "subscriptions"):
                    raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
        except FrameError as exc:
            if channel == "l2_data" and exc.reason == "unknown_event":
                self._resync_all("bad_update")
            raise
        outcome = FrameOutcome(events, [], self._pending_replies, self._pending_resyncs)
        self._pending_replies = []
        self._pending_resyncs = []
        return outcome

    def _check_sequence(self, channel: Any, message: dict[str, Any]) -> None:
        raw = message.get("sequence_num")
        if raw is None:
            if channel in ("heartbeats", "subscriptions") or (
                channel == "l2_data"
                and all(
                    isinstance(event, dict) and event.get("type") == "snapshot"
                    for event in _list("events", message["events"])
                )
            ):
                return
            raise KeyError("sequence_num")
        sequence = wire.integer("sequence_num", raw)
        last = self._latest.last(None)
        if not self._latest.accept(None, sequence):
            raise FrameError("stale_update", f"sequence_num {sequence} <= last {last}")
        if last is not None and sequence != last + 1:
            # a gap, or far behind a last that came from a frame not to be trusted:
            # the next numbered message is the new baseline
            self._latest.forget(None)
            self._resync_all("gap")

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Drop the named books (all when None); one ``level2`` unsubscribe + subscribe for them.

        The outcome also carries resyncs still queued by a malformed message.
        Products without a book here are ignored.
        """
        products = (
            list(self._books)
            if instruments is None
            else [p for p in dict.fromkeys(instruments) if p in self._books]
        )
        self._resync(products, reason)
        outcome = FrameOutcome([], [], self._pending_replies, self._pending_resyncs)
        self._pending_replies = []
        self._pending_resyncs = []
        return outcome

    def _resync_bad_update(self) -> None:
        """A malformed ``l2_data`` message: every book resyncs (reason ``bad_update``)."""
        self._resync_all("bad_update")

    def _resync_all(self, reason: str) -> None:
        """Drop every book; queue one resync each and one level2 unsubscribe + subscribe."""
        self._resync(list(self._books), reason)

    def _resync_one(self, book: CoinbaseBook, reason: str) -> None:
        self._resync([book.instrument.instrument], reason)

    def _resync(self, products: list[str], reason: str) -> None:
        """Drop these products' books; queue their resyncs and one level2 unsub + sub."""
        if not products:
            return
        for product in products:
            book = self._books[product]
            book.drop()
            self._pending_resyncs.append(BookResync(book.instrument, reason))
        self._pending_replies.append(subscribe_frame(_BOOK_CHANNEL, products, "unsubscribe"))
        self._pending_replies.append(subscribe_frame(_BOOK_CHANNEL, products))

    def _instrument(self, product_id: Any, data_type: DataType) -> Instrument:
        product = wire.text("product_id", product_id)
        instrument = self._instruments.get(product)
        if instrument is None or data_type not in self._wanted[product]:
            raise FrameError("unsubscribed", wire.clip(f"{wire.label(product)} {data_type.value}"))
        return instrument

    def _l2_data(
        self, message: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        """Validate every event of the message first, then apply them: a malformed
        message leaves the books as they were (and :meth:`on_frame` resyncs them)."""
        message_time = message["timestamp"]
        message_ms = times.rfc3339_ms("timestamp", message_time)
        parsed: list[
            tuple[str, Instrument, tuple[PriceLevel, ...], tuple[PriceLevel, ...], int, str]
        ] = []
        for raw in _list("events", message["events"]):
            event = wire.json_object("events[]", raw)
            kind = event["type"]
            if kind not in ("snapshot", "update"):
                raise FrameError(
                    "unknown_event", wire.clip(f"l2_data event type {wire.brief(kind)}")
                )
            instrument = self._instrument(event["product_id"], DataType.L2_ORDERBOOK)
            parsed.append((kind, instrument, *_levels(_list("updates", event["updates"]))))
        for kind, instrument, bids, asks, latest_ms, digest in parsed:
            book = self._books[instrument.instrument]
            if kind == "snapshot":
                book.reset(bids, asks)
                book_bids, book_asks = book.book.levels()
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.L2_ORDERBOOK,
                        received_at_ms,
                        message_ms,
                        L2Update(book_bids, book_asks, True),
                        f"snapshot:{message_time}:{digest}",
                    )
                )
            else:
                if book.state is not BookState.SYNCED:
                    continue  # thrown away: waits for the snapshot of its resubscription
                if book.apply(bids, asks):
                    self._resync_one(book, "crossed_book")
                    continue
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.L2_ORDERBOOK,
                        received_at_ms,
                        latest_ms or message_ms,
                        L2Update(bids, asks, False),
                        f"{latest_ms}:{digest}",
                    )
                )

    def _market_trades(
        self, message: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        for raw in _list("events", message["events"]):
            for raw_trade in _list("trades", wire.json_object("events[]", raw)["trades"]):
                trade = wire.json_object("trades[]", raw_trade)
                instrument = self._instrument(trade["product_id"], DataType.TRADE)
                trade_id = wire.text("trade_id", trade["trade_id"])
                # The documented ``side`` is the maker's; the published side is the taker's.
                side = sides.opposite(sides.side("side", trade["side"], "BUY", "SELL"))
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.TRADE,
                        received_at_ms,
                        times.rfc3339_ms("time", trade["time"]),
                        Trade(
                            trade_id,
                            wire.price("price", trade["price"]),
                            wire.quantity("size", trade["size"]),
                            side,
                        ),
                        trade_id,
                    )
                )

    def _ticker(
        self, message: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        message_time = message["timestamp"]
        message_ms = times.rfc3339_ms("timestamp", message_time)
        for raw in _list("events", message["events"]):
            for raw_ticker in _list("tickers", wire.json_object("events[]", raw)["tickers"]):
                ticker = wire.json_object("tickers[]", raw_ticker)
                instrument = self._instrument(ticker["product_id"], DataType.TICKER)
                fields = (
                    "price",
                    "volume_24_h",
                    "best_bid",
                    "best_bid_quantity",
                    "best_ask",
                    "best_ask_quantity",
                )
                texts = [wire.text(name, ticker[name]) for name in fields]
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.TICKER,
                        received_at_ms,
                        message_ms,
                        Ticker(
                            wire.price("best_bid", texts[2]),
                            wire.quantity("best_bid_quantity", texts[3]),
                            wire.price("best_ask", texts[4]),
                            wire.quantity("best_ask_quantity", texts[5]),
                        ),
                        ":".join([message_time, *texts]),
                    )
                )

    def _candles(
        self, message: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        message_ms = times.rfc3339_ms("timestamp", message["timestamp"])
        for raw in _list("events", message["events"]):
            for raw_candle in _list("candles", wire.json_object("events[]", raw)["candles"]):
                candle = wire.json_object("candles[]", raw_candle)
                instrument = self._instrument(candle["product_id"], DataType.CANDLE)
                start_text = wire.text("start", candle["start"])
                if not start_text.isdigit():
                    raise InvalidValueError("start", start_text, "expected epoch seconds")
                open_time_ms = int(start_text) * 1000
                if open_time_ms > MAX_ID:
                    raise InvalidValueError("start", start_text, "out of range")
                ohlcv = [
                    wire.text(name, candle[name])
                    for name in ("open", "high", "low", "close", "volume")
                ]
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.CANDLE,
                        received_at_ms,
                        message_ms,
                        Candle(
                            interval=CANDLE_INTERVAL,
                            open_time_ms=open_time_ms,
                            close_time_ms=open_time_ms + CANDLE_MS - 1,
                            open=wire.price("open", ohlcv[0]),
                            high=wire.price("high", ohlcv[1]),
                            low=wire.price("low", ohlcv[2]),
                            close=wire.price("close", ohlcv[3]),
                            volume=wire.quantity("volume", ohlcv[4]),
                            is_closed=False,
                        ),
                        ":".join([start_text, *ohlcv]),
                    )
                )


def parse_products(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """The public products listing -> spot instruments (``BTC-USD`` -> ``BTC/USD``).

    Shape (trimmed from the List Public Products example response)::

        {"products":[{"product_id":"BTC-USD","base_display_symbol":"BTC",
          "quote_display_symbol":"USD","product_type":"SPOT","quote_currency_id":"USD",
          "base_currency_id":"BTC","is_disabled":false,"alias":"BTC-USD",
          "alias_to":["BTC-USDC"],...}],"num_products":100}

    Left out: non-spot products, disabled ones, and aliases (a product whose
    ``alias`` names another product, like ``BTC-USDC`` -> ``BTC-USD``: the
    market data channels send the aliased product's data).

    Raises:
        ValueError: the body is not JSON or not of that shape.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"products: not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("products"), list):
        raise ValueError("products: expected an object with a products list")
    listed: list[ListedInstrument] = []
    for product in document["products"]:
        if not isinstance(product, dict) or not isinstance(product.get("product_id"), str):
            raise ValueError(f"products: malformed product {str(product)[:80]}")
        product_id: str = product["product_id"]
        if product.get("product_type") != "SPOT" or product.get("is_disabled") is True:
            continue
        alias = product.get("alias")
        if isinstance(alias, str) and alias and alias != product_id:
            continue
        base = product.get("base_currency_id")
        quote = product.get("quote_currency_id")
        if not (isinstance(base, str) and base and isinstance(quote, str) and quote):
            base, _, quote = product_id.partition("-")
        listed.append(ListedInstrument(product_id, f"{base}/{quote}", "spot"))
    return listed


"""price -> the recorded ``(price_level, new_quantity)`` texts."""


register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(_CHANNEL_FOR),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=CoinbaseProtocol,
        docs=(CHANNELS_DOC, OVERVIEW_DOC, RATE_LIMITS_DOC, PRODUCTS_DOC),
        rest_weight_per_minute=REST_REQUESTS_PER_MINUTE,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        instrument_listing=InstrumentListing((ListingRequest(PRODUCTS_PATH),), parse_products),
    )
)
