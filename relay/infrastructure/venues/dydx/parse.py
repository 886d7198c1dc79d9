"""dYdX v4 indexer message fields and events: book levels, trades, candles, markets.

Sources (each parser cites its own section): the indexer WebSocket page
https://docs.dydx.exchange/api_integration-indexer/indexer_websocket (the
``v4_orderbook``, ``v4_trades`` and ``v4_markets`` examples) and the indexer's
message types (dydxprotocol/v4-chain ``indexer/packages/postgres/src/types/
websocket-message-types.ts``: ``CandleMessageContents``, ``TradeContent``,
``TradingPerpetualMarketMessage``).

Every price, size and rate is a decimal string. Message id keys (``Nats-Msg-Id``):
trade: the trade ``id`` (the taker fill id); candle:
``<startedAt>:<trades>:<baseTokenVolume>:<close>`` (the trade count and volume
only grow within a candle); funding rate ``<nextFundingRate>:<h>`` and open
interest ``<openInterest>:<h>``, ``h`` a digest of the market's whole object in
the message (the markets channel carries no time and no sequence); books: see
:mod:`.protocol`.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import orjson

from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    MarketEvent,
    OpenInterest,
    PriceLevel,
    Trade,
)
from relay.infrastructure.venues.common import sides, times, wire
from relay.infrastructure.venues.common.intervals import offered_interval

RESOLUTIONS_MS: dict[str, int] = {
    "1MIN": 60_000,
    "5MINS": 300_000,
    "15MINS": 900_000,
    "30MINS": 1_800_000,
    "1HOUR": 3_600_000,
    "4HOURS": 14_400_000,
    "1DAY": 86_400_000,
}
"""The indexer's candle resolutions (``CandleResolution``) and their length in ms."""

CANDLE_INTERVALS = {
    "1m": "1MIN",
    "5m": "5MINS",
    "15m": "15MINS",
    "30m": "30MINS",
    "1h": "1HOUR",
    "4h": "4HOURS",
    "1d": "1DAY",
}
"""Relay interval -> the indexer's candle resolution: the ``v4_candles`` channel's ``id``
is ``<market>/<resolution>`` with the resolutions of ``CandleResolution``
(https://docs.dydx.exchange/api_integration-indexer/indexer_websocket, Candles)."""


def resolution(interval: str) -> str:
    """The indexer's resolution for a configured ``candle_interval``: ``"1m"`` -> ``"1MIN"``,
    ``"4h"`` -> ``"4HOURS"``.

    Raises:
        InvalidValueError: the indexer has no such resolution (``"3m"``).
    """
    offered_interval("dYdX", CANDLE_INTERVALS, interval)
    return CANDLE_INTERVALS[interval]


def digest(value: Any) -> str:
    """First 16 hex digits of the SHA-256 of ``value`` as compact JSON (keys sorted)."""
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()[:16]


def snapshot_levels(field: str, raw: Any) -> tuple[PriceLevel, ...]:
    """The ``bids`` or ``asks`` of a ``v4_orderbook`` ``subscribed`` message.

    Shape (Orderbooks, Initial Response)::

        "bids": [{"price": "28194", "size": "4.764826096"}, {"price": "28193", ...}]

    Raises:
        InvalidValueError, KeyError: not a list of ``{"price", "size"}`` objects
            with a price > 0 and a size >= 0.
    """
    levels: list[PriceLevel] = []
    for level in wire.json_list(field, raw):
        entry = wire.json_object(field, level)
        levels.append((wire.price("price", entry["price"]), wire.quantity("size", entry["size"])))
    return tuple(levels)


def update_levels(field: str, raw: Any) -> tuple[PriceLevel, ...]:
    """The ``bids`` or ``asks`` of a ``v4_orderbook`` ``channel_data`` message (absent: none).

    Shape (Orderbooks, Channel Data: ``type PriceLevel = [string, string]``, price
    then size; a size of ``"0"`` removes the price)::

        "bids": [["27773", "1.986168516"]]

    Raises:
        InvalidValueError: not a list of ``[price, size]``.
    """
    return () if raw is None else wire.levels(field, raw)


def trade_event(instrument: Instrument, trade: Any, received_at_ms: int) -> MarketEvent:
    """One item of a ``v4_trades`` message's ``contents.trades`` -> a trade.

    Shape (Trades, Channel Data; ``id`` is the taker fill id, ``side`` the taker's)::

        {"id": "8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7", "size": "0.000100431",
         "price": "27839", "side": "BUY", "createdAt": "2023-04-04T00:29:19.353Z",
         "type": "LIQUIDATED"}

    Raises:
        KeyError, InvalidValueError: a missing or bad field.
    """
    entry = wire.json_object("trades[]", trade)
    trade_id = wire.text("id", entry["id"])
    if not trade_id:
        raise ValueError("empty trade id")
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        times.rfc3339_ms("createdAt", entry["createdAt"]),
        Trade(
            trade_id,
            wire.price("price", entry["price"]),
            wire.quantity("size", entry["size"]),
            sides.side("side", entry["side"], "BUY", "SELL"),
        ),
        trade_id,
    )


def candle_event(instrument: Instrument, candle: Any, received_at_ms: int) -> MarketEvent:
    """A ``v4_candles`` candle (``channel_data`` contents) -> an open candle.

    Shape (``CandleMessageContents``; the REST candles page's ``candles`` items
    carry the same fields)::

        {"resolution": "1MIN", "startedAt": "2023-04-04T00:29:00.000Z",
         "ticker": "BTC-USD", "low": "27837", "high": "27848", "open": "27848",
         "close": "27839", "baseTokenVolume": "0.000218938", "trades": 4,
         "usdVolume": "6.09555", "startingOpenInterest": "1891.473716288"}

    The indexer sends the current candle each time it changes and never marks it
    final: a candle is closed once one with a later ``startedAt`` arrives.

    Raises:
        KeyError, InvalidValueError: a missing or bad field (an unknown resolution).
    """
    entry = wire.json_object("contents", candle)
    word = wire.text("resolution", entry["resolution"])
    if word not in RESOLUTIONS_MS:
        raise ValueError(f"unknown resolution {wire.brief(word)}")
    started_text = wire.text("startedAt", entry["startedAt"])
    started_ms = times.rfc3339_ms("startedAt", started_text)
    trades = wire.integer("trades", entry["trades"])
    volume_text = wire.text("baseTokenVolume", entry["baseTokenVolume"])
    close_text = wire.text("close", entry["close"])
    payload = Candle(
        interval=word,
        open_time_ms=started_ms,
        close_time_ms=started_ms + RESOLUTIONS_MS[word] - 1,
        open=wire.price("open", entry["open"]),
        high=wire.price("high", entry["high"]),
        low=wire.price("low", entry["low"]),
        close=wire.price("close", close_text),
        volume=wire.quantity("baseTokenVolume", volume_text),
        is_closed=False,
        quote_volume=wire.quantity("usdVolume", entry["usdVolume"]),
        trade_count=trades,
    )
    return MarketEvent(
        instrument,
        DataType.CANDLE,
        received_at_ms,
        started_ms,
        payload,
        f"{started_text}:{trades}:{volume_text}:{close_text}",
    )


def market_events(
    instrument: Instrument,
    market: Any,
    wanted: frozenset[DataType],
    received_at_ms: int,
) -> list[MarketEvent]:
    """One market's object of a ``v4_markets`` message -> its funding rate and open interest.

    Shapes (Markets: the ``subscribed`` message's ``contents.markets`` items, and
    the ``channel_data`` message's ``contents.trading`` items, where every field
    is optional)::

        "BTC-USD": {"clobPairId": "0", "ticker": "BTC-USD", "status": "ACTIVE",
                    "nextFundingRate": "0", "openInterest": "1891.473716288", ...}
        "ETH-USD": {"volume24H": "1462890959.6541", "nextFundingRate": "0.00007478125"}

    A funding rate is published when the object has ``nextFundingRate`` (the
    indexer's predicted rate for the next funding), open interest when it has
    ``openInterest``; each only if ``wanted``. No exchange time is sent.

    Raises:
        InvalidValueError: the object, or one of those two fields, is malformed.
    """
    entry = wire.json_object("markets[]", market)
    events: list[MarketEvent] = []
    key: str | None = None
    rate = entry.get("nextFundingRate")
    if rate is not None and DataType.FUNDING_RATE in wanted:
        key = digest(entry)
        value: Decimal = wire.decimal("nextFundingRate", rate)
        events.append(
            MarketEvent(
                instrument,
                DataType.FUNDING_RATE,
                received_at_ms,
                None,
                FundingRate(value),
                f"{wire.text('nextFundingRate', rate)}:{key}",
            )
        )
    interest = entry.get("openInterest")
    if interest is not None and DataType.OPEN_INTEREST in wanted:
        key = key or digest(entry)
        events.append(
            MarketEvent(
                instrument,
                DataType.OPEN_INTEREST,
                received_at_ms,
                None,
                OpenInterest(wire.quantity("openInterest", interest)),
                f"{wire.text('openInterest', interest)}:{key}",
            )
        )
    return events
