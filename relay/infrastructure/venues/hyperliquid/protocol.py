"""Hyperliquid's relay protocol: one WebSocket connection; a subscribe frame per channel and coin.

The package docstring (:mod:`relay.infrastructure.venues.hyperliquid`) gives the
sources, channels, limits and book rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, Keepalive, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import Candle, DataType, Instrument, MarketEvent
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.intervals import check_candle_intervals
from relay.infrastructure.venues.hyperliquid import parse
from relay.infrastructure.venues.hyperliquid.book import L2Book, check_newer

WS_URL = "wss://api.hyperliquid.xyz/ws"

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


STALE_CANDLE_WINDOW_MS = 400 * 86_400_000
"""A candle opening at most this much before the held one is stale (400 days: a
monthly candle one interval back is stale; 2**63-1 ms from a corrupted frame is not
a time the venue could have sent, and the next real candle is taken)."""


class HyperliquidProtocol(VenueProtocol):
    """One Hyperliquid WebSocket connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL override).

    Raises:
        InvalidValueError: a candle subscription's interval is not one of
            :data:`.parse.CANDLE_INTERVALS`.
    """

    def __init__(self, config: VenueConfig) -> None:
        check_candle_intervals("Hyperliquid", parse.CANDLE_INTERVALS, config.subscriptions)
        self._config = config
        self._wanted: dict[str, _Wanted] = {}
        self._books: dict[str, L2Book] = {}
        for sub in config.subscriptions:
            instrument = Instrument(config.id, sub.instrument, sub.canonical_symbol)
            self._wanted[sub.instrument] = _Wanted(
                instrument, frozenset(sub.data_types), sub.candle_interval
            )
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[sub.instrument] = L2Book(instrument)
        self._bbo_time_ms: dict[str, int] = {}
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
            book for coin, book in self._books.items() if instruments is None or coin in instruments
        ]
        for book in books:
            book.resync(reason)
        return FrameOutcome([], [], [], [BookResync(book.instrument, reason) for book in books])

    def _wanted_for(self, coin: Any, data_type: DataType) -> _Wanted:
        wanted = self._wanted.get(coin) if isinstance(coin, str) else None
        if wanted is None or data_type not in wanted.data_types:
            raise FrameError("unsubscribed", wire.clip(f"{wire.label(coin)} {data_type.value}"))
        return wanted

    def _trades(self, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``WsTrade[]``: one event per trade of a subscribed coin (:func:`.parse.trade`)."""
        if not isinstance(data, list):
            raise InvalidValueError("data", data, "expected a list of trades")
        events: list[MarketEvent] = []
        for raw in data:
            trade = wire.json_object("trade", raw)
            wanted = self._wanted_for(trade["coin"], DataType.TRADE)
            events.append(parse.trade(trade, wanted.instrument, received_at_ms))
        return events

    def _book(self, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``WsBook``: one full snapshot, published as it is (:meth:`.book.L2Book.on_message`)."""
        book = wire.json_object("data", data)
        wanted = self._wanted_for(book["coin"], DataType.L2_ORDERBOOK)
        return [self._books[wanted.instrument.instrument].on_message(book, received_at_ms)]

    def _bbo(self, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``WsBbo``: ``bbo: [bid | null, ask | null]``; dedup key: its ``time``."""
        bbo = wire.json_object("data", data)
        wanted = self._wanted_for(bbo["coin"], DataType.TICKER)
        coin = wanted.instrument.instrument
        time_ms = wire.integer("time", bbo["time"])
        check_newer("bbo", coin, self._bbo_time_ms.get(coin), time_ms)
        event = parse.bbo_ticker(bbo, wanted.instrument, time_ms, received_at_ms)
        self._bbo_time_ms[coin] = time_ms
        return [event]

    def _asset_ctx(self, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``WsActiveAssetCtx``: funding_rate and open_interest (:func:`.parse.asset_ctx`)."""
        body = wire.json_object("data", data)
        coin = body["coin"]
        wanted = self._wanted.get(coin) if isinstance(coin, str) else None
        if wanted is None or not wanted.data_types & {
            DataType.FUNDING_RATE,
            DataType.OPEN_INTEREST,
        }:
            raise FrameError("unsubscribed", wire.clip(f"{wire.label(coin)} activeAssetCtx"))
        ctx = wire.json_object("ctx", body["ctx"])
        return parse.asset_ctx(ctx, wanted.instrument, wanted.data_types, received_at_ms)

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
        candle = parse.candle(body, interval, open_time)
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
