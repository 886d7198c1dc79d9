"""OKX v5 public pushes read into events: trades, tickers, funding, open interest, candles...

Formats follow https://www.okx.com/docs-v5/en/#order-book-trading-market-data,
https://www.okx.com/docs-v5/en/#public-data-websocket-funding-rate-channel,
https://www.okx.com/docs-v5/en/#public-data-websocket-open-interest-channel,
https://www.okx.com/docs-v5/en/#public-data-websocket-liquidation-orders-channel
and the recorded session ``okx.jsonl`` in ``shared/captures``. The readers take
one entry of a push's ``data`` list and the subscribed instrument it names
(looked up by the protocol); they raise ``KeyError`` (a missing field),
``TypeError`` or :class:`~relay.domain.errors.InvalidValueError`, which the
protocol maps to ``FrameError`` reasons.
"""

from __future__ import annotations

import datetime
import zlib
from decimal import Decimal
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Ticker,
    Trade,
    parse_decimal,
)
from relay.infrastructure.venues.common import sides, wire
from relay.infrastructure.venues.common.wire import MAX_ID

_UNIT_MS = {"s": 1_000, "m": 60_000, "H": 3_600_000, "D": 86_400_000, "W": 7 * 86_400_000}
_UTC8 = datetime.timezone(datetime.timedelta(hours=8))

BookLevel = tuple[Decimal, Decimal, str, str]
"""(price, size, price text, size text) of one received level."""


def candle_close_ms(open_ms: int, bar: str) -> int:
    """The last millisecond of a candle opened at ``open_ms``.

    Months are calendar months in UTC+8 (OKX's default alignment) or UTC for
    ``...utc`` bars; other bars have a fixed length.

    Raises:
        InvalidValueError: ``bar`` is not one of OKX's bars.
    """
    core = bar.removesuffix("utc")
    count_text, unit = core[:-1], core[-1:]
    if not count_text.isdigit() or unit not in (*_UNIT_MS, "M"):
        raise InvalidValueError("bar", bar, "not an OKX candle bar")
    count = int(count_text)
    if unit != "M":
        return open_ms + count * _UNIT_MS[unit] - 1
    zone = datetime.UTC if bar.endswith("utc") else _UTC8
    start = datetime.datetime.fromtimestamp(open_ms / 1000, zone)
    months = start.year * 12 + start.month - 1 + count
    end = start.replace(year=months // 12, month=months % 12 + 1)
    return int(end.timestamp() * 1000) - 1


def ms(field: str, raw: Any) -> int:
    """An epoch-ms time sent as a decimal string (``"1652459225464"``)."""
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 18:
        raise InvalidValueError(field, raw, "expected epoch milliseconds as a digit string")
    return int(raw)


def seq(field: str, raw: Any) -> int:
    """A ``seqId``/``prevSeqId``: a JSON integer in -1..2**63-1 (snapshots send -1)."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not -1 <= raw <= MAX_ID:
        raise InvalidValueError(field, raw, "expected an integer in -1..2**63-1")
    return raw


def book_levels(field: str, raw: Any) -> tuple[BookLevel, ...]:
    """``[["30238.8", "2", "0", "1"], ...]`` -> ((price > 0, size >= 0, texts), ...)."""
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list of levels")
    levels: list[BookLevel] = []
    append = levels.append
    for level in raw:
        if type(level) is not list or len(level) < 2:
            raise InvalidValueError(field, level, "expected [price, size, ...]")
        price, size = level[0], level[1]
        append((wire.price("price", price), wire.quantity("size", size), price, size))
    return tuple(levels)


def data_objects(data: list[Any]) -> list[dict[str, Any]]:
    """``data`` itself, once every entry is checked to be an object.

    Raises:
        InvalidValueError: an entry that is not an object.
    """
    for entry in data:
        if not isinstance(entry, dict):
            raise InvalidValueError("data", entry, "expected an object")
    return data


def trade(entry: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """``trades``: one event per entry; the dedup key is ``tradeId``.

    Shape (``okx.jsonl``)::

        {"instId":"BTC-USDT","tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy",
         "ts":"1652459224818"}
    """
    trade_id = wire.text("tradeId", entry["tradeId"])
    if not trade_id:
        raise InvalidValueError("tradeId", trade_id, "empty")
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        ms("ts", entry["ts"]),
        Trade(
            trade_id,
            wire.price("px", entry["px"]),
            wire.quantity("sz", entry["sz"]),
            sides.side("side", entry["side"], "buy", "sell"),
        ),
        trade_id,
    )


def ticker(entry: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """``tickers`` -> best bid/ask (``bidPx``, ``bidSz``, ``askPx``, ``askSz``)."""
    ts = ms("ts", entry["ts"])
    bid_px, bid_sz = entry["bidPx"], entry["bidSz"]
    ask_px, ask_sz = entry["askPx"], entry["askSz"]
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        ts,
        Ticker(
            wire.price("bidPx", bid_px),
            wire.quantity("bidSz", bid_sz),
            wire.price("askPx", ask_px),
            wire.quantity("askSz", ask_sz),
        ),
        f"{ts}:{bid_px}:{bid_sz}:{ask_px}:{ask_sz}",
    )


def funding(entry: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """``funding-rate``: ``fundingRate`` due at ``fundingTime``."""
    funding_time = ms("fundingTime", entry["fundingTime"])
    ts = ms("ts", entry["ts"]) if "ts" in entry else None
    rate_text = entry["fundingRate"]
    crc = None
    if ts is None:  # every field, so that a rate coming back is not taken for a re-send
        crc = zlib.crc32("|".join(f"{k}={entry[k]}" for k in sorted(entry)).encode())
    return MarketEvent(
        instrument,
        DataType.FUNDING_RATE,
        received_at_ms,
        ts,
        FundingRate(
            rate=parse_decimal("fundingRate", rate_text),
            next_funding_time_ms=funding_time,
        ),
        f"{funding_time}:{ts}" if ts is not None else f"{funding_time}:{rate_text}:{crc}",
    )


def open_interest(
    entry: dict[str, Any], instrument: Instrument, received_at_ms: int
) -> MarketEvent:
    """``open-interest``: ``oi`` (contracts)."""
    ts = ms("ts", entry["ts"])
    return MarketEvent(
        instrument,
        DataType.OPEN_INTEREST,
        received_at_ms,
        ts,
        OpenInterest(wire.quantity("oi", entry["oi"])),
        str(ts),
    )


def liquidations(
    entry: dict[str, Any], instrument: Instrument, received_at_ms: int
) -> list[MarketEvent]:
    """One ``liquidation-orders`` entry: an event per item of its ``details`` list.

    The side is the liquidation order's; the price is the bankruptcy price ``bkPx``.
    """
    details = entry["details"]
    if not isinstance(details, list):
        raise InvalidValueError("details", details, "expected a list")
    events: list[MarketEvent] = []
    for detail in data_objects(details):
        ts = ms("ts", detail["ts"])
        side = sides.side("side", detail["side"], "buy", "sell")
        size, price = detail["sz"], detail["bkPx"]
        events.append(
            MarketEvent(
                instrument,
                DataType.LIQUIDATION,
                received_at_ms,
                ts,
                Liquidation(side, wire.price("bkPx", price), wire.quantity("sz", size)),
                f"{ts}:{side.value}:{size}:{price}",
            )
        )
    return events


def candles(
    data: list[Any], instrument: Instrument, bar: str, received_at_ms: int
) -> list[MarketEvent]:
    """``candle<bar>``: ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`` rows."""
    events = []
    for row in data:
        if not isinstance(row, list) or len(row) < 6:
            raise InvalidValueError("data", row, "expected [ts, o, h, l, c, vol, ...]")
        open_ms = ms("ts", row[0])
        confirm = row[8] if len(row) > 8 else "0"
        if confirm not in ("0", "1"):
            raise InvalidValueError("confirm", confirm, "expected 0 or 1")
        events.append(
            MarketEvent(
                instrument,
                DataType.CANDLE,
                received_at_ms,
                None,
                Candle(
                    interval=bar,
                    open_time_ms=open_ms,
                    close_time_ms=candle_close_ms(open_ms, bar),
                    open=wire.price("o", row[1]),
                    high=wire.price("h", row[2]),
                    low=wire.price("l", row[3]),
                    close=wire.price("c", row[4]),
                    volume=wire.quantity("vol", row[5]),
                    is_closed=confirm == "1",
                    quote_volume=wire.quantity("volCcyQuote", row[7]) if len(row) > 7 else None,
                ),
                f"{open_ms}:{confirm}:{row[5]}:{row[4]}",
            )
        )
    return events
