"""Binance spot, USD-M and COIN-M futures: combined-stream WebSocket + REST depth snapshots.

Sources (the formats parsed here follow these pages and the recorded sessions
``binance-spot.jsonl``, ``binance-usdm.jsonl``, ``binance-coinm.jsonl`` in
``shared/captures``):

- Spot streams and the spot book procedure:
  https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
- USD-M streams: https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
  (Aggregate-Trade-Streams, Diff-Book-Depth-Streams, Individual-Symbol-Book-Ticker-Streams,
  Kline-Candlestick-Streams, Mark-Price-Stream, Liquidation-Order-Streams,
  How-to-manage-a-local-order-book-correctly)
- COIN-M streams: https://developers.binance.com/docs/derivatives/coin-margined-futures/websocket-market-streams

Every frame of a combined stream is ``{"stream": "<symbol>@<kind>", "data": {...}}``.

Book procedure (one :class:`BookSync` per instrument): buffer diffs, fetch the
REST snapshot, drop diffs older than ``lastUpdateId``, require the first kept
diff to straddle it, then require continuity: ``U == previous u + 1`` on spot,
``pu == previous u`` on futures. A break publishes nothing more for that book
until a new snapshot is in, and is reported as a ``gap`` resync. A diff of a
synced book whose ``u`` is not newer than the book (a duplicate or out-of-order
update) is skipped as ``stale_update``. A diff that leaves the relay's book
crossed (best bid >= best ask) means the book is wrong: the sync restarts as
for a gap, with a ``crossed_book`` resync.

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update`` (from :meth:`BinanceProtocol.on_frame`)
and ``bad_snapshot`` (from :meth:`BinanceProtocol.on_snapshot`).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from relay.application.book_state import BookState
from relay.application.errors import FrameError
from relay.application.order_book import OrderBook
from relay.application.ports import FrameOutcome, SnapshotRequest, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    Liquidation,
    MarketEvent,
    PriceLevel,
    Side,
    Ticker,
    Trade,
    parse_decimal,
)
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
    VenueSpec,
    register,
)

MAX_BUFFERED_DIFFS = 2_000
"""Diffs kept per book while its snapshot is awaited; older ones are dropped first."""

BUFFER_MARGIN_S = 5.0
"""Diffs older than the snapshot request's time limit plus this margin are not kept.

A snapshot answered within ``snapshot_timeout_s`` of being sent contains every
diff received before it was sent (its ``lastUpdateId`` is at or past their
``u``), so only the diffs of the last ``snapshot_timeout_s`` + this margin (for
a REST answer served slightly behind the stream) can be needed. Without this
window, books whose snapshots wait for the REST weight budget (200 USD-M books
at weight 20 take 100 s of a 2,400/min budget) held up to
:data:`MAX_BUFFERED_DIFFS` parsed diffs each.
"""

SNAPSHOT_LIMIT = 1000
"""Levels asked for in a REST depth snapshot (request weight 10 on spot, 20 on futures)."""


STREAMS_PER_SUBSCRIPTION = 6
"""Streams one subscription can open: trade, ticker, book, candle, mark price, liquidation.
A connection carries at most its streams limit (spot 1024, futures 200) divided by this."""

SUBSCRIBE_INTERVAL_S = 0.2
"""Binance accepts 5 incoming messages per second per connection (spot: 5, futures: 10)."""


class Continuity(enum.Enum):
    """How consecutive depth diffs chain."""

    SPOT = "spot"
    """``U == previous u + 1``; the first diff kept has ``U <= lastUpdateId + 1 <= u``."""
    FUTURES = "futures"
    """``pu == previous u``; the first diff kept has ``U <= lastUpdateId <= u``.

    A first diff with ``pu == lastUpdateId`` also continues the snapshot exactly.
    """


@dataclass(frozen=True, slots=True)
class BinanceMarket:
    """The differences between Binance's three market data APIs."""

    continuity: Continuity
    depth_path: str
    snapshot_weight: int


SPOT = BinanceMarket(Continuity.SPOT, "/api/v3/depth", 10)
USDM = BinanceMarket(Continuity.FUTURES, "/fapi/v1/depth", 20)
COINM = BinanceMarket(Continuity.FUTURES, "/dapi/v1/depth", 20)


@dataclass(slots=True)
class DepthDiff:
    """One ``depthUpdate``: update ids ``U``..``u`` (and ``pu`` on futures), levels, times.

    Not frozen (this module's own record, never changed once made): a frozen
    dataclass's ``__init__`` costs about four times as much, once per diff.
    """

    first_update_id: int
    last_update_id: int
    previous_update_id: int | None
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    event_time_ms: int | None
    received_at_ms: int


_PendingSnapshot = tuple[int, tuple[PriceLevel, ...], tuple[PriceLevel, ...], int | None, int]
"""(lastUpdateId, bids, asks, event time ms, received at ms) of a snapshot not yet aligned."""


STALE_WINDOW_UPDATES = 1_000_000
"""A diff ``u`` at most this far behind the synced book's is stale (skipped); further
behind, a gap (resync): the book's own ``u`` is then the one not to trust."""


class BookSync:
    """Binance's local order book procedure for one instrument (sans-IO).

    Feed it diffs with :meth:`on_diff` and the REST snapshot with
    :meth:`on_snapshot`; both return the ``l2_orderbook`` events to publish
    (one snapshot event, then deltas) and say when a new snapshot is needed.
    """

    def __init__(self, instrument: Instrument, continuity: Continuity, window_ms: int) -> None:
        """``window_ms``: diffs received this long before the newest are not kept
        while the snapshot is awaited (see :data:`BUFFER_MARGIN_S`)."""
        self.instrument = instrument
        self.continuity = continuity
        self.window_ms = window_ms
        self.state = BookState.AWAITING_SNAPSHOT
        self.book = OrderBook()
        self.last_update_id = 0
        self.snapshot_id = 0
        self._buffer: deque[DepthDiff] = deque(maxlen=MAX_BUFFERED_DIFFS)
        self._snapshot: _PendingSnapshot | None = None

    def on_diff(self, diff: DepthDiff, events: list[MarketEvent]) -> str | None:
        """Take one diff; append what it publishes to ``events``.

        Returns:
            None, or the reason a new snapshot is needed: ``"gap"`` (continuity
            broken) or ``"crossed_book"`` (the diff left the book crossed).

        Raises:
            FrameError: ``stale_update`` when the book is synced and the diff's
                ``u`` is not newer than the book's but at most
                :data:`STALE_WINDOW_UPDATES` behind it (a duplicate or out-of-order
                update); the book is left untouched and no resync is asked for.
                Further behind is a ``"gap"``: the book's ``u`` came from a frame
                that cannot be trusted (2**63-1 in a corrupted diff would otherwise
                make every later diff stale).
        """
        if self.state is BookState.SYNCED:
            last = self.last_update_id
            if last - STALE_WINDOW_UPDATES <= diff.last_update_id <= last:
                raise FrameError(
                    "stale_update",
                    f"{self.instrument.instrument}: u={diff.last_update_id} "
                    f"<= book's {self.last_update_id}",
                )
            if not self._continues(diff):
                self.restart(diff)
                return "gap"
            return self._publish_delta(diff, events)
        buffer = self._buffer
        buffer.append(diff)
        if self._snapshot is not None:
            return self._align(events)
        horizon = diff.received_at_ms - self.window_ms
        while buffer[0].received_at_ms < horizon:
            buffer.popleft()
        return None

    def on_snapshot(
        self,
        last_update_id: int,
        bids: tuple[PriceLevel, ...],
        asks: tuple[PriceLevel, ...],
        event_time_ms: int | None,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> str | None:
        """Take the REST snapshot; append the snapshot event and buffered deltas to ``events``.

        Returns:
            None, or ``"stale_snapshot"`` when the snapshot is older than every
            buffered diff and a newer one must be fetched.
        """
        if self.state is BookState.SYNCED:
            return None
        self._snapshot = (last_update_id, bids, asks, event_time_ms, received_at_ms)
        return self._align(events)

    def _align(self, events: list[MarketEvent]) -> str | None:
        assert self._snapshot is not None
        snapshot_id = self._snapshot[0]
        spot = self.continuity is Continuity.SPOT
        buffer = self._buffer
        while buffer and (
            buffer[0].last_update_id <= snapshot_id
            if spot
            else buffer[0].last_update_id < snapshot_id
        ):
            buffer.popleft()
        if not buffer:
            return None
        first = buffer[0]
        if spot:
            continues = first.first_update_id <= snapshot_id + 1
        else:
            # U <= lastUpdateId <= u, or the diff chains straight on (pu == lastUpdateId).
            continues = (
                first.first_update_id <= snapshot_id or first.previous_update_id == snapshot_id
            )
        if not continues:
            self._snapshot = None
            return "stale_snapshot"
        _, bids, asks, event_time_ms, received_at_ms = self._snapshot
        self._snapshot = None
        self.book.reset(bids, asks)
        book_bids, book_asks = self.book.levels()
        events.append(
            MarketEvent(
                instrument=self.instrument,
                data_type=DataType.L2_ORDERBOOK,
                received_at_ms=received_at_ms,
                exchange_timestamp_ms=event_time_ms,
                payload=L2Update(book_bids, book_asks, True, snapshot_id, snapshot_id),
                dedup_key=f"snapshot:{snapshot_id}",
            )
        )
        self.state = BookState.SYNCED
        self.snapshot_id = snapshot_id
        self.last_update_id = snapshot_id
        reason = self._publish_delta(buffer.popleft(), events)
        while buffer and reason is None:
            diff = buffer.popleft()
            if diff.last_update_id <= self.last_update_id:
                continue  # a duplicate or out-of-order diff buffered while unsynced
            if not self._continues(diff):
                self.restart(diff)
                return "gap"
            reason = self._publish_delta(diff, events)
        return reason

    def _continues(self, diff: DepthDiff) -> bool:
        if self.continuity is Continuity.SPOT:
            return diff.first_update_id == self.last_update_id + 1
        return diff.previous_update_id == self.last_update_id

    def _publish_delta(self, diff: DepthDiff, events: list[MarketEvent]) -> str | None:
        """Apply and publish ``diff``; ``"crossed_book"`` (and a restart) if it crosses the book."""
        self.book.apply(diff.bids, diff.asks)
        if self.book.crossed:
            self.restart(diff)
            return "crossed_book"
        self.last_update_id = diff.last_update_id
        events.append(
            MarketEvent(
                instrument=self.instrument,
                data_type=DataType.L2_ORDERBOOK,
                received_at_ms=diff.received_at_ms,
                exchange_timestamp_ms=diff.event_time_ms,
                payload=L2Update(
                    diff.bids, diff.asks, False, diff.first_update_id, diff.last_update_id
                ),
                dedup_key=f"{self.snapshot_id}:{diff.last_update_id}",
            )
        )
        return None

    def restart(self, diff: DepthDiff | None = None) -> None:
        """Throw the book away; it waits for a new snapshot, ``diff`` (if any) buffered."""
        self.state = BookState.AWAITING_SNAPSHOT
        self.book = OrderBook()
        self._snapshot = None
        self._buffer.clear()
        if diff is not None:
            self._buffer.append(diff)


def _optional_int(data: dict[str, Any], field: str) -> int | None:
    raw = data.get(field)
    return None if raw is None else wire.integer(field, raw)


def _side_from_buyer_is_maker(buyer_is_maker: Any) -> Side:
    if not isinstance(buyer_is_maker, bool):
        raise InvalidValueError("m", buyer_is_maker, "expected a boolean")
    return Side.SELL if buyer_is_maker else Side.BUY


class BinanceProtocol(VenueProtocol):
    """One Binance combined-stream connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL overrides).
        market: spot, USD-M or COIN-M rules.
        default_ws_url: the venue's public combined-stream URL.
    """

    def __init__(self, config: VenueConfig, market: BinanceMarket, default_ws_url: str) -> None:
        self._config = config
        self._market = market
        self._ws_base = config.ws_url or default_ws_url
        instruments: dict[str, Instrument] = {}
        wanted: dict[str, frozenset[DataType]] = {}
        self._intervals: dict[str, str] = {}
        self._books: dict[str, BookSync] = {}
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
            "aggTrade": self._agg_trade,
            "trade": self._trade,
            "bookTicker": self._book_ticker,
            "kline": self._kline,
            "markPriceUpdate": self._mark_price,
            "forceOrder": self._force_order,
        }

    def stream_names(self) -> list[str]:
        """The combined-stream names for every subscription (``sushiusdt@aggTrade``, ...)."""
        names: list[str] = []
        stream_for = {
            DataType.TRADE: "aggTrade",
            DataType.TICKER: "bookTicker",
            DataType.L2_ORDERBOOK: "depth@100ms",
            DataType.FUNDING_RATE: "markPrice@1s",
            DataType.LIQUIDATION: "forceOrder",
        }
        for sub in self._config.subscriptions:
            symbol = sub.instrument.lower()
            for data_type in sub.data_types:
                if data_type is DataType.CANDLE:
                    names.append(f"{symbol}@kline_{sub.candle_interval}")
                else:
                    names.append(f"{symbol}@{stream_for[data_type]}")
        return names

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
            self._books[key].restart()
        return FrameOutcome([], [self._snapshot_request(key, reason) for key in keys], [])

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, received_at_ms: int
    ) -> FrameOutcome:
        """Take a REST depth snapshot.

        Shape (``binance-usdm.jsonl``, ``GET /fapi/v1/depth?symbol=SUSHIUSDT&limit=1000``)::

            {"lastUpdateId":600859605926,"E":1626992741264,"T":1626992741261,
             "bids":[["7.6110","6"],...],"asks":[["7.6120","297"],...]}

        Spot snapshots have no ``E``/``T``.

        Raises:
            FrameError: ``bad_snapshot``: not JSON, not an object, a missing or
                malformed ``lastUpdateId``, ``bids``, ``asks`` or ``E`` (same
                rules as for frames).
        """
        key = request.instrument.instrument.upper()
        sync = self._books[key]
        try:
            snapshot = wire.json_object("snapshot", orjson.loads(body))
            last_update_id = wire.integer("lastUpdateId", snapshot["lastUpdateId"])
            bids = wire.levels("bids", snapshot["bids"])
            asks = wire.levels("asks", snapshot["asks"])
            event_time = _optional_int(snapshot, "E")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, InvalidValueError) as exc:
            raise FrameError("bad_snapshot", wire.clip(f"{key}: {exc}")) from None
        events: list[MarketEvent] = []
        reason = sync.on_snapshot(last_update_id, bids, asks, event_time, received_at_ms, events)
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
        first_update_id = wire.integer("U", data["U"])
        last_update_id = wire.integer("u", data["u"])
        if first_update_id > last_update_id:
            raise InvalidValueError("U", first_update_id, f"after u={last_update_id}")
        futures = self._market.continuity is Continuity.FUTURES
        diff = DepthDiff(
            first_update_id=first_update_id,
            last_update_id=last_update_id,
            previous_update_id=wire.integer("pu", data["pu"]) if futures else None,
            bids=wire.levels("b", data["b"]),
            asks=wire.levels("a", data["a"]),
            event_time_ms=_optional_int(data, "E"),
            received_at_ms=received_at_ms,
        )
        events: list[MarketEvent] = []
        reason = sync.on_diff(diff, events)
        requests = [self._snapshot_request(key, reason)] if reason else []
        return FrameOutcome(events, requests, [])

    def _agg_trade(self, data: dict[str, Any], received_at_ms: int) -> MarketEvent:
        """``aggTrade``: the trade id is the aggregate trade id ``a``."""
        return self._trade_event(data, received_at_ms, "a")

    def _trade(self, data: dict[str, Any], received_at_ms: int) -> MarketEvent:
        """``trade``: the trade id is ``t``."""
        return self._trade_event(data, received_at_ms, "t")

    def _trade_event(self, data: dict[str, Any], received_at_ms: int, id_field: str) -> MarketEvent:
        instrument = self._instrument(data, DataType.TRADE)
        trade_id = str(wire.integer(id_field, data[id_field]))
        return MarketEvent(
            instrument,
            DataType.TRADE,
            received_at_ms,
            wire.integer("T", data["T"]),
            Trade(
                trade_id,
                wire.price("price", data["p"]),
                wire.quantity("quantity", data["q"]),
                _side_from_buyer_is_maker(data["m"]),
            ),
            trade_id,
        )

    def _book_ticker(self, data: dict[str, Any], received_at_ms: int) -> MarketEvent:
        instrument = self._instrument(data, DataType.TICKER)
        update_id = wire.integer("u", data["u"])
        return MarketEvent(
            instrument,
            DataType.TICKER,
            received_at_ms,
            _optional_int(data, "E"),
            Ticker(
                wire.price("bid_price", data["b"]),
                wire.quantity("bid_quantity", data["B"]),
                wire.price("ask_price", data["a"]),
                wire.quantity("ask_quantity", data["A"]),
                update_id,
            ),
            str(update_id),
        )

    def _kline(self, data: dict[str, Any], received_at_ms: int) -> MarketEvent:
        instrument = self._instrument(data, DataType.CANDLE)
        k = wire.json_object("k", data["k"])
        open_time = wire.integer("t", k["t"])
        event_time = wire.integer("E", data["E"])
        is_closed = k["x"]
        if not isinstance(is_closed, bool):
            raise InvalidValueError("x", is_closed, "expected a boolean")
        return MarketEvent(
            instrument,
            DataType.CANDLE,
            received_at_ms,
            event_time,
            Candle(
                interval=wire.text("i", k["i"]),
                open_time_ms=open_time,
                close_time_ms=wire.integer("T", k["T"]),
                open=wire.price("open", k["o"]),
                high=wire.price("high", k["h"]),
                low=wire.price("low", k["l"]),
                close=wire.price("close", k["c"]),
                volume=wire.quantity("volume", k["v"]),
                is_closed=is_closed,
                quote_volume=wire.quantity("quote_volume", k["q"]) if "q" in k else None,
                trade_count=wire.integer("n", k["n"]) if "n" in k else None,
            ),
            f"{open_time}:{event_time}",
        )

    def _mark_price(self, data: dict[str, Any], received_at_ms: int) -> MarketEvent | None:
        """``markPriceUpdate``; delivery contracts send ``"r": ""`` and give no event."""
        instrument = self._instrument(data, DataType.FUNDING_RATE)
        if data["r"] == "":
            return None
        next_funding = wire.integer("T", data["T"])
        event_time = wire.integer("E", data["E"])
        return MarketEvent(
            instrument,
            DataType.FUNDING_RATE,
            received_at_ms,
            event_time,
            FundingRate(
                rate=parse_decimal("rate", data["r"]),
                mark_price=wire.price("mark_price", data["p"]),
                index_price=wire.price("index_price", data["i"]) if "i" in data else None,
                next_funding_time_ms=next_funding or None,
            ),
            str(event_time),
        )

    def _force_order(self, data: dict[str, Any], received_at_ms: int) -> MarketEvent:
        """``forceOrder``: the price is the average fill price ``ap`` when non-zero, else ``p``."""
        order = wire.json_object("o", data["o"])
        instrument = self._instrument(order, DataType.LIQUIDATION)
        average = wire.quantity("average_price", order["ap"]) if "ap" in order else Decimal(0)
        price = average if average else wire.price("price", order["p"])
        try:
            side = Side(wire.text("S", order["S"]))
        except ValueError:
            raise InvalidValueError("S", order["S"], "expected BUY or SELL") from None
        trade_time = wire.integer("T", order["T"])
        quantity = wire.quantity("quantity", order["q"])
        status = order.get("X")
        return MarketEvent(
            instrument,
            DataType.LIQUIDATION,
            received_at_ms,
            trade_time,
            Liquidation(side, price, quantity, None if status is None else wire.text("X", status)),
            f"{trade_time}:{side.value}:{order['q']}",
        )


def _factory(market: BinanceMarket, default_ws_url: str) -> Callable[[VenueConfig], VenueProtocol]:
    def build(config: VenueConfig) -> VenueProtocol:
        return BinanceProtocol(config, market, default_ws_url)

    return build


def _exchange_info(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Instruments of an ``exchangeInfo`` answer that are trading now.

    Shapes (``GET /api/v3/exchangeInfo``, ``/fapi/v1/exchangeInfo``,
    ``/dapi/v1/exchangeInfo``; https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints
    and the futures "Exchange Information" pages)::

        {"symbols":[{"symbol":"BNBBTC","status":"TRADING","baseAsset":"BNB","quoteAsset":"BTC",...}]}
        {"symbols":[{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL",
                     "status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT",...}]}

    COIN-M says ``contractStatus`` instead of ``status``. Canonical symbols:
    ``BNB/BTC`` (spot), ``BTC/USDT:PERP`` (perpetual), ``BTC/USD:230331``
    (delivery, the date from the symbol's ``_`` suffix).

    Raises:
        ValueError: not JSON, or no ``symbols`` list of objects with those fields.
    """
    try:
        symbols = orjson.loads(body)["symbols"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"no symbols list: {exc}") from None
    listed: list[ListedInstrument] = []
    for entry in symbols:
        try:
            status = entry.get("status") or entry.get("contractStatus")
            if status != "TRADING":
                continue
            symbol = wire.text("symbol", entry["symbol"])
            base = wire.text("baseAsset", entry["baseAsset"])
            pair = f"{base}/{wire.text('quoteAsset', entry['quoteAsset'])}"
        except (AttributeError, KeyError, InvalidValueError) as exc:
            raise ValueError(f"bad symbol entry: {exc}") from None
        contract = entry.get("contractType")
        if contract is None:
            listed.append(ListedInstrument(symbol, pair, "spot"))
        elif contract == "PERPETUAL":
            listed.append(ListedInstrument(symbol, f"{pair}:PERP", "perpetual"))
        else:
            delivery = symbol.rpartition("_")[2]
            listed.append(ListedInstrument(symbol, f"{pair}:{delivery}", "future"))
    return listed


_SPOT_TYPES = frozenset({DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE})
_FUTURES_TYPES = _SPOT_TYPES | {DataType.FUNDING_RATE, DataType.LIQUIDATION}


def _register(
    venue_id: str,
    market: BinanceMarket,
    data_types: frozenset[DataType],
    ws_url: str,
    rest_url: str,
    doc: str,
    rest_weight_per_minute: int,
    listing_path: str,
    max_streams: int,
) -> None:
    register(
        VenueSpec(
            id=venue_id,
            data_types=data_types,
            default_ws_url=ws_url,
            default_rest_url=rest_url,
            protocol_factory=_factory(market, ws_url),
            docs=(doc,),
            rest_weight_per_minute=rest_weight_per_minute,
            max_connection_age_s=24 * 3600,
            subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
            max_subscriptions_per_connection=max_streams // STREAMS_PER_SUBSCRIPTION,
            instrument_listing=InstrumentListing((ListingRequest(listing_path),), _exchange_info),
        )
    )


_DOCS = "https://developers.binance.com/docs/"
_register(
    "binance-spot",
    SPOT,
    _SPOT_TYPES,
    "wss://stream.binance.com:9443/stream",
    "https://api.binance.com",
    _DOCS + "binance-spot-api-docs/web-socket-streams",
    6000,
    "/api/v3/exchangeInfo",
    1024,
)
_register(
    "binance-usdm",
    USDM,
    _FUTURES_TYPES,
    "wss://fstream.binance.com/stream",
    "https://fapi.binance.com",
    _DOCS + "derivatives/usds-margined-futures/websocket-market-streams",
    2400,
    "/fapi/v1/exchangeInfo",
    200,
)
_register(
    "binance-coinm",
    COINM,
    _FUTURES_TYPES,
    "wss://dstream.binance.com/stream",
    "https://dapi.binance.com",
    _DOCS + "derivatives/coin-margined-futures/websocket-market-streams",
    2400,
    "/dapi/v1/exchangeInfo",
    200,
)
