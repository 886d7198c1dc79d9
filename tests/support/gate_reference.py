"""Reference books and trades for Gate.io, built straight from the recorded sessions, without
relay code.

The expected book is the recorded REST snapshot (``with_id=true``) with the recorded
``order_book_update`` diffs applied as Gate.io's "How to maintain local order book"
says (https://www.gate.io/docs/developers/apiv4/ws/en/#changed-order-book-levels):
drop diffs with ``u <= id``, the first kept has ``U <= id + 1``, then ``U == u + 1``.
Spot levels are ``[price, amount]``; futures levels ``{"p": price, "s": size}``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from support.reference_books import Book, records

SYMBOL_QUERY = {"gate-spot.jsonl": "currency_pair", "gate-futures.jsonl": "contract"}


def _pairs(levels: list[Any]) -> list[tuple[str, str]]:
    if levels and isinstance(levels[0], dict):
        return [(level["p"], str(level["s"])) for level in levels]
    return [(price, quantity) for price, quantity in levels]


def _apply(side: dict[Decimal, Decimal], levels: list[Any]) -> None:
    for price, quantity in _pairs(levels):
        if Decimal(quantity) == 0:
            side.pop(Decimal(price), None)
        else:
            side[Decimal(price)] = Decimal(quantity)


def gate_books(name: str, until_recv: int | None = None) -> dict[str, Book]:
    """symbol -> (bids, asks) after the recorded snapshot and every later diff (up to and
    including ``recv`` frame number ``until_recv`` when given).

    A book is listed once a diff has continued its snapshot (the procedure's first
    applied update, ``U <= id + 1 <= u``): until then the snapshot is unconfirmed and
    the relay publishes nothing for it. A break in the chain raises AssertionError:
    the recordings have none.
    """
    recs = records(name)
    query = SYMBOL_QUERY[name]
    books: dict[str, Book] = {}
    last: dict[str, int] = {}
    for r in recs:
        if r["kind"] == "http":
            symbol = r["url"].split(query + "=")[1].split("&")[0]
            snapshot = json.loads(r["data"])
            bids: dict[Decimal, Decimal] = {}
            asks: dict[Decimal, Decimal] = {}
            _apply(bids, snapshot["bids"])
            _apply(asks, snapshot["asks"])
            books[symbol] = (bids, asks)
            last[symbol] = snapshot["id"]
    first_done: set[str] = set()
    recv_index = -1
    for r in recs:
        if r["kind"] != "recv":
            continue
        recv_index += 1
        if until_recv is not None and recv_index > until_recv:
            break
        message = json.loads(r["data"])
        if not message["channel"].endswith("order_book_update") or message["event"] != "update":
            continue
        data = message["result"]
        symbol = data["s"]
        if symbol not in books:
            continue
        if symbol not in first_done:
            if data["u"] <= last[symbol]:
                continue
            assert data["U"] <= last[symbol] + 1 <= data["u"]
            first_done.add(symbol)
        else:
            assert data["U"] == last[symbol] + 1
        _apply(books[symbol][0], data["b"])
        _apply(books[symbol][1], data["a"])
        last[symbol] = data["u"]
    return {symbol: book for symbol, book in books.items() if symbol in first_done}


def gate_trades(name: str) -> list[tuple[str, str, Decimal, Decimal, str]]:
    """(symbol, trade id, price, quantity, taker side) of every recorded trade, in order."""
    trades: list[tuple[str, str, Decimal, Decimal, str]] = []
    for r in records(name):
        if r["kind"] != "recv":
            continue
        message = json.loads(r["data"])
        if not message["channel"].endswith(".trades") or message["event"] != "update":
            continue
        result = message["result"]
        for t in result if isinstance(result, list) else [result]:
            if "currency_pair" in t:
                trades.append(
                    (
                        t["currency_pair"],
                        str(t["id"]),
                        Decimal(t["price"]),
                        Decimal(t["amount"]),
                        t["side"],
                    )
                )
            else:
                side = "buy" if t["size"] > 0 else "sell"
                trades.append(
                    (
                        t["contract"],
                        str(t["id"]),
                        Decimal(t["price"]),
                        Decimal(abs(t["size"])),
                        side,
                    )
                )
    return trades


def gate_tickers(name: str) -> list[tuple[str, str, str, str, str]]:
    """(symbol, bid, bid size, ask, ask size) of every recorded ``*.book_ticker`` push, as
    sent (a size sent as a JSON integer written as its digits)."""
    tickers: list[tuple[str, str, str, str, str]] = []
    for r in records(name):
        if r["kind"] != "recv":
            continue
        message = json.loads(r["data"])
        if message["channel"].endswith(".book_ticker") and message["event"] == "update":
            t = message["result"]
            tickers.append((t["s"], t["b"], str(t["B"]), t["a"], str(t["A"])))
    return tickers


def gate_candles(name: str) -> list[tuple[str, int, str, str, str, str, str]]:
    """(pair, open time ms, open, high, low, close, volume) of every recorded candlestick
    push; ``n`` is ``<interval>_<pair>``, ``t`` the open time in seconds."""
    candles: list[tuple[str, int, str, str, str, str, str]] = []
    for r in records(name):
        if r["kind"] != "recv":
            continue
        message = json.loads(r["data"])
        if not message["channel"].endswith(".candlesticks") or message["event"] != "update":
            continue
        result = message["result"]
        for c in result if isinstance(result, list) else [result]:
            pair = c["n"].split("_", 1)[1]
            candles.append((pair, int(c["t"]) * 1000, c["o"], c["h"], c["l"], c["c"], str(c["v"])))
    return candles
