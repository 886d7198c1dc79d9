"""Kraken spot's relay protocol: subscribe frames, the ping keepalive, frames -> events.

Sources: https://docs.kraken.com/api/docs/websocket-v2/ping,
https://docs.kraken.com/api/docs/websocket-v2/heartbeat,
https://docs.kraken.com/api/docs/websocket-v2/status, and the channel pages
cited in :mod:`.parse`. Every message is a JSON object: data as ``{"channel":
..., "type": "snapshot" | "update", "data": [...]}``, requests and their acks as
``{"method": ...}``.

Candle intervals: the configured interval (``"1m"``, ``"4h"``, ``"1d"``,
``"1w"``, ``"15d"``) is sent as minutes (1, 240, 1440, 10080, 21600); Kraken
offers 1, 5, 15, 30, 60, 240, 1440, 10080, 21600 (:data:`OHLC_MINUTES`) and an
interval of any other length is refused when the protocol is built
(:func:`ohlc_minutes`). Kraken never marks a candle final: every candle is
published with ``is_closed=False``.

A checksum mismatch (see :mod:`.book`) gives a ``BookResync(instrument,
"checksum")`` and, in ``replies``, the unsubscribe and subscribe frames of that
symbol's book channel; the fresh snapshot is published with ``is_snapshot=True``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from relay.application.errors import FrameError
from relay.application.ports import (
    BookResync,
    FrameOutcome,
    Keepalive,
    VenueProtocol,
)
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    DataType,
    Instrument,
    L2Update,
    MarketEvent,
)
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.common.subscriptions import Subscriptions
from relay.infrastructure.venues.kraken import parse
from relay.infrastructure.venues.kraken.book import KrakenBook, book_depth

WS_URL = "wss://ws.kraken.com/v2"

PING_INTERVAL_S = 30.0
"""Seconds between two ``{"method":"ping"}``; the server drops a connection idle for ~60 s."""

SUBSCRIBE_INTERVAL_S = 1.0
"""Least time between two subscribe frames (Kraken's subscribe rate limit is dynamic)."""

_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}
_INTERVAL = re.compile(r"([0-9]+)([a-zA-Z])")


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


OHLC_MINUTES = (1, 5, 15, 30, 60, 240, 1440, 10080, 21600)
"""The ``ohlc`` channel's ``interval`` parameter, "One of: 1, 5, 15, 30, 60, 240, 1440, 10080,
21600" minutes (https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/ohlc)."""

CANDLE_INTERVALS = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "15d")
""":data:`OHLC_MINUTES` as relay interval words (another spelling of the same length,
``"60m"``, is accepted too)."""


def ohlc_minutes(interval: str) -> int:
    """The ``ohlc`` channel's interval for a configured candle interval (``"4h"`` -> 240).

    Raises:
        InvalidValueError: :func:`interval_minutes` gives a length Kraken does not offer.
    """
    minutes = interval_minutes(interval)
    if minutes not in OHLC_MINUTES:
        raise InvalidValueError(
            "candle_interval", interval, f"Kraken offers {', '.join(CANDLE_INTERVALS)}"
        )
    return minutes


def subscribe_frame(method: str, channel: str, symbols: Sequence[str], **params: Any) -> str:
    """``{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}``."""
    body: dict[str, Any] = {"channel": channel, "symbol": list(symbols)}
    body.update(params)
    return json.dumps({"method": method, "params": body}, separators=(",", ":"))


class KrakenProtocol(VenueProtocol):
    """One Kraken v2 connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL override).

    Raises:
        InvalidValueError: a candle subscription's interval is not one of
            :data:`OHLC_MINUTES` (:func:`ohlc_minutes`).
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._ws_url = config.ws_url or WS_URL
        self._subscriptions = Subscriptions(config)
        self._intervals: dict[str, str] = {}
        self._books: dict[str, KrakenBook] = {}
        for sub in config.subscriptions:
            symbol = sub.instrument
            if DataType.CANDLE in sub.data_types:
                ohlc_minutes(sub.candle_interval)
            self._intervals[symbol] = sub.candle_interval
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[symbol] = KrakenBook(
                    self._subscriptions.instruments[symbol], book_depth(sub.depth)
                )
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
                ohlc.setdefault(ohlc_minutes(sub.candle_interval), []).append(symbol)
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
        symbols = books_to_resync(self._books, instruments)
        for symbol in symbols:
            self._books[symbol].reset(reason)
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
        return self._subscriptions.instrument(wire.text("symbol", entry["symbol"]), data_type)

    def _entries(
        self, message: dict[str, Any], data_type: DataType
    ) -> Iterator[tuple[dict[str, Any], Instrument]]:
        """Each ``data`` entry of a trade, ticker or ohlc message with its subscribed
        instrument, checked one entry at a time (the first bad entry raises).

        Raises:
            KeyError, InvalidValueError: ``data`` or an entry's ``symbol`` missing or malformed.
            FrameError: ``unsubscribed`` (a symbol not subscribed for ``data_type``).
        """
        for raw in wire.json_list("data", message["data"]):
            entry = wire.json_object("data", raw)
            yield entry, self._instrument(entry, data_type)

    def _trades(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """``trade``: one event per trade (see :func:`.parse.trade_event`)."""
        events = [
            parse.trade_event(entry, instrument, received_at_ms)
            for entry, instrument in self._entries(message, DataType.TRADE)
        ]
        return FrameOutcome(events, [], [])

    def _ticker(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """``ticker``: best bid and ask with their quantities (see :func:`.parse.ticker_event`)."""
        events = [
            parse.ticker_event(entry, instrument, received_at_ms)
            for entry, instrument in self._entries(message, DataType.TICKER)
        ]
        return FrameOutcome(events, [], [])

    def _ohlc(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """``ohlc``: one open candle per entry (see :func:`.parse.candle_event`)."""
        events = [
            parse.candle_event(
                entry, instrument, self._intervals[instrument.instrument], received_at_ms
            )
            for entry, instrument in self._entries(message, DataType.CANDLE)
        ]
        return FrameOutcome(events, [], [])

    def _book(self, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """``book`` snapshot or update of one symbol (the only item of ``data``)."""
        snapshot, entry = parse.book_entry(message)
        instrument = self._instrument(entry, DataType.L2_ORDERBOOK)
        symbol = instrument.instrument
        book = self._books[symbol]
        message_levels = parse.book_levels(entry)
        bids, asks = message_levels.bids, message_levels.asks
        expected = message_levels.checksum
        raw_timestamp = message_levels.raw_timestamp
        if not snapshot and not book.gate.synced:
            return FrameOutcome([], [], [])
        if snapshot:
            book.bids, book.asks = {}, {}
        dropped_bids, dropped_asks = book.apply(bids, asks)
        if book.checksum() != expected:
            return self.resync_books([symbol], "checksum")
        if snapshot:
            book.gate.snapshot_applied()
            book_bids, book_asks = book.levels()
            payload = L2Update(book_bids, book_asks, True)
            key = f"snapshot:{raw_timestamp or ''}:{expected}"
            if book.snapshots:
                key = f"{key}:{book.snapshots}"
            book.snapshots += 1
        else:
            payload = L2Update(tuple(bids + dropped_bids), tuple(asks + dropped_asks), False)
            key = parse.update_key(raw_timestamp, expected, (*payload.bids, *payload.asks))
        event = MarketEvent(
            instrument,
            DataType.L2_ORDERBOOK,
            received_at_ms,
            message_levels.timestamp_ms,
            payload,
            key,
        )
        return FrameOutcome([event], [], [])
