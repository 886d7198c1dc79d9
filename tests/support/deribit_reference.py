"""Reference values built straight from the recorded Deribit session, without relay code.

Frames are decoded with ``json.loads(..., parse_float=str)``, so every number is
the text Deribit sent. Books follow Deribit's documented rules
(https://docs.deribit.com/subscriptions/orderbook/bookinstrument_nameinterval): the
first notification is a snapshot; each change's ``prev_change_id`` equals the
previous ``change_id``; levels are ``[action, price, amount]`` with ``delete``
removing the price.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from support.reference_books import records

CAPTURE = "deribit.jsonl"

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


def notifications(name: str = CAPTURE) -> list[tuple[str, Any]]:
    """(channel, data) of every recorded notification, numbers as the text sent."""
    result = []
    for r in records(name):
        if r["kind"] != "recv":
            continue
        message = json.loads(r["data"], parse_float=str, parse_int=str)
        if message.get("method") == "subscription":
            result.append((message["params"]["channel"], message["params"]["data"]))
    return result


@dataclass
class DeribitReference:
    """What the recording holds, per instrument.

    Attributes:
        books: the book after the snapshot and every change.
        tickers: (bid, bid amount, ask, ask amount) texts in order.
        trades: (trade id, price, amount, side) in order.
        book_messages: snapshot and change notifications counted.
        breaks: changes whose ``prev_change_id`` was not the previous ``change_id``.
    """

    books: dict[str, Book] = field(default_factory=dict)
    tickers: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    trades: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    book_messages: dict[str, int] = field(default_factory=dict)
    breaks: int = 0


def _apply(side: dict[Decimal, Decimal], levels: list[list[str]]) -> None:
    for action, price, amount in levels:
        if action == "delete":
            side.pop(Decimal(price), None)
        else:
            side[Decimal(price)] = Decimal(amount)


def deribit_reference(name: str = CAPTURE) -> DeribitReference:
    """Books, tickers and trades of a recorded session, and the continuity breaks found."""
    ref = DeribitReference()
    last: dict[str, str] = {}
    for channel, data in notifications(name):
        kind, instrument = channel.split(".")[:2]
        if kind == "book":
            ref.book_messages[instrument] = ref.book_messages.get(instrument, 0) + 1
            if data["type"] == "snapshot":
                ref.books[instrument] = ({}, {})
            elif data["prev_change_id"] != last.get(instrument):
                ref.breaks += 1
            last[instrument] = data["change_id"]
            _apply(ref.books[instrument][0], data["bids"])
            _apply(ref.books[instrument][1], data["asks"])
        elif kind == "ticker":
            ref.tickers.setdefault(instrument, []).append(
                (
                    data["best_bid_price"],
                    data["best_bid_amount"],
                    data["best_ask_price"],
                    data["best_ask_amount"],
                )
            )
        elif kind == "trades":
            for t in data:
                ref.trades.setdefault(instrument, []).append(
                    (t["trade_id"], t["price"], t["amount"], t["direction"].upper())
                )
    return ref


def instruments(name: str = CAPTURE) -> list[str]:
    """Every instrument with a notification in the recording, sorted."""
    return sorted({channel.split(".")[1] for channel, _ in notifications(name)})
