"""End to end on the recorded OKX session: relay simulate -> relay run -> a real nats-server.

Starts nats-server on a free port, ``relay simulate okx.jsonl --speed max`` and
``relay run`` subscribing the three recorded instruments (trade, ticker,
l2_orderbook); then reads every message JetStream stored and compares it with a
reference built here from the raw recorded frames, without relay code: trades
one for one (id, price, quantity, side), counts per type, each book rebuilt
from the published snapshot and deltas equal to the book rebuilt from the
frames, and every recorded checksum verified by the reference's own CRC32.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_support import Stored, simulator_process, start_relay, stop_relay, stored_messages
from reference_books import CAPTURES, recv_payloads

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.captures import read_capture
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.simulator import Faults, Simulator
from relay.infrastructure.venues.registry import supported_data_types

pytestmark = pytest.mark.integration

SYMBOLS = {
    "BTC-USDT": "BTC/USDT",
    "UNI-USD-SWAP": "UNI/USD:PERP",
    "BTC-USD-220527": "BTC/USD:220527",
}

Book = dict[str, dict[Decimal, tuple[str, str]]]


def okx_config(nats_url: str, simulator: str, http_port: int) -> str:
    text = f"""
[nats]
urls = ["{nats_url}"]
[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
storage = "file"
[serialization]
format = "json"
[http]
listen = "127.0.0.1:{http_port}"
[logging]
level = "INFO"

[[venues]]
id = "okx"
ws_url = "ws://{simulator}/okx/ws/v5/public"
"""
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


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


async def test_recorded_okx_session_arrives_in_jetstream_exactly(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    _, counts, _, _ = reference()
    expected = counts["trade"] + counts["ticker"] + counts["l2_orderbook"]
    async with simulator_process("okx.jsonl") as simulator:
        config = tmp_path / "relay.toml"
        config.write_text(okx_config(nats_server.url, simulator, free_port()))
        relay = await start_relay(config)
        try:
            messages = await stored_messages(nats_server.url, expected)
        finally:
            stderr = await stop_relay(relay)
    assert relay.returncode == 0, stderr[-2000:]
    assert "order book resync" not in stderr
    verify_okx(messages)


async def test_skipped_book_updates_fail_the_checksum_and_resync_each_book_to_the_venue_book(
    nats_server: EmbeddedNats,
) -> None:
    """Recorded frames 100-102 (one book update of each instrument) are never sent.

    Each book's next update then disagrees with the venue's checksum: the relay
    throws that book away, subscribes its channel again, and the simulated
    venue answers with a fresh snapshot of its book (built from every frame
    the replay passed). The final books equal the full recording's.
    """
    _, counts, books, _ = reference()
    faults = Faults(skip_after_frames=100, skip_frames=3)
    async with Simulator(
        [read_capture(CAPTURES / "okx.jsonl")], speed=None, faults=faults
    ) as simulator:
        text = okx_config(nats_server.url, f"127.0.0.1:{simulator.port}", free_port())
        relay = Relay(parse_config(text, source="<test>", venues=supported_data_types()))
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            expected = counts["trade"] + counts["ticker"] + 6
            # The resync frames go out paced (0.4 s apart): wait for the 3 fresh snapshots.
            for _ in range(20):
                messages = await stored_messages(nats_server.url, expected)
                if sum(b'"is_snapshot":true' in data for _, _, data in messages) == 6:
                    break
        finally:
            stop.set()
            assert await task == 0
    resyncs = {
        instrument: relay.metrics.registry.get_sample_value(
            "relay_book_resyncs_total",
            {"venue": "okx", "instrument": instrument, "reason": "checksum"},
        )
        for instrument in SYMBOLS
    }
    print(f"\nokx: resyncs after skipping recorded frames 100-102: {resyncs}")
    assert resyncs == dict.fromkeys(SYMBOLS, 1.0)
    kinds: Counter[str] = Counter()
    final: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    for _, _, data in messages:
        envelope = json.loads(data)
        instrument, payload = envelope["instrument"], envelope["payload"]
        if envelope["data_type"] == "trade":
            kinds["trade"] += 1
            continue
        if envelope["data_type"] != "l2_orderbook":
            kinds[envelope["data_type"]] += 1
            continue
        if payload["is_snapshot"]:
            kinds["l2_snapshot"] += 1
            final[instrument] = {"bids": {}, "asks": {}}
        for side in ("bids", "asks"):
            for price, quantity in payload[side]:
                if Decimal(quantity):
                    final[instrument][side][Decimal(price)] = Decimal(quantity)
                else:
                    final[instrument][side].pop(Decimal(price), None)
    print(f"okx: JetStream after the skip: {dict(kinds)}")
    assert (kinds["trade"], kinds["ticker"], kinds["l2_snapshot"]) == (
        counts["trade"],
        counts["ticker"],
        6,
    )
    for instrument in SYMBOLS:
        assert final[instrument] == {
            side: {p: Decimal(s) for p, (_, s) in books[instrument][side].items()}
            for side in ("bids", "asks")
        }, instrument


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
