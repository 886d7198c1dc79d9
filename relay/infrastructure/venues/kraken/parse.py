"""Kraken v2 message fields and events: levels, trades, tickers, candles, book messages.

No recorded Kraken v2 session exists in ``shared/captures``; every format parsed
here follows Kraken's documented example messages (the stored copies of these
pages were read through the ``search`` tool):

- Trade channel: https://docs.kraken.com/api/docs/websocket-v2/trade
- Ticker channel: https://docs.kraken.com/api/docs/websocket-v2/ticker
- Book channel: https://docs.kraken.com/api/docs/websocket-v2/book
- OHLC channel: https://docs.kraken.com/api/docs/websocket-v2/ohlc

Prices and quantities are JSON *numbers*; frames are decoded by
:func:`relay.infrastructure.venues.common.wire.exact_json` (``parse_float=Decimal``) so
the venue's digits are kept (never a float).

Dedup keys: trade: ``trade_id`` (a sequence number unique per book); ticker:
``<timestamp>:<bid>:<bid_qty>:<ask>:<ask_qty>`` (a ticker without
``timestamp`` adds ``:<crc32 of every field>``, its last price, volumes and
changes, so that a quote returning to an earlier value is not taken for a
duplicate); candle: ``<interval>:<interval_begin ms>:<trades>:<volume>``;
book snapshot: ``snapshot:<timestamp>:<checksum>`` for a symbol's first
snapshot on a connection, ``snapshot:<timestamp>:<checksum>:<n>`` for its
``n``-th later one (a resync's, which may carry the same time and top-10
checksum as an earlier one); book update:
``<timestamp>:<checksum>:<crc32 of the update's levels>`` (the checksum covers
only the top 10 levels, so the levels themselves tell apart two deep updates
in the same microsecond).

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad
value) or KeyError (a missing field); the protocol maps both to ``FrameError``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from decimal import Decimal
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


def plain(value: Decimal) -> str:
    """A Decimal as a JSON number without exponent, keeping its digits (``0.10000000``).

    The simulated venue writes book levels with it, as Kraken writes them.
    """
    return format(value, "f")


def levels(field: str, raw: Any) -> list[PriceLevel]:
    """``[{"price": 0.5666, "qty": 4831.75496356}, ...]`` -> [(price > 0, qty >= 0), ...].

    Shape: the ``bids`` / ``asks`` of a ``book`` message (book channel page).

    Raises:
        InvalidValueError, KeyError: not a list of ``{"price", "qty"}`` objects
            with a price > 0 and a qty >= 0.
    """
    result: list[PriceLevel] = []
    for level in wire.json_list(field, raw):
        entry = wire.json_object(field, level)
        result.append((wire.price("price", entry["price"]), wire.quantity("qty", entry["qty"])))
    return result


def trade_event(entry: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """One ``trade`` entry -> a trade keyed by its ``trade_id`` (unique per book).

    Shape (trade channel page, trimmed)::

        {"symbol":"MATIC/USD","side":"sell","price":0.5117,"qty":40.0,"ord_type":"market",
         "trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}
    """
    side = sides.side("side", entry["side"], "buy", "sell")
    trade_id = str(wire.integer("trade_id", entry["trade_id"]))
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        times.rfc3339_ms("timestamp", entry["timestamp"]),
        Trade(
            trade_id,
            wire.price("price", entry["price"]),
            wire.quantity("qty", entry["qty"]),
            side,
        ),
        trade_id,
    )


def ticker_event(entry: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """One ``ticker`` entry -> best bid and ask with their quantities (other fields left out).

    Shape (ticker channel page, trimmed)::

        {"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,
         "ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,...,
         "timestamp":"2023-09-25T09:04:31.742648Z"}
    """
    timestamp = entry.get("timestamp")
    ticker = Ticker(
        wire.price("bid", entry["bid"]),
        wire.quantity("bid_qty", entry["bid_qty"]),
        wire.price("ask", entry["ask"]),
        wire.quantity("ask_qty", entry["ask_qty"]),
    )
    key = (
        f"{timestamp or ''}:{ticker.bid_price}:{ticker.bid_quantity}:"
        f"{ticker.ask_price}:{ticker.ask_quantity}"
    )
    if not timestamp:
        fields = "|".join(f"{name}={entry[name]}" for name in sorted(entry))
        key = f"{key}:{zlib.crc32(fields.encode())}"
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        None if timestamp is None else times.rfc3339_ms("timestamp", timestamp),
        ticker,
        key,
    )


def candle_event(
    entry: dict[str, Any], instrument: Instrument, interval: str, received_at_ms: int
) -> MarketEvent:
    """One ``ohlc`` entry -> an open candle of the configured ``interval`` (Kraken never
    marks one final).

    Shape (ohlc channel page, trimmed)::

        {"symbol":"MATIC/USD","open":0.5624,"high":0.5628,"low":0.5622,"close":0.5627,
         "trades":12,"volume":30927.68066226,"vwap":0.5626,
         "interval_begin":"2023-10-04T16:25:00.000000000Z","interval":5,
         "timestamp":"2023-10-04T16:30:00.000000Z"}
    """
    minutes = wire.integer("interval", entry["interval"])
    begin = times.rfc3339_ms("interval_begin", entry["interval_begin"])
    trades = wire.integer("trades", entry["trades"])
    volume = wire.quantity("volume", entry["volume"])
    return MarketEvent(
        instrument,
        DataType.CANDLE,
        received_at_ms,
        begin,
        Candle(
            interval=interval,
            open_time_ms=begin,
            close_time_ms=begin + minutes * 60_000,
            open=wire.price("open", entry["open"]),
            high=wire.price("high", entry["high"]),
            low=wire.price("low", entry["low"]),
            close=wire.price("close", entry["close"]),
            volume=volume,
            is_closed=False,
            quote_volume=None,
            trade_count=trades,
        ),
        f"{minutes}:{begin}:{trades}:{volume}",
    )


def book_entry(message: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """A ``book`` message -> (is it a snapshot, its one entry of ``data``).

    Shape (book channel page, trimmed)::

        {"channel":"book","type":"update","data":[{"symbol":"MATIC/USD",
         "bids":[{"price":0.5657,"qty":1098.3947558}],"asks":[],"checksum":2114181697,
         "timestamp":"2023-10-06T17:35:55.440295Z"}]}

    Raises:
        InvalidValueError: ``type`` is neither ``snapshot`` nor ``update``, or
            ``data`` does not hold exactly one book.
    """
    kind = message["type"]
    if kind not in ("snapshot", "update"):
        raise InvalidValueError("type", kind, "expected snapshot or update")
    data = wire.json_list("data", message["data"])
    if len(data) != 1:
        raise InvalidValueError("data", len(data), "expected exactly one book")
    return kind == "snapshot", wire.json_object("data", data[0])


@dataclass(frozen=True, slots=True)
class BookLevels:
    """The levels and stamps of one ``book`` entry.

    Attributes:
        bids, asks: the levels in the order sent.
        checksum: the venue's CRC32 of the book after this message.
        raw_timestamp: ``timestamp`` as sent (RFC 3339 text), or None.
        timestamp_ms: that time in epoch ms, or None.
    """

    bids: list[PriceLevel]
    asks: list[PriceLevel]
    checksum: int
    raw_timestamp: Any
    timestamp_ms: int | None


def book_levels(entry: dict[str, Any]) -> BookLevels:
    """Read the levels, checksum and time of one ``book`` entry (see :func:`book_entry`)."""
    bids = levels("bids", entry["bids"])
    asks = levels("asks", entry["asks"])
    checksum = wire.integer("checksum", entry["checksum"])
    raw_timestamp = entry.get("timestamp")
    timestamp = None if raw_timestamp is None else times.rfc3339_ms("timestamp", raw_timestamp)
    return BookLevels(bids, asks, checksum, raw_timestamp, timestamp)


def update_key(raw_timestamp: Any, checksum: int, levels: tuple[PriceLevel, ...]) -> str:
    """A book update's dedup key: ``<timestamp>:<checksum>:<crc32 of its levels>``."""
    content = ";".join(f"{plain(p)}:{plain(q)}" for p, q in levels)
    return f"{raw_timestamp or ''}:{checksum}:{zlib.crc32(content.encode('ascii'))}"
