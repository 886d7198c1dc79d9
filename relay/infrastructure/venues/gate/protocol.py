"""Gate.io v4's relay protocol: one WebSocket connection; frames in, events and requests out.

Channels are subscribed with one frame each
(``{"time":1619093532,"channel":"spot.trades","event":"subscribe","payload":["BTC_USDT"]}``,
https://www.gate.io/docs/developers/apiv4/ws/en/#api-overview and
https://www.gate.io/docs/developers/futures/ws/en/). Books are kept by the shared
update-id splice (:class:`~relay.infrastructure.venues.common.update_id_book.BookSync`,
``U``/``u`` chaining as on Binance spot) from REST snapshots fetched with
``with_id=true``, following "How to maintain local order book"
(https://www.gate.io/docs/developers/apiv4/ws/en/#changed-order-book-levels).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, Keepalive, SnapshotRequest, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, MarketEvent
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.intervals import check_candle_intervals
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.common.update_id_book import (
    BUFFER_MARGIN_S,
    BookSync,
    Continuity,
)
from relay.infrastructure.venues.gate import parse

PING_INTERVAL_S = 10.0
"""Seconds between two application pings (``spot.ping`` / ``futures.ping``)."""

DEFAULT_BOOK_LIMIT = 100
"""Levels asked for in a REST snapshot when the subscription's ``depth`` is 0."""

BOOK_UPDATE_FREQUENCY = "100ms"
"""``order_book_update`` push interval asked for (spot: 20ms or 100ms; futures: 20ms, 100ms)."""


@dataclass(frozen=True, slots=True)
class GateMarket:
    """The differences between Gate.io's spot and USDT futures APIs."""

    prefix: str
    """Channel prefix: ``spot`` or ``futures``."""
    book_path: str
    """REST order book path (``{pair}`` query key below)."""
    symbol_query: str
    """The query key naming the instrument (``currency_pair`` or ``contract``)."""
    futures: bool


SPOT = GateMarket("spot", "/api/v4/spot/order_book", "currency_pair", False)
USDT_FUTURES = GateMarket("futures", "/api/v4/futures/usdt/order_book", "contract", True)


def _frame_time_ms(message: dict[str, Any]) -> int:
    """The frame's ``time_ms`` when sent and non-zero, else its ``time`` (s) in ms."""
    time_ms = message.get("time_ms")
    if time_ms:
        return wire.integer("time_ms", time_ms)
    return wire.integer("time", message["time"]) * 1000


class GateProtocol(VenueProtocol):
    """One Gate.io v4 connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL overrides).
        market: spot or USDT futures rules.
        default_ws_url: the venue's public WebSocket URL.
        clock_s: the time written in the frames' ``time`` field (seconds).

    Raises:
        InvalidValueError: a candle subscription's interval is not one of
            :data:`.parse.CANDLE_INTERVAL_MS`.
    """

    def __init__(
        self,
        config: VenueConfig,
        market: GateMarket,
        default_ws_url: str,
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        check_candle_intervals("Gate.io", parse.CANDLE_INTERVAL_MS, config.subscriptions)
        self._config = config
        self._market = market
        self._ws_url = config.ws_url or default_ws_url
        self._clock_s = clock_s
        self._books: dict[str, BookSync] = {}
        self._limits: dict[str, int] = {}
        self._subscribed: dict[DataType, dict[str, Instrument]] = {t: {} for t in DataType}
        for sub in config.subscriptions:
            instrument = Instrument(config.id, sub.instrument, sub.canonical_symbol)
            for data_type in sub.data_types:
                self._subscribed[data_type][sub.instrument] = instrument
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[sub.instrument] = BookSync(
                    instrument,
                    Continuity.SPOT,
                    round((config.snapshot_timeout_s + BUFFER_MARGIN_S) * 1000),
                )
                self._limits[sub.instrument] = sub.depth or DEFAULT_BOOK_LIMIT
        prefix = market.prefix
        self._handlers: dict[str, Callable[[Any, int, int], list[MarketEvent]]] = {
            f"{prefix}.trades": (
                self._each(DataType.TRADE, "contract", parse.futures_trade)
                if market.futures
                else self._each(DataType.TRADE, "currency_pair", parse.spot_trade)
            ),
            f"{prefix}.book_ticker": self._each(DataType.TICKER, "s", parse.book_ticker),
            f"{prefix}.candlesticks": self._candles,
        }
        if market.futures:
            self._handlers[f"{prefix}.tickers"] = self._tickers
            self._handlers[f"{prefix}.public_liquidates"] = self._liquidations

    def ws_url(self) -> str:
        """The configured or default URL (channels are subscribed by frames)."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """One subscribe frame per channel: trades, book_ticker and (futures) tickers and
        public_liquidates list every instrument; order_book_update and candlesticks take one
        instrument per frame."""
        prefix = self._market.prefix
        now = int(self._clock_s())
        frames: list[str] = []

        def frame(channel: str, payload: list[str]) -> None:
            frames.append(
                orjson.dumps(
                    {
                        "time": now,
                        "channel": f"{prefix}.{channel}",
                        "event": "subscribe",
                        "payload": payload,
                    }
                ).decode()
            )

        for data_type, channel in ((DataType.TRADE, "trades"), (DataType.TICKER, "book_ticker")):
            if self._subscribed[data_type]:
                frame(channel, list(self._subscribed[data_type]))
        if self._market.futures:
            stats = {
                **self._subscribed[DataType.FUNDING_RATE],
                **self._subscribed[DataType.OPEN_INTEREST],
            }
            if stats:
                frame("tickers", list(stats))
            if self._subscribed[DataType.LIQUIDATION]:
                frame("public_liquidates", list(self._subscribed[DataType.LIQUIDATION]))
        for symbol in self._books:
            frame("order_book_update", [symbol, BOOK_UPDATE_FREQUENCY])
        for sub in self._config.subscriptions:
            if DataType.CANDLE in sub.data_types:
                frame("candlesticks", [sub.candle_interval, sub.instrument])
        return frames

    def keepalive(self) -> Keepalive | None:
        """``{"channel":"spot.ping"}`` (or ``futures.ping``) every :data:`PING_INTERVAL_S`."""
        return Keepalive(PING_INTERVAL_S, f'{{"channel":"{self._market.prefix}.ping"}}')

    def on_open(self) -> FrameOutcome:
        """Ask for a REST snapshot of every subscribed book."""
        return FrameOutcome([], [self._snapshot_request(s, "initial") for s in self._books], [])

    def _snapshot_request(self, symbol: str, reason: str) -> SnapshotRequest:
        market = self._market
        return SnapshotRequest(
            self._books[symbol].instrument,
            f"{market.book_path}?{market.symbol_query}={symbol}"
            f"&limit={self._limits[symbol]}&with_id=true",
            reason,
            1,
        )

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame.

        Shapes (trimmed from ``gate-spot.jsonl`` and ``gate-futures.jsonl``)::

            {"time":1619093532,"channel":"spot.trades","event":"subscribe",
             "result":{"status":"success"}}
            {"time":1619093543,"channel":"spot.trades","event":"update","result":{
             "id":816995772,"create_time_ms":"1619093543708.2642","side":"sell",
             "currency_pair":"DIS_USDT","amount":"0.2010000000","price":"121.5800000000"}}
            {"time":1684930165,"time_ms":1684930165254,"channel":"futures.order_book_update",
             "event":"update","result":{"U":203083177,"a":[{"p":"0.2983","s":0}],"b":[],
             "s":"RDNT_USDT","t":1684930165217,"u":203083177}}

        Subscribe acknowledgements and pongs give nothing.

        Raises:
            FrameError: ``not_json``, ``unknown_event`` (an unknown channel or event),
                ``subscribe_error`` (an ``error`` answer to a subscribe), ``missing_field``,
                ``invalid_value``, ``unsubscribed`` (also a spot ``*.tickers`` frame: the
                relay's ticker is ``*.book_ticker``) or ``stale_update``.
        """
        message = wire.frame_object(frame)
        channel = message.get("channel")
        event = message.get("event")
        if event in ("subscribe", "unsubscribe"):
            if message.get("error") is not None:
                raise FrameError(
                    "subscribe_error",
                    wire.clip(f"{wire.label(channel)}: {wire.brief(message['error'])}"),
                )
            return FrameOutcome([], [], [])
        if isinstance(channel, str) and channel.endswith(".pong"):
            return FrameOutcome([], [], [])
        if event != "update" or not isinstance(channel, str):
            raise FrameError(
                "unknown_event",
                wire.clip(f"channel {wire.brief(channel)} event {wire.brief(event)}"),
            )
        with FrameErrors(channel):
            if channel == f"{self._market.prefix}.order_book_update":
                return self._depth(message["result"], received_at_ms)
            handler = self._handlers.get(channel)
            if handler is None and channel == f"{self._market.prefix}.tickers":
                # 24 h statistics without best bid/ask sizes: the relay's ticker is
                # book_ticker; a tickers frame answers a subscription made elsewhere.
                raise FrameError("unsubscribed", wire.clip(channel))
            if handler is None:
                raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
            frame_time_ms = _frame_time_ms(message)
            events = handler(message["result"], received_at_ms, frame_time_ms)
        return FrameOutcome(events, [], [])

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Restart the named books' sync (all when None) and ask for their REST snapshots.

        Instruments are matched as configured; ones without a book here are ignored.
        """
        symbols = books_to_resync(self._books, instruments)
        for symbol in symbols:
            self._books[symbol].resync(reason)
        return FrameOutcome([], [self._snapshot_request(s, reason) for s in symbols], [])

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, received_at_ms: int
    ) -> FrameOutcome:
        """Take a REST order book snapshot (shape: :func:`.parse.book_snapshot`).

        Raises:
            FrameError: ``bad_snapshot``: not JSON, not an object, a missing or
                malformed ``id``, ``bids`` or ``asks``.
        """
        symbol = request.instrument.instrument
        sync = self._books[symbol]
        try:
            snapshot = parse.book_snapshot(body, self._market.futures)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, InvalidValueError) as exc:
            raise FrameError("bad_snapshot", wire.clip(f"{symbol}: {exc}")) from None
        events: list[MarketEvent] = []
        reason = sync.on_snapshot(
            snapshot.update_id, snapshot.bids, snapshot.asks, None, received_at_ms, events
        )
        requests = [self._snapshot_request(symbol, reason)] if reason else []
        return FrameOutcome(events, requests, [])

    def _instrument(self, data_type: DataType, symbol: Any) -> Instrument:
        instrument = self._subscribed[data_type].get(wire.text("symbol", symbol))
        if instrument is None:
            raise FrameError("unsubscribed", f"{wire.label(symbol)} {data_type.value}")
        return instrument

    def _depth(self, raw: Any, received_at_ms: int) -> FrameOutcome:
        result = wire.json_object("result", raw)
        symbol = wire.text("s", result["s"])
        sync = self._books.get(symbol)
        if sync is None:
            raise FrameError("unsubscribed", f"{wire.label(symbol)} {DataType.L2_ORDERBOOK.value}")
        diff = parse.depth_diff(result, self._market.futures, received_at_ms)
        events: list[MarketEvent] = []
        reason = sync.on_diff(diff, events)
        requests = [self._snapshot_request(symbol, reason)] if reason else []
        return FrameOutcome(events, requests, [])

    def _each(
        self,
        data_type: DataType,
        symbol_field: str,
        read: Callable[[dict[str, Any], Instrument, int], MarketEvent],
    ) -> Callable[[Any, int, int], list[MarketEvent]]:
        """``read`` for a result object (spot) or each object of a result list (futures)."""

        def handle(raw: Any, received_at_ms: int, frame_time_ms: int) -> list[MarketEvent]:
            entries = raw if isinstance(raw, list) else [raw]
            events = []
            for entry in entries:
                data = wire.json_object("result", entry)
                instrument = self._instrument(data_type, data[symbol_field])
                events.append(read(data, instrument, received_at_ms))
            return events

        return handle

    def _tickers(self, raw: Any, received_at_ms: int, frame_time_ms: int) -> list[MarketEvent]:
        """``futures.tickers``: funding rate and open interest of each subscribed contract."""
        events = []
        funding = self._subscribed[DataType.FUNDING_RATE]
        interest = self._subscribed[DataType.OPEN_INTEREST]
        for entry in wire.json_list("result", raw):
            data = wire.json_object("result", entry)
            contract = wire.text("contract", data["contract"])
            if contract not in funding and contract not in interest:
                raise FrameError("unsubscribed", f"{wire.label(contract)} tickers")
            if contract in funding:
                events.append(
                    parse.futures_funding(data, funding[contract], received_at_ms, frame_time_ms)
                )
            if contract in interest:
                events.append(
                    parse.futures_open_interest(
                        data, interest[contract], received_at_ms, frame_time_ms
                    )
                )
        return events

    def _liquidations(self, raw: Any, received_at_ms: int, frame_time_ms: int) -> list[MarketEvent]:
        events = []
        for entry in wire.json_list("result", raw):
            data = wire.json_object("result", entry)
            instrument = self._instrument(DataType.LIQUIDATION, data["contract"])
            events.append(
                parse.futures_liquidation(data, instrument, received_at_ms, frame_time_ms)
            )
        return events

    def _candles(self, raw: Any, received_at_ms: int, frame_time_ms: int) -> list[MarketEvent]:
        entries = raw if isinstance(raw, list) else [raw]
        events = []
        for entry in entries:
            data = wire.json_object("result", entry)
            name = wire.text("n", data["n"])
            symbol = name.partition("_")[2]
            instrument = self._instrument(DataType.CANDLE, symbol)
            events.append(parse.candle(data, instrument, received_at_ms, frame_time_ms))
        return events
