"""Coinbase Advanced Trade message fields and events: level2 updates, trades, tickers, candles.

Every shape follows the documented example messages of the channels page
(https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels);
no recorded session of this feed exists.

Trades: the channels page says a market trade's ``side`` "refers to the makers
side", so the aggressor is the other side (``"BUY"`` -> SELL). Candles: the
``candles`` channel has one granularity, five minutes; candles are published
with interval ``"5m"``.

Dedup keys (no venue update ids exist except the trade id; ``sequence_num``
is per connection and never used): trade: ``trade_id``; ticker: the message
``timestamp`` as sent (nanoseconds), then its price, 24 h volume and best
bid/ask with quantities; candle: start and OHLCV (the volume only grows within
a candle, so an update never repeats an earlier key); l2 update: the latest
``event_time`` (ms) and a digest of its updates; l2 snapshot: ``snapshot:``,
the message ``timestamp`` and a digest of its levels. The message timestamp
keeps a quote that returns to an earlier value, or a resync snapshot equal to
an earlier one, from being taken for a duplicate; a re-sent frame still maps
to the same key.

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad
value) or KeyError (a missing field); the protocol maps both to ``FrameError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    Instrument,
    MarketEvent,
    PriceLevel,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.common import sides, times, wire
from relay.infrastructure.venues.common.wire import MAX_ID

CANDLE_INTERVAL = "5m"
CANDLE_MS = 5 * 60 * 1000
"""The ``candles`` channel's only granularity: five minutes."""

CANDLE_INTERVALS = (CANDLE_INTERVAL,)
"""The candle intervals a subscription may ask for: only ``5m``. The candles channel page
(https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/candles):
"Real-time updates on product candles, grouped into five-minute buckets"; the
subscribe request has no granularity parameter."""

_TICKER_FIELDS = (
    "price",
    "volume_24_h",
    "best_bid",
    "best_bid_quantity",
    "best_ask",
    "best_ask_quantity",
)


def digest(parts: Iterable[str]) -> str:
    """A short content digest (16 hex characters) for dedup keys."""
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


def l2_levels(
    updates: list[Any],
) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...], int, str]:
    """``updates`` of an ``l2_data`` event -> (bids, asks, latest event time ms, digest).

    Shape (channels page, level2 example)::

        {"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73",
         "new_quantity":"0.06317902"}

    Raises:
        InvalidValueError, KeyError: a malformed update.
    """
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []
    parts: list[str] = []
    latest_ms = 0
    for raw in updates:
        update = wire.json_object("updates[]", raw)
        side = update["side"]
        price_text = update["price_level"]
        quantity_text = update["new_quantity"]
        price = wire.price("price_level", price_text)
        quantity = wire.quantity("new_quantity", quantity_text)
        if side == "bid":
            bids.append((price, quantity))
        elif side == "offer":
            asks.append((price, quantity))
        else:
            raise InvalidValueError("side", side, "expected bid or offer")
        event_time = update["event_time"]
        latest_ms = max(latest_ms, times.rfc3339_ms("event_time", event_time))
        parts.extend((side, price_text, quantity_text))
    return tuple(bids), tuple(asks), latest_ms, digest(parts)


def trade_event(trade: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """One item of a ``market_trades`` event -> a trade on the taker's side.

    Shape (channels page, trimmed)::

        {"trade_id":"000000000","product_id":"ETH-USD","price":"1260.01","size":"0.3",
         "side":"BUY","time":"2019-08-14T20:42:27.265Z"}
    """
    trade_id = wire.text("trade_id", trade["trade_id"])
    # The documented ``side`` is the maker's; the published side is the taker's.
    side = sides.opposite(sides.side("side", trade["side"], "BUY", "SELL"))
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        times.rfc3339_ms("time", trade["time"]),
        Trade(
            trade_id,
            wire.price("price", trade["price"]),
            wire.quantity("size", trade["size"]),
            side,
        ),
        trade_id,
    )


def ticker_event(
    ticker: dict[str, Any],
    instrument: Instrument,
    message_time: str,
    message_ms: int,
    received_at_ms: int,
) -> MarketEvent:
    """One item of a ``ticker`` event -> best bid and ask with their quantities.

    Shape (channels page, trimmed)::

        {"type":"ticker","product_id":"BTC-USD","price":"21932.98","volume_24_h":"16038.28770938",
         ...,"best_bid":"21931.98","best_bid_quantity":"8000.21","best_ask":"21933.98",
         "best_ask_quantity":"8038.07770938"}

    Args:
        message_time: the message's ``timestamp`` as sent (part of the dedup key).
        message_ms: that time in epoch ms (the event's exchange time).
    """
    texts = [wire.text(name, ticker[name]) for name in _TICKER_FIELDS]
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        message_ms,
        Ticker(
            wire.price("best_bid", texts[2]),
            wire.quantity("best_bid_quantity", texts[3]),
            wire.price("best_ask", texts[4]),
            wire.quantity("best_ask_quantity", texts[5]),
        ),
        ":".join([message_time, *texts]),
    )


def candle_event(
    candle: dict[str, Any], instrument: Instrument, message_ms: int, received_at_ms: int
) -> MarketEvent:
    """One item of a ``candles`` event -> an open five-minute candle.

    Shape (channels page, trimmed)::

        {"start":"1688998200","high":"1867.72","low":"1865.63","open":"1867.38",
         "close":"1866.81","volume":"0.20269406","product_id":"ETH-USD"}

    Raises:
        InvalidValueError: ``start`` is no epoch seconds, or out of range.
    """
    start_text = wire.text("start", candle["start"])
    if not start_text.isdigit():
        raise InvalidValueError("start", start_text, "expected epoch seconds")
    open_time_ms = int(start_text) * 1000
    if open_time_ms > MAX_ID:
        raise InvalidValueError("start", start_text, "out of range")
    ohlcv = [wire.text(name, candle[name]) for name in ("open", "high", "low", "close", "volume")]
    return MarketEvent(
        instrument,
        DataType.CANDLE,
        received_at_ms,
        message_ms,
        Candle(
            interval=CANDLE_INTERVAL,
            open_time_ms=open_time_ms,
            close_time_ms=open_time_ms + CANDLE_MS - 1,
            open=wire.price("open", ohlcv[0]),
            high=wire.price("high", ohlcv[1]),
            low=wire.price("low", ohlcv[2]),
            close=wire.price("close", ohlcv[3]),
            volume=wire.quantity("volume", ohlcv[4]),
            is_closed=False,
        ),
        ":".join([start_text, *ohlcv]),
    )
