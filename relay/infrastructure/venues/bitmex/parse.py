"""BitMEX table rows and events: trades, quotes, order book rows.

Sources (every format parsed here comes from one of these, or from the recorded
session ``bitmex.jsonl`` in ``shared/captures``):

- The realtime API page https://www.bitmex.com/app/wsAPI (tables sent as
  ``{"table","action","data":[rows]}``, actions ``partial``/``insert``/``update``/``delete``).
- ``trade`` and ``quote`` rows: the trade and quote frames of ``bitmex.jsonl`` (2021-07).
- ``orderBookL2`` rows: the partial/insert/update/delete frames of ``bitmex.jsonl``.
- ``instrument`` and ``liquidation`` rows (not in the recording): the examples in
  cryptofeed's ``cryptofeed/exchanges/bitmex.py`` docstrings.

Numbers: BitMEX sends prices as JSON numbers (``"price":0.00001819``) and sizes as
integers (contracts). Frames are decoded by
:func:`relay.infrastructure.venues.common.wire.exact_object` (``parse_float=Decimal``),
so a price keeps the digits as sent.

Times: RFC 3339 UTC text (``"2021-07-22T22:36:10.014Z"``), read by
:func:`relay.infrastructure.venues.common.times.rfc3339_ms`.

Dedup keys: trades the ``trdMatchID``; quotes
``<timestamp>:<bidPrice>:<bidSize>:<askPrice>:<askSize>``; funding rates
``<timestamp>:<fundingRate>``; open interest ``<timestamp>:<openInterest>``;
liquidations the ``orderID``; book messages see :mod:`.book`.

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad
value) or KeyError (a missing field); the protocol maps both to ``FrameError``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    DataType,
    FundingRate,
    Instrument,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.common import sides, times, wire

_ZERO = Decimal(0)


def symbol(row: dict[str, Any]) -> str:
    """A row's ``symbol``: a non-empty string.

    Raises:
        InvalidValueError: anything else; KeyError: no ``symbol``.
    """
    name = row["symbol"]
    if not isinstance(name, str) or not name:
        raise InvalidValueError("symbol", name, "expected a non-empty string")
    return name


def side(row: dict[str, Any]) -> Side:
    """A row's ``side``: ``"Buy"`` -> BUY, ``"Sell"`` -> SELL."""
    return sides.side("side", row["side"], "Buy", "Sell")


def trade_event(instrument: Instrument, row: dict[str, Any], received_at_ms: int) -> MarketEvent:
    """One ``trade`` row -> a trade (``side`` is the taker's).

    Shape (trimmed from ``bitmex.jsonl``)::

        {"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","side":"Buy","size":52,
         "price":17.297,"tickDirection":"PlusTick",
         "trdMatchID":"39744121-c20e-44ba-8cc8-a6b8cdf72885","grossValue":899444}
    """
    trade_id = row["trdMatchID"]
    if not isinstance(trade_id, str) or not trade_id:
        raise InvalidValueError("trdMatchID", trade_id, "expected a non-empty string")
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        times.rfc3339_ms("timestamp", row["timestamp"]),
        Trade(
            trade_id,
            wire.price("price", row["price"]),
            wire.quantity("size", row["size"]),
            side(row),
        ),
        trade_id,
    )


def quote_event(instrument: Instrument, row: dict[str, Any], received_at_ms: int) -> MarketEvent:
    """One ``quote`` row -> a ticker (best bid and ask with sizes).

    Shape (trimmed from ``bitmex.jsonl``)::

        {"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","bidSize":750,
         "bidPrice":17.277,"askPrice":17.297,"askSize":123}

    A side without orders comes as ``null`` price and size: read as 0.
    """
    timestamp = times.rfc3339_ms("timestamp", row["timestamp"])
    values = []
    for field in ("bidPrice", "bidSize", "askPrice", "askSize"):
        raw = row[field]
        values.append(_ZERO if raw is None else wire.quantity(field, raw))
    bid, bid_size, ask, ask_size = values
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        timestamp,
        Ticker(bid, bid_size, ask, ask_size),
        f"{timestamp}:{bid}:{bid_size}:{ask}:{ask_size}",
    )


def book_row(row: dict[str, Any], action: str) -> tuple[int, Side, Decimal | None, Decimal]:
    """One ``orderBookL2`` row -> (id, side, price or None, size).

    Shapes (trimmed from ``bitmex.jsonl``)::

        partial/insert: {"symbol":"SOLUSDT","id":54899972480,"side":"Sell","size":991,"price":27.52}
        update:         {"symbol":"UNIUSDT","id":51999982703,"side":"Sell","size":123}
        delete:         {"symbol":"BCHUSD","id":40199991245,"side":"Buy"}

    ``partial`` and ``insert`` rows need ``price`` (> 0) and ``size``; ``update``
    rows need ``size`` (a price sent with it is read too); ``delete`` rows give size 0.
    """
    level_id = wire.integer("id", row["id"])
    level_side = side(row)
    if action == "delete":
        return level_id, level_side, None, _ZERO
    size = wire.quantity("size", row["size"])
    if action == "update":
        raw_price = row.get("price")
        return (
            level_id,
            level_side,
            None if raw_price is None else wire.price("price", raw_price),
            size,
        )
    return level_id, level_side, wire.price("price", row["price"]), size


def funding_event(
    instrument: Instrument, row: dict[str, Any], received_at_ms: int
) -> MarketEvent | None:
    """An ``instrument`` row carrying ``fundingRate`` -> a funding rate; None without it.

    Shape (cryptofeed's ``bitmex.py`` instrument example, trimmed; update rows carry
    only the fields that changed, with ``symbol`` and ``timestamp``)::

        {"symbol":"XBTUSD","fundingTimestamp":"2020-02-02T04:00:00.000Z",
         "fundingRate":0.000106,"indicativeFundingRate":0.0001,"markPrice":9345.36,
         "timestamp":"2020-02-02T00:30:43.772Z"}

    ``fundingRate`` is the rate of the current funding interval; ``fundingTimestamp``
    (the next funding time) and ``markPrice`` are read when the row has them.
    """
    if "fundingRate" not in row or row["fundingRate"] is None:
        return None
    timestamp = times.rfc3339_ms("timestamp", row["timestamp"])
    rate = wire.decimal("fundingRate", row["fundingRate"])
    mark = row.get("markPrice")
    next_time = row.get("fundingTimestamp")
    return MarketEvent(
        instrument,
        DataType.FUNDING_RATE,
        received_at_ms,
        timestamp,
        FundingRate(
            rate=rate,
            mark_price=None if mark is None else wire.price("markPrice", mark),
            next_funding_time_ms=(
                None if next_time is None else times.rfc3339_ms("fundingTimestamp", next_time)
            ),
        ),
        f"{timestamp}:{rate}",
    )


def open_interest_event(
    instrument: Instrument, row: dict[str, Any], received_at_ms: int
) -> MarketEvent | None:
    """An ``instrument`` row carrying ``openInterest`` (contracts) -> open interest; None
    without it (shape: :func:`funding_event`, ``"openInterest":983043322``)."""
    if "openInterest" not in row or row["openInterest"] is None:
        return None
    timestamp = times.rfc3339_ms("timestamp", row["timestamp"])
    open_interest = wire.quantity("openInterest", row["openInterest"])
    return MarketEvent(
        instrument,
        DataType.OPEN_INTEREST,
        received_at_ms,
        timestamp,
        OpenInterest(open_interest),
        f"{timestamp}:{open_interest}",
    )


def liquidation_event(
    instrument: Instrument, row: dict[str, Any], received_at_ms: int
) -> MarketEvent:
    """A ``liquidation`` ``insert`` row -> a liquidation (the liquidation order's side,
    price and quantity left, ``leavesQty``); no venue time is sent.

    Shape (cryptofeed's ``bitmex.py`` liquidation example)::

        {"orderID":"9513c849-ca0d-4e11-8190-9d221972288c","symbol":"XBTUSD","side":"Buy",
         "price":6833.5,"leavesQty":2020}
    """
    order_id = row["orderID"]
    if not isinstance(order_id, str) or not order_id:
        raise InvalidValueError("orderID", order_id, "expected a non-empty string")
    return MarketEvent(
        instrument,
        DataType.LIQUIDATION,
        received_at_ms,
        None,
        Liquidation(
            side(row),
            wire.price("price", row["price"]),
            wire.quantity("leavesQty", row["leavesQty"]),
        ),
        order_id,
    )
