"""Reference books and trades for Bitstamp, built straight from ``bitstamp.jsonl``, without
relay code.

The expected book of a pair is the recorded REST order book
(``/api/v2/order_book/<pair>``) with every recorded ``diff_order_book_<pair>`` diff whose
``microtimestamp`` is after the snapshot's applied in order, a level of quantity 0
removed (https://www.bitstamp.net/websocket/v2/, cryptofeed's adapter). A book is listed
once a diff after its snapshot was received and a diff at or before it came first (the
recording has such a diff for each of its 9 active books; ``sgbeur`` has no diff at all).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from typing import Any

from support.reference_books import Book, records

CAPTURE = "bitstamp.jsonl"


@cache
def _records() -> tuple[dict[str, Any], ...]:
    return tuple(records(CAPTURE))


def _apply(side: dict[Decimal, Decimal], levels: list[list[str]]) -> None:
    for price, quantity in levels:
        if Decimal(quantity) == 0:
            side.pop(Decimal(price), None)
        else:
            side[Decimal(price)] = Decimal(quantity)


def pairs() -> list[str]:
    """The pairs whose order books the recording fetched, in recorded order."""
    return [r["url"].rsplit("/", 1)[1] for r in _records() if r["kind"] == "http"]


def diffs(pair: str) -> list[dict[str, Any]]:
    """The ``data`` of every recorded diff of ``pair``, in order."""
    found = []
    for r in _records():
        if r["kind"] == "recv":
            message = json.loads(r["data"])
            if message.get("event") == "data" and message["channel"] == f"diff_order_book_{pair}":
                found.append(message["data"])
    return found


def snapshot(pair: str) -> dict[str, Any]:
    """The recorded REST order book of ``pair``."""
    body = next(
        r["data"] for r in _records() if r["kind"] == "http" and r["url"].endswith(f"/{pair}")
    )
    value: dict[str, Any] = json.loads(body)
    return value


def bitstamp_books(until: int | None = None) -> dict[str, Book]:
    """pair -> (bids, asks): the recorded snapshot with the later diffs applied (only the
    first ``until`` diffs of the pair after its snapshot when given). Diffs going
    backwards raise AssertionError: the recording has none."""
    books: dict[str, Book] = {}
    for pair in pairs():
        snap = snapshot(pair)
        stamp = int(snap["microtimestamp"])
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        _apply(bids, snap["bids"])
        _apply(asks, snap["asks"])
        recorded = diffs(pair)
        later = [d for d in recorded if int(d["microtimestamp"]) > stamp]
        if not later or len(later) == len(recorded):
            continue
        last = stamp
        for diff in later[:until]:
            assert int(diff["microtimestamp"]) > last
            last = int(diff["microtimestamp"])
            _apply(bids, diff["bids"])
            _apply(asks, diff["asks"])
        books[pair] = (bids, asks)
    return books


def bitstamp_trades() -> list[tuple[str, str, Decimal, Decimal, str, int]]:
    """(pair, trade id, price, amount, taker side, exchange time ms) of every recorded trade."""
    trades = []
    for r in _records():
        if r["kind"] != "recv":
            continue
        message = json.loads(r["data"])
        if message.get("event") != "trade":
            continue
        t = message["data"]
        trades.append(
            (
                message["channel"].removeprefix("live_trades_"),
                str(t["id"]),
                Decimal(t["price_str"]),
                Decimal(t["amount_str"]),
                "BUY" if t["type"] == 0 else "SELL",
                int(t["microtimestamp"]) // 1000,
            )
        )
    return trades
