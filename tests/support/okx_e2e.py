"""The recorded OKX session end to end: the relay's config for it, and JetStream checked against
a reference built here from the raw frames (no relay code), every recorded checksum verified by
the reference's own CRC32.

Used by ``tests/e2e/test_end_to_end_okx.py`` and ``tests/e2e/test_end_to_end_poison.py``.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from support.e2e import Stored, relay_header
from support.reference_books import recv_payloads

SYMBOLS = {
    "BTC-USDT": "BTC/USDT",
    "UNI-USD-SWAP": "UNI/USD:PERP",
    "BTC-USD-220527": "BTC/USD:220527",
}


Book = dict[str, dict[Decimal, tuple[str, str]]]


def okx_config(nats_url: str, simulator: str, http_port: int) -> str:
    """Relay TOML: NATS at ``nats_url``, OKX at the simulator ``host:port``, the 3 instruments."""
    text = (
        relay_header(nats_url, http_port)
        + f"""
[[venues]]
id = "okx"
ws_url = "ws://{simulator}/okx/ws/v5/public"
"""
    )
    for instrument, canonical in SYMBOLS.items():
        text += f"""
[[venues.subscriptions]]
instrument = "{instrument}"
canonical_symbol = "{canonical}"
data_types = ["trade", "ticker", "l2_orderbook"]
"""
    return text


def reference_checksum(book: Book) -> int:
    """OKX's documented checksum, written out here again: top 25 bids and asks interleaved."""
    bids = [book["bids"][p] for p in sorted(book["bids"], reverse=True)[:25]]
    asks = [book["asks"][p] for p in sorted(book["asks"])[:25]]
    parts = []
    for i in range(25):
        if i < len(bids):
            parts.append(":".join(bids[i]))
        if i < len(asks):
            parts.append(":".join(asks[i]))
    value = zlib.crc32(":".join(parts).encode())
    return value - 2**32 if value >= 2**31 else value


def reference() -> tuple[
    dict[str, list[tuple[str, str, str, str]]], Counter[str], dict[str, Book], int
]:
    """(trades per instId, expected counts, final books, checksums verified) from the frames."""
    trades: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    counts: Counter[str] = Counter()
    books: dict[str, Book] = {}
    verified = 0
    for frame in recv_payloads("okx.jsonl"):
        if "event" in frame:
            continue
        channel = frame["arg"]["channel"]
        for entry in frame["data"]:
            if channel == "trades":
                trades[entry["instId"]].append(
                    (entry["tradeId"], entry["px"], entry["sz"], entry["side"].upper())
                )
                counts["trade"] += 1
            elif channel == "tickers":
                counts["ticker"] += 1
            elif channel == "books":
                inst_id = frame["arg"]["instId"]
                if frame["action"] == "snapshot":
                    books[inst_id] = {"bids": {}, "asks": {}}
                    counts["l2_snapshot"] += 1
                for side in ("bids", "asks"):
                    for price, size, *_ in entry[side]:
                        if Decimal(size):
                            books[inst_id][side][Decimal(price)] = (price, size)
                        else:
                            books[inst_id][side].pop(Decimal(price), None)
                assert reference_checksum(books[inst_id]) == entry["checksum"]
                verified += 1
                counts["l2_orderbook"] += 1
    return trades, counts, books, verified


def verify_okx(messages: Stored) -> None:
    """JetStream holds exactly the reference's trades, ticker count and final books."""
    trades, counts, books, verified = reference()
    expected = counts["trade"] + counts["ticker"] + counts["l2_orderbook"]
    msg_ids = [headers["Nats-Msg-Id"] for _, headers, _ in messages]
    assert len(msg_ids) == len(set(msg_ids))
    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for subject, _, data in messages:
        envelope = json.loads(data)
        token = SYMBOLS[envelope["instrument"]].lower().replace("/", "-")
        assert subject == f"market.okx.{token}.{envelope['data_type']}"
        streams[(envelope["instrument"], envelope["data_type"])].append(envelope)
    for stream, envelopes in streams.items():
        assert [e["sequence"] for e in envelopes] == list(range(1, len(envelopes) + 1)), stream

    seen: Counter[str] = Counter()
    for instrument in SYMBOLS:
        got = [
            (
                e["payload"]["trade_id"],
                e["payload"]["price"],
                e["payload"]["quantity"],
                e["payload"]["side"],
            )
            for e in streams[(instrument, "trade")]
        ]
        assert got == trades[instrument]
        seen["trade"] += len(got)
        seen["ticker"] += len(streams[(instrument, "ticker")])
        updates = streams[(instrument, "l2_orderbook")]
        assert updates[0]["payload"]["is_snapshot"] is True
        book: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
        for update in updates:
            payload = update["payload"]
            if payload["is_snapshot"]:
                book = {"bids": {}, "asks": {}}
                seen["l2_snapshot"] += 1
            for side in ("bids", "asks"):
                for price, quantity in payload[side]:
                    if Decimal(quantity):
                        book[side][Decimal(price)] = Decimal(quantity)
                    else:
                        book[side].pop(Decimal(price), None)
        assert book == {
            side: {p: Decimal(s) for p, (_, s) in books[instrument][side].items()}
            for side in ("bids", "asks")
        }, instrument
        seen["l2_orderbook"] += len(updates)
    assert seen == counts
    assert len(messages) == expected
    assert verified == counts["l2_orderbook"] == 290
    print(
        f"\nokx: {len(messages)} messages in JetStream: {dict(seen)}; "
        f"{verified} of {counts['l2_orderbook']} recorded checksums verified by the reference"
    )
