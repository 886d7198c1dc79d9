"""Reference values built straight from the recorded Kraken Futures session, without relay code.

Frames are decoded with ``json.loads(..., parse_float=str)``, so every number is
the text Kraken Futures sent. Books follow the documented rules
(https://docs.kraken.com/exchange/api-reference/futures-websocket/book): a
``book_snapshot`` lists both sides; each ``book`` message sets one level of one
side (``buy``: bids, ``sell``: asks), ``qty`` 0 removing it, and carries the
product's previous ``seq`` + 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from support.reference_books import records

CAPTURE = "kraken-futures.jsonl"

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


def messages(name: str = CAPTURE) -> list[dict[str, Any]]:
    """Every recorded venue message that is a JSON object, numbers as the text sent."""
    result = []
    for r in records(name):
        if r["kind"] == "recv":
            message = json.loads(r["data"], parse_float=str, parse_int=str)
            if isinstance(message, dict):
                result.append(message)
    return result


@dataclass
class KrakenFuturesReference:
    """What the recording holds, per product.

    Attributes:
        books: the book after the snapshot and every delta.
        trades: (uid, price, qty, side) in order (``trade`` messages; snapshots left out).
        book_messages: ``book_snapshot`` and ``book`` messages counted.
        breaks: deltas whose ``seq`` was not the previous one + 1.
    """

    books: dict[str, Book] = field(default_factory=dict)
    trades: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    book_messages: dict[str, int] = field(default_factory=dict)
    breaks: int = 0


def kraken_futures_reference(name: str = CAPTURE) -> KrakenFuturesReference:
    """Books and trades of a recorded session, and the continuity breaks found."""
    ref = KrakenFuturesReference()
    last: dict[str, int] = {}
    for m in messages(name):
        feed, product = m.get("feed"), str(m.get("product_id"))
        if feed == "book_snapshot" and "event" not in m:
            ref.book_messages[product] = ref.book_messages.get(product, 0) + 1
            ref.books[product] = (
                {Decimal(lv["price"]): Decimal(lv["qty"]) for lv in m["bids"]},
                {Decimal(lv["price"]): Decimal(lv["qty"]) for lv in m["asks"]},
            )
            last[product] = int(m["seq"])
        elif feed == "book" and "event" not in m:
            ref.book_messages[product] = ref.book_messages.get(product, 0) + 1
            if int(m["seq"]) != last[product] + 1:
                ref.breaks += 1
            last[product] = int(m["seq"])
            side = ref.books[product][0 if m["side"] == "buy" else 1]
            if Decimal(m["qty"]) == 0:
                side.pop(Decimal(m["price"]), None)
            else:
                side[Decimal(m["price"])] = Decimal(m["qty"])
        elif feed == "trade" and "event" not in m:
            ref.trades.setdefault(product, []).append(
                (m["uid"], m["price"], m["qty"], m["side"].upper())
            )
    return ref


def products(name: str = CAPTURE) -> list[str]:
    """Every product with a book, trade or ticker message in the recording, sorted."""
    return sorted({m["product_id"] for m in messages(name) if "product_id" in m})
