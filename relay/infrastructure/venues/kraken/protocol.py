"""Kraken spot: WebSocket API v2 (``wss://ws.kraken.com/v2``), books verified by CRC32 checksum.

No recorded Kraken v2 session exists in ``shared/captures``; every format parsed
here follows Kraken's documented example messages (the stored copies of these
pages were read through the ``search`` tool):

- Trade channel: https://docs.kraken.com/api/docs/websocket-v2/trade
- Ticker channel: https://docs.kraken.com/api/docs/websocket-v2/ticker
- Book channel: https://docs.kraken.com/api/docs/websocket-v2/book
- Book checksum guide (with its worked example):
  https://docs.kraken.com/api/docs/guides/spot-ws-book-v2
  (also https://docs.kraken.com/exchange/guides/websockets/book-checksum-v2)
- OHLC channel: https://docs.kraken.com/api/docs/websocket-v2/ohlc
- Ping: https://docs.kraken.com/api/docs/websocket-v2/ping
- Heartbeat: https://docs.kraken.com/api/docs/websocket-v2/heartbeat
- Status: https://docs.kraken.com/api/docs/websocket-v2/status
- Connection limits: https://docs.kraken.com/api/docs/guides/spot-ws-intro
- v1 vs v2 symbols (``XBT/USD`` vs ``BTC/USD``):
  https://docs.kraken.com/exchange/api-reference/spot-websocket
- Instrument listing: https://docs.kraken.com/api/docs/rest-api/get-tradable-asset-pairs

Every message is a JSON object: data as ``{"channel": ..., "type": "snapshot" |
"update", "data": [...]}``, requests and their acks as ``{"method": ...}``.
Prices and quantities are JSON *numbers*; frames are decoded by
:func:`relay.infrastructure.venues.common.wire.exact_json` (``parse_float=Decimal``) so
the venue's digits are kept (never a float).

Symbols: the configured ``instrument`` is the v2 symbol (``"BTC/USD"``); it is
used as is in subscribe frames and matched against each message's ``symbol``.

Book procedure (one :class:`KrakenBook` per symbol): the ``book`` channel sends
a snapshot, then updates; every message carries ``checksum``, a CRC32 of the top
10 levels of each side. A snapshot replaces the book; an update's levels are
applied in order (qty 0 removes the level), then the book is truncated to the
subscribed depth (Kraken sends no qty 0 for levels that fall out of scope; the
published delta lists each level dropped this way with quantity 0, so a
consumer's book stays equal to the relay's). Then the checksum is computed as
the guide says: for the 10 best asks (low to high) then the 10 best bids (high
to low), each price and qty written with its decimal point removed and leading
zeros stripped, concatenated, CRC32. Kraken writes each number with the pair's
full precision (the guide); the digits used are each number formatted with the
largest count of decimals seen for that field in that book, which is those
digits exactly when the wire carries full precision, and restores the trailing
zeros that the book page's own examples drop (``0.566`` for ``0.5660``: their
checksums 2439117997 and 2114181697 hold only with the pair's precision).

A checksum mismatch throws that one book away: the outcome carries a
``BookResync(instrument, "checksum")`` and, in ``replies``, the unsubscribe and
subscribe frames of that symbol's book channel; updates are ignored until the
fresh snapshot arrives, which is published with ``is_snapshot=True``.

Depth mapping (``depth`` of a subscription -> ``book`` channel ``depth``): 0 ->
10 (Kraken's default); otherwise the smallest offered depth (10, 25, 100, 500,
1000) that is >= N, and 1000 for N > 1000.

Candle intervals: the configured interval (``"1m"``, ``"4h"``, ``"1d"``,
``"1w"``, ``"15d"``) is sent as minutes (1, 240, 1440, 10080, 21600); Kraken
offers 1, 5, 15, 30, 60, 240, 1440, 10080, 21600 and answers others with a
subscribe error. Kraken never marks a candle final: every candle is published
with ``is_closed=False``.

Dedup keys: trade: ``trade_id`` (a sequence number unique per book); ticker:
``<timestamp>:<bid>:<bid_qty>:<ask>:<ask_qty>`` (a ticker without
``timestamp`` adds ``:<crc32 of every field>``, its last price, volumes and
changes, so that a quote returning to an earlier value is not taken for a
duplicate); candle: ``<interval>:<interval_begin ms>:<trades>:<volume>``;
book snapshot: ``snapshot:<timestamp>:<checksum>`` for a symbol's first
snapshot on a connection, ``snapshot:<timestamp>:<checksum>:<n>`` for its
``n``-th later one (a resync's, which may carry the same time and top-10
checksum as an earlier one); book update:
``<timestamp>:<checksum>:<crc32 of the update's levels>`` (the checksum covers
only the top 10 levels, so the levels themselves tell apart two deep updates
in the same microsecond).

Keepalive: ``{"method":"ping"}`` every 30 s (the server closes a connection
after about a minute of inactivity); pongs, heartbeats (about once per second
while subscribed), status messages and subscribe/unsubscribe acks give an empty
outcome; a failed ack (``"success": false``) raises ``subscribe_error``.

Limits: Kraken documents no fixed subscribe rate for public channels (it is
dynamic, excess is answered with an error), so subscribe frames are paced at
one per second and each frame carries every symbol of one channel (and depth
or interval). Connection attempts are limited to about 150 per rolling 10
minutes per IP; no streams-per-connection limit is documented for public
channels, so one connection carries every subscription.

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``subscribe_error``.
BookResync reasons: ``checksum``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Collection, Iterable, Sequence
from decimal import Decimal
from typing import Any

import orjson

from relay.application.book_state import BookState
from relay.application.errors import FrameError
from relay.application.order_book import apply_levels
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
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
    VenueSpec,
    register,
)

VENUE_ID = "kraken"
WS_URL = "wss://ws.kraken.com/v2"
REST_URL = "https://api.kraken.com"
ASSET_PAIRS_PATH = "/0/public/AssetPairs"

BOOK_DEPTHS = (10, 25, 100, 500, 1000)
"""Depths the ``book`` channel offers; 10 is its default."""

CHECKSUM_LEVELS = 10
"""Levels per side covered by the book checksum, whatever the subscribed depth."""

PING_INTERVAL_S = 30.0
"""Seconds between two ``{"method":"ping"}``; the server drops a connection idle for ~60 s."""

SUBSCRIBE_INTERVAL_S = 1.0
"""Least time between two subscribe frames (Kraken's subscribe rate limit is dynamic)."""


_ZERO = Decimal(0)
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}
_INTERVAL = re.compile(r"([0-9]+)([a-zA-Z])")


def book_depth(depth: int) -> int:
    """The ``book`` channel depth for a configured depth (0 = Kraken's default, 10).

    >>> [book_depth(n) for n in (0, 5, 10, 11, 400, 5000)]
    [10, 10, 10, 25, 500, 1000]
    """
    if depth <= 0:
        return BOOK_DEPTHS[0]
    for offered in BOOK_DEPTHS:
        if offered >= depth:
            return offered
    return BOOK_DEPTHS[-1]


def interval_minutes(interval: str) -> int:
    """A configured candle interval in minutes: ``"1m"`` -> 1, ``"4h"`` -> 240, ``"15d"`` -> 21600.

    An interval that is no whole number of minutes (``"30s"``) or uses months
    gives 0: Kraken answers its subscribe with an error, counted as
    ``subscribe_error``, rather than the connection failing.
    """
    match = _INTERVAL.fullmatch(interval)
    if match is None or match.group(2) not in _UNIT_MINUTES:
        if match is not None and match.group(2) == "s" and int(match.group(1)) % 60 == 0:
            return int(match.group(1)) // 60
        return 0
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2)]


def _list(field: str, raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list")
    return raw


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def checksum_digits(value: Decimal, decimals: int) -> str:
    """One number as the checksum writes it: ``decimals`` places, no point, no leading zeros.

    >>> checksum_digits(Decimal("0.00100000"), 8), checksum_digits(Decimal("0.566"), 4)
    ('100000', '5660')
    """
    return f"{value:.{decimals}f}".replace(".", "").lstrip("0")


def book_checksum(
    asks: Sequence[PriceLevel], bids: Sequence[PriceLevel], price_decimals: int, qty_decimals: int
) -> int:
    """Kraken's v2 book checksum (CRC32, unsigned) of the best levels given.

    Args:
        asks: best first (lowest price first); only the first 10 are used.
        bids: best first (highest price first); only the first 10 are used.
        price_decimals, qty_decimals: the pair's precision (places after the point).
    """
    parts: list[str] = []
    for side in (asks[:CHECKSUM_LEVELS], bids[:CHECKSUM_LEVELS]):
        for price, qty in side:
            parts.append(checksum_digits(price, price_decimals))
            parts.append(checksum_digits(qty, qty_decimals))
    return zlib.crc32("".join(parts).encode("ascii"))


def _plain(value: Decimal) -> str:
    """A Decimal as a JSON number without exponent, keeping its digits (``0.10000000``)."""
    return format(value, "f")


def _levels(field: str, raw: Any) -> list[PriceLevel]:
    """``[{"price": 0.5666, "qty": 4831.75496356}, ...]`` -> [(price > 0, qty >= 0), ...]."""
    levels: list[PriceLevel] = []
    for level in _list(field, raw):
        entry = wire.json_object(field, level)
        levels.append((wire.price("price", entry["price"]), wire.quantity("qty", entry["qty"])))
    return levels


class KrakenBook:
    """One symbol's book kept to Kraken's rules: truncated to depth, checked by checksum.

    Args:
        instrument: whose book.
        depth: the subscribed ``book`` channel depth (10, 25, 100, 500, 1000).
    """

    def __init__(self, instrument: Instrument, depth: int) -> None:
        self.instrument = instrument
        self.depth = depth
        self.state = BookState.AWAITING_SNAPSHOT
        self.bids: dict[Decimal, PriceLevel] = {}
        self.asks: dict[Decimal, PriceLevel] = {}
        self.price_decimals = 0
        self.qty_decimals = 0
        self.snapshots = 0
        """Snapshots of this symbol published on this connection so far."""

    def reset(self) -> None:
        """Throw the book away; updates are ignored until the next snapshot."""
        self.state = BookState.AWAITING_SNAPSHOT
        self.bids = {}
        self.asks = {}

    def _learn(self, levels: Iterable[PriceLevel]) -> None:
        for price, qty in levels:
            places = _decimals(price)
            if places > self.price_decimals:
                self.price_decimals = places
            if qty:
                places = _decimals(qty)
                if places > self.qty_decimals:
                    self.qty_decimals = places

    def apply(
        self, bids: list[PriceLevel], asks: list[PriceLevel]
    ) -> tuple[list[PriceLevel], list[PriceLevel]]:
        """Apply levels in order, then truncate to depth.

        Returns:
            the levels dropped by the truncation, as (price, 0), bids then asks.
        """
        self._learn(bids)
        self._learn(asks)
        apply_levels(self.bids, bids)
        apply_levels(self.asks, asks)
        dropped_bids: list[PriceLevel] = []
        while len(self.bids) > self.depth:
            worst = min(self.bids)
            del self.bids[worst]
            dropped_bids.append((worst, _ZERO))
        dropped_asks: list[PriceLevel] = []
        while len(self.asks) > self.depth:
            worst = max(self.asks)
            del self.asks[worst]
            dropped_asks.append((worst, _ZERO))
        return dropped_bids, dropped_asks

    def levels(self) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        """(bids best first, asks best first)."""
        bids = tuple((p, self.bids[p][1]) for p in sorted(self.bids, reverse=True))
        asks = tuple((p, self.asks[p][1]) for p in sorted(self.asks))
        return bids, asks

    def checksum(self) -> int:
        """The checksum of the book held now (see :func:`book_checksum`)."""
        bids = [(p, self.bids[p][1]) for p in sorted(self.bids, reverse=True)]
        asks = [(p, self.asks[p][1]) for p in sorted(self.asks)]
        return book_checksum(asks, bids, self.price_decimals, self.qty_decimals)


def subscribe_frame(method: str, channel: str, symbols: Sequence[str], **params: Any) -> str:
    """``{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}``."""
    body: dict[str, Any] = {"channel": channel, "symbol": list(symbols)}
    body.update(params)
    return json.dumps({"method": method, "params": body}, separators=(",", ":"))


class KrakenProtocol(VenueProtocol):
    """One Kraken v2 connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL override).
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._ws_url = config.ws_url or WS_URL
        self._instruments: dict[str, Instrument] = {}
        self._wanted: dict[str, frozenset[DataType]] = {}
        self._intervals: dict[str, str] = {}
        self._books: dict[str, KrakenBook] = {}
        for sub in config.subscriptions:
            symbol = sub.instrument
            instrument = Instrument(config.id, symbol, sub.canonical_symbol)
            self._instruments[symbol] = instrument
            self._wanted[symbol] = frozenset(sub.data_types)
            self._intervals[symbol] = sub.candle_interval
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[symbol] = KrakenBook(instrument, book_depth(sub.depth))
        self._handlers: dict[str, Callable[[dict[str, Any], int], FrameOutcome]] = {
            "trade": self._trades,
            "ticker": self._ticker,
            "book": self._book,
            "ohlc": self._ohlc,
        }

    def ws_url(self) -> str:
        """Kraken's v2 public endpoint (subscriptions are sent as frames)."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """One subscribe frame per channel (and book depth, and candle interval), all symbols in it.

        Trades and candles without snapshot (no replay of past prints on
        reconnect); the ticker with ``event_trigger: bbo`` (an update on every
        best bid/offer change); books with snapshot (needed to sync).
        """
        trade: list[str] = []
        ticker: list[str] = []
        books: dict[int, list[str]] = {}
        ohlc: dict[int, list[str]] = {}
        for sub in self._config.subscriptions:
            symbol = sub.instrument
            if DataType.TRADE in sub.data_types:
                trade.append(symbol)
            if DataType.TICKER in sub.data_types:
                ticker.append(symbol)
            if DataType.L2_ORDERBOOK in sub.data_types:
                books.setdefault(self._books[symbol].depth, []).append(symbol)
            if DataType.CANDLE in sub.data_types:
                ohlc.setdefault(interval_minutes(sub.candle_interval), []).append(symbol)
        frames: list[str] = []
        if trade:
            frames.append(subscribe_frame("subscribe", "trade", trade, snapshot=False))
        if ticker:
            frames.append(subscribe_frame("subscribe", "ticker", ticker, event_trigger="bbo"))
        for depth, symbols in books.items():
            frames.append(subscribe_frame("subscribe", "book", symbols, depth=depth, snapshot=True))
        for minutes, symbols in ohlc.items():
            frames.append(
                subscribe_frame("subscribe", "ohlc", symbols, interval=minutes, snapshot=False)
            )
        return frames

    def keepalive(self) -> Keepalive | None:
        """``{"method":"ping"}`` every 30 s."""
        return Keepalive(PING_INTERVAL_S, '{"method":"ping"}')

    def resync_frames(self, symbols: Sequence[str]) -> list[str]:
        """Unsubscribe and subscribe again these symbols' book channels (fresh snapshots follow).

        One unsubscribe + subscribe pair per book depth, each carrying every
        symbol of that depth.
        """
        by_depth: dict[int, list[str]] = {}
        for symbol in symbols:
            by_depth.setdefault(self._books[symbol].depth, []).append(symbol)
        frames: list[str] = []
        for depth, group in by_depth.items():
            frames.append(subscribe_frame("unsubscribe", "book", group, depth=depth))
            frames.append(subscribe_frame("subscribe", "book", group, depth=depth, snapshot=True))
        return frames

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None) and subscribe their channels again.

        Symbols without a book here are ignored.
        """
        symbols = (
            list(self._books)
            if instruments is None
            else [s for s in dict.fromkeys(instruments) if s in self._books]
        )
        for symbol in symbols:
            self._books[symbol].reset()
        return FrameOutcome(
            [],
            [],
            self.resync_frames(symbols),
            [BookResync(self._books[symbol].instrument, reason) for symbol in symbols],
        )

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame.

        Shapes (documented examples, trimmed)::

            {"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell",
             "price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,
             "timestamp":"2023-09-25T07:49:37.708706Z"}]}
            {"channel":"book","type":"update","data":[{"symbol":"MATIC/USD",
             "bids":[{"price":0.5657,"qty":1098.3947558}],"asks":[],"checksum":2114181697,
             "timestamp":"2023-10-06T17:35:55.440295Z"}]}
            {"method":"subscribe","result":{"channel":"ticker","snapshot":true,
             "symbol":"ALGO/USD"},"success":true,"time_in":"...","time_out":"..."}
            {"method":"pong","req_id":101,"time_in":"...","time_out":"..."}
            {"channel":"heartbeat"}

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed`` or ``subscribe_error``.
        """
        message = wire.exact_object(frame)
        channel = message.get("channel")
        with FrameErrors(channel, also=(ArithmeticError,)):
            if channel is None:
                return self._method(message)
            if channel == "heartbeat" or channel == "status":
                return FrameOutcome([], [], [])
            handler = self._handlers.get(channel) if isinstance(channel, str) else None
            if handler is None:
                raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
            return handler(message, received_at_ms)

    def _method(self, message: dict[str, Any]) -> FrameOutcome:
        method = message.get("method")
        if method in ("subscribe", "unsubscribe"):
            if message.get("success") is False:
                raise FrameError(
                    "subscribe_error",
                    wire.clip(f"{wire.label(method)}: {wire.label(message.get('error'))}"),
                )
            return FrameOutcome([], [], [])
        if method == "pong":
            return FrameOutcome([], [], [])
        raise FrameError("unknown_event", wire.clip(f"method {wire.brief(method)}"))

    def _instrument(self, entry: dict[str, Any], data_type: DataType) -> Instrument:
        symbol = wire.text("symbol", entry["symbol"])
        instrument = self._instruments.get(symbol)
        if instrument is None or data_type not in self._wanted[symbol]:
            raise FrameError("unsubscribed", f"{wire.label(symbol)} {data_type.value}")
        return instrument

    def _trades(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """``trade``: one event per trade; the id is ``trade_id`` (unique per book)."""
        events: list[MarketEvent] = []
        for raw in _list("data", message["data"]):
            entry = wire.json_object("data", raw)
            instrument = self._instrument(entry, DataType.TRADE)
            side = sides.side("side", entry["side"], "buy", "sell")
            trade_id = str(wire.integer("trade_id", entry["trade_id"]))
            events.append(
                MarketEvent(
                    instrument,
                    DataType.TRADE,
                    received_at_ms,
                    times.rfc3339_ms("timestamp", entry["timestamp"]),
                    Trade(
                        trade_id,
                        wire.price("price", entry["price"]),
                        wire.quantity("qty", entry["qty"]),
                        side,
                    ),
                    trade_id,
                )
            )
        return FrameOutcome(events, [], [])

    def _ticker(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """``ticker``: best bid and ask with their quantities; the other fields are left out."""
        events: list[MarketEvent] = []
        for raw in _list("data", message["data"]):
            entry = wire.json_object("data", raw)
            instrument = self._instrument(entry, DataType.TICKER)
            timestamp = entry.get("timestamp")
            ticker = Ticker(
                wire.price("bid", entry["bid"]),
                wire.quantity("bid_qty", entry["bid_qty"]),
                wire.price("ask", entry["ask"]),
                wire.quantity("ask_qty", entry["ask_qty"]),
            )
            key = (
                f"{timestamp or ''}:{ticker.bid_price}:{ticker.bid_quantity}:"
                f"{ticker.ask_price}:{ticker.ask_quantity}"
            )
            if not timestamp:
                fields = "|".join(f"{name}={entry[name]}" for name in sorted(entry))
                key = f"{key}:{zlib.crc32(fields.encode())}"
            events.append(
                MarketEvent(
                    instrument,
                    DataType.TICKER,
                    received_at_ms,
                    None if timestamp is None else times.rfc3339_ms("timestamp", timestamp),
                    ticker,
                    key,
                )
            )
        return FrameOutcome(events, [], [])

    def _ohlc(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """``ohlc``: one open candle per entry (Kraken never marks one final)."""
        events: list[MarketEvent] = []
        for raw in _list("data", message["data"]):
            entry = wire.json_object("data", raw)
            instrument = self._instrument(entry, DataType.CANDLE)
            minutes = wire.integer("interval", entry["interval"])
            begin = times.rfc3339_ms("interval_begin", entry["interval_begin"])
            trades = wire.integer("trades", entry["trades"])
            volume = wire.quantity("volume", entry["volume"])
            events.append(
                MarketEvent(
                    instrument,
                    DataType.CANDLE,
                    received_at_ms,
                    begin,
                    Candle(
                        interval=self._intervals[instrument.instrument],
                        open_time_ms=begin,
                        close_time_ms=begin + minutes * 60_000,
                        open=wire.price("open", entry["open"]),
                        high=wire.price("high", entry["high"]),
                        low=wire.price("low", entry["low"]),
                        close=wire.price("close", entry["close"]),
                        volume=volume,
                        is_closed=False,
                        quote_volume=None,
                        trade_count=trades,
                    ),
                    f"{minutes}:{begin}:{trades}:{volume}",
                )
            )
        return FrameOutcome(events, [], [])

    def _book(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """``book`` snapshot or update of one symbol (the only item of ``data``)."""
        kind = message["type"]
        if kind not in ("snapshot", "update"):
            raise InvalidValueError("type", kind, "expected snapshot or update")
        data = _list("data", message["data"])
        if len(data) != 1:
            raise InvalidValueError("data", len(data), "expected exactly one book")
        entry = wire.json_object("data", data[0])
        instrument = self._instrument(entry, DataType.L2_ORDERBOOK)
        symbol = instrument.instrument
        book = self._books[symbol]
        bids = _levels("bids", entry["bids"])
        asks = _levels("asks", entry["asks"])
        expected = wire.integer("checksum", entry["checksum"])
        raw_timestamp = entry.get("timestamp")
        timestamp = None if raw_timestamp is None else times.rfc3339_ms("timestamp", raw_timestamp)
        snapshot = kind == "snapshot"
        if not snapshot and book.state is not BookState.SYNCED:
            return FrameOutcome([], [], [])
        if snapshot:
            book.bids, book.asks = {}, {}
        dropped_bids, dropped_asks = book.apply(bids, asks)
        if book.checksum() != expected:
            return self.resync_books([symbol], "checksum")
        if snapshot:
            book.state = BookState.SYNCED
            book_bids, book_asks = book.levels()
            payload = L2Update(book_bids, book_asks, True)
            key = f"snapshot:{raw_timestamp or ''}:{expected}"
            if book.snapshots:
                key = f"{key}:{book.snapshots}"
            book.snapshots += 1
        else:
            payload = L2Update(tuple(bids + dropped_bids), tuple(asks + dropped_asks), False)
            content = ";".join(
                f"{_plain(p)}:{_plain(q)}" for p, q in (*payload.bids, *payload.asks)
            )
            key = f"{raw_timestamp or ''}:{expected}:{zlib.crc32(content.encode('ascii'))}"
        event = MarketEvent(
            instrument, DataType.L2_ORDERBOOK, received_at_ms, timestamp, payload, key
        )
        return FrameOutcome([event], [], [])


_V2_ASSETS = {"XBT": "BTC", "XDG": "DOGE"}
"""v1 asset names in ``wsname`` that v2 spells differently (``XBT/USD`` is ``BTC/USD`` in v2)."""


def v2_symbol(wsname: str) -> str:
    """``"XBT/USD"`` -> ``"BTC/USD"``; ``"ETH/XBT"`` -> ``"ETH/BTC"``; other names unchanged."""
    return "/".join(_V2_ASSETS.get(part, part) for part in wsname.split("/"))


def parse_asset_pairs(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse ``GET /0/public/AssetPairs`` into spot instruments named by their v2 symbol.

    Shape (documented example, trimmed)::

        {"error": [], "result": {"XETHXXBT": {"altname": "ETHXBT", "wsname": "ETH/XBT",
         "base": "XETH", "quote": "XXBT", "pair_decimals": 5, "lot_decimals": 8,
         "status": "online", ...}}}

    Pairs without ``wsname`` (not on the WebSocket) are left out. The instrument
    and canonical symbol are both the v2 symbol (``"ETH/BTC"``).

    Raises:
        ValueError: not JSON, a non-empty ``error`` list, or no ``result`` object.
    """
    message = orjson.loads(body)
    if not isinstance(message, dict):
        raise ValueError("AssetPairs: not an object")
    errors = message.get("error")
    if errors:
        raise ValueError(f"AssetPairs: {errors}")
    result = message.get("result")
    if not isinstance(result, dict):
        raise ValueError("AssetPairs: no result object")
    listed: list[ListedInstrument] = []
    for pair in result.values():
        wsname = pair.get("wsname") if isinstance(pair, dict) else None
        if not isinstance(wsname, str) or "/" not in wsname:
            continue
        symbol = v2_symbol(wsname)
        listed.append(ListedInstrument(symbol, symbol, "spot"))
    return sorted(listed, key=lambda item: item.instrument)


register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(
            {DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE}
        ),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=KrakenProtocol,
        docs=(
            "https://docs.kraken.com/api/docs/websocket-v2/book",
            "https://docs.kraken.com/api/docs/guides/spot-ws-book-v2",
            "https://docs.kraken.com/api/docs/websocket-v2/trade",
            "https://docs.kraken.com/api/docs/websocket-v2/ticker",
            "https://docs.kraken.com/api/docs/websocket-v2/ohlc",
            "https://docs.kraken.com/api/docs/guides/spot-ws-intro",
            "https://docs.kraken.com/api/docs/rest-api/get-tradable-asset-pairs",
        ),
        rest_weight_per_minute=60,
        max_connection_age_s=0.0,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        max_subscriptions_per_connection=0,
        instrument_listing=InstrumentListing(
            (ListingRequest(ASSET_PAIRS_PATH),), parse_asset_pairs
        ),
    )
)
