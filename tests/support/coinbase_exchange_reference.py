"""What the recorded Coinbase Exchange session holds, read straight from its frames (no relay code).

Used by the unit and end-to-end tests to check what the relay published. The
rules applied here are the feed's: a ``snapshot`` replaces a product's book,
each later ``l2update`` sets ``[side, price, size]`` levels (size 0 removes
the level); a ``match``/``last_match`` ``side`` is the maker's, so the taker
(aggressor) is the other side.
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from typing import Any

from support.reference_books import records

CAPTURE = "coinbase-exchange.jsonl"

PRODUCTS = {
    "SKL-USD": "SKL/USD",
    "SKL-BTC": "SKL/BTC",
    "BAND-GBP": "BAND/GBP",
    "NMR-EUR": "NMR/EUR",
    "BAND-BTC": "BAND/BTC",
    "YFI-BTC": "YFI/BTC",
    "DASH-BTC": "DASH/BTC",
    "NU-GBP": "NU/GBP",
    "CRV-EUR": "CRV/EUR",
    "SKL-GBP": "SKL/GBP",
}
"""The 10 products the recording subscribed, with their canonical symbols."""

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


@functools.cache
def frames() -> list[dict[str, Any]]:
    """Every recorded venue frame, decoded, in order (cached: do not modify)."""
    return [json.loads(r["data"]) for r in records(CAPTURE) if r["kind"] == "recv"]


@functools.cache
def raw_frames() -> list[tuple[str, int]]:
    """Every recorded venue frame as sent, with its receive time in epoch ms (cached)."""
    return [(r["data"], int(r["t"] * 1000)) for r in records(CAPTURE) if r["kind"] == "recv"]


def _set(side: dict[Decimal, Decimal], price: str, size: str) -> None:
    if Decimal(size) == 0:
        side.pop(Decimal(price), None)
    else:
        side[Decimal(price)] = Decimal(size)


def books() -> dict[str, Book]:
    """product -> (bids, asks) after its snapshot and every later ``l2update``."""
    result: dict[str, Book] = {}
    for frame in frames():
        if frame["type"] == "snapshot":
            book: Book = ({}, {})
            for price, size in frame["bids"]:
                _set(book[0], price, size)
            for price, size in frame["asks"]:
                _set(book[1], price, size)
            result[frame["product_id"]] = book
        elif frame["type"] == "l2update" and frame["product_id"] in result:
            bids, asks = result[frame["product_id"]]
            for side, price, size in frame["changes"]:
                _set(bids if side == "buy" else asks, price, size)
    return result


def trades(product: str) -> list[tuple[str, str, str, str]]:
    """(trade id, price, size, aggressor side) of every match and last_match of a product."""
    taker = {"buy": "SELL", "sell": "BUY"}
    return [
        (str(f["trade_id"]), f["price"], f["size"], taker[f["side"]])
        for f in frames()
        if f["type"] in ("match", "last_match") and f["product_id"] == product
    ]


def tickers(product: str) -> list[tuple[str, str, int]]:
    """(best bid, best ask, sequence) of every ticker of a product."""
    return [
        (f["best_bid"], f["best_ask"], f["sequence"])
        for f in frames()
        if f["type"] == "ticker" and f["product_id"] == product
    ]


def l2update_count(product: str) -> int:
    """How many ``l2update`` frames of a product follow its snapshot."""
    seen = False
    count = 0
    for f in frames():
        if f.get("product_id") != product:
            continue
        if f["type"] == "snapshot":
            seen = True
        elif f["type"] == "l2update" and seen:
            count += 1
    return count
