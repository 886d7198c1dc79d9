"""Deribit: JSON-RPC 2.0 over one WebSocket; books verified by ``change_id`` continuity.

Sources (every format parsed here comes from one of these, or from the recorded
session ``deribit.jsonl`` in ``shared/captures``):

- Notifications (``{"jsonrpc":"2.0","method":"subscription","params":{"channel","data"}}``):
  https://docs.deribit.com/articles/notifications
- Books: https://docs.deribit.com/subscriptions/orderbook/bookinstrument_nameinterval
  (first notification a full snapshot, then changes ``[action, price, amount]`` with
  action ``new``/``change``/``delete``; every change carries ``prev_change_id``,
  equal to the previous notification's ``change_id`` when nothing was missed).
  Snapshot and change frames of ``deribit.jsonl`` (2021-07, options).
- Trades: https://docs.deribit.com/subscriptions/trades/tradesinstrument_nameinterval
  (``liquidation``: ``"M"``, ``"T"`` or ``"MT"``, only on trades caused by a
  liquidation). The frame shape is the one in cryptofeed's ``deribit.py`` docstring.
- Ticker: ticker frames of ``deribit.jsonl`` (options); the perpetual fields
  ``funding_8h``, ``current_funding``, ``index_price``, ``open_interest`` as in the
  ticker example of cryptofeed's ``deribit.py`` (taken from Deribit's docs).
- Candles: https://docs.deribit.com/subscriptions/market-data/charttradesinstrument_nameresolution
  (resolutions 1, 3, 5, 10, 15, 30, 60, 120, 180, 360, 720 minutes and ``1D``); the
  notification shape ``{"tick","open","high","low","close","volume","cost"}`` is the
  documented example as reproduced in gocryptotrader's Deribit tests (the stored copy
  of the page does not show its example).
- Heartbeats: https://docs.deribit.com/api-reference/session-management/public-set_heartbeat
  (interval >= 10 s; the server sends ``heartbeat`` messages and ``test_request``
  messages, to be answered with ``public/test`` or the connection is closed) and
  https://docs.deribit.com/api-reference/supporting/public-test.
- Limits: https://docs.deribit.com/api-reference/subscription-management/public-subscribe
  (``public/subscribe``: sustained ~3.3 requests/second),
  https://docs.deribit.com/articles/connection-management-best-practices (32
  connections per IP), https://docs.deribit.com/api-reference/market-data/public-get_instruments
  (1 request/second; response example).

Numbers: Deribit sends prices and amounts as JSON numbers (``["new",0.0015,4714.0]``).
Frames are decoded by :func:`relay.infrastructure.venues.common.wire.exact_json`
(``parse_float=Decimal``), so every price keeps the digits as sent; NaN and
Infinity are refused (``not_json``).

Channels: ``book.<instrument>.100ms``, ``trades.<instrument>.100ms``,
``ticker.<instrument>.100ms`` (``raw`` is only for authorized connections; the
relay's are public) and ``chart.trades.<instrument>.<resolution>``. Notifications
of any interval are accepted (the recording used ``raw``).

Depth: every ``depth`` maps to ``book.<instrument>.100ms``, the full book. Deribit's
depth-limited channels (``book.<instrument>.<group>.<depth>.<interval>``, depth
1/10/20) send unchained snapshots without ``prev_change_id``, which the relay could
not verify; the full incremental book is the nearest channel it can keep honest.

Book rules (one :class:`DeribitBook` per instrument): a snapshot replaces the book
and is published as a snapshot event; a change whose ``prev_change_id`` is not the
book's ``change_id`` is a ``gap``: the book is thrown away, a :class:`BookResync`
is reported, and ``public/unsubscribe`` + ``public/subscribe`` of that one book
channel are sent back; changes arriving before the fresh snapshot are dropped
silently. A change whose ``change_id`` is not newer than the book's (and at most
:data:`STALE_WINDOW_CHANGES` behind it) is a ``stale_update`` (a duplicate),
skipped without resync; one further behind is a ``gap`` (the book's
``change_id`` came from a corrupted frame, and would make every later change stale).

Data types: ``trade`` (and ``liquidation`` for trades flagged ``liquidation``) from
``trades``; ``ticker``, ``funding_rate`` (perpetuals: ``funding_8h``, the funding over
8 hours, with ``mark_price`` and ``index_price``) and ``open_interest`` (published
when it changes) from ``ticker``; ``l2_orderbook`` from ``book``; ``candle`` from
``chart.trades`` (never marked closed: Deribit sends no close flag).

Dedup keys: trades and liquidations the ``trade_id``; book snapshots
``snapshot:<change_id>``, changes ``<snapshot change_id>:<change_id>``; tickers
``<timestamp>:<bid>:<bid amount>:<ask>:<ask amount>``; funding
``<timestamp>:<funding_8h>``; open interest ``<timestamp>:<open_interest>``; candles
``<tick>:<volume>:<cost>:<high>:<low>:<close>``.

Canonical symbols (listing): perpetuals ``<base>/<quote>:PERP`` (``BTC-PERPETUAL`` ->
``BTC/USD:PERP``), spot ``<base>/<quote>``, futures and options the instrument name
with ``/`` after the currency (``BTC-24SEP21-8000-P`` -> ``BTC/24SEP21-8000-P``).

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update``, ``subscribe_error`` (an error
answer to a subscribe, or a subscribe answer missing requested channels) and
``request_error`` (an error answer to any other request).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any

import orjson

from relay.application.book_state import BookState
from relay.application.errors import FrameError
from relay.application.order_book import OrderBook
from relay.application.ports import BookResync, FrameOutcome, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError, RelayError
from relay.domain.model import (
    MAX_DECIMAL_EXPONENT,
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    PriceLevel,
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

WS_URL = "wss://www.deribit.com/ws/api/v2"
REST_URL = "https://www.deribit.com"

HEARTBEAT_INTERVAL_S = 30
"""Asked for with ``public/set_heartbeat`` (the documented minimum is 10 s)."""

SUBSCRIBE_INTERVAL_S = 0.5
"""Least time between two subscribe frames: ``public/subscribe`` is documented at a
sustained ~3.3 requests per second; the relay stays well below (2 per second)."""

CHANNELS_PER_SUBSCRIBE = 100
"""Channels in one ``public/subscribe`` frame. Deribit documents no cap; this bound
is the relay's own, to keep frames and their answers small."""

NOTIFICATION_INTERVAL = "100ms"
"""Interval of the book, trades and ticker channels (``raw`` needs an authorized connection)."""


MAX_PENDING_REQUESTS = 1_000
"""Requests remembered while their answer is awaited; the oldest is forgotten first
(its answer, if it ever comes, is then treated as one the relay did not ask for)."""

RESOLUTIONS: dict[str, tuple[str, int]] = {
    "1m": ("1", 60_000),
    "3m": ("3", 180_000),
    "5m": ("5", 300_000),
    "10m": ("10", 600_000),
    "15m": ("15", 900_000),
    "30m": ("30", 1_800_000),
    "1h": ("60", 3_600_000),
    "2h": ("120", 7_200_000),
    "3h": ("180", 10_800_000),
    "6h": ("360", 21_600_000),
    "12h": ("720", 43_200_000),
    "1d": ("1D", 86_400_000),
}
"""Relay candle interval -> (Deribit chart resolution, candle length in ms)."""

_BY_RESOLUTION = {resolution: (word, ms) for word, (resolution, ms) in RESOLUTIONS.items()}

LISTING_CURRENCIES = ("BTC", "ETH", "USDC", "USDT")

STALE_WINDOW_CHANGES = 1_000_000_000
"""A book change whose ``change_id`` is at most this far behind the book's is stale
(a duplicate); further behind, a gap. (``change_id`` is venue-wide and advances by
hundreds between two changes of one book, hence the wide window.)"""
"""Currencies whose instruments ``relay instruments`` lists (one request each)."""


class UnsupportedIntervalError(RelayError, ValueError):
    """A subscription's ``candle_interval`` has no Deribit chart resolution.

    Attributes:
        interval: the refused interval (``"4h"``).
    """

    def __init__(self, interval: str) -> None:
        super().__init__(
            f"candle_interval {interval!r} has no Deribit resolution; "
            f"supported: {', '.join(RESOLUTIONS)}"
        )
        self.interval = interval


def _number(field: str, raw: Any) -> Decimal:
    """A JSON number (decoded as Decimal or int) of bounded size; anything else refused."""
    if type(raw) is Decimal:
        exponent = raw.as_tuple().exponent
        if (
            isinstance(exponent, int)
            and -MAX_DECIMAL_EXPONENT <= exponent <= MAX_DECIMAL_EXPONENT
            and -MAX_DECIMAL_EXPONENT <= raw.adjusted() <= MAX_DECIMAL_EXPONENT
        ):
            return raw
        raise InvalidValueError(field, raw, "too many digits")
    if type(raw) is int:
        return parse_decimal(field, raw)
    raise InvalidValueError(field, raw, "expected a number")


def _price(field: str, raw: Any) -> Decimal:
    value = _number(field, raw)
    if value <= 0:
        raise InvalidValueError(field, raw, "expected a price > 0")
    return value


def _quantity(field: str, raw: Any) -> Decimal:
    """A quantity, or a best price where 0 means an empty side: >= 0."""
    value = _number(field, raw)
    if value < 0:
        raise InvalidValueError(field, raw, "expected a value >= 0")
    return value


def _text(field: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise InvalidValueError(field, raw, "expected a non-empty string")
    return raw


_ZERO = Decimal(0)
_ACTIONS = frozenset({"new", "change", "delete"})


def _book_levels(field: str, raw: Any) -> tuple[PriceLevel, ...]:
    """``[["new",0.0015,4714.0],["delete",0.001,0.0]]`` -> ((price, amount), ...); delete -> 0."""
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list of [action, price, amount]")
    levels: list[PriceLevel] = []
    for level in raw:
        if type(level) is not list or len(level) != 3 or level[0] not in _ACTIONS:
            raise InvalidValueError(field, level, "expected [new|change|delete, price, amount]")
        action, price, amount = level
        quantity = _quantity("amount", amount)
        levels.append((_price("price", price), _ZERO if action == "delete" else quantity))
    return tuple(levels)


class DeribitBook:
    """One instrument's book as the relay holds it, and the channel that feeds it.

    Attributes:
        instrument: whose book.
        channel: the book channel this connection subscribes (``book.BTC-PERPETUAL.100ms``).
        state: awaiting a snapshot (at start and after a resync) or synced.
        change_id: the ``change_id`` of the last notification applied.
        snapshot_id: the ``change_id`` of the snapshot the book started from.
    """

    __slots__ = ("book", "change_id", "channel", "instrument", "snapshot_id", "state")

    def __init__(self, instrument: Instrument, channel: str) -> None:
        self.instrument = instrument
        self.channel = channel
        self.state = BookState.AWAITING_SNAPSHOT
        self.book = OrderBook()
        self.change_id = 0
        self.snapshot_id = 0

    def reset(self) -> None:
        """Throw the book away until the next snapshot."""
        self.state = BookState.AWAITING_SNAPSHOT
        self.book = OrderBook()
        self.change_id = 0
        self.snapshot_id = 0


def _request(request_id: int, method: str, params: dict[str, Any]) -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
        separators=(",", ":"),
    )


class DeribitProtocol(VenueProtocol):
    """One Deribit connection (sans-IO): subscribe frames, notifications in, events out.

    Args:
        config: the venue's config (subscriptions, URL override).

    Raises:
        UnsupportedIntervalError: a candle subscription's interval has no Deribit resolution.
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._ws_url = config.ws_url or WS_URL
        self._instruments: dict[str, Instrument] = {}
        self._wanted: dict[str, frozenset[DataType]] = {}
        self._books: dict[str, DeribitBook] = {}
        self._channels: list[str] = []
        self._open_interest: dict[str, Decimal] = {}
        self._pending: dict[int, tuple[str, tuple[str, ...]]] = {}
        self._next_id = 1
        for sub in config.subscriptions:
            name = sub.instrument
            instrument = Instrument(config.id, name, sub.canonical_symbol)
            wanted = frozenset(sub.data_types)
            self._instruments[name] = instrument
            self._wanted[name] = wanted
            if wanted & {DataType.TRADE, DataType.LIQUIDATION}:
                self._channels.append(f"trades.{name}.{NOTIFICATION_INTERVAL}")
            if wanted & {DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST}:
                self._channels.append(f"ticker.{name}.{NOTIFICATION_INTERVAL}")
            if DataType.L2_ORDERBOOK in wanted:
                channel = f"book.{name}.{NOTIFICATION_INTERVAL}"
                self._books[name] = DeribitBook(instrument, channel)
                self._channels.append(channel)
            if DataType.CANDLE in wanted:
                if sub.candle_interval not in RESOLUTIONS:
                    raise UnsupportedIntervalError(sub.candle_interval)
                resolution = RESOLUTIONS[sub.candle_interval][0]
                self._channels.append(f"chart.trades.{name}.{resolution}")

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel this connection subscribes, in subscription order."""
        return tuple(self._channels)

    def ws_url(self) -> str:
        """The JSON-RPC endpoint; channels are subscribed with frames."""
        return self._ws_url

    def _call(self, method: str, params: dict[str, Any]) -> str:
        request_id = self._next_id
        self._next_id += 1
        channels = params.get("channels", ())
        self._pending[request_id] = (method, tuple(channels))
        if len(self._pending) > MAX_PENDING_REQUESTS:
            del self._pending[next(iter(self._pending))]
        return _request(request_id, method, params)

    def subscribe_frames(self) -> Sequence[str]:
        """``public/set_heartbeat`` (30 s), then ``public/subscribe`` frames of at most
        :data:`CHANNELS_PER_SUBSCRIBE` channels each, ids counting from 1.

        Shape::

            {"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":30}}
            {"jsonrpc":"2.0","id":2,"method":"public/subscribe",
             "params":{"channels":["trades.BTC-PERPETUAL.100ms","ticker.BTC-PERPETUAL.100ms",
                                   "book.BTC-PERPETUAL.100ms","chart.trades.BTC-PERPETUAL.1"]}}
        """
        frames = [self._call("public/set_heartbeat", {"interval": HEARTBEAT_INTERVAL_S})]
        for start in range(0, len(self._channels), CHANNELS_PER_SUBSCRIBE):
            chunk = self._channels[start : start + CHANNELS_PER_SUBSCRIBE]
            frames.append(self._call("public/subscribe", {"channels": chunk}))
        return frames

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame: a notification, a request's answer or a heartbeat.

        Shapes (trimmed from ``deribit.jsonl``)::

            {"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.ETH-30JUL21-2800-C.raw",
             "data":{"type":"snapshot","timestamp":1626993723632,"instrument_name":"ETH-30JUL21-2800-C",
             "change_id":13169025645,"bids":[["new",0.0015,4714.0]],"asks":[["new",0.0025,873.0]]}}}
            {"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-24SEP21-8000-P.raw",
             "data":{"type":"change","timestamp":1626993724318,"prev_change_id":33195894164,
             "instrument_name":"BTC-24SEP21-8000-P","change_id":33195894355,"bids":[],
             "asks":[["new",0.001,2.6]]}}}
            {"jsonrpc":"2.0","id":0,"result":["trades.ETH-30JUL21-2800-C.raw",...],"usIn":...}
            {"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}

        Returns:
            The events; for a ``test_request`` heartbeat, a ``public/test`` reply; for
            a broken book, a :class:`BookResync` and its unsubscribe + subscribe frames.

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``stale_update``,
                ``subscribe_error`` or ``request_error``.
        """
        message = wire.exact_object(frame)
        method = message.get("method")
        with FrameErrors(method):
            if method == "subscription":
                params = wire.json_object("params", message["params"])
                channel = _text("channel", params["channel"])
                return self._notification(channel, params["data"], received_at_ms)
            if method == "heartbeat":
                return self._heartbeat(wire.json_object("params", message["params"]))
            if "result" in message or "error" in message:
                return self._answer(message)
        raise FrameError("unknown_event", wire.clip(f"method {wire.brief(method)}"))

    def _heartbeat(self, params: dict[str, Any]) -> FrameOutcome:
        kind = params["type"]
        if kind == "test_request":
            return FrameOutcome([], [], [self._call("public/test", {})])
        if kind == "heartbeat":
            return FrameOutcome([], [], [])
        raise FrameError("unknown_event", wire.clip(f"heartbeat type {wire.brief(kind)}"))

    def _answer(self, message: dict[str, Any]) -> FrameOutcome:
        """A request's answer: acks are empty outcomes; errors and dropped channels raise."""
        request_id = message.get("id")
        pending = self._pending.pop(request_id, None) if type(request_id) is int else None
        method, channels = pending if pending is not None else ("", ())
        if "error" in message:
            reason = "subscribe_error" if method == "public/subscribe" else "request_error"
            raise FrameError(
                reason,
                wire.clip(
                    f"id {wire.brief(request_id)} {wire.label(method)}: "
                    f"{wire.label(message['error'])}"
                ),
            )
        if method == "public/subscribe":
            result = message["result"]
            granted = set(result) if isinstance(result, list) else set()
            missing = [c for c in channels if c not in granted]
            if missing:
                raise FrameError("subscribe_error", wire.clip(f"not subscribed: {missing}"))
        return FrameOutcome([], [], [])

    def _notification(self, channel: str, data: Any, received_at_ms: int) -> FrameOutcome:
        parts = channel.split(".")
        kind = parts[0]
        if kind == "chart" and len(parts) == 4 and parts[1] == "trades":
            return FrameOutcome([self._candle(parts[2], parts[3], data, received_at_ms)], [], [])
        if len(parts) != 3:
            raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
        name = parts[1]
        if kind == "book":
            return self._book(name, wire.json_object("data", data), received_at_ms)
        if kind == "trades":
            return FrameOutcome(self._trades(name, data, received_at_ms), [], [])
        if kind == "ticker":
            ticker = wire.json_object("data", data)
            return FrameOutcome(self._ticker(name, ticker, received_at_ms), [], [])
        raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))

    def _instrument(self, name: str, data_types: frozenset[DataType]) -> Instrument:
        instrument = self._instruments.get(name)
        if instrument is None or not data_types & self._wanted[name]:
            raise FrameError("unsubscribed", f"{name} {sorted(t.value for t in data_types)}")
        return instrument

    def _book(self, name: str, data: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """A book snapshot or change (see the module docstring for the rules)."""
        self._instrument(name, frozenset({DataType.L2_ORDERBOOK}))
        sync = self._books[name]
        kind = data.get("type")
        change_id = wire.integer("change_id", data["change_id"])
        timestamp = wire.integer("timestamp", data["timestamp"])
        bids = _book_levels("bids", data["bids"])
        asks = _book_levels("asks", data["asks"])
        if kind == "snapshot" or (kind is None and "prev_change_id" not in data):
            sync.book.reset(bids, asks)
            sync.state = BookState.SYNCED
            sync.change_id = sync.snapshot_id = change_id
            book_bids, book_asks = sync.book.levels()
            event = MarketEvent(
                sync.instrument,
                DataType.L2_ORDERBOOK,
                received_at_ms,
                timestamp,
                L2Update(book_bids, book_asks, True, change_id, change_id),
                f"snapshot:{change_id}",
            )
            return FrameOutcome([event], [], [])
        if kind not in ("change", None):
            raise InvalidValueError("type", kind, "expected snapshot or change")
        previous = wire.integer("prev_change_id", data["prev_change_id"])
        if sync.state is not BookState.SYNCED:
            return FrameOutcome([], [], [])
        if sync.change_id - STALE_WINDOW_CHANGES <= change_id <= sync.change_id:
            raise FrameError(
                "stale_update", f"{name}: change_id={change_id} <= book's {sync.change_id}"
            )
        if previous != sync.change_id:
            return self._resync(sync, "gap")
        sync.book.apply(bids, asks)
        sync.change_id = change_id
        event = MarketEvent(
            sync.instrument,
            DataType.L2_ORDERBOOK,
            received_at_ms,
            timestamp,
            L2Update(bids, asks, False, change_id, change_id),
            f"{sync.snapshot_id}:{change_id}",
        )
        return FrameOutcome([event], [], [])

    def _resync(self, sync: DeribitBook, reason: str) -> FrameOutcome:
        """Throw the book away; unsubscribe and subscribe its one channel again."""
        return self.resync_books([sync.instrument.instrument], reason)

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); unsubscribe and subscribe their channels.

        The channels go in requests of at most :data:`CHANNELS_PER_SUBSCRIBE`
        each; instruments without a book here are ignored.
        """
        names = (
            list(self._books)
            if instruments is None
            else [n for n in dict.fromkeys(instruments) if n in self._books]
        )
        channels = []
        for name in names:
            self._books[name].reset()
            channels.append(self._books[name].channel)
        chunks = [
            channels[start : start + CHANNELS_PER_SUBSCRIBE]
            for start in range(0, len(channels), CHANNELS_PER_SUBSCRIBE)
        ]
        replies = [self._call("public/unsubscribe", {"channels": c}) for c in chunks]
        replies += [self._call("public/subscribe", {"channels": c}) for c in chunks]
        return FrameOutcome(
            [], [], replies, [BookResync(self._books[name].instrument, reason) for name in names]
        )

    def _trades(self, name: str, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``trades.<instrument>.<interval>``: a list of trades.

        Shape (cryptofeed's ``deribit.py`` docstring; ``liquidation`` per Deribit's docs)::

            [{"trade_seq":933,"trade_id":"9178","timestamp":1550736299753,"tick_direction":3,
              "price":3948.69,"instrument_name":"BTC-PERPETUAL","index_price":3930.73,
              "direction":"sell","amount":10,"liquidation":"M"}]

        The liquidation's side is the liquidated order's: the taker's (``direction``)
        for ``T`` and ``MT``, the maker's (the opposite) for ``M``.
        """
        instrument = self._instrument(name, frozenset({DataType.TRADE, DataType.LIQUIDATION}))
        wanted = self._wanted[name]
        if not isinstance(data, list):
            raise InvalidValueError("data", data, "expected a list of trades")
        events: list[MarketEvent] = []
        for raw in data:
            trade = wire.json_object("trade", raw)
            trade_id = _text("trade_id", trade["trade_id"])
            timestamp = wire.integer("timestamp", trade["timestamp"])
            price = _price("price", trade["price"])
            amount = _quantity("amount", trade["amount"])
            side = sides.side("direction", trade["direction"], "buy", "sell")
            if DataType.TRADE in wanted:
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.TRADE,
                        received_at_ms,
                        timestamp,
                        Trade(trade_id, price, amount, side),
                        trade_id,
                    )
                )
            flag = trade.get("liquidation")
            if flag is not None and DataType.LIQUIDATION in wanted:
                if flag not in ("M", "T", "MT"):
                    raise InvalidValueError("liquidation", flag, "expected M, T or MT")
                liquidated = sides.opposite(side) if flag == "M" else side
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.LIQUIDATION,
                        received_at_ms,
                        timestamp,
                        Liquidation(liquidated, price, amount),
                        trade_id,
                    )
                )
        return events

    def _ticker(self, name: str, data: dict[str, Any], received_at_ms: int) -> list[MarketEvent]:
        """``ticker.<instrument>.<interval>``: best bid/ask, funding (perpetuals), open interest.

        Shape (trimmed from ``deribit.jsonl``; perpetuals add ``funding_8h`` and
        ``current_funding``)::

            {"timestamp":1626993723632,"open_interest":12685.0,"mark_price":0.001972,
             "instrument_name":"ETH-30JUL21-2800-C","index_price":2006.72,
             "best_bid_price":0.0015,"best_bid_amount":4714.0,
             "best_ask_price":0.0025,"best_ask_amount":873.0}

        A best price of 0 (with amount 0) means that side of the book is empty.
        """
        instrument = self._instrument(
            name, frozenset({DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST})
        )
        wanted = self._wanted[name]
        timestamp = wire.integer("timestamp", data["timestamp"])
        events: list[MarketEvent] = []
        if DataType.TICKER in wanted:
            bid = _quantity("best_bid_price", data["best_bid_price"])
            bid_amount = _quantity("best_bid_amount", data["best_bid_amount"])
            ask = _quantity("best_ask_price", data["best_ask_price"])
            ask_amount = _quantity("best_ask_amount", data["best_ask_amount"])
            events.append(
                MarketEvent(
                    instrument,
                    DataType.TICKER,
                    received_at_ms,
                    timestamp,
                    Ticker(bid, bid_amount, ask, ask_amount),
                    f"{timestamp}:{bid}:{bid_amount}:{ask}:{ask_amount}",
                )
            )
        if DataType.FUNDING_RATE in wanted and "funding_8h" in data:
            rate = _number("funding_8h", data["funding_8h"])
            index = data.get("index_price")
            events.append(
                MarketEvent(
                    instrument,
                    DataType.FUNDING_RATE,
                    received_at_ms,
                    timestamp,
                    FundingRate(
                        rate=rate,
                        mark_price=_price("mark_price", data["mark_price"]),
                        index_price=None if index is None else _price("index_price", index),
                    ),
                    f"{timestamp}:{rate}",
                )
            )
        if DataType.OPEN_INTEREST in wanted and "open_interest" in data:
            open_interest = _quantity("open_interest", data["open_interest"])
            if self._open_interest.get(name) != open_interest:
                self._open_interest[name] = open_interest
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.OPEN_INTEREST,
                        received_at_ms,
                        timestamp,
                        OpenInterest(open_interest),
                        f"{timestamp}:{open_interest}",
                    )
                )
        return events

    def _candle(self, name: str, resolution: str, data: Any, received_at_ms: int) -> MarketEvent:
        """``chart.trades.<instrument>.<resolution>``: the current candle, sent while it grows.

        Shape (Deribit's documented example)::

            {"volume":0.05219351,"tick":1573645080000,"open":8869.79,"low":8788.25,
             "high":8870.31,"cost":460,"close":8791.25}

        ``volume`` is in the base currency, ``cost`` in the quote currency.
        """
        instrument = self._instrument(name, frozenset({DataType.CANDLE}))
        if resolution not in _BY_RESOLUTION:
            raise InvalidValueError("resolution", resolution, "not a Deribit chart resolution")
        interval, length_ms = _BY_RESOLUTION[resolution]
        candle = wire.json_object("data", data)
        tick = wire.integer("tick", candle["tick"])
        volume = _quantity("volume", candle["volume"])
        cost = _quantity("cost", candle["cost"])
        high = _price("high", candle["high"])
        low = _price("low", candle["low"])
        close = _price("close", candle["close"])
        return MarketEvent(
            instrument,
            DataType.CANDLE,
            received_at_ms,
            tick,
            Candle(
                interval=interval,
                open_time_ms=tick,
                close_time_ms=tick + length_ms - 1,
                open=_price("open", candle["open"]),
                high=high,
                low=low,
                close=close,
                volume=volume,
                is_closed=False,
                quote_volume=cost,
            ),
            f"{tick}:{volume}:{cost}:{high}:{low}:{close}",
        )


def canonical_symbol(instrument_name: str, kind: str, base: str, quote: str) -> str:
    """The suggested relay symbol of a Deribit instrument.

    ``("BTC-PERPETUAL", "perpetual", "BTC", "USD")`` -> ``"BTC/USD:PERP"``;
    ``("BTC_USDC", "spot", "BTC", "USDC")`` -> ``"BTC/USDC"``;
    ``("BTC-24SEP21-8000-P", "option", ...)`` -> ``"BTC/24SEP21-8000-P"`` (futures alike).
    """
    if kind == "perpetual":
        return f"{base}/{quote}:PERP"
    if kind == "spot":
        return f"{base}/{quote}"
    return instrument_name.replace("-", "/", 1)


def parse_instruments(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse a ``public/get_instruments`` answer; combos are left out.

    Shape (https://docs.deribit.com/api-reference/market-data/public-get_instruments, trimmed)::

        {"jsonrpc":"2.0","id":1,"result":[{"settlement_period":"perpetual","quote_currency":"USD",
          "kind":"future","instrument_name":"BTC-PERPETUAL","base_currency":"BTC",...}]}

    Raises:
        ValueError: not JSON, or a missing or malformed field (InvalidValueError is one).
    """
    try:
        result = orjson.loads(body)["result"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a get_instruments answer: {exc}") from None
    if not isinstance(result, list):
        raise InvalidValueError("result", result, "expected a list")
    listed: list[ListedInstrument] = []
    for raw in result:
        entry = wire.json_object("instrument", raw)
        try:
            name = _text("instrument_name", entry["instrument_name"])
            kind = _text("kind", entry["kind"])
            base = _text("base_currency", entry["base_currency"])
            quote = _text("quote_currency", entry["quote_currency"])
        except KeyError as exc:
            raise ValueError(f"instrument without {exc.args[0]!r}") from None
        if kind.endswith("_combo"):
            continue
        if kind == "future" and entry.get("settlement_period") == "perpetual":
            kind = "perpetual"
        listed.append(ListedInstrument(name, canonical_symbol(name, kind, base, quote), kind))
    return listed


def _build(config: VenueConfig) -> VenueProtocol:
    return DeribitProtocol(config)


_DOCS = "https://docs.deribit.com/"

SPEC = register(
    VenueSpec(
        id="deribit",
        data_types=frozenset(DataType),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=_build,
        docs=(
            _DOCS + "articles/notifications",
            _DOCS + "subscriptions/orderbook/bookinstrument_nameinterval",
            _DOCS + "subscriptions/trades/tradesinstrument_nameinterval",
            _DOCS + "subscriptions/market-data/charttradesinstrument_nameresolution",
            _DOCS + "api-reference/session-management/public-set_heartbeat",
            _DOCS + "api-reference/subscription-management/public-subscribe",
            _DOCS + "api-reference/market-data/public-get_instruments",
        ),
        rest_weight_per_minute=60,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        instrument_listing=InstrumentListing(
            requests=tuple(
                ListingRequest(f"/api/v2/public/get_instruments?currency={currency}")
                for currency in LISTING_CURRENCIES
            ),
            parse=parse_instruments,
        ),
    )
)
"""The ``deribit`` venue."""
