"""Bitfinex ws/2 public messages: book levels, trades, tickers, candles.

Sources (every format parsed here comes from one of these, or from the recorded
session ``bitfinex.jsonl`` in ``shared/captures``, 2021-04):

- Books: https://docs.bitfinex.com/reference/ws-public-books (P-precision book:
  snapshot ``[CHAN_ID, [[PRICE, COUNT, AMOUNT], ...]]``, update
  ``[CHAN_ID, [PRICE, COUNT, AMOUNT]]``; ``AMOUNT`` > 0 a bid, < 0 an ask;
  ``COUNT`` 0 deletes the level, ``AMOUNT`` 1 from the bids, -1 from the asks).
- Trades: https://docs.bitfinex.com/reference/ws-public-trades (snapshot
  ``[CHAN_ID, [[ID, MTS, AMOUNT, PRICE], ...]]`` newest first; ``"te"`` /
  ``"tu"`` updates ``[CHAN_ID, "te", [ID, MTS, AMOUNT, PRICE]]``; ``AMOUNT`` < 0 a sell).
- Ticker: https://docs.bitfinex.com/reference/ws-public-ticker (trading pairs:
  ``[CHAN_ID, [BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE,
  LAST_PRICE, VOLUME, HIGH, LOW]]``, no time).
- Candles: https://docs.bitfinex.com/reference/ws-public-candles (key
  ``trade:1m:tBTCUSD``; ``[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]``: close before high).
- Quirks: cryptofeed's ``cryptofeed/exchanges/bitfinex.py`` (``tu`` repeats a ``te``
  trade and is not published; a trade's side is the sign of its amount).

Numbers are JSON numbers; frames are decoded by
:func:`relay.infrastructure.venues.common.wire.exact_json`, so every value is a
Decimal (or int) of the digits sent, which the checksum needs.

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad value),
KeyError or IndexError (a missing field); the protocol maps them to ``FrameError``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    Instrument,
    MarketEvent,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.common import wire

BookLevel = tuple[Decimal, int, Decimal]
"""``(price, count, amount)``: ``amount`` signed as sent (> 0 a bid, < 0 an ask)."""

_ZERO = Decimal(0)


def _number(field: str, raw: Any) -> Decimal:
    """A JSON number (int or Decimal) as a Decimal; bools and text refused."""
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise InvalidValueError(field, raw, "expected a number")
    return wire.decimal(field, raw)


def _count(raw: Any) -> int:
    if type(raw) is not int or raw < 0:
        raise InvalidValueError("count", raw, "expected an integer >= 0")
    return raw


def book_level(raw: Any) -> BookLevel:
    """``[PRICE, COUNT, AMOUNT]`` -> ``(price > 0, count >= 0, amount != 0)``.

    Sample (``bitfinex.jsonl``, tDOGUSD): ``[279380,1,0.0089]`` (a bid),
    ``[0.00002532,0,-1]`` (delete the ask 0.00002532).

    Raises:
        InvalidValueError: not a list of three numbers, a price <= 0, an amount of 0.
        IndexError: fewer than three items.
    """
    entry = wire.json_list("level", raw)
    price = _number("price", entry[0])
    if price <= _ZERO:
        raise InvalidValueError("price", entry[0], "expected a price > 0")
    count = _count(entry[1])
    amount = _number("amount", entry[2])
    if amount == _ZERO:
        raise InvalidValueError("amount", entry[2], "expected a non-zero amount")
    return price, count, amount


def book_snapshot(raw: Any) -> tuple[BookLevel, ...]:
    """A book snapshot's levels (see :func:`book_level`); each must set a level (count > 0).

    Raises:
        InvalidValueError, IndexError: a bad level.
    """
    levels = tuple(book_level(level) for level in wire.json_list("snapshot", raw))
    for level in levels:
        if level[1] == 0:
            raise InvalidValueError("count", 0, "a snapshot level with count 0")
    return levels


def is_snapshot(body: Any) -> bool:
    """True for a snapshot body (a list of lists, or an empty list), False for one entry."""
    return isinstance(body, list) and (not body or isinstance(body[0], list))


def _trade(instrument: Instrument, raw: Any, received_at_ms: int) -> MarketEvent:
    entry = wire.json_list("trade", raw)
    trade_id = wire.integer("id", entry[0])
    mts = wire.integer("mts", entry[1])
    amount = _number("amount", entry[2])
    if amount == _ZERO:
        raise InvalidValueError("amount", entry[2], "expected a non-zero amount")
    price = wire.price("price", entry[3])
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        mts,
        Trade(str(trade_id), price, abs(amount), Side.BUY if amount > 0 else Side.SELL),
        str(trade_id),
    )


def trade_event(instrument: Instrument, raw: Any, received_at_ms: int) -> MarketEvent:
    """One trade ``[ID, MTS, AMOUNT, PRICE]`` -> a trade; the side is the amount's sign.

    Sample (``bitfinex.jsonl``, tTESTBTC:TESTUSD snapshot):
    ``[670155031,1618677442819,-0.00023057,60410]`` -> sell 0.00023057 at 60410.

    Raises:
        InvalidValueError, IndexError: a bad or missing field.
    """
    return _trade(instrument, raw, received_at_ms)


def trade_snapshot(instrument: Instrument, raw: Any, received_at_ms: int) -> list[MarketEvent]:
    """A trades snapshot (newest first, as sent) -> its trades, oldest first.

    Raises:
        InvalidValueError, IndexError: a bad trade (then none is returned).
    """
    trades = [_trade(instrument, entry, received_at_ms) for entry in wire.json_list("trades", raw)]
    trades.reverse()
    return trades


def ticker_event(
    instrument: Instrument, raw: Any, seq: int | None, received_at_ms: int
) -> MarketEvent:
    """``[BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE,
    VOLUME, HIGH, LOW]`` -> best bid and ask with sizes.

    Sample (``bitfinex.jsonl``, tBFTUSD): ``[0.068965,60157.36709703,0.0774,
    48578.50804052,0.001969,0.0262,0.076989,101459.39453471,0.0828,0.068961]``.

    The message has no time: its dedup key is the connection's sequence number
    (``SEQ_ALL``, None without) and every field, so a quote that comes back is a
    new message while the same frame seen twice keeps its id.

    Raises:
        InvalidValueError, IndexError: a bad or missing field.
    """
    entry = wire.json_list("ticker", raw)
    bid = wire.price("bid", entry[0])
    bid_size = wire.quantity("bid_size", entry[1])
    ask = wire.price("ask", entry[2])
    ask_size = wire.quantity("ask_size", entry[3])
    rest = ":".join(str(_number("ticker", value)) for value in entry[4:10])
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        None,
        Ticker(bid, bid_size, ask, ask_size),
        f"{'' if seq is None else seq}:{bid}:{bid_size}:{ask}:{ask_size}:{rest}",
    )


INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "3h": 10_800_000,
    "6h": 21_600_000,
    "12h": 43_200_000,
    "1D": 86_400_000,
    "1W": 604_800_000,
    "14D": 1_209_600_000,
}
"""Bitfinex candle time frames (candles page) -> length in ms; ``1M`` (a calendar month)
has no fixed length and is not offered."""


def candle_event(
    instrument: Instrument, interval: str, raw: Any, received_at_ms: int
) -> MarketEvent:
    """``[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]`` -> an open candle (Bitfinex never marks one
    final); ``interval`` is the venue's time frame (``"1m"``, ``"1D"``).

    Sample (candles page): ``[1574698260000,7379.785503,7383.8,7388.3,7379.785503,
    1.68829482]``.

    Raises:
        InvalidValueError, IndexError: a bad or missing field.
    """
    entry = wire.json_list("candle", raw)
    mts = wire.integer("mts", entry[0])
    open_, close = wire.price("open", entry[1]), wire.price("close", entry[2])
    high, low = wire.price("high", entry[3]), wire.price("low", entry[4])
    volume = wire.quantity("volume", entry[5])
    return MarketEvent(
        instrument,
        DataType.CANDLE,
        received_at_ms,
        mts,
        Candle(
            interval=interval,
            open_time_ms=mts,
            close_time_ms=mts + INTERVAL_MS[interval],
            open=open_,
            high=high,
            low=low,
            close=close,
            volume=volume,
            is_closed=False,
        ),
        f"{interval}:{mts}:{open_}:{close}:{high}:{low}:{volume}",
    )
