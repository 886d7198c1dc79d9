"""Reference order books built straight from recorded sessions, without relay code.

Used to check what the relay published: the expected book is the recorded REST
snapshot with the recorded diffs applied by Binance's documented procedure
(https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams,
https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "captures"

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


def records(name: str) -> list[dict[str, Any]]:
    """Every record after the header of ``shared/captures/<name>``."""
    lines = (CAPTURES / name).read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]


def recv_payloads(name: str) -> list[dict[str, Any]]:
    """The decoded ``recv`` frames of a capture, in order."""
    return [json.loads(r["data"]) for r in records(name) if r["kind"] == "recv"]


def _apply(side: dict[Decimal, Decimal], levels: list[list[str]]) -> None:
    for price, quantity in levels:
        if Decimal(quantity) == 0:
            side.pop(Decimal(price), None)
        else:
            side[Decimal(price)] = Decimal(quantity)


def binance_books(name: str, futures: bool) -> dict[str, Book]:
    """symbol -> (bids, asks) after the recorded snapshot and every later diff.

    Diffs older than the snapshot are dropped; the first kept diff must
    straddle ``lastUpdateId``; each later diff must chain (``pu`` on futures,
    ``U == u + 1`` on spot). A break raises AssertionError: the recordings have none.
    """
    recs = records(name)
    snapshots: dict[str, dict[str, Any]] = {}
    for r in recs:
        if r["kind"] == "http":
            symbol = r["url"].split("symbol=")[1].split("&")[0]
            snapshots[symbol] = json.loads(r["data"])
    books: dict[str, Book] = {}
    last: dict[str, int] = {}
    for symbol, snap in snapshots.items():
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        _apply(bids, snap["bids"])
        _apply(asks, snap["asks"])
        books[symbol] = (bids, asks)
        last[symbol] = snap["lastUpdateId"]
    first_done: set[str] = set()
    for r in recs:
        if r["kind"] != "recv":
            continue
        data = json.loads(r["data"]).get("data", {})
        if data.get("e") != "depthUpdate" or data["s"] not in books:
            continue
        symbol = data["s"]
        lid = last[symbol]
        if symbol not in first_done:
            if (data["u"] < lid) if futures else (data["u"] <= lid):
                continue
            assert data["U"] <= (lid if futures else lid + 1) <= data["u"]
            first_done.add(symbol)
        elif futures:
            assert data["pu"] == lid
        else:
            assert data["U"] == lid + 1
        _apply(books[symbol][0], data["b"])
        _apply(books[symbol][1], data["a"])
        last[symbol] = data["u"]
    return books
