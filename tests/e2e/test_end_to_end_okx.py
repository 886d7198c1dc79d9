"""End to end on the recorded OKX session: relay simulate -> relay run -> a real nats-server.

Starts nats-server on a free port, ``relay simulate okx.jsonl --speed max`` and
``relay run`` subscribing the three recorded instruments (trade, ticker,
l2_orderbook); then reads every message JetStream stored and compares it with a
reference built from the raw recorded frames without relay code (``support.okx_e2e``): trades
one for one (id, price, quantity, side), counts per type, each book rebuilt
from the published snapshot and deltas equal to the book rebuilt from the
frames, and every recorded checksum verified by the reference's own CRC32.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from support.e2e import simulator_process, start_relay, stop_relay, stored_messages
from support.okx_e2e import SYMBOLS, okx_config, reference, verify_okx
from support.reference_books import CAPTURES

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.venues.registry import supported_data_types
from relay.sim.captures import read_capture
from relay.sim.faults import Faults
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration


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
