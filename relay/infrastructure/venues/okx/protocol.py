"""OKX v5 public WebSocket: trades, tickers, books, funding, open interest, liquidations, candles.

Sources (the formats parsed here follow these pages, stored copies of OKX's
API documentation, and the recorded session ``okx.jsonl`` in ``shared/captures``):

- Connect, keepalive, subscribe limits: https://www.okx.com/docs-v5/en/#overview-websocket
  and https://www.okx.com/docs-v5/en/#overview-websocket-subscribe
- Order book channel, seqId/prevSeqId, checksum:
  https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
- Trades, tickers, candlesticks (business endpoint):
  https://www.okx.com/docs-v5/en/#order-book-trading-market-data
- Funding rate: https://www.okx.com/docs-v5/en/#public-data-websocket-funding-rate-channel
- Open interest: https://www.okx.com/docs-v5/en/#public-data-websocket-open-interest-channel
  (the page itself was not among the stored copies; the push format ``{"instId","instType",
  "oi","oiCcy","oiUsd","ts"}`` follows cryptofeed's ``okx.py`` and OKX client code)
- Liquidation orders: https://www.okx.com/docs-v5/en/#public-data-websocket-liquidation-orders-channel
- Instruments listing: https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments
- Checksum deprecation: https://www.okx.com/docs-v5/log_en/#2026-06-23

Every push is ``{"arg": {"channel": ..., "instId": ...}, "data": [...]}`` (books add
``"action": "snapshot" | "update"``); acks are ``{"event": "subscribe", "arg": ...}``,
errors ``{"event": "error", "code": ..., "msg": ...}``; the keepalive is the text
``ping`` answered by ``pong``. Candles live on the business endpoint: the venue's
:attr:`VenueSpec.split_connections` (:func:`split_config`) gives candle
subscriptions their own connection to ``.../ws/v5/business``.

Book integrity (one :class:`OkxBook` per instrument; the book is kept with the
venue's original price and size strings):

- ``seqId``/``prevSeqId`` where present: an update's ``prevSeqId`` must equal the
  book's last ``seqId`` (a documented sequence reset, ``seqId < prevSeqId``, still
  chains through ``prevSeqId``); an update with no levels and
  ``seqId == prevSeqId`` is the documented heartbeat and publishes nothing.
  A break is a ``"gap"`` resync.
- CRC32 checksum on every message (snapshot and update) that carries a non-zero
  ``checksum``: the top 25 bids and asks interleaved as
  ``bid1price:bid1size:ask1price:ask1size:...`` (a side with fewer levels just
  stops), from the venue's strings, as a signed 32-bit integer. A mismatch is a
  ``"checksum"`` resync. OKX fixed ``checksum`` to 0 on 2026-06-23 (deprecated in
  favour of seqId): a 0 is not checked; the 2022 recording's checksums all are.
- No crossed-book check: OKX documents that the best ask may be below the best
  bid during the pre-open period.

A resync throws the book away, returns a :class:`BookResync` and the
``unsubscribe`` + ``subscribe`` frames of that one book's channel; updates are
then refused (``awaiting_snapshot``) until the fresh ``snapshot`` arrives, which
is published with ``is_snapshot=True``.

Depth (``depth`` of a subscription) -> channel: 1-5 -> ``books5`` (a 5-level
snapshot every push, published as snapshots); 0 and 6+ -> ``books`` (400 levels,
incremental every 100 ms). ``books50-l2-tbt``/``books-l2-tbt`` need a logged-in
VIP4 account, which a public relay connection is not, so no depth maps to them.

Dedup keys: trade -> ``tradeId``; ticker -> ``ts:bidPx:bidSz:askPx:askSz``;
book snapshot -> ``snapshot:<seqId>`` (``snapshot:<ts>:<checksum>`` without seqId);
book update -> ``<prevSeqId>:<seqId>`` (``<ts>:<checksum>`` without seqId);
books5 -> ``<ts>:<seqId>``; funding -> ``<fundingTime>:<ts>`` (a push without ``ts``:
``<fundingTime>:<fundingRate>:<crc32 of every field>``); open interest ->
``<ts>``; liquidation -> ``<ts>:<side>:<sz>:<bkPx>``; candle ->
``<open ts>:<confirm>:<vol>:<close>``.

Limits: 480 subscribe/unsubscribe requests per connection and hour (a resync
costs 2); a subscribe request's channel list must stay under 64 KB (frames are
cut at :data:`MAX_SUBSCRIBE_BYTES`); fewer than 30 depth channels per connection
are recommended, and one subscription opens at most one, hence
:data:`MAX_SUBSCRIPTIONS_PER_CONNECTION` = 29; 3 connection requests per second
per IP (subscribe frames are paced at :data:`SUBSCRIBE_INTERVAL_S`).

Canonical symbols (:func:`canonical_symbol`): ``BTC-USDT`` -> ``BTC/USDT``,
``UNI-USD-SWAP`` -> ``UNI/USD:PERP``, ``BTC-USD-220527`` -> ``BTC/USD:220527``.

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``subscribe_error``
(an ``error`` event), ``awaiting_snapshot`` (a book update while the book waits
for its snapshot).
"""

from __future__ import annotations

import dataclasses
import datetime
import heapq
import zlib
from collections.abc import Callable, Collection, Sequence
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
    PriceLevel,
    Ticker,
    Trade,
    parse_decimal,
)
from relay.infrastructure.venues.common import sides, wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.wire import (
    DETAIL_CHARS,
    MAX_ID,
)
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
    VenueSpec,
    register,
)

VENUE_ID = "okx"
PUBLIC_WS_URL = "wss://ws.okx.com:8443/ws/v5/public"
BUSINESS_WS_URL = "wss://ws.okx.com:8443/ws/v5/business"
REST_URL = "https://www.okx.com"

CHECKSUM_LEVELS = 25
"""Levels per side in the checksum string."""

PING_INTERVAL_S = 20.0
"""Seconds between two ``ping`` texts; OKX closes a connection silent for 30 s."""

MAX_SUBSCRIBE_BYTES = 60_000
"""Largest subscribe frame sent; OKX limits a request's channel list to 64 KB."""

SUBSCRIBE_INTERVAL_S = 0.4
"""Least time between two subscribe frames (OKX: 3 requests per second)."""

MAX_SUBSCRIPTIONS_PER_CONNECTION = 29
"""OKX recommends fewer than 30 depth channels per connection; one entry opens at most one."""

BOOKS5_MAX_DEPTH = 5
"""A ``depth`` of 1 to 5 maps to ``books5``; 0 and more than 5 to ``books`` (400 levels)."""


BOOK_CHANNELS = frozenset({"books", "books5", "books-l2-tbt", "books50-l2-tbt", "bbo-tbt"})
"""Order book channels this module reads (it subscribes to ``books`` and ``books5``)."""

SNAPSHOT_ONLY_BOOK_CHANNELS = frozenset({"books5", "bbo-tbt"})
"""Book channels whose every push is a whole (short) book, without ``action``."""

_CHANNEL = {
    DataType.TRADE: "trades",
    DataType.TICKER: "tickers",
    DataType.FUNDING_RATE: "funding-rate",
    DataType.OPEN_INTEREST: "open-interest",
}

_BARS = frozenset(
    {
        "1s",
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1H",
        "2H",
        "4H",
        "6H",
        "12H",
        "1D",
        "2D",
        "3D",
        "5D",
        "1W",
        "1M",
        "3M",
        "6Hutc",
        "12Hutc",
        "1Dutc",
        "2Dutc",
        "3Dutc",
        "5Dutc",
        "1Wutc",
        "1Mutc",
        "3Mutc",
    }
)
"""OKX's candle bars (channel ``candle<bar>``)."""
_UNIT_MS = {"s": 1_000, "m": 60_000, "H": 3_600_000, "D": 86_400_000, "W": 7 * 86_400_000}
_UTC8 = datetime.timezone(datetime.timedelta(hours=8))


# --- symbols, channels, URLs ------------------------------------------------------------


def book_channel(depth: int) -> str:
    """The order book channel for a subscription's ``depth`` (see module docstring)."""
    return "books5" if 1 <= depth <= BOOKS5_MAX_DEPTH else "books"


def okx_bar(interval: str) -> str:
    """OKX's bar for a configured candle interval: ``"1h"`` -> ``"1H"``, ``"1m"`` -> ``"1m"``.

    OKX spells hours, days and weeks in capitals (``1m`` is a minute, ``1M`` a
    month); lower-case ``h``, ``d``, ``w`` are raised. Anything else is passed
    on as it is (the venue answers an unknown bar with an error event).
    """
    if interval in _BARS:
        return interval
    if interval[-1:] in ("h", "d", "w"):
        raised = interval[:-1] + interval[-1].upper()
        if raised in _BARS:
            return raised
    return interval


def candle_close_ms(open_ms: int, bar: str) -> int:
    """The last millisecond of a candle opened at ``open_ms``.

    Months are calendar months in UTC+8 (OKX's default alignment) or UTC for
    ``...utc`` bars; other bars have a fixed length.

    Raises:
        InvalidValueError: ``bar`` is not one of OKX's bars.
    """
    core = bar.removesuffix("utc")
    count_text, unit = core[:-1], core[-1:]
    if not count_text.isdigit() or unit not in (*_UNIT_MS, "M"):
        raise InvalidValueError("bar", bar, "not an OKX candle bar")
    count = int(count_text)
    if unit != "M":
        return open_ms + count * _UNIT_MS[unit] - 1
    zone = datetime.UTC if bar.endswith("utc") else _UTC8
    start = datetime.datetime.fromtimestamp(open_ms / 1000, zone)
    months = start.year * 12 + start.month - 1 + count
    end = start.replace(year=months // 12, month=months % 12 + 1)
    return int(end.timestamp() * 1000) - 1


def instrument_type(inst_id: str) -> str:
    """OKX's instType of an instId: ``SWAP``, ``FUTURES``, ``OPTION`` or ``MARGIN`` (spot pairs)."""
    parts = inst_id.split("-")
    if len(parts) == 3 and parts[2] == "SWAP":
        return "SWAP"
    if len(parts) == 3:
        return "FUTURES"
    if len(parts) == 5:
        return "OPTION"
    return "MARGIN"


def canonical_symbol(inst_id: str) -> str:
    """The relay-wide name of an OKX instId.

    ``BTC-USDT`` -> ``BTC/USDT``; ``UNI-USD-SWAP`` -> ``UNI/USD:PERP``;
    ``BTC-USD-220527`` -> ``BTC/USD:220527``; options
    ``BTC-USD-221230-4000-C`` -> ``BTC/USD:221230-4000-C``.

    Raises:
        ValueError: not ``BASE-QUOTE[-...]``.
    """
    parts = inst_id.split("-")
    if len(parts) < 2 or not all(parts):
        raise ValueError(f"not an OKX instrument id: {inst_id!r}")
    pair = f"{parts[0]}/{parts[1]}"
    if len(parts) == 2:
        return pair
    if parts[2:] == ["SWAP"]:
        return f"{pair}:PERP"
    return f"{pair}:{'-'.join(parts[2:])}"


def business_url(ws_url: str) -> str:
    """The business endpoint beside a public one: a trailing ``/public`` becomes ``/business``.

    ``wss://ws.okx.com:8443/ws/v5/public`` -> ``wss://ws.okx.com:8443/ws/v5/business``;
    ``ws://127.0.0.1:9000/okx/ws/v5/public`` -> ``ws://127.0.0.1:9000/okx/ws/v5/business``.
    A URL not ending in ``/public`` is returned unchanged.
    """
    base = ws_url.rstrip("/")
    if base.endswith("/public"):
        return base[: -len("public")] + "business"
    return ws_url


def split_config(config: VenueConfig) -> list[VenueConfig]:
    """The venue config split by endpoint: everything but candles on the public one,
    candles on the business one (``ws_url`` derived with :func:`business_url`).

    Parts without subscriptions are left out.
    """
    public: list[SubscriptionConfig] = []
    business: list[SubscriptionConfig] = []
    for sub in config.subscriptions:
        others = tuple(t for t in sub.data_types if t is not DataType.CANDLE)
        if others:
            public.append(dataclasses.replace(sub, data_types=others))
        if DataType.CANDLE in sub.data_types:
            business.append(dataclasses.replace(sub, data_types=(DataType.CANDLE,)))
    parts: list[VenueConfig] = []
    if public:
        parts.append(dataclasses.replace(config, subscriptions=tuple(public)))
    if business:
        parts.append(
            dataclasses.replace(
                config,
                subscriptions=tuple(business),
                ws_url=business_url(config.ws_url or PUBLIC_WS_URL),
            )
        )
    return parts


# --- the checksum and the book ----------------------------------------------------------


TextLevel = tuple[str, str]
"""(price, size) as the venue wrote them."""


def checksum(bids: Sequence[TextLevel], asks: Sequence[TextLevel]) -> int:
    """OKX's book checksum: CRC32 of the top 25 levels, interleaved, as a signed 32-bit int.

    Args:
        bids: best (highest) first; asks: best (lowest) first; the venue's strings.

    Returns:
        ``crc32("bid1p:bid1s:ask1p:ask1s:bid2p:...")`` in -2**31..2**31-1; a
        side with fewer than 25 levels just stops (documented example:
        bids [3366.1:7], asks [3366.8:9, 3368:8, 3372:8] ->
        ``"3366.1:7:3366.8:9:3368:8:3372:8"``).
    """
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < len(asks):
            parts.append(f"{asks[i][0]}:{asks[i][1]}")
    value = zlib.crc32(":".join(parts).encode())
    return value - 2**32 if value >= 2**31 else value


BookLevel = tuple[Decimal, Decimal, str, str]
"""(price, size, price text, size text) of one received level."""

_Side = dict[Decimal, BookLevel]


class OkxBook:
    """One instrument's book as OKX sends it, with the venue's strings for the checksum.

    Attributes:
        instrument: whose book.
        channel: the subscribed channel (``books`` or ``books5``).
        state: AWAITING_SNAPSHOT until a snapshot arrives (and after a resync), then SYNCED.
        seq_id: the last ``seqId`` applied (None when the venue sends none).
    """

    def __init__(self, instrument: Instrument, channel: str) -> None:
        self.instrument = instrument
        self.channel = channel
        self.state = BookState.AWAITING_SNAPSHOT
        self.seq_id: int | None = None
        self.bids: _Side = {}
        self.asks: _Side = {}

    def reset(self, bids: Sequence[BookLevel], asks: Sequence[BookLevel]) -> None:
        """Replace the book (a snapshot); zero sizes are left out."""
        self.bids = {}
        self.asks = {}
        self.apply(bids, asks)
        self.state = BookState.SYNCED

    def apply(self, bids: Sequence[BookLevel], asks: Sequence[BookLevel]) -> None:
        """Apply received levels: size 0 removes the price, others replace it."""
        apply_levels(self.bids, bids)
        apply_levels(self.asks, asks)

    @property
    def synced(self) -> bool:
        """True once a snapshot is applied, until the next resync."""
        return self.state is BookState.SYNCED

    def clear(self) -> None:
        """Throw the book away; it waits for a new snapshot."""
        self.bids = {}
        self.asks = {}
        self.state = BookState.AWAITING_SNAPSHOT
        self.seq_id = None

    def checksum(self) -> int:
        """:func:`checksum` of the book's top 25 levels (O(levels) selection)."""
        bids = [self.bids[p][2:] for p in heapq.nlargest(CHECKSUM_LEVELS, self.bids)]
        asks = [self.asks[p][2:] for p in heapq.nsmallest(CHECKSUM_LEVELS, self.asks)]
        return checksum(bids, asks)

    def levels(self) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        """(bids best first, asks best first) as Decimals."""
        bids = tuple((p, self.bids[p][1]) for p in sorted(self.bids, reverse=True))
        asks = tuple((p, self.asks[p][1]) for p in sorted(self.asks))
        return bids, asks


# --- field parsers ----------------------------------------------------------------------


def _ms(field: str, raw: Any) -> int:
    """An epoch-ms time sent as a decimal string (``"1652459225464"``)."""
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 18:
        raise InvalidValueError(field, raw, "expected epoch milliseconds as a digit string")
    return int(raw)


def _seq(field: str, raw: Any) -> int:
    """A ``seqId``/``prevSeqId``: a JSON integer in -1..2**63-1 (snapshots send -1)."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not -1 <= raw <= MAX_ID:
        raise InvalidValueError(field, raw, "expected an integer in -1..2**63-1")
    return raw


def _book_levels(field: str, raw: Any) -> tuple[BookLevel, ...]:
    """``[["30238.8", "2", "0", "1"], ...]`` -> ((price > 0, size >= 0, texts), ...)."""
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list of levels")
    levels: list[BookLevel] = []
    append = levels.append
    for level in raw:
        if type(level) is not list or len(level) < 2:
            raise InvalidValueError(field, level, "expected [price, size, ...]")
        price, size = level[0], level[1]
        append((wire.price("price", price), wire.quantity("size", size), price, size))
    return tuple(levels)


def _data_objects(data: list[Any]) -> list[dict[str, Any]]:
    for entry in data:
        if not isinstance(entry, dict):
            raise InvalidValueError("data", entry, "expected an object")
    return data


_EMPTY_EVENTS = frozenset({"subscribe", "unsubscribe", "notice", "channel-conn-count"})
_ERROR_EVENTS = frozenset({"error", "channel-conn-count-error"})


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def _op_frames(op: str, args: Sequence[dict[str, str]]) -> list[str]:
    """``{"op": op, "args": [...]}`` frames carrying ``args``, each under
    :data:`MAX_SUBSCRIBE_BYTES`."""
    frames: list[str] = []
    batch: list[dict[str, str]] = []
    size = 0
    overhead = len(f'{{"op":"{op}","args":[]}}')
    for arg in args:
        arg_bytes = len(_dumps(arg)) + 1
        if batch and overhead + size + arg_bytes > MAX_SUBSCRIBE_BYTES:
            frames.append(_dumps({"op": op, "args": batch}))
            batch, size = [], 0
        batch.append(arg)
        size += arg_bytes
    if batch:
        frames.append(_dumps({"op": op, "args": batch}))
    return frames


# --- the protocol -----------------------------------------------------------------------


class OkxProtocol(VenueProtocol):
    """One OKX connection, public or business (sans-IO).

    Args:
        config: this connection's config (after :func:`split_config`); its
            ``ws_url`` or :data:`PUBLIC_WS_URL` is connected to, and every data
            type of every subscription is subscribed there.
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._url = config.ws_url or PUBLIC_WS_URL
        self._instruments: dict[str, Instrument] = {}
        self._wanted: dict[str, frozenset[DataType]] = {}
        self._books: dict[str, OkxBook] = {}
        self._args: list[dict[str, str]] = []
        seen: set[tuple[str, str]] = set()

        def add(arg: dict[str, str]) -> None:
            key = (arg["channel"], arg.get("instId") or arg.get("instType", ""))
            if key not in seen:
                seen.add(key)
                self._args.append(arg)

        for sub in config.subscriptions:
            inst_id = sub.instrument
            instrument = Instrument(config.id, inst_id, sub.canonical_symbol)
            self._instruments[inst_id] = instrument
            self._wanted[inst_id] = frozenset(sub.data_types)
            for data_type in sub.data_types:
                if data_type is DataType.L2_ORDERBOOK:
                    channel = book_channel(sub.depth)
                    self._books[inst_id] = OkxBook(instrument, channel)
                    add({"channel": channel, "instId": inst_id})
                elif data_type is DataType.CANDLE:
                    add({"channel": f"candle{okx_bar(sub.candle_interval)}", "instId": inst_id})
                elif data_type is DataType.LIQUIDATION:
                    add({"channel": "liquidation-orders", "instType": instrument_type(inst_id)})
                else:
                    add({"channel": _CHANNEL[data_type], "instId": inst_id})
        self._handlers: dict[str, Callable[[dict[str, Any], int], MarketEvent]] = {
            "trades": self._trade,
            "tickers": self._ticker,
            "funding-rate": self._funding,
            "open-interest": self._open_interest,
        }

    @property
    def books(self) -> dict[str, OkxBook]:
        """instId -> its book (for tests and diagnostics)."""
        return self._books

    def ws_url(self) -> str:
        """The configured endpoint (public, or business for the candle part)."""
        return self._url

    def subscribe_args(self) -> list[dict[str, str]]:
        """Every ``{"channel", "instId" | "instType"}`` this connection subscribes to."""
        return list(self._args)

    def subscribe_frames(self) -> Sequence[str]:
        """``{"op":"subscribe","args":[...]}`` frames, each under :data:`MAX_SUBSCRIBE_BYTES`."""
        return _op_frames("subscribe", self._args)

    def keepalive(self) -> Keepalive | None:
        """The text ``ping`` every :data:`PING_INTERVAL_S` (OKX drops a connection silent 30 s)."""
        return Keepalive(PING_INTERVAL_S, "ping")

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame.

        Shapes (trimmed from ``okx.jsonl``)::

            pong
            {"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}
            {"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",
             "tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}
            {"arg":{"channel":"books","instId":"BTC-USD-220527"},"action":"update","data":[{
             "asks":[["30249.4","0","0","0"],["30261","4","0","1"]],"bids":[["30182.6","452","0","1"]],
             "ts":"1652459225464","checksum":-914047754}]}

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``subscribe_error``,
                ``awaiting_snapshot``.
        """
        if frame == "pong" or frame == b"pong":
            return FrameOutcome([], [], [])
        message = wire.frame_object(frame)
        event = message.get("event")
        if event is not None:
            if type(event) is not str:  # a list or an object is not hashable
                raise FrameError("unknown_event", wire.clip(f"event {wire.brief(event)}"))
            if event in _EMPTY_EVENTS:
                return FrameOutcome([], [], [])
            if event in _ERROR_EVENTS:
                raise FrameError(
                    "subscribe_error",
                    wire.clip(
                        f"{event} {wire.label(message.get('code'))}: "
                        f"{wire.label(message.get('msg', ''))}"
                    ),
                )
            raise FrameError("unknown_event", wire.clip(f"event {wire.brief(event)}"))
        arg = message.get("arg")
        data = message.get("data")
        if not isinstance(arg, dict) or not isinstance(data, list):
            raise FrameError("unknown_event", wire.clip(f"no arg/data: {str(frame)[:80]}"))
        channel = arg.get("channel")
        if not isinstance(channel, str):
            raise FrameError("unknown_event", wire.clip(f"no channel: {str(frame)[:80]}"))
        with FrameErrors(channel):
            if channel in BOOK_CHANNELS:
                return self._book(arg, channel, message, data, received_at_ms)
            if channel.startswith("candle"):
                return FrameOutcome(self._candles(arg, channel, data, received_at_ms), [], [])
            if channel == "liquidation-orders":
                return FrameOutcome(self._liquidations(data, received_at_ms), [], [])
            handler = self._handlers.get(channel)
            if handler is None:
                raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
            events = [handler(entry, received_at_ms) for entry in _data_objects(data)]
        return FrameOutcome(events, [], [])

    def _instrument(self, inst_id: Any, data_type: DataType) -> Instrument:
        instrument = self._instruments.get(inst_id) if isinstance(inst_id, str) else None
        if instrument is None or data_type not in self._wanted[inst_id]:
            raise FrameError("unsubscribed", wire.clip(f"{wire.label(inst_id)} {data_type.value}"))
        return instrument

    # books

    def _book(
        self,
        arg: dict[str, Any],
        channel: str,
        message: dict[str, Any],
        data: list[Any],
        received_at_ms: int,
    ) -> FrameOutcome:
        instrument = self._instrument(arg.get("instId"), DataType.L2_ORDERBOOK)
        book = self._books[instrument.instrument]
        if channel != book.channel:
            raise FrameError("unsubscribed", f"{instrument.instrument} {wire.label(channel)}")
        events: list[MarketEvent] = []
        snapshot_only = channel in SNAPSHOT_ONLY_BOOK_CHANNELS
        action = message.get("action")
        if not snapshot_only and action not in ("snapshot", "update"):
            raise InvalidValueError("action", action, "expected snapshot or update")
        for entry in _data_objects(data):
            if snapshot_only:
                self._short_snapshot(book, entry, received_at_ms, events)
                continue
            if action == "update" and book.state is not BookState.SYNCED:
                raise FrameError("awaiting_snapshot", f"{instrument.instrument}: update dropped")
            reason = self._apply(book, entry, action == "snapshot", received_at_ms, events)
            if reason is not None:
                return self._resync(book, reason, events)
        return FrameOutcome(events, [], [])

    def _apply(
        self,
        book: OkxBook,
        entry: dict[str, Any],
        is_snapshot: bool,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> str | None:
        """Apply one snapshot or update; append its event; return a resync reason or None."""
        bids = _book_levels("bids", entry["bids"])
        asks = _book_levels("asks", entry["asks"])
        ts = _ms("ts", entry["ts"])
        seq = _seq("seqId", entry["seqId"]) if "seqId" in entry else None
        prev = _seq("prevSeqId", entry["prevSeqId"]) if "prevSeqId" in entry else None
        venue_checksum = entry.get("checksum")
        if venue_checksum is not None and (
            isinstance(venue_checksum, bool)
            or not isinstance(venue_checksum, int)
            or not -(2**31) <= venue_checksum < 2**31
        ):
            raise InvalidValueError("checksum", venue_checksum, "expected a signed 32-bit int")
        if is_snapshot:
            book.reset(bids, asks)
        else:
            if prev is not None and book.seq_id is not None and prev != book.seq_id:
                return "gap"
            book.apply(bids, asks)
        if seq is not None:
            book.seq_id = seq
        if venue_checksum and book.checksum() != venue_checksum:
            return "checksum"
        instrument = book.instrument
        if is_snapshot:
            book_bids, book_asks = book.levels()
            key = f"snapshot:{seq}" if seq is not None else f"snapshot:{ts}:{venue_checksum}"
            payload = L2Update(book_bids, book_asks, True, seq, seq)
        elif not bids and not asks:
            return None  # a heartbeat (seqId == prevSeqId) or an empty update: nothing changed
        else:
            key = f"{prev}:{seq}" if seq is not None else f"{ts}:{venue_checksum}"
            payload = L2Update(
                tuple(level[:2] for level in bids),
                tuple(level[:2] for level in asks),
                False,
                seq,
                seq,
            )
        events.append(
            MarketEvent(instrument, DataType.L2_ORDERBOOK, received_at_ms, ts, payload, key)
        )
        return None

    def _short_snapshot(
        self,
        book: OkxBook,
        entry: dict[str, Any],
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> None:
        """``books5``: every push is the whole 5-level book, published as a snapshot."""
        bids = _book_levels("bids", entry["bids"])
        asks = _book_levels("asks", entry["asks"])
        ts = _ms("ts", entry["ts"])
        seq = _seq("seqId", entry["seqId"]) if "seqId" in entry else None
        book.reset(bids, asks)
        book.seq_id = seq
        book_bids, book_asks = book.levels()
        events.append(
            MarketEvent(
                book.instrument,
                DataType.L2_ORDERBOOK,
                received_at_ms,
                ts,
                L2Update(book_bids, book_asks, True, seq, seq),
                f"{ts}:{seq}",
            )
        )

    def _resync(self, book: OkxBook, reason: str, events: list[MarketEvent]) -> FrameOutcome:
        """Throw ``book`` away; unsubscribe and subscribe its channel again."""
        outcome = self.resync_books([book.instrument.instrument], reason)
        outcome.events = events
        return outcome

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); unsubscribe and subscribe their channels.

        The unsubscribe frames (then the subscribe frames) carry every book's
        channel, each under :data:`MAX_SUBSCRIBE_BYTES`; instruments without a
        book here are ignored.
        """
        books = (
            list(self._books.values())
            if instruments is None
            else [self._books[i] for i in dict.fromkeys(instruments) if i in self._books]
        )
        if not books:
            return FrameOutcome([], [], [])
        args = []
        for book in books:
            book.clear()
            args.append({"channel": book.channel, "instId": book.instrument.instrument})
        replies = _op_frames("unsubscribe", args) + _op_frames("subscribe", args)
        return FrameOutcome([], [], replies, [BookResync(b.instrument, reason) for b in books])

    # other channels

    def _trade(self, entry: dict[str, Any], received_at_ms: int) -> MarketEvent:
        """``trades``: one event per entry; the dedup key is ``tradeId``."""
        instrument = self._instrument(entry["instId"], DataType.TRADE)
        trade_id = wire.text("tradeId", entry["tradeId"])
        if not trade_id:
            raise InvalidValueError("tradeId", trade_id, "empty")
        return MarketEvent(
            instrument,
            DataType.TRADE,
            received_at_ms,
            _ms("ts", entry["ts"]),
            Trade(
                trade_id,
                wire.price("px", entry["px"]),
                wire.quantity("sz", entry["sz"]),
                sides.side("side", entry["side"], "buy", "sell"),
            ),
            trade_id,
        )

    def _ticker(self, entry: dict[str, Any], received_at_ms: int) -> MarketEvent:
        """``tickers`` -> best bid/ask (``bidPx``, ``bidSz``, ``askPx``, ``askSz``)."""
        instrument = self._instrument(entry["instId"], DataType.TICKER)
        ts = _ms("ts", entry["ts"])
        bid_px, bid_sz = entry["bidPx"], entry["bidSz"]
        ask_px, ask_sz = entry["askPx"], entry["askSz"]
        return MarketEvent(
            instrument,
            DataType.TICKER,
            received_at_ms,
            ts,
            Ticker(
                wire.price("bidPx", bid_px),
                wire.quantity("bidSz", bid_sz),
                wire.price("askPx", ask_px),
                wire.quantity("askSz", ask_sz),
            ),
            f"{ts}:{bid_px}:{bid_sz}:{ask_px}:{ask_sz}",
        )

    def _funding(self, entry: dict[str, Any], received_at_ms: int) -> MarketEvent:
        """``funding-rate``: ``fundingRate`` due at ``fundingTime``."""
        instrument = self._instrument(entry["instId"], DataType.FUNDING_RATE)
        funding_time = _ms("fundingTime", entry["fundingTime"])
        ts = _ms("ts", entry["ts"]) if "ts" in entry else None
        rate_text = entry["fundingRate"]
        crc = None
        if ts is None:  # every field, so that a rate coming back is not taken for a re-send
            crc = zlib.crc32("|".join(f"{k}={entry[k]}" for k in sorted(entry)).encode())
        return MarketEvent(
            instrument,
            DataType.FUNDING_RATE,
            received_at_ms,
            ts,
            FundingRate(
                rate=parse_decimal("fundingRate", rate_text),
                next_funding_time_ms=funding_time,
            ),
            f"{funding_time}:{ts}" if ts is not None else f"{funding_time}:{rate_text}:{crc}",
        )

    def _open_interest(self, entry: dict[str, Any], received_at_ms: int) -> MarketEvent:
        """``open-interest``: ``oi`` (contracts)."""
        instrument = self._instrument(entry["instId"], DataType.OPEN_INTEREST)
        ts = _ms("ts", entry["ts"])
        return MarketEvent(
            instrument,
            DataType.OPEN_INTEREST,
            received_at_ms,
            ts,
            OpenInterest(wire.quantity("oi", entry["oi"])),
            str(ts),
        )

    def _liquidations(self, data: list[Any], received_at_ms: int) -> list[MarketEvent]:
        """``liquidation-orders`` (one channel per instType): events for subscribed instIds only.

        Raises:
            FrameError: ``unsubscribed`` when no entry is of a subscribed instrument.
        """
        events: list[MarketEvent] = []
        skipped: list[str] = []
        for entry in _data_objects(data):
            inst_id = entry["instId"]
            instrument = self._instruments.get(inst_id) if isinstance(inst_id, str) else None
            if instrument is None or DataType.LIQUIDATION not in self._wanted[inst_id]:
                skipped.append(str(inst_id))
                continue
            details = entry["details"]
            if not isinstance(details, list):
                raise InvalidValueError("details", details, "expected a list")
            for detail in _data_objects(details):
                ts = _ms("ts", detail["ts"])
                side = sides.side("side", detail["side"], "buy", "sell")
                size, price = detail["sz"], detail["bkPx"]
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.LIQUIDATION,
                        received_at_ms,
                        ts,
                        Liquidation(side, wire.price("bkPx", price), wire.quantity("sz", size)),
                        f"{ts}:{side.value}:{size}:{price}",
                    )
                )
        if not events and skipped:
            raise FrameError("unsubscribed", wire.clip(f"liquidation-orders {', '.join(skipped)}"))
        return events

    def _candles(
        self, arg: dict[str, Any], channel: str, data: list[Any], received_at_ms: int
    ) -> list[MarketEvent]:
        """``candle<bar>``: ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`` rows."""
        instrument = self._instrument(arg.get("instId"), DataType.CANDLE)
        bar = channel.removeprefix("candle")
        events = []
        for row in data:
            if not isinstance(row, list) or len(row) < 6:
                raise InvalidValueError("data", row, "expected [ts, o, h, l, c, vol, ...]")
            open_ms = _ms("ts", row[0])
            confirm = row[8] if len(row) > 8 else "0"
            if confirm not in ("0", "1"):
                raise InvalidValueError("confirm", confirm, "expected 0 or 1")
            events.append(
                MarketEvent(
                    instrument,
                    DataType.CANDLE,
                    received_at_ms,
                    None,
                    Candle(
                        interval=bar,
                        open_time_ms=open_ms,
                        close_time_ms=candle_close_ms(open_ms, bar),
                        open=wire.price("o", row[1]),
                        high=wire.price("h", row[2]),
                        low=wire.price("l", row[3]),
                        close=wire.price("c", row[4]),
                        volume=wire.quantity("vol", row[5]),
                        is_closed=confirm == "1",
                        quote_volume=wire.quantity("volCcyQuote", row[7]) if len(row) > 7 else None,
                    ),
                    f"{open_ms}:{confirm}:{row[5]}:{row[4]}",
                )
            )
        return events


"""price -> the level as recorded (``["30238.8", "2", "0", "1"]``)."""


# --- instrument listing and registration ------------------------------------------------

_KINDS = {"SPOT": "spot", "SWAP": "perpetual", "FUTURES": "future"}

LISTING_REQUESTS = tuple(
    ListingRequest(f"/api/v5/public/instruments?instType={inst_type}")
    for inst_type in ("SPOT", "SWAP", "FUTURES")
)
"""Spot, perpetual and expiry futures listings (options need an instFamily each: not listed)."""


def parse_listing(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse ``GET /api/v5/public/instruments`` (``{"code":"0","data":[{"instId",...}]}``).

    Raises:
        ValueError: not JSON, a non-zero ``code``, or entries without a usable ``instId``.
    """
    answer = orjson.loads(body)
    if not isinstance(answer, dict) or answer.get("code") != "0":
        raise ValueError(f"OKX instruments answer: {str(answer)[:DETAIL_CHARS]}")
    data = answer.get("data")
    if not isinstance(data, list):
        raise ValueError("OKX instruments answer without a data list")
    listed = []
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("instId"), str):
            raise ValueError(f"OKX instrument without instId: {str(entry)[:DETAIL_CHARS]}")
        inst_id = entry["instId"]
        kind = _KINDS.get(str(entry.get("instType")), "option")
        listed.append(ListedInstrument(inst_id, canonical_symbol(inst_id), kind))
    return listed


register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(DataType),
        default_ws_url=PUBLIC_WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=OkxProtocol,
        docs=(
            "https://www.okx.com/docs-v5/en/#overview-websocket",
            "https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel",
            "https://www.okx.com/docs-v5/en/#order-book-trading-market-data",
            "https://www.okx.com/docs-v5/en/#public-data-websocket-funding-rate-channel",
            "https://www.okx.com/docs-v5/en/#public-data-websocket-open-interest-channel",
            "https://www.okx.com/docs-v5/en/#public-data-websocket-liquidation-orders-channel",
            "https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments",
        ),
        rest_weight_per_minute=600,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        split_connections=split_config,
        instrument_listing=InstrumentListing(LISTING_REQUESTS, parse_listing),
    )
)
