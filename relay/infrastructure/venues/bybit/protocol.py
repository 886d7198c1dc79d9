"""Bybit's relay protocol: one v5 public connection; topics, pings, frames in, events out.

Topics, depths, limits and keepalive are described in the package docstring
(:mod:`relay.infrastructure.venues.bybit`); the rules follow
https://bybit-exchange.github.io/docs/v5/ws/connect and the public topic pages.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import orjson

from relay.application.errors import FrameError
from relay.application.ports import (
    BookResync,
    FrameOutcome,
    Keepalive,
    VenueProtocol,
)
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, MarketEvent
from relay.infrastructure.venues.bybit import parse
from relay.infrastructure.venues.bybit.book import TopicBook
from relay.infrastructure.venues.bybit.ticker import TickerState
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors

PING_INTERVAL_S = 20.0
"""The connect page: "we recommend that you send the ping heartbeat packet every 20 seconds"."""

PING_FRAME = '{"op":"ping"}'

MAX_ARGS_CHARS = 21_000
"""Longest ``args`` array (in characters) one public connection may hold."""

MAX_TOPIC_CHARS = 48
"""Characters one topic takes in ``args``, quoted and with its comma, for symbols of up
to 30 characters (the longest prefix is ``allLiquidation.`` / ``orderbook.1000.``: 15)."""

SUBSCRIBE_INTERVAL_S = 0.1
"""Bybit documents no subscribe rate; one frame per 100 ms is a courtesy."""

DEFAULT_DEPTH = 50
"""Depth subscribed for ``depth = 0``: the orderbook page's example depth (20 ms pushes)."""


INTERVALS = {
    "1m": "1",
    "3m": "3",
    "5m": "5",
    "15m": "15",
    "30m": "30",
    "1h": "60",
    "2h": "120",
    "4h": "240",
    "6h": "360",
    "12h": "720",
    "1d": "D",
    "1w": "W",
    "1M": "M",
}
"""Relay interval word -> Bybit kline interval (the kline page's "Available intervals")."""


_T = TypeVar("_T")


def _subscribed(table: dict[str, _T], topic: str) -> _T:
    """What ``table`` holds for ``topic`` (a book, ticker state, kline or instrument).

    Raises:
        FrameError: ``unsubscribed``, the topic as detail (a topic this connection
            did not subscribe).
    """
    value = table.get(topic)
    if value is None:
        raise FrameError("unsubscribed", wire.clip(topic))
    return value


class Category(enum.Enum):
    """Bybit's product categories served by the public WebSocket."""

    SPOT = "spot"
    LINEAR = "linear"
    INVERSE = "inverse"


@dataclass(frozen=True, slots=True)
class BybitMarket:
    """What differs between the three public endpoints.

    Attributes:
        category: the product category (and URL path tail).
        depths: the orderbook depths offered, ascending.
        max_args_per_request: most topics in one subscribe frame (0 = no limit).
        topics_per_subscription: most topics one subscription entry opens.
    """

    category: Category
    depths: tuple[int, ...]
    max_args_per_request: int
    topics_per_subscription: int

    @property
    def derivatives(self) -> bool:
        """True for linear and inverse (tickers with funding, liquidations)."""
        return self.category is not Category.SPOT

    @property
    def max_subscriptions_per_connection(self) -> int:
        """Subscriptions whose topics fit in :data:`MAX_ARGS_CHARS` characters."""
        return MAX_ARGS_CHARS // (MAX_TOPIC_CHARS * self.topics_per_subscription)


SPOT = BybitMarket(Category.SPOT, (1, 50, 200, 1000), 10, 4)
LINEAR = BybitMarket(Category.LINEAR, (1, 50, 200, 1000), 0, 5)
INVERSE = BybitMarket(Category.INVERSE, (1, 50, 200, 1000), 0, 5)


def book_depth(market: BybitMarket, depth: int) -> int:
    """The orderbook depth subscribed for a configured ``depth`` (0 = :data:`DEFAULT_DEPTH`).

    The smallest offered depth >= ``depth``; the largest one when none is.
    """
    if depth <= 0:
        return DEFAULT_DEPTH
    for offered in market.depths:
        if offered >= depth:
            return offered
    return market.depths[-1]


def kline_interval(interval: str) -> str:
    """Bybit's kline interval for a relay interval word (``"1m"`` -> ``"1"``, ``"1d"`` -> ``"D"``).

    Raises:
        InvalidValueError: Bybit has no such kline interval.
    """
    try:
        return INTERVALS[interval]
    except KeyError:
        raise InvalidValueError(
            "candle_interval", interval, f"Bybit offers {', '.join(INTERVALS)}"
        ) from None


def subscribe_frame(topics: Sequence[str]) -> str:
    """``{"op":"subscribe","args":[...]}``."""
    return orjson.dumps({"op": "subscribe", "args": list(topics)}).decode()


def unsubscribe_frame(topics: Sequence[str]) -> str:
    """``{"op":"unsubscribe","args":[...]}``."""
    return orjson.dumps({"op": "unsubscribe", "args": list(topics)}).decode()


@dataclass(frozen=True, slots=True)
class _Kline:
    instrument: Instrument
    interval: str


class BybitProtocol(VenueProtocol):
    """One Bybit v5 public connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL override).
        market: spot, linear or inverse rules.
        default_ws_url: the category's public URL.

    Raises:
        InvalidValueError: a subscription's ``candle_interval`` is not one Bybit offers.
    """

    def __init__(self, config: VenueConfig, market: BybitMarket, default_ws_url: str) -> None:
        self._market = market
        self._venue = config.id
        self._ws_url = config.ws_url or default_ws_url
        self._topics: list[str] = []
        self._trades: dict[str, Instrument] = {}
        self._tickers: dict[str, TickerState] = {}
        self._books: dict[str, TopicBook] = {}
        self._klines: dict[str, _Kline] = {}
        self._liquidations: dict[str, Instrument] = {}
        for sub in config.subscriptions:
            self._add(config.id, sub)

    def _add(self, venue: str, sub: SubscriptionConfig) -> None:
        symbol = sub.instrument.upper()
        instrument = Instrument(venue, sub.instrument, sub.canonical_symbol)
        wanted = frozenset(sub.data_types)
        topics: list[str] = []
        if DataType.TRADE in wanted:
            topic = f"publicTrade.{symbol}"
            self._trades[topic] = instrument
            topics.append(topic)
        derived = wanted & {DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST}
        if self._market.derivatives and derived:
            topic = f"tickers.{symbol}"
            self._tickers[topic] = TickerState(instrument, derived)
            topics.append(topic)
        book_topics: dict[str, tuple[bool, bool]] = {}
        if DataType.TICKER in wanted and not self._market.derivatives:
            book_topics[f"orderbook.1.{symbol}"] = (False, True)
        if DataType.L2_ORDERBOOK in wanted:
            topic = f"orderbook.{book_depth(self._market, sub.depth)}.{symbol}"
            _, ticker = book_topics.get(topic, (False, False))
            book_topics[topic] = (True, ticker)
        for topic, (l2, ticker) in book_topics.items():
            self._books[topic] = TopicBook(instrument, topic, l2, ticker)
            topics.append(topic)
        if DataType.LIQUIDATION in wanted and self._market.derivatives:
            topic = f"allLiquidation.{symbol}"
            self._liquidations[topic] = instrument
            topics.append(topic)
        if DataType.CANDLE in wanted:
            topic = f"kline.{kline_interval(sub.candle_interval)}.{symbol}"
            self._klines[topic] = _Kline(instrument, sub.candle_interval)
            topics.append(topic)
        self._topics.extend(topics)

    def _served(self, instrument: str) -> dict[str, frozenset[DataType]]:
        """Each topic of ``instrument`` here and the data types it serves."""
        served: dict[str, frozenset[DataType]] = {}
        for topic, owner in self._trades.items():
            if owner.instrument == instrument:
                served[topic] = frozenset({DataType.TRADE})
        for topic, state in self._tickers.items():
            if state.instrument.instrument == instrument:
                served[topic] = state.wanted
        for topic, book in self._books.items():
            if book.instrument.instrument == instrument:
                served[topic] = frozenset(
                    {DataType.L2_ORDERBOOK} if book.l2 else set()
                ) | frozenset({DataType.TICKER} if book.ticker else set())
        for topic, owner in self._liquidations.items():
            if owner.instrument == instrument:
                served[topic] = frozenset({DataType.LIQUIDATION})
        for topic, kline in self._klines.items():
            if kline.instrument.instrument == instrument:
                served[topic] = frozenset({DataType.CANDLE})
        return served

    def _frames(self, make: Callable[[Sequence[str]], str], topics: Sequence[str]) -> list[str]:
        size = self._market.max_args_per_request or len(topics) or 1
        return [make(topics[start : start + size]) for start in range(0, len(topics), size)]

    def subscribe(self, subscription: SubscriptionConfig) -> FrameOutcome | None:
        """Subscribe an instrument's data types live: ``{"op":"subscribe","args":[topics]}``
        (https://bybit-exchange.github.io/docs/v5/ws/connect, "How to Subscribe to Topics").

        A new ``orderbook`` topic starts unsynced and waits for the snapshot Bybit
        sends after the subscribe; no other topic is touched. Data types the
        instrument already has here are skipped.

        Returns:
            None when a new data type would share a topic with one already
            subscribed (``tickers.<S>`` carries ticker, funding rate and open
            interest; spot ``orderbook.1.<S>`` ticker and a depth-1 book): the
            caller uses a new connection.

        Raises:
            InvalidValueError: a new candle's interval Bybit has no kline for
                (:func:`kline_interval`; nothing is changed).
        """
        served = self._served(subscription.instrument)
        have = frozenset().union(*served.values())
        new = tuple(d for d in subscription.data_types if d not in have)
        if not new:
            return FrameOutcome([], [], [])
        wanted = replace(subscription, data_types=new)
        probe = BybitProtocol(
            VenueConfig(id=self._venue, subscriptions=(wanted,)), self._market, self._ws_url
        )
        if any(topic in served for topic in probe.topics()):
            return None
        before = len(self._topics)
        self._add(self._venue, wanted)
        return FrameOutcome([], [], self._frames(subscribe_frame, self._topics[before:]))

    def unsubscribe(self, instrument: str, data_types: Collection[DataType]) -> FrameOutcome | None:
        """Unsubscribe the topics serving only ``data_types`` of ``instrument``:
        ``{"op":"unsubscribe","args":[topics]}`` (same page as :meth:`subscribe`).

        Returns:
            None when a topic also serves a data type that stays (the caller
            drops the removed data type's events until the next connection).
        """
        gone: list[str] = []
        for topic, serves in self._served(instrument).items():
            left = serves - frozenset(data_types)
            if left == serves:
                continue
            if left:
                return None
            gone.append(topic)
        for topic in gone:
            for table in (
                self._trades,
                self._tickers,
                self._books,
                self._liquidations,
                self._klines,
            ):
                table.pop(topic, None)
            self._topics.remove(topic)
        return FrameOutcome([], [], self._frames(unsubscribe_frame, gone))

    def topics(self) -> list[str]:
        """Every topic this connection subscribes, in config order."""
        return list(self._topics)

    def ws_url(self) -> str:
        """The category's public endpoint (``wss://stream.bybit.com/v5/public/linear``)."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """Subscribe frames: 10 topics each on spot, all topics in one frame otherwise."""
        size = self._market.max_args_per_request or len(self._topics) or 1
        return [
            subscribe_frame(self._topics[start : start + size])
            for start in range(0, len(self._topics), size)
        ]

    def keepalive(self) -> Keepalive | None:
        """``{"op":"ping"}`` every 20 s."""
        return Keepalive(PING_INTERVAL_S, PING_FRAME)

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame.

        Shapes (the documented examples, trimmed)::

            {"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,
             "data":{"s":"BTCUSDT","b":[["30247.20","30.028"]],"a":[["30248.70","0"]],
             "u":177400507,"seq":66544703342},"cts":1687940967464}
            {"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,
             "data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50",
             "L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}
            {"success":true,"ret_msg":"pong","conn_id":"465772b1-...","req_id":"","op":"ping"}

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``stale_update`` or
                ``subscribe_error``.
        """
        message = wire.frame_object(frame)
        topic = message.get("topic")
        if not isinstance(topic, str):
            return self._control(message)
        kind = topic.split(".", 1)[0]
        with FrameErrors(topic):
            if kind == "orderbook":
                return self._orderbook(topic, message, received_at_ms)
            if kind == "publicTrade":
                events = self._trade(topic, message, received_at_ms)
            elif kind == "tickers":
                events = self._ticker(topic, message, received_at_ms)
            elif kind == "kline":
                events = self._kline(topic, message, received_at_ms)
            elif kind == "allLiquidation":
                events = self._liquidation(topic, message, received_at_ms)
            else:
                raise FrameError("unknown_event", wire.clip(f"topic {wire.brief(topic)}"))
        return FrameOutcome(events, [], [])

    def _control(self, message: dict[str, Any]) -> FrameOutcome:
        """Pongs and subscribe/unsubscribe acks: an empty outcome, or ``subscribe_error``."""
        op = message.get("op")
        if op in ("ping", "pong"):
            return FrameOutcome([], [], [])
        if op in ("subscribe", "unsubscribe"):
            if message.get("success") is True:
                return FrameOutcome([], [], [])
            raise FrameError(
                "subscribe_error",
                wire.clip(f"{wire.label(op)}: {wire.brief(message.get('ret_msg', message))}"),
            )
        raise FrameError("unknown_event", wire.clip(f"no topic, op {wire.brief(op)}"))

    def _orderbook(self, topic: str, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        book = _subscribed(self._books, topic)
        events: list[MarketEvent] = []
        with FrameErrors(topic):
            is_snapshot, ts_ms, data = parse.object_message(message)
            reason = book.on_message(is_snapshot, data, ts_ms, received_at_ms, events)
        if reason is None:
            return FrameOutcome(events, [], [])
        return self._resync([book], reason)

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named instruments' books away (all when None) and subscribe them again.

        Every ``orderbook`` topic of an instrument is resynced (on spot, the
        ``orderbook.1`` topic a ticker is derived from too); instruments without
        one are ignored.
        """
        wanted = None if instruments is None else set(instruments)
        books = [
            book
            for book in self._books.values()
            if wanted is None or book.instrument.instrument in wanted
        ]
        for book in books:
            book.resync(reason)
        return self._resync(books, reason)

    def _resync(self, books: Sequence[TopicBook], reason: str) -> FrameOutcome:
        """Unsubscribe and subscribe again the topics of ``books`` (already thrown away).

        Frames carry at most the market's ``max_args_per_request`` topics; one
        :class:`BookResync` per instrument.
        """
        topics = [book.topic for book in books]
        size = self._market.max_args_per_request or len(topics) or 1
        chunks = [topics[start : start + size] for start in range(0, len(topics), size)]
        instruments = dict.fromkeys(book.instrument for book in books)
        return FrameOutcome(
            [],
            [],
            [unsubscribe_frame(chunk) for chunk in chunks]
            + [subscribe_frame(chunk) for chunk in chunks],
            [BookResync(instrument, reason) for instrument in instruments],
        )

    def _trade(self, topic: str, message: dict[str, Any], received_at_ms: int) -> list[MarketEvent]:
        return parse.trades(message, _subscribed(self._trades, topic), received_at_ms)

    def _ticker(
        self, topic: str, message: dict[str, Any], received_at_ms: int
    ) -> list[MarketEvent]:
        state = _subscribed(self._tickers, topic)
        is_snapshot, ts_ms, data = parse.object_message(message)
        return state.on_message(is_snapshot, data, ts_ms, received_at_ms)

    def _kline(self, topic: str, message: dict[str, Any], received_at_ms: int) -> list[MarketEvent]:
        kline = _subscribed(self._klines, topic)
        return parse.candles(message, kline.instrument, kline.interval, received_at_ms)

    def _liquidation(
        self, topic: str, message: dict[str, Any], received_at_ms: int
    ) -> list[MarketEvent]:
        return parse.liquidations(message, _subscribed(self._liquidations, topic), received_at_ms)
