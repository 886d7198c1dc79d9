"""Coinbase Exchange feed fields and payloads: book levels, changes, matches, tickers, digests.

The shapes follow the recorded session ``coinbase-exchange.jsonl`` in
``shared/captures`` (recorded 2021-04) and the channels page
(https://docs.cdp.coinbase.com/exchange/websocket-feed/channels): the search
corpus held its heartbeat, status and limits sections but not the text of the
level2, ticker and matches sections, so their message shapes are taken from
the recorded frames.

Which side a match's ``side`` names: the match message documentation says
"The side field indicates the maker order side" (quoted in
https://kiwix.lema.org/stackoverflow.com_en_all_2023-11/questions/66683387/coinbase-websocket-channel-match-vs-ticker;
the ticker's ``side`` is the taker side). The recording agrees: each ticker
carries the opposite ``side`` of the match with the same ``trade_id``. The
aggressor side published is the opposite of the maker side.

Tickers: ``best_bid``/``best_ask``, with ``best_bid_size``/``best_ask_size`` when
present. The 2021 recording has no sizes: the quantities are then published as
0, meaning "not sent".

Every reader raises :class:`~relay.domain.errors.InvalidValueError` (a bad
value) or KeyError (a missing field); the protocol maps both to ``FrameError``.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import PriceLevel, Trade
from relay.infrastructure.venues.common import sides, times, wire

HASH_BYTES = 8
"""BLAKE2b digest size of the content hashes in dedup keys (16 hex digits)."""

_ZERO = Decimal(0)


def digest(data: bytes) -> str:
    """The BLAKE2b hash of ``data`` as :data:`HASH_BYTES` * 2 hex digits (dedup keys)."""
    return hashlib.blake2b(data, digest_size=HASH_BYTES).hexdigest()


def _level(field: str, price: Any, quantity: Any) -> PriceLevel:
    """One (price > 0, quantity >= 0) level from the venue's strings."""
    return wire.price(field, price), wire.quantity(field, quantity)


def levels(field: str, raw: Any) -> tuple[PriceLevel, ...]:
    """A ``snapshot``'s ``bids`` or ``asks``: ``[["14.8024", "12.77"], ...]`` -> ((price, size),).

    Shape (``coinbase-exchange.jsonl``)::

        {"type":"snapshot","product_id":"BAND-GBP","asks":[["14.8024","12.77"],...],
         "bids":[["14.7551","9.40"],...]}

    Raises:
        InvalidValueError: not a list of ``[price, size]`` lists of valid numbers.
    """
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list of [price, size]")
    result: list[PriceLevel] = []
    for level in raw:
        if type(level) is not list or len(level) != 2:
            raise InvalidValueError(field, level, "expected [price, size]")
        result.append(_level(field, level[0], level[1]))
    return tuple(result)


def changes(raw: Any) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
    """An ``l2update``'s ``changes`` -> (bid levels, ask levels), in order; size 0 removes.

    Shape (``coinbase-exchange.jsonl``)::

        {"type":"l2update","product_id":"SKL-BTC","changes":[["sell","0.00001306","660.5"]],
         "time":"2021-04-17T16:43:37.075687Z"}

    Raises:
        InvalidValueError: not a list of ``[buy|sell, price, size]`` lists.
    """
    if not isinstance(raw, list):
        raise InvalidValueError("changes", raw, "expected a list of [side, price, size]")
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []
    for change in raw:
        if type(change) is not list or len(change) != 3:
            raise InvalidValueError("changes", change, "expected [side, price, size]")
        side, price, quantity = change
        if side == "buy":
            bids.append(_level("changes", price, quantity))
        elif side == "sell":
            asks.append(_level("changes", price, quantity))
        else:
            raise InvalidValueError("changes", side, "expected side buy or sell")
    return tuple(bids), tuple(asks)


def match_trade(message: dict[str, Any]) -> tuple[Trade, int]:
    """A ``match`` or ``last_match`` -> (the trade on the taker's side, its time in epoch ms).

    Shape (``coinbase-exchange.jsonl``)::

        {"type":"match","trade_id":280232,"maker_order_id":"2a0d...","taker_order_id":"3c82...",
         "side":"sell","size":"985","price":"0.00001305","product_id":"SKL-BTC",
         "sequence":177100030,"time":"2021-04-17T16:43:37.089723Z"}
    """
    trade_id = str(wire.integer("trade_id", message["trade_id"]))
    trade = Trade(
        trade_id,
        wire.price("price", message["price"]),
        wire.quantity("size", message["size"]),
        sides.opposite(sides.side("side", message["side"], "buy", "sell")),
    )
    return trade, times.rfc3339_ms("time", message["time"])


def best_quotes(message: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal, Decimal, int]:
    """A ``ticker`` -> (bid, bid size, ask, ask size, time in epoch ms); a size not sent is 0.

    Shape (``coinbase-exchange.jsonl``, trimmed)::

        {"type":"ticker","sequence":333938798,"product_id":"BAND-GBP","price":"14.7775",
         "best_bid":"14.7550","best_ask":"14.8060","side":"buy",
         "time":"2021-04-17T16:43:30.244075Z","trade_id":881613,"last_size":"0.04",...}
    """
    bid_size = message.get("best_bid_size")
    ask_size = message.get("best_ask_size")
    bid_price = wire.price("best_bid", message["best_bid"])
    ask_price = wire.price("best_ask", message["best_ask"])
    bid_quantity = _ZERO if bid_size is None else wire.quantity("best_bid_size", bid_size)
    ask_quantity = _ZERO if ask_size is None else wire.quantity("best_ask_size", ask_size)
    return (
        bid_price,
        bid_quantity,
        ask_price,
        ask_quantity,
        times.rfc3339_ms("time", message["time"]),
    )
