"""A dYdX session for ``relay simulate``, built from the indexer page's examples, and its
reference.

There is no recorded dYdX session. :func:`session_frames` is the documented
session of ``test_dydx_protocol`` (the WebSocket page's examples numbered for one
connection: the four subscribe answers, four trades, a book update, a candle, two
markets messages) followed by :data:`EXTRA_UPDATES` book updates of the documented
``channel_data`` shape, written for this test, one of which crosses the book.

:func:`reference` reads the raw frames with ``json`` only (no relay code): the
book as the indexer's pages describe it (the ``subscribed`` book, ``[price,
size]`` levels replacing levels, each level stamped with the message id that set
it, and the uncrossing of "How to uncross the orderbook": while the best bid >=
the best ask, the older level goes; at equal ids the smaller size is taken from
the larger), and the trades of the ``v4_trades`` updates.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from support.dydx_frames import (
    BOOK_SNAPSHOT,
    BOOK_UPDATE,
    CANDLE_UPDATE,
    CONNECTED,
    MARKETS_SUBSCRIBED,
    MARKETS_UPDATE,
    TRADES_SUBSCRIBED,
    TRADES_UPDATE,
    book,
    numbered,
)

CANDLES_SUBSCRIBED = (
    '{"type":"subscribed","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13",'
    '"message_id":3,"channel":"v4_candles","id":"BTC-USD/1MIN","contents":{"candles":[]}}'
)
EXTRA_UPDATES = 30
"""Book updates after the documented session (message ids 9..38)."""
CROSSING_ID = 15
"""The update that bids above the best ask (28196 over the asks 28195 and 28196)."""


def session_frames() -> list[str]:
    """Every ``recv`` frame of the session, in order."""
    frames = [
        CONNECTED,
        numbered(TRADES_SUBSCRIBED, 1),
        numbered(BOOK_SNAPSHOT, 2),
        numbered(TRADES_UPDATE, 5),
        CANDLES_SUBSCRIBED,
        numbered(MARKETS_SUBSCRIBED, 4),
        numbered(BOOK_UPDATE, 6),
        numbered(CANDLE_UPDATE, 7),
        numbered(MARKETS_UPDATE, 8),
    ]
    for index in range(EXTRA_UPDATES):
        message_id = 9 + index
        if message_id == CROSSING_ID:
            contents: dict[str, Any] = {"bids": [["28196", "0.5"]]}
        elif index % 2:
            contents = {"bids": [[str(28194 - index % 5), f"{1 + index / 10:.1f}"]]}
        else:
            contents = {"asks": [[str(28195 + index % 5), f"{1 + index / 10:.1f}"]]}
        frames.append(book(message_id=message_id, contents=contents))
    return frames


def write_capture(path: Path) -> Path:
    """The session as a capture file (``shared/captures/FORMAT.md``), one connection."""
    frames = session_frames()
    header = {
        "capture": 1,
        "venue": "dydx",
        "recorded": "2023-04-04T00:29:20+00:00",
        "source": "built from the dYdX indexer WebSocket page's examples (tests/support)",
        "records": len(frames) + 1,
    }
    t = 1_680_568_160.0
    lines = [json.dumps(header)]
    lines.append(json.dumps({"t": t, "kind": "connect", "conn": "ws-1", "url": "wss://x/v4/ws"}))
    for frame in frames:
        t += 0.01
        lines.append(json.dumps({"t": t, "kind": "recv", "conn": "ws-1", "data": frame}))
    path.write_text("\n".join(lines) + "\n")
    return path


Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


def reference(frames: list[str]) -> tuple[Book, list[tuple[str, str, str, str]]]:
    """The final BTC-USD book (bids, asks: price -> size) and the trades
    (id, price, size, side) the frames hold (see the module docstring)."""
    sides: dict[str, dict[Decimal, tuple[Decimal, int]]] = {"bids": {}, "asks": {}}
    trades = []
    for frame in frames:
        message = json.loads(frame)
        channel, kind, number = message.get("channel"), message["type"], message["message_id"]
        if channel == "v4_trades" and kind == "channel_data":
            trades += [
                (t["id"], t["price"], t["size"], t["side"]) for t in message["contents"]["trades"]
            ]
        if channel != "v4_orderbook":
            continue
        contents = message["contents"]
        for name in ("bids", "asks"):
            if kind == "subscribed":
                sides[name] = {
                    Decimal(lv["price"]): (Decimal(lv["size"]), number) for lv in contents[name]
                }
                continue
            for price_text, size_text in contents.get(name, []):
                price, size = Decimal(price_text), Decimal(size_text)
                if price in sides[name] and sides[name][price][1] > number:
                    continue
                if size == 0:
                    sides[name].pop(price, None)
                else:
                    sides[name][price] = (size, number)
        _uncross(sides["bids"], sides["asks"])
    return (
        (
            {p: s for p, (s, _) in sides["bids"].items()},
            {p: s for p, (s, _) in sides["asks"].items()},
        ),
        trades,
    )


def _uncross(
    bids: dict[Decimal, tuple[Decimal, int]], asks: dict[Decimal, tuple[Decimal, int]]
) -> None:
    while bids and asks and max(bids) >= min(asks):
        bid, ask = max(bids), min(asks)
        (bid_size, bid_id), (ask_size, ask_id) = bids[bid], asks[ask]
        if bid_id < ask_id:
            del bids[bid]
        elif bid_id > ask_id:
            del asks[ask]
        else:
            left = min(bid_size, ask_size)
            for side, price, size, number in (
                (bids, bid, bid_size, bid_id),
                (asks, ask, ask_size, ask_id),
            ):
                if size - left:
                    side[price] = (size - left, number)
                else:
                    del side[price]


def rebuilt(updates: list[dict[str, Any]]) -> Book:
    """The book a consumer holds after applying published ``l2_update`` payloads in order."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for update in updates:
        if update["is_snapshot"]:
            bids, asks = {}, {}
        for side, levels in ((bids, update["bids"]), (asks, update["asks"])):
            for price, size in levels:
                if Decimal(size):
                    side[Decimal(price)] = Decimal(size)
                else:
                    side.pop(Decimal(price), None)
    return bids, asks
