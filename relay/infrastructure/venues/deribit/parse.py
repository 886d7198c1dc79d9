"""Deribit notification fields and events: numbers, book levels, trades, tickers, candles.

Sources (every format parsed here comes from one of these, or from the recorded
session ``deribit.jsonl`` in ``shared/captures``):

- Books: https://docs.deribit.com/subscriptions/orderbook/bookinstrument_nameinterval
  (changes ``[action, price, amount]`` with action ``new``/``change``/``delete``);
  snapshot and change frames of ``deribit.jsonl`` (2021-07, options).
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

Numbers: Deribit sends prices and amounts as JSON numbers (``["new",0.0015,4714.0]``).
Frames are decoded by :func:`relay.infrastructure.venues.common.wire.exact_json`
(``parse_float=Decimal``), so every price keeps the digits as sent; NaN and
Infinity are refused (``not_json``).

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

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad
value) or KeyError (a missing field); the protocol maps both to ``FrameError``.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    MAX_DECIMAL_EXPONENT,
    Candle,
    DataType,
    FundingRate,
    Instrument,
    Liquidation,
    MarketEvent,
    PriceLevel,
    Ticker,
    Trade,
    parse_decimal,
)
from relay.infrastructure.venues.common import sides, wire

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

_ZERO = Decimal(0)
_ACTIONS = frozenset({"new", "change", "delete"})


def number(field: str, raw: Any) -> Decimal:
    """A JSON number (decoded as Decimal or int) of bounded size; anything else refused.

    Raises:
        InvalidValueError: not a number, or too many digits.
    """
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


def price(field: str, raw: Any) -> Decimal:
    """A :func:`number` > 0.

    Raises:
        InvalidValueError: not a number, or not above 0.
    """
    value = number(field, raw)
    if value <= 0:
        raise InvalidValueError(field, raw, "expected a price > 0")
    return value


def quantity(field: str, raw: Any) -> Decimal:
    """A quantity, or a best price where 0 means an empty side: a :func:`number` >= 0.

    Raises:
        InvalidValueError: not a number, or below 0.
    """
    value = number(field, raw)
    if value < 0:
        raise InvalidValueError(field, raw, "expected a value >= 0")
    return value


def text(field: str, raw: Any) -> str:
    """A non-empty JSON string.

    Raises:
        InvalidValueError: anything else.
    """
    if not isinstance(raw, str) or not raw:
        raise InvalidValueError(field, raw, "expected a non-empty string")
    return raw


def book_levels(field: str, raw: Any) -> tuple[PriceLevel, ...]:
    """``[["new",0.0015,4714.0],["delete",0.001,0.0]]`` -> ((price, amount), ...); delete -> 0.

    The ``bids`` / ``asks`` of a book notification (book channel page,
    ``deribit.jsonl``). The simulated venue rebuilds recorded books with it.

    Raises:
        InvalidValueError: not a list of ``[new|change|delete, price, amount]``.
    """
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list of [action, price, amount]")
    levels: list[PriceLevel] = []
    for level in raw:
        if type(level) is not list or len(level) != 3 or level[0] not in _ACTIONS:
            raise InvalidValueError(field, level, "expected [new|change|delete, price, amount]")
        action, level_price, amount = level
        size = quantity("amount", amount)
        levels.append((price("price", level_price), _ZERO if action == "delete" else size))
    return tuple(levels)


def trade_events(
    instrument: Instrument, wanted: Collection[DataType], data: Any, received_at_ms: int
) -> list[MarketEvent]:
    """``trades.<instrument>.<interval>``: a list of trades -> trades and liquidations wanted.

    Shape (cryptofeed's ``deribit.py`` docstring; ``liquidation`` per Deribit's docs)::

        [{"trade_seq":933,"trade_id":"9178","timestamp":1550736299753,"tick_direction":3,
          "price":3948.69,"instrument_name":"BTC-PERPETUAL","index_price":3930.73,
          "direction":"sell","amount":10,"liquidation":"M"}]

    The liquidation's side is the liquidated order's: the taker's (``direction``)
    for ``T`` and ``MT``, the maker's (the opposite) for ``M``.
    """
    if not isinstance(data, list):
        raise InvalidValueError("data", data, "expected a list of trades")
    events: list[MarketEvent] = []
    for raw in data:
        trade = wire.json_object("trade", raw)
        trade_id = text("trade_id", trade["trade_id"])
        timestamp = wire.integer("timestamp", trade["timestamp"])
        trade_price = price("price", trade["price"])
        amount = quantity("amount", trade["amount"])
        side = sides.side("direction", trade["direction"], "buy", "sell")
        if DataType.TRADE in wanted:
            events.append(
                MarketEvent(
                    instrument,
                    DataType.TRADE,
                    received_at_ms,
                    timestamp,
                    Trade(trade_id, trade_price, amount, side),
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
                    Liquidation(liquidated, trade_price, amount),
                    trade_id,
                )
            )
    return events


def ticker_event(
    instrument: Instrument, data: dict[str, Any], timestamp: int, received_at_ms: int
) -> MarketEvent:
    """A ticker notification -> best bid and ask with amounts (a best price of 0, with
    amount 0, means that side of the book is empty).

    Shape (trimmed from ``deribit.jsonl``; perpetuals add ``funding_8h`` and
    ``current_funding``)::

        {"timestamp":1626993723632,"open_interest":12685.0,"mark_price":0.001972,
         "instrument_name":"ETH-30JUL21-2800-C","index_price":2006.72,
         "best_bid_price":0.0015,"best_bid_amount":4714.0,
         "best_ask_price":0.0025,"best_ask_amount":873.0}
    """
    bid = quantity("best_bid_price", data["best_bid_price"])
    bid_amount = quantity("best_bid_amount", data["best_bid_amount"])
    ask = quantity("best_ask_price", data["best_ask_price"])
    ask_amount = quantity("best_ask_amount", data["best_ask_amount"])
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        timestamp,
        Ticker(bid, bid_amount, ask, ask_amount),
        f"{timestamp}:{bid}:{bid_amount}:{ask}:{ask_amount}",
    )


def funding_event(
    instrument: Instrument, data: dict[str, Any], timestamp: int, received_at_ms: int
) -> MarketEvent:
    """A perpetual's ticker notification -> its ``funding_8h`` with mark and index price."""
    rate = number("funding_8h", data["funding_8h"])
    index = data.get("index_price")
    return MarketEvent(
        instrument,
        DataType.FUNDING_RATE,
        received_at_ms,
        timestamp,
        FundingRate(
            rate=rate,
            mark_price=price("mark_price", data["mark_price"]),
            index_price=None if index is None else price("index_price", index),
        ),
        f"{timestamp}:{rate}",
    )


def candle_event(
    instrument: Instrument, resolution: str, data: Any, received_at_ms: int
) -> MarketEvent:
    """``chart.trades.<instrument>.<resolution>``: the current candle, sent while it grows.

    Shape (Deribit's documented example)::

        {"volume":0.05219351,"tick":1573645080000,"open":8869.79,"low":8788.25,
         "high":8870.31,"cost":460,"close":8791.25}

    ``volume`` is in the base currency, ``cost`` in the quote currency.

    Raises:
        InvalidValueError: ``resolution`` is no Deribit chart resolution, or a bad field.
    """
    if resolution not in _BY_RESOLUTION:
        raise InvalidValueError("resolution", resolution, "not a Deribit chart resolution")
    interval, length_ms = _BY_RESOLUTION[resolution]
    candle = wire.json_object("data", data)
    tick = wire.integer("tick", candle["tick"])
    volume = quantity("volume", candle["volume"])
    cost = quantity("cost", candle["cost"])
    high = price("high", candle["high"])
    low = price("low", candle["low"])
    close = price("close", candle["close"])
    return MarketEvent(
        instrument,
        DataType.CANDLE,
        received_at_ms,
        tick,
        Candle(
            interval=interval,
            open_time_ms=tick,
            close_time_ms=tick + length_ms - 1,
            open=price("open", candle["open"]),
            high=high,
            low=low,
            close=close,
            volume=volume,
            is_closed=False,
            quote_volume=cost,
        ),
        f"{tick}:{volume}:{cost}:{high}:{low}:{close}",
    )
