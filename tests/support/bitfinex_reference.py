"""The recorded Bitfinex session as a reference, built from the raw frames with ``json`` only.

What the relay must publish for ``bitfinex.jsonl``: the trades of each symbol (the
trades snapshots, oldest first: id, price, amount without sign, side from its
sign), the ticker messages of each symbol (bid, bid size, ask, ask size), and each
symbol's final P0 book (snapshot, then updates: ``COUNT`` 0 deletes the level of
the amount's side). Channel ids come from the recorded ``subscribed`` answers.
Sources: https://docs.bitfinex.com/reference/ws-public-books, …/ws-public-trades,
…/ws-public-ticker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from support.reference_books import records

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]
TradeRow = tuple[str, Decimal, Decimal, str]
"""(trade id, price, quantity, ``"BUY"`` / ``"SELL"``)."""
Quote = tuple[Decimal, Decimal, Decimal, Decimal]


@dataclass
class Reference:
    trades: dict[str, list[TradeRow]]
    tickers: dict[str, list[Quote]]
    books: dict[str, Book]
    snapshots: dict[str, int]
    deltas: dict[str, int]


def _frames() -> list[Any]:
    return [
        json.loads(r["data"], parse_float=Decimal)
        for r in records("bitfinex.jsonl")
        if r["kind"] == "recv"
    ]


def bitfinex_reference() -> Reference:
    """The reference of the whole recording (see the module docstring)."""
    channels: dict[int, tuple[str, str]] = {}
    ref = Reference({}, {}, {}, {}, {})
    for message in _frames():
        if isinstance(message, dict):
            if message.get("event") == "subscribed":
                channels[message["chanId"]] = (message["channel"], message["symbol"])
            continue
        body = message[1:-1]  # the recording has SEQ_ALL: the last item is the sequence number
        if body[0] == "hb":
            continue
        channel, symbol = channels[message[0]]
        if channel == "trades" and isinstance(body[0], list):
            rows = [
                (str(i), Decimal(p), abs(Decimal(a)), "BUY" if a > 0 else "SELL")
                for i, _, a, p in body[0]
            ]
            ref.trades.setdefault(symbol, []).extend(reversed(rows))
        elif channel == "ticker":
            bid, bid_size, ask, ask_size = body[0][:4]
            quote = (Decimal(bid), Decimal(bid_size), Decimal(ask), Decimal(ask_size))
            ref.tickers.setdefault(symbol, []).append(quote)
        elif channel == "book":
            bids, asks = ref.books.setdefault(symbol, ({}, {}))
            snapshot = isinstance(body[0][0], list)
            if snapshot:
                bids.clear()
                asks.clear()
                ref.snapshots[symbol] = ref.snapshots.get(symbol, 0) + 1
            else:
                ref.deltas[symbol] = ref.deltas.get(symbol, 0) + 1
            for price, count, amount in body[0] if snapshot else [body[0]]:
                side = bids if amount > 0 else asks
                if count == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = abs(Decimal(amount))
    return ref
