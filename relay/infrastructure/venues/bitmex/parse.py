"""BitMEX table rows and events: trades, quotes, order book rows.

Sources (every format parsed here comes from one of these, or from the recorded
session ``bitmex.jsonl`` in ``shared/captures``):

- The realtime API page https://www.bitmex.com/app/wsAPI (tables sent as
  ``{"table","action","data":[rows]}``, actions ``partial``/``insert``/``update``/``delete``).
- ``trade`` and ``quote`` rows: the trade and quote frames of ``bitmex.jsonl`` (2021-07).
- ``orderBookL2`` rows: the partial/insert/update/delete frames of ``bitmex.jsonl``.

Numbers: BitMEX sends prices as JSON numbers (``"price":0.00001819``) and sizes as
integers (contracts). Frames are decoded by
:func:`relay.infrastructure.venues.common.wire.exact_object` (``parse_float=Decimal``),
so a price keeps the digits as sent.

Times: RFC 3339 UTC text (``"2021-07-22T22:36:10.014Z"``), read by
:func:`relay.infrastructure.venues.common.times.rfc3339_ms`.

Dedup keys: trades the ``trdMatchID``; quotes
``<timestamp>:<bidPrice>:<bidSize>:<askPrice>:<askSize>``; book messages see :mod:`.book`.

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad
value) or KeyError (a missing field); the protocol maps both to ``FrameError``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, MarketEvent, Side, Ticker, Trade
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
