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

Numbers: Kraken Futures sends prices and sizes as JSON numbers (``"price":439.3``).
Frames are decoded by :func:`relay.infrastructure.venues.common.wire.exact_object`
(``parse_float=Decimal``), so every value keeps the digits as sent.

Dedup keys: trades their ``uid``; book snapshots ``snapshot:<seq>``, deltas
``<snapshot seq>:<seq>``.

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad value)
or KeyError (a missing field); the protocol maps both to ``FrameError``.
"""

from __future__ import annotations

from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, MarketEvent, PriceLevel, Side, Trade
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
