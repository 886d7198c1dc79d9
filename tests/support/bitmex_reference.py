"""A reference built straight from the raw frames of ``bitmex.jsonl``, without relay code.

Follows https://www.bitmex.com/app/wsAPI: ``orderBookL2`` rows keyed by ``id``
(``partial`` replaces the symbol's rows, ``insert`` adds rows, ``update`` changes a
row's ``size``, ``delete`` removes it); ``trade`` and ``quote`` rows of ``partial``
and ``insert`` frames are trades and quotes. JSON numbers are read as Decimal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from support.reference_books import records

CAPTURE = "bitmex.jsonl"

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


@dataclass
class BitmexReference:
    """What the recording holds.

    Attributes:
        symbols: every symbol with a book, in order of first partial.
        trades: symbol -> [(trdMatchID, price, size, side word)] in frame order.
        quotes: symbol -> number of quote rows.
        books: symbol -> (bids, asks) as price -> size after every frame.
        book_messages: symbol -> (partials, deltas) frames.
    """

    symbols: list[str] = field(default_factory=list)
    trades: dict[str, list[tuple[str, Decimal, Decimal, str]]] = field(default_factory=dict)
    quotes: dict[str, int] = field(default_factory=dict)
    books: dict[str, Book] = field(default_factory=dict)
    book_messages: dict[str, tuple[int, int]] = field(default_factory=dict)


def frames() -> list[dict[str, Any]]:
    """The decoded ``recv`` frames, numbers as Decimal."""
    return [
        json.loads(r["data"], parse_float=Decimal) for r in records(CAPTURE) if r["kind"] == "recv"
    ]


def bitmex_reference() -> BitmexReference:
    """The reference (see the module docstring); an update or delete of an unknown id
    raises AssertionError (the recording has none)."""
    ref = BitmexReference()
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for message in frames():
        table, action = message.get("table"), message.get("action")
        data: list[dict[str, Any]] = message.get("data") or []
        if table == "trade":
            for row in data:
                ref.trades.setdefault(row["symbol"], []).append(
                    (row["trdMatchID"], Decimal(row["price"]), Decimal(row["size"]), row["side"])
                )
        elif table == "quote":
            for row in data:
                ref.quotes[row["symbol"]] = ref.quotes.get(row["symbol"], 0) + 1
        elif table == "orderBookL2":
            touched = {row["symbol"] for row in data}
            for name in touched:
                partials, deltas = ref.book_messages.get(name, (0, 0))
                ref.book_messages[name] = (
                    (partials + 1, deltas) if action == "partial" else (partials, deltas + 1)
                )
            if action == "partial":
                for name in touched:
                    rows[name] = {}
                    if name not in ref.symbols:
                        ref.symbols.append(name)
            for row in data:
                book = rows[row["symbol"]]
                if action in ("partial", "insert"):
                    book[row["id"]] = dict(row)
                elif action == "update":
                    assert row["id"] in book, row
                    book[row["id"]].update(row)
                else:
                    assert row["id"] in book, row
                    del book[row["id"]]
    for name, book in rows.items():
        bids = {
            Decimal(r["price"]): Decimal(r["size"]) for r in book.values() if r["side"] == "Buy"
        }
        asks = {
            Decimal(r["price"]): Decimal(r["size"]) for r in book.values() if r["side"] == "Sell"
        }
        ref.books[name] = (bids, asks)
    return ref
