"""Kraken Futures ws/v1 fields and events: book levels, book deltas, trades.

Sources (every format parsed here comes from one of these, or from the recorded
session ``kraken-futures.jsonl`` in ``shared/captures``, 2021-07):

- Book: https://docs.kraken.com/exchange/api-reference/futures-websocket/book
  (``book_snapshot`` with ``bids``/``asks`` lists of ``{"price","qty"}`` and a
  ``seq``; then one ``book`` message per changed level: ``side``, ``price``,
  ``qty`` (0 removes the level) and ``seq``, one more than the previous message's).
- Trades: https://docs.kraken.com/exchange/api-reference/futures-websocket/trade
  (``uid``, ``side`` of the taker, ``seq``, ``time`` in ms, ``qty``, ``price``);
  the ``trade`` shape in cryptofeed's ``kraken_futures.py`` docstring.
- Ticker: https://docs.kraken.com/exchange/api-reference/futures-websocket/ticker
  (every field in every message; ``bid``, ``ask``, ``bid_size``, ``ask_size``,
  ``markPrice``, ``index``, ``openInterest``, ``time`` in ms; perpetuals add
  ``funding_rate``, ``relative_funding_rate`` and ``next_funding_rate_time``, each
  left out when zero). The example message is the one of Kraken's former
  futures API page, as quoted in ccxt's ``krakenfutures`` ``handleTicker``.
  Two quirks, both visible in that example: ``funding_rate`` is an absolute
  amount (``3.891007752e-9`` next to ``relative_funding_rate``
  ``0.000135046879166667``, a ratio near the price on an inverse contract), so
  the relay's rate (a fraction per funding interval) is ``relative_funding_rate``;
  and ``next_funding_rate_time`` is an epoch time in ms (``1612281600000`` is
  2021-02-02T16:00:00Z, the next whole hour), not the "time until" the field
  list says.

Numbers: Kraken Futures sends prices and sizes as JSON numbers (``"price":439.3``).
Frames are decoded by :func:`relay.infrastructure.venues.common.wire.exact_object`
(``parse_float=Decimal``), so every value keeps the digits as sent.

Dedup keys: trades their ``uid``; book snapshots ``snapshot:<seq>``, deltas
``<snapshot seq>:<seq>``; tickers ``<time>:<bid>:<bid_size>:<ask>:<ask_size>``;
funding ``<time>:<relative_funding_rate>``; open interest ``<time>:<openInterest>``.

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad value)
or KeyError (a missing field); the protocol maps both to ``FrameError``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    DataType,
    FundingRate,
    Instrument,
    MarketEvent,
    PriceLevel,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.common import sides, wire


def book_levels(field: str, raw: Any) -> tuple[PriceLevel, ...]:
    """``[{"price":439.3,"qty":20108.0}, ...]`` -> ((price > 0, qty >= 0), ...).

    The ``bids`` / ``asks`` of a ``book_snapshot`` (book page; ``kraken-futures.jsonl``).
    The simulated venue rebuilds recorded books with it.

    Raises:
        InvalidValueError: not a list of ``{"price", "qty"}`` objects with valid numbers.
        KeyError: a level without ``price`` or ``qty``.
    """
    levels: list[PriceLevel] = []
    for level in wire.json_list(field, raw):
        entry = wire.json_object(field, level)
        levels.append((wire.price("price", entry["price"]), wire.quantity("qty", entry["qty"])))
    return tuple(levels)


def book_side(raw: Any) -> Side:
    """A ``book`` message's ``side``: ``buy`` (a bid level) or ``sell`` (an ask level).

    Raises:
        InvalidValueError: anything else.
    """
    return sides.side("side", raw, "buy", "sell")


def book_delta(message: dict[str, Any]) -> tuple[Side, PriceLevel, int, int]:
    """One ``book`` message -> (side, (price, qty), seq, timestamp ms).

    Shape (``kraken-futures.jsonl``)::

        {"feed":"book","product_id":"PI_ETHUSD","side":"sell","seq":26660860,
         "price":2004.85,"qty":4787.0,"timestamp":1626994927744}

    Raises:
        InvalidValueError, KeyError: a bad or missing field.
    """
    side = book_side(message["side"])
    level = (wire.price("price", message["price"]), wire.quantity("qty", message["qty"]))
    seq = wire.integer("seq", message["seq"])
    return side, level, seq, wire.integer("timestamp", message["timestamp"])


def trade_event(
    instrument: Instrument, message: dict[str, Any], received_at_ms: int
) -> MarketEvent:
    """One ``trade`` message -> a trade event keyed by its ``uid``.

    Shape (``kraken-futures.jsonl``)::

        {"feed":"trade","product_id":"PI_LTCUSD","uid":"e2429e31-8b9d-4195-900e-fd42be2dec89",
         "side":"buy","type":"fill","seq":5956,"time":1626994929946,"qty":320.0,"price":119.44}

    ``side`` is the taker's. ``type`` (``fill``, ``liquidation``, ``termination``,
    ``block``) is not kept: every kind is a trade print.

    Raises:
        InvalidValueError, KeyError: a bad or missing field.
    """
    uid = wire.text("uid", message["uid"])
    if not uid:
        raise InvalidValueError("uid", uid, "expected a non-empty string")
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        wire.integer("time", message["time"]),
        Trade(
            uid,
            wire.price("price", message["price"]),
            wire.quantity("qty", message["qty"]),
            sides.side("side", message["side"], "buy", "sell"),
        ),
        uid,
    )


TICKER_EXAMPLE = (
    '{"time":1612270825253,"feed":"ticker","product_id":"PI_XBTUSD","bid":34832.5,'
    '"ask":34847.5,"bid_size":42864,"ask_size":2300,"volume":262306237,"dtm":0,'
    '"leverage":"50x","index":34803.45,"premium":0.1,"last":34852,'
    '"change":2.995109121267192,"funding_rate":3.891007752e-9,'
    '"funding_rate_prediction":4.2233756e-9,"suspended":false,"tag":"perpetual",'
    '"pair":"XBT:USD","openInterest":107706940,"markPrice":34844.25,"maturityTime":0,'
    '"relative_funding_rate":0.000135046879166667,'
    '"relative_funding_rate_prediction":0.000146960125,'
    '"next_funding_rate_time":1612281600000}'
)
"""The documented ``ticker`` message (Kraken's futures API page, as quoted in ccxt)."""

_ZERO = Decimal(0)


def ticker_event(
    instrument: Instrument, message: dict[str, Any], received_at_ms: int
) -> MarketEvent:
    """A ``ticker`` message -> best bid and ask with sizes (see :data:`TICKER_EXAMPLE`).

    Raises:
        InvalidValueError, KeyError: a bad or missing field.
    """
    time = wire.integer("time", message["time"])
    bid = wire.quantity("bid", message["bid"])
    bid_size = wire.quantity("bid_size", message["bid_size"])
    ask = wire.quantity("ask", message["ask"])
    ask_size = wire.quantity("ask_size", message["ask_size"])
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        time,
        Ticker(bid, bid_size, ask, ask_size),
        f"{time}:{bid}:{bid_size}:{ask}:{ask_size}",
    )


def is_perpetual(message: dict[str, Any]) -> bool:
    """True for a perpetual's ``ticker`` message (``tag`` ``perpetual``): funding applies."""
    return message.get("tag") == "perpetual"


def funding_event(
    instrument: Instrument, message: dict[str, Any], received_at_ms: int
) -> MarketEvent:
    """A perpetual's ``ticker`` message -> ``relative_funding_rate`` (0 when left out, as
    the venue leaves out zero funding fields), ``markPrice``, ``index`` and
    ``next_funding_rate_time`` (epoch ms).

    Raises:
        InvalidValueError, KeyError: a bad or missing field.
    """
    time = wire.integer("time", message["time"])
    raw_rate = message.get("relative_funding_rate")
    rate = _ZERO if raw_rate is None else wire.decimal("relative_funding_rate", raw_rate)
    index = message.get("index")
    next_time = message.get("next_funding_rate_time")
    return MarketEvent(
        instrument,
        DataType.FUNDING_RATE,
        received_at_ms,
        time,
        FundingRate(
            rate=rate,
            mark_price=wire.price("markPrice", message["markPrice"]),
            index_price=None if index is None else wire.price("index", index),
            next_funding_time_ms=(
                None if next_time is None else wire.integer("next_funding_rate_time", next_time)
            ),
        ),
        f"{time}:{rate}",
    )


def open_interest(message: dict[str, Any]) -> Decimal:
    """A ``ticker`` message's ``openInterest`` (contracts).

    Raises:
        InvalidValueError, KeyError: a bad or missing field.
    """
    return wire.quantity("openInterest", message["openInterest"])
