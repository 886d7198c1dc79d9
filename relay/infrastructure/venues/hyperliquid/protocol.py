"""Hyperliquid public WebSocket (perpetuals and spot): trades, bbo, l2Book, activeAssetCtx, candle.

Sources (no recorded session of this venue exists in ``shared/captures``; the
formats parsed here follow these pages):

- Subscriptions, channel names and the data types ``WsTrade``, ``WsBook``,
  ``WsBbo``, ``WsLevel``, ``Candle``, ``WsActiveAssetCtx``:
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions
- The connection URL and the ``subscriptionResponse`` acknowledgement:
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket
- Keepalive (the server closes a connection it has not heard from in 60 s;
  ``{"method":"ping"}`` is answered by ``{"channel":"pong"}``):
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/timeouts-and-heartbeats
- Limits per IP (1000 WebSocket subscriptions, 2000 messages sent per minute
  across all connections, REST weight 1200 per minute):
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits
- Documented example bodies: the ``l2Book`` snapshot and ``candleSnapshot``
  responses of the info endpoint (the same ``WsBook`` / ``Candle`` shapes,
  prices as strings):
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint ;
  ``meta`` and ``metaAndAssetCtxs`` (asset contexts with ``funding``,
  ``openInterest``, ``markPx``, ``oraclePx`` as strings):
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/perpetuals ;
  ``spotMeta``: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/spot
- The error frame ``{"channel":"error","data":"<text>"}`` is not on those
  pages; its shape is the one ccxt's Hyperliquid adapter quotes (``ccxt/ccxt``,
  ``ts/src/pro/hyperliquid.ts``, ``handleErrorMessage``).

The TypeScript types of the subscriptions page declare ``Candle`` prices and
the asset context fields as ``number``, while the documented example bodies
send them as strings. Both are accepted: those two (low-rate) channels are
decoded by :func:`relay.infrastructure.venues.common.wire.exact_object`
(``parse_float=Decimal``), so a JSON number keeps
the venue's digits; every other channel must send strings (``px``, ``sz``).

One subscription per channel and coin, one subscribe frame each (the venue has
no batch subscribe): a config entry opens at most five: ``trades`` (trade),
``bbo`` (ticker), ``l2Book`` (l2_orderbook), ``activeAssetCtx`` (funding_rate
and open_interest, shared) and ``candle`` (candle, the entry's
``candle_interval``; the venue offers 1m 3m 5m 15m 30m 1h 2h 4h 8h 12h 1d 3d
1w 1M and answers any other with an error frame).

Book integrity: every ``l2Book`` message is a full snapshot of the top levels
(``WsBook``: "Snapshot feed, pushed on each block that is at least 0.5 since
last push"), so each accepted message is published as an ``is_snapshot=True``
:class:`~relay.domain.model.L2Update` holding exactly the venue's levels. A
snapshot is accepted only when its bids are strictly descending, its asks
strictly ascending, every size is > 0 and the best bid is below the best ask;
otherwise it is refused as ``invalid_value`` and the previous published book
stands until the next snapshot. A message whose ``time`` is not newer than the
last accepted one of the same channel and coin (``l2Book``, ``bbo``) is stale or
repeated: it is skipped as ``stale_update`` and nothing is published (unless it
is more than :data:`STALE_WINDOW_MS` older: then the last one's time came from a
corrupted frame, 2**63-1 say, and would otherwise make every later message stale;
the message is taken; likewise a candle more than :data:`STALE_CANDLE_WINDOW_MS`
older than the held one). No
resync is ever needed for the venue's sake, so frames give no
:class:`~relay.application.ports.BookResync`: the next snapshot replaces the
book whole. A resync asked for by the relay (:meth:`HyperliquidProtocol.resync_books`)
forgets the book's last ``time``, so the next message is published whatever
its time, and is reported as a ``BookResync`` to be counted.

Depth: ``l2Book`` has a fixed number of levels per side (20, aggregated at full
price precision: no ``nSigFigs`` is sent, ``nSigFigs`` only coarsens prices).
Every ``depth`` maps to that one channel: 0 and 1..20 give the 20-level book,
a depth above 20 is capped at 20 (the public WebSocket offers nothing deeper).

Canonical symbols: perpetuals are margined and settled in USDC, so the coin
``BTC`` is ``BTC/USDC:PERP``; a spot pair is ``BASE/QUOTE`` from its tokens
(``PURR/USDC``, or ``HFUN/USDC`` for the pair the venue calls ``@1``).

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``stale_update``,
``subscribe_error`` (an ``error`` frame) and ``one_sided_book`` (a ``bbo``
with a missing side, which a ticker cannot express).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, Keepalive, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    MarketEvent,
    OpenInterest,
    PriceLevel,
    Ticker,
    Trade,
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

VENUE_ID = "hyperliquid"
WS_URL = "wss://api.hyperliquid.xyz/ws"
REST_URL = "https://api.hyperliquid.xyz"

PING_INTERVAL_S = 30.0
"""Half the venue's 60 s idle timeout."""

PING_FRAME = '{"method":"ping"}'

MAX_SUBSCRIPTIONS_PER_IP = 1000
"""The venue's limit of WebSocket subscriptions per IP address."""

CHANNELS_PER_ENTRY = 5
"""Most venue subscriptions one config entry opens (trades, bbo, l2Book, activeAssetCtx, candle)."""

MAX_ENTRIES_PER_CONNECTION = MAX_SUBSCRIPTIONS_PER_IP // CHANNELS_PER_ENTRY

SUBSCRIBE_INTERVAL_S = 0.05
"""20 subscribe frames per second, 1200 per minute: well inside the venue's 2000
messages per minute per IP, leaving room for pings, resubscribes and a second
connection."""


_DECIMAL_CHANNELS = frozenset({"candle", "activeAssetCtx"})
"""Channels whose numbers may be JSON numbers (see the module docstring)."""


def _level(field: str, raw: Any) -> PriceLevel:
    """``{"px": "113377.0", "sz": "7.6699", "n": 17}`` -> (price > 0, size > 0)."""
    if type(raw) is not dict:
        raise InvalidValueError(field, raw, "expected a {px, sz, n} level")
    price = raw["px"]
    size = raw["sz"]
    value, quantity = wire.price("px", price), wire.quantity("sz", size)
    if not quantity:
        raise InvalidValueError("sz", size, "expected a size > 0 in a snapshot level")
    return value, quantity


def _book_side(field: str, raw: Any, descending: bool) -> tuple[PriceLevel, ...]:
    """One side of ``levels``, best first, strictly ordered (bids down, asks up)."""
    if type(raw) is not list:
        raise InvalidValueError(field, raw, "expected a list of levels")
    levels = tuple(_level(field, level) for level in raw)
    for (before, _), (after, _) in itertools.pairwise(levels):
        if (after >= before) if descending else (after <= before):
            raise InvalidValueError(field, str(after), f"out of order after {before}")
    return levels


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What one config entry asked for."""

    instrument: Instrument
    data_types: frozenset[DataType]
    candle_interval: str


def subscriptions_for(config: VenueConfig) -> list[dict[str, str]]:
    """The venue subscription objects of a config, in subscribe order.

    ``[{"type": "trades", "coin": "BTC"}, {"type": "bbo", "coin": "BTC"}, ...]``;
    funding_rate and open_interest share one ``activeAssetCtx``.
    """
    result: list[dict[str, str]] = []
    for sub in config.subscriptions:
        coin = sub.instrument
        wanted = set(sub.data_types)
        if DataType.TRADE in wanted:
            result.append({"type": "trades", "coin": coin})
        if DataType.TICKER in wanted:
            result.append({"type": "bbo", "coin": coin})
        if DataType.L2_ORDERBOOK in wanted:
            result.append({"type": "l2Book", "coin": coin})
        if wanted & {DataType.FUNDING_RATE, DataType.OPEN_INTEREST}:
            result.append({"type": "activeAssetCtx", "coin": coin})
        if DataType.CANDLE in wanted:
            result.append({"type": "candle", "coin": coin, "interval": sub.candle_interval})
    return result


def subscribe_frame(subscription: dict[str, str], method: str = "subscribe") -> str:
    """``{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}``."""
    return orjson.dumps({"method": method, "subscription": subscription}).decode()


def context_digest(ctx: dict[str, Any]) -> str:
    """16 hex digits of BLAKE2b over an asset context's fields, sorted by name.

    Each value is written with ``str`` (a JSON string as sent, a number as the
    Decimal it was decoded to, ``impactPxs`` as its list), so the same frame
    always gives the same digest, whichever order its fields came in.
    """
    text = "|".join(f"{name}={ctx[name]}" for name in sorted(ctx))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


STALE_WINDOW_MS = 600_000
"""An ``l2Book`` or ``bbo`` message at most this much older than the last accepted one is stale;
older still, the last one is the untrustworthy one (10 minutes: more than any
out-of-order delivery)."""

STALE_CANDLE_WINDOW_MS = 400 * 86_400_000
"""A candle opening at most this much before the held one is stale (400 days: a
monthly candle one interval back is stale; 2**63-1 ms from a corrupted frame is not
a time the venue could have sent, and the next real candle is taken)."""


class HyperliquidProtocol(VenueProtocol):
    """One Hyperliquid WebSocket connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL override).
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._wanted: dict[str, _Wanted] = {}
        for sub in config.subscriptions:
            self._wanted[sub.instrument] = _Wanted(
                Instrument(config.id, sub.instrument, sub.canonical_symbol),
                frozenset(sub.data_types),
                sub.candle_interval,
            )
        self._last_time_ms: dict[tuple[str, str], int] = {}
        self._candles: dict[str, Candle] = {}
        self._handlers: dict[str, Callable[[Any, int], list[MarketEvent]]] = {
            "trades": self._trades,
            "l2Book": self._book,
            "bbo": self._bbo,
            "activeAssetCtx": self._asset_ctx,
            "candle": self._candle,
        }

    def ws_url(self) -> str:
        """The configured URL, or ``wss://api.hyperliquid.xyz/ws``."""
        return self._config.ws_url or WS_URL

    def subscribe_frames(self) -> Sequence[str]:
        """One subscribe frame per venue subscription (see :func:`subscriptions_for`)."""
        return [subscribe_frame(s) for s in subscriptions_for(self._config)]

    def keepalive(self) -> Keepalive:
        """``{"method":"ping"}`` every 30 s (the server drops connections idle for 60 s)."""
        return Keepalive(PING_INTERVAL_S, PING_FRAME)

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame ``{"channel": <name>, "data": ...}``.

        Shapes (the ``WsBook`` and ``Candle`` bodies are the info endpoint's
        documented examples; ``WsTrade`` / ``WsBbo`` follow the subscriptions
        page's types)::

            {"channel":"trades","data":[{"coin":"BTC","side":"B","px":"64411.0","sz":"0.31377",
             "time":1781416943647,"hash":"0x7f58...","tid":828642708897583,"users":["0x..","0x.."]}]}
            {"channel":"l2Book","data":{"coin":"BTC","time":1754450974231,"levels":[
             [{"px":"113377.0","sz":"7.6699","n":17}],[{"px":"113397.0","sz":"0.11543","n":3}]]}}
            {"channel":"bbo","data":{"coin":"BTC","time":1754450974231,
             "bbo":[{"px":"113377.0","sz":"7.6699","n":17},{"px":"113397.0","sz":"0.11543","n":3}]}}
            {"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0000125",
             "openInterest":"688.11","markPx":"14.3161","oraclePx":"14.32",...}}}
            {"channel":"candle","data":{"t":1681923600000,"T":1681924499999,"s":"BTC","i":"15m",
             "o":"29295.0","c":"29258.0","h":"29309.0","l":"29250.0","v":"0.98639","n":189}}
            {"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{...}}}
            {"channel":"pong"}

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``stale_update``,
                ``subscribe_error`` or ``one_sided_book``.
        """
        message = wire.frame_object(frame)
        channel = message.get("channel")
        if channel == "pong" or channel == "subscriptionResponse":
            return FrameOutcome([], [], [])
        if channel == "error":
            raise FrameError("subscribe_error", wire.label(message.get("data")))
        handler = self._handlers.get(channel) if isinstance(channel, str) else None
        if handler is None:
            raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
        if channel in _DECIMAL_CHANNELS:
            message = wire.exact_object(frame)
        with FrameErrors(channel):
            events = handler(message["data"], received_at_ms)
        return FrameOutcome(events, [], [])

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Forget the named books' last ``time`` (all when None) and report their resyncs.

        Every ``l2Book`` message is a whole book, so nothing is asked of the
        venue: the next one (even one not newer than the last accepted) is
        published as the book. Coins without a book here are ignored.
        """
        books = [
            wanted.instrument
            for coin, wanted in self._wanted.items()
            if DataType.L2_ORDERBOOK in wanted.data_types
            and (instruments is None or coin in instruments)
        ]
        for instrument in books:
            self._last_time_ms.pop(("l2Book", instrument.instrument), None)
        return FrameOutcome([], [], [], [BookResync(instrument, reason) for instrument in books])

    def _wanted_for(self, coin: Any, data_type: DataType) -> _Wanted:
        wanted = self._wanted.get(coin) if isinstance(coin, str) else None
        if wanted is None or data_type not in wanted.data_types:
            raise FrameError("unsubscribed", wire.clip(f"{wire.label(coin)} {data_type.value}"))
        return wanted

    def _newer(self, channel: str, coin: str, time_ms: int) -> None:
        """Raise ``stale_update`` when ``time_ms`` is not newer than the channel's last one
        but at most :data:`STALE_WINDOW_MS` older (further back, the last one came from
        a frame whose time cannot be trusted, and this one is taken)."""
        last = self._last_time_ms.get((channel, coin))
        if last is not None and last - STALE_WINDOW_MS <= time_ms <= last:
            raise FrameError("stale_update", f"{channel} {coin}: time {time_ms} <= {last}")

    def _trades(self, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``WsTrade[]``: side ``B`` (buyer took) is BUY, ``A`` is SELL.

        The subscriptions page: "tid is 50-bit hash of (buyer_oid, seller_oid).
        For a globally unique trade id, use (block_time, coin, tid)": the dedup
        key is ``<time>:<tid>`` (the coin is in the message id already).
        """
        if not isinstance(data, list):
            raise InvalidValueError("data", data, "expected a list of trades")
        events: list[MarketEvent] = []
        for raw in data:
            trade = wire.json_object("trade", raw)
            wanted = self._wanted_for(trade["coin"], DataType.TRADE)
            side = sides.side("side", trade["side"], "B", "A", quoted=True)
            time_ms = wire.integer("time", trade["time"])
            tid = wire.integer("tid", trade["tid"])
            events.append(
                MarketEvent(
                    wanted.instrument,
                    DataType.TRADE,
                    received_at_ms,
                    time_ms,
                    Trade(
                        str(tid),
                        wire.price("px", trade["px"]),
                        wire.quantity("sz", trade["sz"]),
                        side,
                    ),
                    f"{time_ms}:{tid}",
                )
            )
        return events

    def _book(self, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``WsBook``: one full snapshot, published as it is; dedup key: its ``time``."""
        book = wire.json_object("data", data)
        wanted = self._wanted_for(book["coin"], DataType.L2_ORDERBOOK)
        coin = wanted.instrument.instrument
        time_ms = wire.integer("time", book["time"])
        self._newer("l2Book", coin, time_ms)
        levels = book["levels"]
        if type(levels) is not list or len(levels) != 2:
            raise InvalidValueError("levels", levels, "expected [bids, asks]")
        bids = _book_side("bids", levels[0], descending=True)
        asks = _book_side("asks", levels[1], descending=False)
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise InvalidValueError("levels", str(bids[0][0]), f"crossed: ask {asks[0][0]}")
        self._last_time_ms[("l2Book", coin)] = time_ms
        return [
            MarketEvent(
                wanted.instrument,
                DataType.L2_ORDERBOOK,
                received_at_ms,
                time_ms,
                L2Update(bids, asks, True),
                str(time_ms),
            )
        ]

    def _bbo(self, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``WsBbo``: ``bbo: [bid | null, ask | null]``; dedup key: its ``time``."""
        bbo = wire.json_object("data", data)
        wanted = self._wanted_for(bbo["coin"], DataType.TICKER)
        coin = wanted.instrument.instrument
        time_ms = wire.integer("time", bbo["time"])
        self._newer("bbo", coin, time_ms)
        sides = bbo["bbo"]
        if type(sides) is not list or len(sides) != 2:
            raise InvalidValueError("bbo", sides, "expected [bid, ask]")
        if sides[0] is None or sides[1] is None:
            raise FrameError("one_sided_book", f"bbo {wire.label(coin)} at {time_ms}: {sides}")
        bid_price, bid_size = _level("bid", sides[0])
        ask_price, ask_size = _level("ask", sides[1])
        if bid_price >= ask_price:
            raise InvalidValueError("bbo", str(bid_price), f"crossed: ask {ask_price}")
        self._last_time_ms[("bbo", coin)] = time_ms
        return [
            MarketEvent(
                wanted.instrument,
                DataType.TICKER,
                received_at_ms,
                time_ms,
                Ticker(bid_price, bid_size, ask_price, ask_size),
                str(time_ms),
            )
        ]

    def _asset_ctx(self, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``WsActiveAssetCtx``: funding_rate (funding, markPx, oraclePx) and open_interest.

        The message carries no time and no sequence, so the dedup keys are its
        content: ``<funding>:<markPx>:<oraclePx>:<h>`` and ``<openInterest>:<h>``,
        ``h`` a digest of the whole context (:func:`context_digest`: 24 h volume,
        premium, mid and impact prices too). A re-sent, unchanged context is
        therefore published once per JetStream duplicate window, while an open
        interest or funding that returns to an earlier value is published again
        (the rest of the context, the 24 h notional volume above all, has moved).
        """
        body = wire.json_object("data", data)
        coin = body["coin"]
        wanted = self._wanted.get(coin) if isinstance(coin, str) else None
        if wanted is None or not wanted.data_types & {
            DataType.FUNDING_RATE,
            DataType.OPEN_INTEREST,
        }:
            raise FrameError("unsubscribed", wire.clip(f"{wire.label(coin)} activeAssetCtx"))
        ctx = wire.json_object("ctx", body["ctx"])
        digest = context_digest(ctx)
        events: list[MarketEvent] = []
        if DataType.FUNDING_RATE in wanted.data_types:
            rate = wire.decimal("funding", ctx["funding"])
            mark = wire.price("markPx", ctx["markPx"])
            oracle = wire.price("oraclePx", ctx["oraclePx"])
            events.append(
                MarketEvent(
                    wanted.instrument,
                    DataType.FUNDING_RATE,
                    received_at_ms,
                    None,
                    FundingRate(rate=rate, mark_price=mark, index_price=oracle),
                    f"{rate}:{mark}:{oracle}:{digest}",
                )
            )
        if DataType.OPEN_INTEREST in wanted.data_types:
            open_interest = wire.quantity("openInterest", ctx["openInterest"])
            events.append(
                MarketEvent(
                    wanted.instrument,
                    DataType.OPEN_INTEREST,
                    received_at_ms,
                    None,
                    OpenInterest(open_interest),
                    f"{open_interest}:{digest}",
                )
            )
        return events

    def _candle(self, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``Candle``: the open candle on every update, and the previous one closed at rollover.

        The venue does not flag a final candle. When a candle with a later open
        time ``t`` arrives, the last update held for the previous one is
        published again with ``is_closed=True`` (dedup key ``<t>:closed``) before
        the new one. A candle older than the held one is ``stale_update``. The
        dedup key of an open candle is ``<t>:<n>:<v>:<c>:<h>:<l>`` (no event time
        is sent).
        """
        body = wire.json_object("data", data)
        wanted = self._wanted_for(body["s"], DataType.CANDLE)
        coin = wanted.instrument.instrument
        interval = wire.text("i", body["i"])
        if interval != wanted.candle_interval:
            raise FrameError("unsubscribed", f"{wire.label(coin)} candle {interval}")
        open_time = wire.integer("t", body["t"])
        held = self._candles.get(coin)
        held_ms = None if held is None else held.open_time_ms
        if held_ms is not None and held_ms - STALE_CANDLE_WINDOW_MS <= open_time < held_ms:
            raise FrameError(
                "stale_update", f"candle {wire.label(coin)}: t {open_time} < {held_ms}"
            )
        candle = Candle(
            interval=interval,
            open_time_ms=open_time,
            close_time_ms=wire.integer("T", body["T"]),
            open=wire.price("o", body["o"]),
            high=wire.price("h", body["h"]),
            low=wire.price("l", body["l"]),
            close=wire.price("c", body["c"]),
            volume=wire.quantity("v", body["v"]),
            is_closed=False,
            trade_count=wire.integer("n", body["n"]),
        )
        events: list[MarketEvent] = []
        if held is not None and open_time > held.open_time_ms:
            events.append(
                MarketEvent(
                    wanted.instrument,
                    DataType.CANDLE,
                    received_at_ms,
                    None,
                    dataclasses.replace(held, is_closed=True),
                    f"{held.open_time_ms}:closed",
                )
            )
        events.append(
            MarketEvent(
                wanted.instrument,
                DataType.CANDLE,
                received_at_ms,
                None,
                candle,
                f"{open_time}:{candle.trade_count}:{candle.volume}:{candle.close}:"
                f"{candle.high}:{candle.low}",
            )
        )
        self._candles[coin] = candle
        return events


PERP_LISTING = ListingRequest("/info", '{"type":"meta"}')
SPOT_LISTING = ListingRequest("/info", '{"type":"spotMeta"}')


def perp_canonical(coin: str) -> str:
    """``BTC`` -> ``BTC/USDC:PERP`` (perpetuals are USDC-margined)."""
    return f"{coin}/USDC:PERP"


def parse_listing(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse a ``meta`` (perpetuals) or ``spotMeta`` (spot pairs) response.

    Shapes (the info endpoint's documented examples, trimmed)::

        {"universe":[{"name":"BTC","szDecimals":5,"maxLeverage":50},
                     {"name":"LOOM","szDecimals":1,"maxLeverage":3,"isDelisted":true}],
         "marginTables":[...]}
        {"tokens":[{"name":"USDC","index":0,...},{"name":"PURR","index":1,...}],
         "universe":[{"name":"PURR/USDC","tokens":[1,0],"index":0,"isCanonical":true}]}

    Delisted perpetuals are left out. A spot pair's canonical symbol is
    ``<base token>/<quote token>``; its venue id is the pair's ``name``
    (``PURR/USDC`` or ``@1``), which is the ``coin`` to subscribe.

    Raises:
        ValueError: not JSON, or a missing or malformed field.
    """
    try:
        document = wire.json_object("response", orjson.loads(body))
        universe = document["universe"]
        if not isinstance(universe, list):
            raise InvalidValueError("universe", universe, "expected a list")
        if request.json_body == PERP_LISTING.json_body:
            result: list[ListedInstrument] = []
            for raw in universe:
                asset = wire.json_object("asset", raw)
                if asset.get("isDelisted") is True:
                    continue
                name = wire.text("name", asset["name"])
                result.append(ListedInstrument(name, perp_canonical(name), "perpetual"))
            return result
        tokens: dict[int, str] = {}
        for raw in document["tokens"]:
            token = wire.json_object("token", raw)
            tokens[wire.integer("index", token["index"])] = wire.text("name", token["name"])
        pairs: list[ListedInstrument] = []
        for raw in universe:
            pair = wire.json_object("pair", raw)
            base, quote = pair["tokens"]
            base_token = tokens[wire.integer("base", base)]
            canonical = f"{base_token}/{tokens[wire.integer('quote', quote)]}"
            pairs.append(ListedInstrument(wire.text("name", pair["name"]), canonical, "spot"))
        return pairs
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    except (KeyError, TypeError, ValueError, InvalidValueError) as exc:
        raise ValueError(f"malformed listing: {exc!r}") from None


register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(
            {
                DataType.TRADE,
                DataType.TICKER,
                DataType.L2_ORDERBOOK,
                DataType.FUNDING_RATE,
                DataType.OPEN_INTEREST,
                DataType.CANDLE,
            }
        ),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=HyperliquidProtocol,
        docs=(
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket",
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions",
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/timeouts-and-heartbeats",
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits",
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint",
        ),
        rest_weight_per_minute=1200,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        max_subscriptions_per_connection=MAX_ENTRIES_PER_CONNECTION,
        instrument_listing=InstrumentListing((PERP_LISTING, SPOT_LISTING), parse_listing),
    )
)
