"""Bybit v5 public WebSocket: spot, linear (USDT/USDC contracts) and inverse contracts.

Sources (no recorded Bybit session exists in ``shared/captures``; every format
parsed here follows the documented examples of these pages, as stored in the
``bybit-exchange/docs`` repository and on bybit-exchange.github.io):

- Connect, limits, ping/pong, subscribe acks: https://bybit-exchange.github.io/docs/v5/ws/connect
- Orderbook: https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook
- Trade: https://bybit-exchange.github.io/docs/v5/websocket/public/trade
- Ticker: https://bybit-exchange.github.io/docs/v5/websocket/public/ticker
- Kline: https://bybit-exchange.github.io/docs/v5/websocket/public/kline
- All Liquidation: https://bybit-exchange.github.io/docs/v5/websocket/public/all-liquidation
- Instruments: https://bybit-exchange.github.io/docs/v5/market/instrument

Every data frame is ``{"topic": "<kind>.<...>.<SYMBOL>", "type": "snapshot"|"delta",
"ts": <ms>, "data": ...}``; control frames carry ``"op"`` instead of ``"topic"``.

Topics per data type (one ``[[venues.subscriptions]]`` entry opens at most five):

============== ======================================= =====================
data type      linear / inverse                        spot
============== ======================================= =====================
trade          ``publicTrade.<S>``                     ``publicTrade.<S>``
ticker         ``tickers.<S>`` (``bid1Price``...)      ``orderbook.1.<S>``
l2_orderbook   ``orderbook.<depth>.<S>``               ``orderbook.<depth>.<S>``
funding_rate   ``tickers.<S>``                         --
open_interest  ``tickers.<S>``                         --
liquidation    ``allLiquidation.<S>``                  --
candle         ``kline.<interval>.<S>``                ``kline.<interval>.<S>``
============== ======================================= =====================

Spot tickers carry no best bid/ask in v5 (the documented spot ticker has
``lastPrice``, ``highPrice24h``... only), so the spot ``ticker`` comes from the
level 1 order book ``orderbook.1.<S>``, kept and verified like any other book.

Linear/inverse tickers send a ``snapshot`` and then ``delta`` messages holding
only the changed fields ("If a response param is not found in the message,
then its value has not changed"): deltas are merged onto the last snapshot,
and each data type is published when the message carried at least one of its
fields (ticker: ``bid1Price``, ``bid1Size``, ``ask1Price``, ``ask1Size``;
funding_rate: ``fundingRate``, ``nextFundingTime``, ``markPrice``,
``indexPrice``; open_interest: ``openInterest``), from the merged values.
Dated futures send ``"fundingRate": ""`` and publish no funding_rate.

Depth mapping (the orderbook page's "Depths": linear, inverse and spot all offer
1, 50, 200 and 1000 levels; 500 was withdrawn for linear/inverse): ``depth = N``
subscribes the smallest offered depth >= N, 1000 for N > 1000, and 50 (the
documented example's depth, 20 ms pushes) for ``depth = 0``.

Book procedure (one :class:`TopicBook` per ``orderbook.*`` topic): a
``snapshot`` replaces the book (also one with ``u == 1``, sent after a venue
service restart); each ``delta`` must carry ``u == previous u + 1``. A delta
whose ``u`` is not newer than the book's (and at most
:data:`STALE_WINDOW_UPDATES` behind it) is skipped as ``stale_update``; one
further behind is a break (the book's ``u`` came from a corrupted frame, e.g.
a snapshot with ``u`` = 2**63-1, and would make every later delta stale). A
break throws the book away and reports a ``gap`` resync; a delta leaving the
book crossed (best bid >= best ask) reports ``crossed_book``. Either way the
one topic is unsubscribed and subscribed again (the frames go in
:attr:`FrameOutcome.replies`) and nothing more is published for that book until
the fresh snapshot arrives. Deltas reaching a book that awaits its snapshot are
dropped without an error (trailing deltas of the old subscription).

Keepalive: ``{"op":"ping"}`` every 20 s (the connect page recommends 20 s); the
answer (``{"success":true,"ret_msg":"pong",...,"op":"ping"}`` or
``{"op":"pong",...}``) gives an empty outcome, as do subscribe/unsubscribe
acks with ``"success": true``.

Limits (connect page, "Public channel - Args limits"): the ``args`` of one
public connection may not exceed 21,000 characters; spot takes at most 10
args per subscribe request, linear/inverse have no per-request limit. So spot
subscribe frames carry 10 topics each, linear/inverse one frame carries them
all; ``max_subscriptions_per_connection`` keeps a connection's args under
21,000 characters (see :data:`MAX_TOPIC_CHARS`). No subscribe rate is
documented; frames are spaced by :data:`SUBSCRIBE_INTERVAL_S` as a courtesy.

Canonical symbols (listing): spot ``BTCUSDT`` -> ``BTC/USDT``; linear
perpetual ``BTCUSDT`` -> ``BTC/USDT:PERP``; inverse perpetual ``BTCUSD`` ->
``BTC/USD:PERP``; dated futures ``<base>/<quote>:<YYYYMMDD>`` of their delivery day (UTC).

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update``, ``subscribe_error`` (a
subscribe or unsubscribe answered with ``"success": false``) and ``bad_snapshot``
(:meth:`BybitProtocol.on_snapshot`: Bybit needs no REST snapshot).
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from relay.application.book_state import BookState
from relay.application.errors import FrameError
from relay.application.order_book import OrderBook
from relay.application.ports import (
    BookResync,
    FrameOutcome,
    Keepalive,
    VenueProtocol,
)
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Ticker,
    Trade,
    parse_decimal,
)
from relay.infrastructure.venues.common import sides, wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
    VenueSpec,
    register,
)

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


def _time_ms(field: str, raw: Any) -> int:
    """Epoch ms sent as a JSON integer or as a string of digits.

    ``nextFundingTime`` is documented as a string; ``ts`` as a number, though the
    orderbook page's field-order reminder shows it quoted, so both are taken.
    """
    if isinstance(raw, str) and raw.isdigit() and len(raw) <= 19:
        return wire.integer(field, int(raw))
    return wire.integer(field, raw)


def subscribe_frame(topics: Sequence[str]) -> str:
    """``{"op":"subscribe","args":[...]}``."""
    return orjson.dumps({"op": "subscribe", "args": list(topics)}).decode()


def unsubscribe_frame(topics: Sequence[str]) -> str:
    """``{"op":"unsubscribe","args":[...]}``."""
    return orjson.dumps({"op": "unsubscribe", "args": list(topics)}).decode()


STALE_WINDOW_UPDATES = 1_000_000
"""A delta ``u`` at most this far behind the book's is stale; further behind, a gap."""


class TopicBook:
    """One ``orderbook.<depth>.<S>`` topic's book (sans-IO), publishing l2 and/or ticker events.

    Args:
        instrument: whose book.
        topic: the topic, for the resync frames.
        l2: publish ``l2_orderbook`` events.
        ticker: publish ``ticker`` events from the book's best levels (spot ``orderbook.1``).
    """

    def __init__(self, instrument: Instrument, topic: str, l2: bool, ticker: bool) -> None:
        self.instrument = instrument
        self.topic = topic
        self.l2 = l2
        self.ticker = ticker
        self.state = BookState.AWAITING_SNAPSHOT
        self.book = OrderBook()
        self.last_update_id = 0

    def on_message(
        self,
        is_snapshot: bool,
        data: dict[str, Any],
        ts_ms: int,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> str | None:
        """Take one snapshot or delta; append what it publishes to ``events``.

        Returns:
            None, or why the book was thrown away: ``"gap"`` or ``"crossed_book"``.

        Raises:
            FrameError: ``stale_update`` (a synced book got a delta whose ``u``
                is not newer than its own; the book is left untouched).
            KeyError, InvalidValueError: a missing or malformed field.
        """
        update_id = wire.integer("u", data["u"])
        seq = data.get("seq")
        key = f"{update_id}:{'' if seq is None else wire.integer('seq', seq)}"
        bids = wire.levels("b", data["b"])
        asks = wire.levels("a", data["a"])
        if is_snapshot:
            self.book.reset(bids, asks)
            self.state = BookState.SYNCED
            self.last_update_id = update_id
            if self.l2:
                book_bids, book_asks = self.book.levels()
                events.append(
                    MarketEvent(
                        self.instrument,
                        DataType.L2_ORDERBOOK,
                        received_at_ms,
                        ts_ms,
                        L2Update(book_bids, book_asks, True, update_id, update_id),
                        f"snapshot:{key}",
                    )
                )
            self._publish_ticker(update_id, key, ts_ms, received_at_ms, events)
            return None
        if self.state is not BookState.SYNCED:
            return None
        if self.last_update_id - STALE_WINDOW_UPDATES <= update_id <= self.last_update_id:
            raise FrameError(
                "stale_update",
                f"{self.topic}: u={update_id} <= book's {self.last_update_id}",
            )
        if update_id != self.last_update_id + 1:
            self.restart()
            return "gap"
        self.book.apply(bids, asks)
        if self.book.crossed:
            self.restart()
            return "crossed_book"
        self.last_update_id = update_id
        if self.l2:
            events.append(
                MarketEvent(
                    self.instrument,
                    DataType.L2_ORDERBOOK,
                    received_at_ms,
                    ts_ms,
                    L2Update(bids, asks, False, update_id, update_id),
                    key,
                )
            )
        self._publish_ticker(update_id, key, ts_ms, received_at_ms, events)
        return None

    def _publish_ticker(
        self,
        update_id: int,
        key: str,
        ts_ms: int,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> None:
        bid, ask = self.book.best_bid, self.book.best_ask
        if not self.ticker or bid is None or ask is None:
            return
        events.append(
            MarketEvent(
                self.instrument,
                DataType.TICKER,
                received_at_ms,
                ts_ms,
                Ticker(bid, self.book.bids[bid], ask, self.book.asks[ask], update_id),
                key,
            )
        )

    def restart(self) -> None:
        """Throw the book away; deltas are ignored until the next snapshot."""
        self.state = BookState.AWAITING_SNAPSHOT
        self.book = OrderBook()


_TICKER_FIELDS = frozenset({"bid1Price", "bid1Size", "ask1Price", "ask1Size"})
_FUNDING_FIELDS = frozenset({"fundingRate", "nextFundingTime", "markPrice", "indexPrice"})


class TickerState:
    """A linear/inverse ``tickers.<S>`` topic: the last snapshot with the deltas merged onto it."""

    def __init__(self, instrument: Instrument, wanted: frozenset[DataType]) -> None:
        self.instrument = instrument
        self.wanted = wanted
        self.fields: dict[str, Any] | None = None

    def on_message(
        self, is_snapshot: bool, data: dict[str, Any], ts_ms: int, received_at_ms: int
    ) -> list[MarketEvent]:
        """Merge one message; the events of the data types whose fields it carried.

        A delta before any snapshot has nothing to merge onto and gives no event.

        Raises:
            InvalidValueError: a malformed value among those published.
        """
        if is_snapshot:
            self.fields = dict(data)
        elif self.fields is None:
            return []
        else:
            self.fields.update(data)
        fields = self.fields
        events: list[MarketEvent] = []
        key = str(ts_ms)

        def present(name: str) -> bool:
            return fields.get(name) not in (None, "")

        if (
            DataType.TICKER in self.wanted
            and not _TICKER_FIELDS.isdisjoint(data)
            and all(present(name) for name in _TICKER_FIELDS)
        ):
            events.append(
                MarketEvent(
                    self.instrument,
                    DataType.TICKER,
                    received_at_ms,
                    ts_ms,
                    Ticker(
                        wire.price("bid1Price", fields["bid1Price"]),
                        wire.quantity("bid1Size", fields["bid1Size"]),
                        wire.price("ask1Price", fields["ask1Price"]),
                        wire.quantity("ask1Size", fields["ask1Size"]),
                    ),
                    key,
                )
            )
        if (
            DataType.FUNDING_RATE in self.wanted
            and not _FUNDING_FIELDS.isdisjoint(data)
            and present("fundingRate")
        ):
            events.append(
                MarketEvent(
                    self.instrument,
                    DataType.FUNDING_RATE,
                    received_at_ms,
                    ts_ms,
                    FundingRate(
                        rate=parse_decimal("fundingRate", fields["fundingRate"]),
                        mark_price=(
                            wire.price("markPrice", fields["markPrice"])
                            if present("markPrice")
                            else None
                        ),
                        index_price=(
                            wire.price("indexPrice", fields["indexPrice"])
                            if present("indexPrice")
                            else None
                        ),
                        next_funding_time_ms=(
                            (_time_ms("nextFundingTime", fields["nextFundingTime"]) or None)
                            if present("nextFundingTime")
                            else None
                        ),
                    ),
                    key,
                )
            )
        if (
            DataType.OPEN_INTEREST in self.wanted
            and "openInterest" in data
            and present("openInterest")
        ):
            events.append(
                MarketEvent(
                    self.instrument,
                    DataType.OPEN_INTEREST,
                    received_at_ms,
                    ts_ms,
                    OpenInterest(wire.quantity("openInterest", fields["openInterest"])),
                    key,
                )
            )
        return events


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

    @staticmethod
    def _header(message: dict[str, Any]) -> tuple[bool, int]:
        kind = message["type"]
        if kind not in ("snapshot", "delta"):
            raise InvalidValueError("type", kind, "expected snapshot or delta")
        return kind == "snapshot", _time_ms("ts", message["ts"])

    @staticmethod
    def _items(message: dict[str, Any]) -> list[dict[str, Any]]:
        data = message["data"]
        items = data if isinstance(data, list) else [data]
        for item in items:
            if not isinstance(item, dict):
                raise InvalidValueError("data", item, "expected an object")
        return items

    def _orderbook(self, topic: str, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        book = self._books.get(topic)
        if book is None:
            raise FrameError("unsubscribed", wire.clip(topic))
        events: list[MarketEvent] = []
        with FrameErrors(topic):
            is_snapshot, ts_ms = self._header(message)
            data = message["data"]
            if not isinstance(data, dict):
                raise InvalidValueError("data", data, "expected an object")
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
            book.restart()
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
        """``publicTrade``: one event per trade; ``S`` is the taker side, ``i`` the trade id."""
        instrument = self._trades.get(topic)
        if instrument is None:
            raise FrameError("unsubscribed", wire.clip(topic))
        events: list[MarketEvent] = []
        for item in self._items(message):
            trade_id = wire.text("i", item["i"])
            events.append(
                MarketEvent(
                    instrument,
                    DataType.TRADE,
                    received_at_ms,
                    wire.integer("T", item["T"]),
                    Trade(
                        trade_id,
                        wire.price("p", item["p"]),
                        wire.quantity("v", item["v"]),
                        sides.side("S", item["S"], "Buy", "Sell"),
                    ),
                    trade_id,
                )
            )
        return events

    def _ticker(
        self, topic: str, message: dict[str, Any], received_at_ms: int
    ) -> list[MarketEvent]:
        state = self._tickers.get(topic)
        if state is None:
            raise FrameError("unsubscribed", wire.clip(topic))
        is_snapshot, ts_ms = self._header(message)
        data = message["data"]
        if not isinstance(data, dict):
            raise InvalidValueError("data", data, "expected an object")
        return state.on_message(is_snapshot, data, ts_ms, received_at_ms)

    def _kline(self, topic: str, message: dict[str, Any], received_at_ms: int) -> list[MarketEvent]:
        """``kline``: one candle per item; ``confirm`` true when closed, ``turnover`` in quote."""
        kline = self._klines.get(topic)
        if kline is None:
            raise FrameError("unsubscribed", wire.clip(topic))
        _, ts_ms = self._header(message)
        events: list[MarketEvent] = []
        for item in self._items(message):
            start = wire.integer("start", item["start"])
            confirm = item["confirm"]
            if not isinstance(confirm, bool):
                raise InvalidValueError("confirm", confirm, "expected a boolean")
            last_match = (
                wire.integer("timestamp", item["timestamp"]) if "timestamp" in item else ts_ms
            )
            events.append(
                MarketEvent(
                    kline.instrument,
                    DataType.CANDLE,
                    received_at_ms,
                    ts_ms,
                    Candle(
                        interval=kline.interval,
                        open_time_ms=start,
                        close_time_ms=wire.integer("end", item["end"]),
                        open=wire.price("open", item["open"]),
                        high=wire.price("high", item["high"]),
                        low=wire.price("low", item["low"]),
                        close=wire.price("close", item["close"]),
                        volume=wire.quantity("volume", item["volume"]),
                        is_closed=confirm,
                        quote_volume=(
                            wire.quantity("turnover", item["turnover"])
                            if "turnover" in item
                            else None
                        ),
                    ),
                    f"{start}:{last_match}:{'closed' if confirm else 'open'}",
                )
            )
        return events

    def _liquidation(
        self, topic: str, message: dict[str, Any], received_at_ms: int
    ) -> list[MarketEvent]:
        """``allLiquidation``: ``S`` is the liquidated *position's* side, so ``Buy`` (a long
        liquidated) is a SELL liquidation order; ``p`` is the bankruptcy price."""
        instrument = self._liquidations.get(topic)
        if instrument is None:
            raise FrameError("unsubscribed", wire.clip(topic))
        events: list[MarketEvent] = []
        for item in self._items(message):
            side = sides.opposite(sides.side("S", item["S"], "Buy", "Sell"))
            time_ms = wire.integer("T", item["T"])
            price = wire.price("p", item["p"])
            quantity = wire.quantity("v", item["v"])
            events.append(
                MarketEvent(
                    instrument,
                    DataType.LIQUIDATION,
                    received_at_ms,
                    time_ms,
                    Liquidation(side, price, quantity),
                    f"{time_ms}:{side.value}:{item['v']}:{item['p']}",
                )
            )
        return events


"""price -> the recorded level ``[price text, size text]``."""


def _delivery_day(raw: Any) -> str:
    """``"1735113600000"`` (epoch ms) -> ``"20241225"`` (UTC)."""
    millis = _time_ms("deliveryTime", raw)
    return datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.UTC).strftime("%Y%m%d")


def parse_instruments(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse a ``GET /v5/market/instruments-info`` answer.

    Shape (the instrument page's examples, trimmed)::

        {"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[
          {"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading",
           "baseCoin":"BTC","quoteCoin":"USDT","deliveryTime":"0",...}],"nextPageCursor":""}}

    Canonical symbols: spot ``BASE/QUOTE``; ``LinearPerpetual`` /
    ``InversePerpetual`` ``BASE/QUOTE:PERP``; ``LinearFutures`` /
    ``InverseFutures`` ``BASE/QUOTE:YYYYMMDD`` (delivery day, UTC). Other
    contract types (none documented) are left out.

    Raises:
        ValueError: not JSON, ``retCode`` not 0, or a missing or malformed field.
    """
    try:
        answer = orjson.loads(body)
        if not isinstance(answer, dict):
            raise ValueError("not an object")
        if answer.get("retCode") != 0:
            raise ValueError(f"retCode {answer.get('retCode')!r}: {answer.get('retMsg')!r}")
        result = answer["result"]
        category = result["category"]
        listed: list[ListedInstrument] = []
        for item in result["list"]:
            symbol = wire.text("symbol", item["symbol"])
            base = wire.text("baseCoin", item["baseCoin"])
            pair = f"{base}/{wire.text('quoteCoin', item['quoteCoin'])}"
            if category == "spot":
                listed.append(ListedInstrument(symbol, pair, "spot"))
                continue
            contract = item["contractType"]
            if contract in ("LinearPerpetual", "InversePerpetual"):
                listed.append(ListedInstrument(symbol, f"{pair}:PERP", "perpetual"))
            elif contract in ("LinearFutures", "InverseFutures"):
                listed.append(
                    ListedInstrument(
                        symbol, f"{pair}:{_delivery_day(item['deliveryTime'])}", "future"
                    )
                )
        return listed
    except (orjson.JSONDecodeError, KeyError, TypeError, InvalidValueError) as exc:
        raise ValueError(f"instruments-info: {exc}") from None


def _factory(market: BybitMarket, default_ws_url: str) -> Callable[[VenueConfig], VenueProtocol]:
    def build(config: VenueConfig) -> VenueProtocol:
        return BybitProtocol(config, market, default_ws_url)

    return build


_SPOT_TYPES = frozenset({DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE})
_DERIVATIVE_TYPES = _SPOT_TYPES | {
    DataType.FUNDING_RATE,
    DataType.OPEN_INTEREST,
    DataType.LIQUIDATION,
}

_DOCS = "https://bybit-exchange.github.io/docs/v5/"
DOCS = (
    _DOCS + "ws/connect",
    _DOCS + "websocket/public/orderbook",
    _DOCS + "websocket/public/trade",
    _DOCS + "websocket/public/ticker",
    _DOCS + "websocket/public/kline",
    _DOCS + "websocket/public/all-liquidation",
    _DOCS + "market/instrument",
)


def _register(venue_id: str, market: BybitMarket, data_types: frozenset[DataType]) -> None:
    ws_url = f"wss://stream.bybit.com/v5/public/{market.category.value}"
    listing = ListingRequest(
        f"/v5/market/instruments-info?category={market.category.value}"
        + ("" if market.category is Category.SPOT else "&limit=1000")
    )
    register(
        VenueSpec(
            id=venue_id,
            data_types=data_types,
            default_ws_url=ws_url,
            default_rest_url="https://api.bybit.com",
            protocol_factory=_factory(market, ws_url),
            docs=DOCS,
            subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
            max_subscriptions_per_connection=market.max_subscriptions_per_connection,
            instrument_listing=InstrumentListing((listing,), parse_instruments),
        )
    )


_register("bybit-spot", SPOT, _SPOT_TYPES)
_register("bybit-linear", LINEAR, _DERIVATIVE_TYPES)
_register("bybit-inverse", INVERSE, _DERIVATIVE_TYPES)
