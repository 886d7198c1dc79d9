"""Binance's relay protocol: one combined-stream connection; frames in, events and requests out.

Streams are named in the URL (``<base>?streams=sushiusdt@aggTrade/...``), so no
subscribe frame is sent; Binance pings and the WebSocket library answers. Books
are kept by :class:`~relay.infrastructure.venues.binance.book.BookSync` from REST
depth snapshots (https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, SnapshotRequest, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, MarketEvent
from relay.infrastructure.venues.binance import parse
from relay.infrastructure.venues.binance.book import BUFFER_MARGIN_S, BookSync, Continuity
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.intervals import check_candle_intervals

_Event = MarketEvent | None

SNAPSHOT_LIMIT = 1000
"""Levels asked for in a REST depth snapshot (request weight 10 on spot, 20 on futures)."""


@dataclass(frozen=True, slots=True)
class BinanceMarket:
    """The differences between Binance's three market data APIs.

    Attributes:
        candle_intervals: the ``<symbol>@kline_<interval>`` intervals the market's
            kline stream page lists (see :data:`SPOT_CANDLE_INTERVALS`,
            :data:`FUTURES_CANDLE_INTERVALS`).
    """

    continuity: Continuity
    depth_path: str
    snapshot_weight: int
    candle_intervals: tuple[str, ...]


FUTURES_CANDLE_INTERVALS = (
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    "3d",
    "1w",
    "1M",
)
"""USD-M and COIN-M "Kline/Candlestick chart intervals" (1m ... 1M), from
https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Kline-Candlestick-Streams
and
https://developers.binance.com/docs/derivatives/coin-margined-futures/websocket-market-streams/Kline-Candlestick-Streams."""

SPOT_CANDLE_INTERVALS = ("1s", *FUTURES_CANDLE_INTERVALS)
"""Spot's kline intervals: the futures list plus ``1s``, from the "Kline/Candlestick
Streams" section of https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams."""

SPOT = BinanceMarket(Continuity.SPOT, "/api/v3/depth", 10, SPOT_CANDLE_INTERVALS)
USDM = BinanceMarket(Continuity.FUTURES, "/fapi/v1/depth", 20, FUTURES_CANDLE_INTERVALS)
COINM = BinanceMarket(Continuity.FUTURES, "/dapi/v1/depth", 20, FUTURES_CANDLE_INTERVALS)


_STREAM_FOR = {
    DataType.TRADE: "aggTrade",
    DataType.TICKER: "bookTicker",
    DataType.L2_ORDERBOOK: "depth@100ms",
    DataType.FUNDING_RATE: "markPrice@1s",
    DataType.LIQUIDATION: "forceOrder",
}


def _names(instrument: str, data_types: Iterable[DataType], candle_interval: str) -> list[str]:
    """Combined-stream names of one instrument's data types (``sushiusdt@depth@100ms``).

    Open interest has no stream (it is polled over REST) and gives no name.
    """
    symbol = instrument.lower()
    return [
        f"{symbol}@kline_{candle_interval}"
        if data_type is DataType.CANDLE
        else f"{symbol}@{_STREAM_FOR[data_type]}"
        for data_type in data_types
        if data_type is not DataType.OPEN_INTEREST
    ]


class BinanceProtocol(VenueProtocol):
    """One Binance combined-stream connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL overrides).
        market: spot, USD-M or COIN-M rules.
        default_ws_url: the venue's public combined-stream URL.

    Raises:
        InvalidValueError: a candle subscription's ``candle_interval`` is not one
            of ``market.candle_intervals``.
    """

    def __init__(self, config: VenueConfig, market: BinanceMarket, default_ws_url: str) -> None:
        check_candle_intervals("Binance", market.candle_intervals, config.subscriptions)
        self._config = config
        self._market = market
        self._futures = market.continuity is Continuity.FUTURES
        self._ws_base = config.ws_url or default_ws_url
        instruments: dict[str, Instrument] = {}
        wanted: dict[str, frozenset[DataType]] = {}
        self._intervals: dict[str, str] = {}
        self._books: dict[str, BookSync] = {}
        self._request_ids = itertools.count(1)
        for sub in config.subscriptions:
            key = sub.instrument.upper()
            instrument = Instrument(config.id, sub.instrument, sub.canonical_symbol)
            instruments[key] = instrument
            wanted[key] = frozenset(sub.data_types)
            self._intervals[key] = sub.candle_interval
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[key] = BookSync(
                    instrument,
                    market.continuity,
                    round((config.snapshot_timeout_s + BUFFER_MARGIN_S) * 1000),
                )
        # data type -> venue symbol (SUSHIUSDT) -> instrument, for the symbols subscribed to it
        self._subscribed: dict[DataType, dict[str, Instrument]] = {
            data_type: {key: i for key, i in instruments.items() if data_type in wanted[key]}
            for data_type in DataType
        }
        self._handlers: dict[str, Callable[[dict[str, Any], int], MarketEvent | None]] = {
            "aggTrade": self._handler(DataType.TRADE, parse.agg_trade),
            "trade": self._handler(DataType.TRADE, parse.trade),
            "bookTicker": self._handler(DataType.TICKER, parse.book_ticker),
            "kline": self._handler(DataType.CANDLE, parse.kline),
            "markPriceUpdate": self._handler(DataType.FUNDING_RATE, parse.mark_price),
            "forceOrder": self._force_order,
        }

    def stream_names(self) -> list[str]:
        """The combined-stream names for every subscription (``sushiusdt@aggTrade``, ...).

        Open interest has no stream: it is polled over REST (:mod:`.rest`).
        """
        return [
            name
            for sub in self._config.subscriptions
            for name in _names(sub.instrument, sub.data_types, sub.candle_interval)
        ]

    def ws_url(self) -> str:
        """``<base>?streams=a/b/c``: Binance's combined stream, subscribed in the URL."""
        separator = "&" if "?" in self._ws_base else "?"
        return f"{self._ws_base}{separator}streams={'/'.join(self.stream_names())}"

    def subscribe_frames(self) -> Sequence[str]:
        """None: the streams are named in the URL."""
        return ()

    def on_open(self) -> FrameOutcome:
        """Ask for a REST snapshot of every subscribed book."""
        return FrameOutcome([], [self._snapshot_request(key, "initial") for key in self._books], [])

    def _snapshot_request(self, key: str, reason: str) -> SnapshotRequest:
        return SnapshotRequest(
            self._books[key].instrument,
            f"{self._market.depth_path}?symbol={key}&limit={SNAPSHOT_LIMIT}",
            reason,
            self._market.snapshot_weight,
        )

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one combined-stream frame.

        Shapes (trimmed from ``binance-usdm.jsonl``)::

            {"stream":"ctkusdt@aggTrade","data":{"e":"aggTrade","E":1626992741575,"a":16599292,
             "s":"CTKUSDT","p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}}
            {"stream":"sushiusdt@depth@100ms","data":{"e":"depthUpdate","E":1626992741037,
             "T":1626992741024,"s":"SUSHIUSDT","U":600859599090,"u":600859600917,"pu":600859598061,
             "b":[["7.5040","813"]],"a":[["7.6150","1563"]]}}

        Raises:
            FrameError: ``not_json`` (not JSON text or bytes), ``unknown_event``,
                ``missing_field``, ``invalid_value`` (wrong type, ids or times
                outside 0..2**63-1, decimals refused by
                :func:`~relay.domain.model.parse_decimal`, prices <= 0,
                quantities < 0, ``U > u``), ``unsubscribed`` or ``stale_update``.
        """
        message = wire.frame_object(frame)
        data = message.get("data")
        if not isinstance(data, dict):
            if "result" in message and "id" in message:
                return FrameOutcome([], [], [])
            raise FrameError("unknown_event", f"no data object: {str(frame)[:80]}")
        kind = data.get("e")
        if kind is None:
            stream = message.get("stream")
            if isinstance(stream, str) and stream.endswith("@bookTicker"):
                kind = "bookTicker"
        with FrameErrors(kind):
            if kind == "depthUpdate":
                return self._depth(data, received_at_ms)
            handler = self._handlers.get(kind) if isinstance(kind, str) else None
            if handler is None:
                raise FrameError("unknown_event", wire.clip(f"event type {wire.brief(kind)}"))
            event = handler(data, received_at_ms)
        return FrameOutcome([event] if event is not None else [], [], [])

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Restart the named books' sync (all when None) and ask for their REST snapshots.

        Instruments are matched as configured (case-insensitive, as the venue's
        symbols are); ones without a book here are ignored.
        """
        keys = (
            self._books
            if instruments is None
            else [k for k in dict.fromkeys(i.upper() for i in instruments) if k in self._books]
        )
        for key in keys:
            self._books[key].resync(reason)
        return FrameOutcome([], [self._snapshot_request(key, reason) for key in keys], [])

    def subscribe(self, subscription: SubscriptionConfig) -> FrameOutcome:
        """Live-subscribe one instrument's data types with a ``SUBSCRIBE`` frame.

        Binance "Live Subscribing/Unsubscribing to streams"
        (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams):
        ``{"method":"SUBSCRIBE","params":["akrousdt@aggTrade","akrousdt@depth@100ms"],"id":1}``,
        answered ``{"result":null,"id":1}``. A new book starts unsynced and asks
        for its ``initial`` REST snapshot; the other books are not touched.

        Raises:
            InvalidValueError: a candle interval the market does not offer
                (nothing is changed).
        """
        check_candle_intervals("Binance", self._market.candle_intervals, (subscription,))
        key = subscription.instrument.upper()
        instrument = Instrument(
            self._config.id, subscription.instrument, subscription.canonical_symbol
        )
        new = [d for d in subscription.data_types if key not in self._subscribed[d]]
        for data_type in new:
            self._subscribed[data_type][key] = instrument
        self._intervals[key] = subscription.candle_interval
        requests: list[SnapshotRequest] = []
        if DataType.L2_ORDERBOOK in new and key not in self._books:
            self._books[key] = BookSync(
                instrument,
                self._market.continuity,
                round((self._config.snapshot_timeout_s + BUFFER_MARGIN_S) * 1000),
            )
            requests.append(self._snapshot_request(key, "initial"))
        return FrameOutcome([], requests, self._frames("SUBSCRIBE", key, new))

    def unsubscribe(self, instrument: str, data_types: Collection[DataType]) -> FrameOutcome:
        """Stop reading ``data_types`` of ``instrument`` with an ``UNSUBSCRIBE`` frame
        (same document as :meth:`subscribe`); its book, if named, is dropped."""
        key = instrument.upper()
        gone = [d for d in data_types if self._subscribed[d].pop(key, None) is not None]
        if DataType.L2_ORDERBOOK in gone:
            self._books.pop(key, None)
        return FrameOutcome([], [], self._frames("UNSUBSCRIBE", key, gone))

    def _frames(self, method: str, key: str, data_types: Sequence[DataType]) -> list[str]:
        if not data_types:
            return []
        names = _names(key, data_types, self._intervals.get(key, "1m"))
        frame = {"method": method, "params": names, "id": next(self._request_ids)}
        return [orjson.dumps(frame).decode()]

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, received_at_ms: int
    ) -> FrameOutcome:
        """Take a REST depth snapshot (shape: :func:`.parse.depth_snapshot`).

        Raises:
            FrameError: ``bad_snapshot``: not JSON, not an object, a missing or
                malformed ``lastUpdateId``, ``bids``, ``asks`` or ``E`` (same
                rules as for frames).
        """
        key = request.instrument.instrument.upper()
        sync = self._books.get(key)
        if sync is None:
            return FrameOutcome([], [], [])
        try:
            snapshot = parse.depth_snapshot(body)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, InvalidValueError) as exc:
            raise FrameError("bad_snapshot", wire.clip(f"{key}: {exc}")) from None
        events: list[MarketEvent] = []
        reason = sync.on_snapshot(
            snapshot.last_update_id,
            snapshot.bids,
            snapshot.asks,
            snapshot.event_time_ms,
            received_at_ms,
            events,
        )
        requests = [self._snapshot_request(key, reason)] if reason else []
        return FrameOutcome(events, requests, [])

    def _instrument(self, data: dict[str, Any], data_type: DataType) -> Instrument:
        symbol = wire.text("s", data["s"])
        instrument = self._subscribed[data_type].get(symbol)
        if instrument is None:
            raise FrameError("unsubscribed", f"{wire.label(symbol)} {data_type.value}")
        return instrument

    def _depth(self, data: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        key = wire.text("s", data["s"])
        sync = self._books.get(key)  # one per symbol subscribed to l2_orderbook
        if sync is None:
            raise FrameError("unsubscribed", f"{key} {DataType.L2_ORDERBOOK.value}")
        diff = parse.depth_diff(data, self._futures, received_at_ms)
        events: list[MarketEvent] = []
        reason = sync.on_diff(diff, events)
        requests = [self._snapshot_request(key, reason)] if reason else []
        return FrameOutcome(events, requests, [])

    def _handler(
        self, data_type: DataType, read: Callable[[dict[str, Any], Instrument, int], _Event]
    ) -> Callable[[dict[str, Any], int], _Event]:
        """``read`` for the subscribed instrument the frame's ``s`` names."""

        def handle(data: dict[str, Any], received_at_ms: int) -> _Event:
            return read(data, self._instrument(data, data_type), received_at_ms)

        return handle

    def _force_order(self, data: dict[str, Any], received_at_ms: int) -> MarketEvent:
        """``forceOrder``: the symbol ``s`` is in the order object ``o``."""
        order = wire.json_object("o", data["o"])
        instrument = self._instrument(order, DataType.LIQUIDATION)
        return parse.force_order(order, instrument, received_at_ms)
