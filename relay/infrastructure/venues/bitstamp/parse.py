"""Bitstamp v2 WebSocket frames and REST order book bodies, read into events and diffs.

Formats follow the WebSocket API v2 page https://www.bitstamp.net/websocket/v2/
(channels ``live_trades_[currency_pair]`` and ``diff_order_book_[currency_pair]``,
"Live ticker" and "Live full order book" data), the HTTP API page
https://www.bitstamp.net/api/ ("Order book": ``GET /api/v2/order_book/{currency_pair}/``),
and the recorded session ``bitstamp.jsonl`` in ``shared/captures``.

Bitstamp sends times as strings: ``timestamp`` in seconds and ``microtimestamp``
in microseconds (``"1641343691244908"``); prices and amounts as decimal strings
(a trade also as JSON numbers, ``price`` / ``amount``, which are not read: the
``*_str`` fields keep the venue's digits).

Readers raise ``KeyError`` (a missing field), ``TypeError`` or
:class:`~relay.domain.errors.InvalidValueError`; the protocol maps those to
``FrameError`` reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, MarketEvent, PriceLevel, Side, Trade
from relay.infrastructure.venues.common import wire

MAX_MICROS_DIGITS = 19
"""Most digits a ``microtimestamp`` may have (2**63-1 has 19)."""


@dataclass(slots=True)
class BookDiff:
    """One ``diff_order_book`` message: its ``microtimestamp`` (µs), changed levels, times.

    Not frozen (a record made once per diff and never changed; see
    :class:`~relay.infrastructure.venues.common.update_id_book.DepthDiff`).

    Attributes:
        microtimestamp: the venue's event time in microseconds; the book's version.
        bids, asks: (price, quantity) levels; quantity 0 removes the level.
        received_at_ms: epoch ms when the relay read the frame.
    """

    microtimestamp: int
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    received_at_ms: int


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """A REST order book: its ``microtimestamp`` (µs) and every level, best first."""

    microtimestamp: int
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]


def micros(field: str, raw: Any) -> int:
    """A Bitstamp ``microtimestamp``: a string of ASCII digits (at most 19), in 0..2**63-1.

    Raises:
        InvalidValueError: not such a string (a JSON number is refused too: the venue
            sends a string, and a float would lose the microseconds).
    """
    if (
        type(raw) is not str
        or not raw.isascii()
        or not raw.isdigit()
        or len(raw) > MAX_MICROS_DIGITS
        or int(raw) > wire.MAX_ID
    ):
        raise InvalidValueError(field, raw, "expected a string of microseconds in 0..2**63-1")
    return int(raw)


def book_diff(data: dict[str, Any], received_at_ms: int) -> BookDiff:
    """The ``data`` object of a ``diff_order_book_<pair>`` frame as a :class:`BookDiff`.

    Shape (``bitstamp.jsonl``, trimmed)::

        {"data":{"timestamp":"1641343691","microtimestamp":"1641343691406478",
         "bids":[["3800.71","1.76200000"],["3799.64","0.00000000"]],"asks":[]},
         "channel":"diff_order_book_ethusd","event":"data"}

    Raises ``KeyError`` for a missing ``microtimestamp``, ``bids`` or ``asks``;
    :class:`InvalidValueError` for a malformed one.
    """
    return BookDiff(
        microtimestamp=micros("microtimestamp", data["microtimestamp"]),
        bids=wire.levels("bids", data["bids"]),
        asks=wire.levels("asks", data["asks"]),
        received_at_ms=received_at_ms,
    )


def book_snapshot(body: bytes) -> BookSnapshot:
    """A REST body of ``GET /api/v2/order_book/<pair>`` (default ``group=1``: levels by price).

    Shape (``bitstamp.jsonl``, ``https://www.bitstamp.net/api/v2/order_book/ethusd``,
    2,023 bids and 1,971 asks, trimmed)::

        {"timestamp": "1641343695", "microtimestamp": "1641343695681418",
         "bids": [["3802.90", "0.60000000"], ["3802.89", "3.23948640"]],
         "asks": [["3804.55", "0.38000000"]]}

    Raises:
        orjson.JSONDecodeError: not JSON.
        KeyError: ``microtimestamp``, ``bids`` or ``asks`` missing.
        InvalidValueError: not an object, or a malformed field.
    """
    snapshot = wire.json_object("snapshot", orjson.loads(body))
    return BookSnapshot(
        microtimestamp=micros("microtimestamp", snapshot["microtimestamp"]),
        bids=wire.levels("bids", snapshot["bids"]),
        asks=wire.levels("asks", snapshot["asks"]),
    )


def trade(data: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """The ``data`` object of a ``live_trades_<pair>`` frame (event ``trade``).

    ``type`` is the taker's side (0 buy, 1 sell); price and amount are read from
    ``price_str`` and ``amount_str``; the exchange time is ``microtimestamp`` cut to ms.
    The message id key is the trade ``id``.

    Shape (``bitstamp.jsonl``)::

        {"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,
         "amount_str":"0.07920000","price":3805.44,"price_str":"3805.44","type":0,
         "microtimestamp":"1641343699596000","buy_order_id":1443875737346049,
         "sell_order_id":1443875731320832},"channel":"live_trades_ethusd","event":"trade"}

    Raises ``KeyError`` for a missing field; :class:`InvalidValueError` for a malformed one
    (a ``type`` other than the integers 0 and 1 included).
    """
    trade_id = str(wire.integer("id", data["id"]))
    kind = data["type"]
    if type(kind) is not int or kind not in (0, 1):
        raise InvalidValueError("type", kind, "expected 0 (buy) or 1 (sell)")
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        micros("microtimestamp", data["microtimestamp"]) // 1000,
        Trade(
            trade_id,
            wire.price("price_str", data["price_str"]),
            wire.quantity("amount_str", data["amount_str"]),
            Side.BUY if kind == 0 else Side.SELL,
        ),
        trade_id,
    )
