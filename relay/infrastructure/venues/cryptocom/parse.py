"""Crypto.com Exchange v1 market data fields and events: book levels, trades, tickers,
open interest, funding, candles.

Sources (every format parsed here comes from one of these; there is no
recording of this venue in ``shared/captures``):

- The Exchange API v1 reference, https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html,
  sections ``book.{instrument_name}.{depth}`` (levels ``[price, size, number of
  orders]``), ``trade.{instrument_name}``, ``ticker.{instrument_name}``,
  ``candlestick.{time_frame}.{instrument_name}`` and ``funding.{instrument_name}``
  (#book-instrument_name-depth, #trade-instrument_name, #ticker-instrument_name,
  #candlestick-time_frame-instrument_name, #funding-instrument_name); every
  sample payload below is trimmed from those pages.
- Quirks from cryptofeed's ``cryptofeed/exchanges/cryptodotcom.py`` (v2 feed):
  numbers may come as JSON numbers rather than strings (it decodes with
  ``parse_float=Decimal``), so frames are decoded by
  :func:`relay.infrastructure.venues.common.wire.exact_object` and every value
  keeps the digits sent, string or number.

Data types: ``trade`` from ``trade`` (``s`` is the taker's side); ``ticker``
from ``ticker`` (``b``/``bs`` best bid and size, ``k``/``ks`` best ask and size;
a side the venue sends as ``null``, no bids or no asks, is published as price and
size 0); ``open_interest`` from the ticker's ``oi`` (perpetuals and futures;
published when it changes); ``funding_rate`` from ``funding`` (the hourly rate
that settles at the end of the current hour, so ``next_funding_time_ms`` is the
next whole hour after ``t``); ``candle`` from ``candlestick`` (never marked
closed: the venue sends no close flag).

Dedup keys: trades the trade id ``d``; book snapshots ``snapshot:<u>``, deltas
``<snapshot u>:<u>``; tickers ``<t>:<b>:<bs>:<k>:<ks>``; open interest
``<t>:<oi>``; funding ``<t>:<v>``; candles ``<t>:<v>:<h>:<l>:<c>``.

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad
value) or KeyError (a missing field); the protocol maps both to ``FrameError``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    MarketEvent,
    PriceLevel,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.common import sides, wire

INTERVALS: dict[str, tuple[str, int]] = {
    "1m": ("1m", 60_000),
    "5m": ("5m", 300_000),
    "15m": ("15m", 900_000),
    "30m": ("30m", 1_800_000),
    "1h": ("1h", 3_600_000),
    "2h": ("2h", 7_200_000),
    "4h": ("4h", 14_400_000),
    "12h": ("12h", 43_200_000),
    "1d": ("1D", 86_400_000),
    "1w": ("7D", 604_800_000),
    "2w": ("14D", 1_209_600_000),
}
"""Relay candle interval -> (the venue's ``time_frame``, candle length in ms). The venue's
``1M`` (calendar month) has no fixed length and is not offered."""

_BY_TIME_FRAME = {frame: (word, ms) for word, (frame, ms) in INTERVALS.items()}
_HOUR_MS = 3_600_000
_ZERO = Decimal(0)


def book_levels(field: str, raw: Any) -> tuple[PriceLevel, ...]:
    """``[["30082.5", "0.1689", "1"], ...]`` -> ((price > 0, size >= 0), ...).

    A level is ``[price, total size, number of orders]`` (the book page's ``level``
    table); the order count is not kept. Size ``"0"`` in a ``book.update`` removes
    the level. The simulated venue rebuilds books with it.

    Raises:
        InvalidValueError: not a list of levels of at least two valid numbers.
    """
    levels: list[PriceLevel] = []
    for level in wire.json_list(field, raw):
        if type(level) is not list or len(level) < 2:
            raise InvalidValueError(field, level, "expected [price, size, orders]")
        levels.append((wire.price("price", level[0]), wire.quantity("size", level[1])))
    return tuple(levels)


def trade_events(instrument: Instrument, data: Any, received_at_ms: int) -> list[MarketEvent]:
    """The ``data`` list of a ``trade`` message -> one trade event per entry, keyed by ``d``.

    Shape (trade page)::

        {"id":1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",
         "subscription":"trade.BTCUSD-PERP","channel":"trade","data":[{"d":"2030407068",
         "t":1613581138462,"p":"51327.500000","q":"0.000100","s":"SELL","i":"BTCUSD-PERP"}]}}

    ``s`` is the side of the taker order. The venue sends its last 50 trades after
    a subscribe; they are published like any other (their ids make a repeat a duplicate).

    Raises:
        InvalidValueError, KeyError: a bad or missing field.
    """
    events: list[MarketEvent] = []
    for raw in wire.json_list("data", data):
        entry = wire.json_object("trade", raw)
        trade_id = entry["d"]
        if type(trade_id) is int:
            trade_id = str(wire.integer("d", trade_id))
        trade_id = wire.text("d", trade_id)
        if not trade_id:
            raise InvalidValueError("d", trade_id, "expected a non-empty trade id")
        events.append(
            MarketEvent(
                instrument,
                DataType.TRADE,
                received_at_ms,
                wire.integer("t", entry["t"]),
                Trade(
                    trade_id,
                    wire.price("p", entry["p"]),
                    wire.quantity("q", entry["q"]),
                    sides.side("s", entry["s"], "BUY", "SELL"),
                ),
                trade_id,
            )
        )
    return events


def _best(field: str, raw: Any) -> Decimal:
    """A ticker's best price or size; ``null`` (no bids, no asks) is 0."""
    return _ZERO if raw is None else wire.quantity(field, raw)


def ticker_event(instrument: Instrument, entry: dict[str, Any], received_at_ms: int) -> MarketEvent:
    """One ``ticker`` data entry -> best bid and ask with sizes.

    Shape (ticker page)::

        {"h":"51790.00","l":"47895.50","a":"51174.500000","c":"0.03955106",
         "b":"51170.000000","bs":"0.1000","k":"51180.000000","ks":"0.2000",
         "i":"BTCUSD-PERP","v":"879.5024","vv":"26370000.12","oi":"12345.12","t":1613580710768}

    Raises:
        InvalidValueError, KeyError: a bad or missing field.
    """
    time = wire.integer("t", entry["t"])
    bid = _best("b", entry["b"])
    bid_size = _best("bs", entry["bs"])
    ask = _best("k", entry["k"])
    ask_size = _best("ks", entry["ks"])
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        time,
        Ticker(bid, bid_size, ask, ask_size),
        f"{time}:{bid}:{bid_size}:{ask}:{ask_size}",
    )


def open_interest(entry: dict[str, Any]) -> Decimal | None:
    """A ticker entry's ``oi`` (open interest), or None when it has none (spot pairs).

    Raises:
        InvalidValueError: a bad value.
    """
    raw = entry.get("oi")
    return None if raw is None else wire.quantity("oi", raw)


def funding_event(
    instrument: Instrument, entry: dict[str, Any], received_at_ms: int
) -> MarketEvent:
    """One ``funding`` data entry -> the funding rate ``v``, due at the next whole hour.

    Shape (funding page; "hourly rate that will settle at the end of the current hour")::

        {"id":1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",
         "subscription":"funding.BTCUSD-PERP","channel":"funding",
         "data":[{"v":"0.00144","t":1613582880000}]}}

    Raises:
        InvalidValueError, KeyError: a bad or missing field.
    """
    time = wire.integer("t", entry["t"])
    rate = wire.decimal("v", entry["v"])
    next_hour_ms = (time // _HOUR_MS + 1) * _HOUR_MS
    return MarketEvent(
        instrument,
        DataType.FUNDING_RATE,
        received_at_ms,
        time,
        FundingRate(rate=rate, next_funding_time_ms=min(next_hour_ms, wire.MAX_ID)),
        f"{time}:{rate}",
    )


def candle_events(
    instrument: Instrument, time_frame: str, data: Any, received_at_ms: int
) -> list[MarketEvent]:
    """The ``data`` of a ``candlestick`` message -> one candle per entry.

    Shape (candlestick page; ``t`` is the candle's start)::

        {"id":1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",
         "subscription":"candlestick.1D.BTCUSD-PERP","channel":"candlestick","interval":"1D",
         "data":[{"o":"51140.500000","h":"51699.000000","l":"49212.000000",
         "c":"51313.500000","v":"867.9432","t":1612224000000}]}}

    Args:
        time_frame: the venue's word from the subscription (``"1D"``); the relay's
            interval word (``"1d"``) is published.

    Raises:
        InvalidValueError: an unknown time frame, or a bad value.
        KeyError: a missing field.
    """
    if time_frame not in _BY_TIME_FRAME:
        raise InvalidValueError("interval", time_frame, f"expected one of {sorted(_BY_TIME_FRAME)}")
    word, length_ms = _BY_TIME_FRAME[time_frame]
    events: list[MarketEvent] = []
    for raw in wire.json_list("data", data):
        entry = wire.json_object("candle", raw)
        start = wire.integer("t", entry["t"])
        volume = wire.quantity("v", entry["v"])
        high = wire.price("h", entry["h"])
        low = wire.price("l", entry["l"])
        close = wire.price("c", entry["c"])
        events.append(
            MarketEvent(
                instrument,
                DataType.CANDLE,
                received_at_ms,
                start,
                Candle(
                    interval=word,
                    open_time_ms=start,
                    close_time_ms=min(start + length_ms - 1, wire.MAX_ID),
                    open=wire.price("o", entry["o"]),
                    high=high,
                    low=low,
                    close=close,
                    volume=volume,
                    is_closed=False,
                ),
                f"{start}:{volume}:{high}:{low}:{close}",
            )
        )
    return events
