"""End to end for dYdX: relay simulate -> relay run -> nats-server, with one frame lost.

There is no recorded dYdX session: the simulator serves the session of
``support.dydx_e2e`` (the indexer WebSocket page's examples numbered for one
connection, then 30 book updates of the documented shape, one crossing the
book before the lost one), skipping one book update (``message_id`` 20) as
``--skip-after`` does. The relay must see the ``message_id`` gap and resync that
one book (unsubscribe + subscribe); the simulated side's fresh ``subscribed``
book must restore it. The book rebuilt from what JetStream stored equals the
reference built from the raw frames by ``support.dydx_e2e.reference`` (no relay
code) before the resync (with the levels uncrossing removed, published with the
update) and at the end; the trades, the candle, the funding rates and the open
interest are stored once each.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.dydx_e2e import rebuilt, reference, session_frames, write_capture
from support.e2e import decode, relay_header, stored_messages

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.venues.registry import supported_data_types
from relay.sim.captures import read_capture
from relay.sim.faults import Faults
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration

SKIPPED_MESSAGE_ID = 20


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


def config_text(nats_url: str, simulator: str) -> str:
    return (
        relay_header(nats_url, free_port())
        + f"""
[[venues]]
id = "dydx"
ws_url = "ws://{simulator}/dydx/v4/ws"
[[venues.subscriptions]]
instrument = "BTC-USD"
canonical_symbol = "BTC/USD:PERP"
data_types = ["trade", "l2_orderbook", "candle", "funding_rate", "open_interest"]
"""
    )


async def test_a_lost_book_message_resyncs_the_book_and_jetstream_holds_the_reference(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    frames = session_frames()
    (bids, asks), trades = reference(frames)
    skip_after = next(
        i for i, f in enumerate(frames) if json.loads(f)["message_id"] == SKIPPED_MESSAGE_ID
    )
    capture = read_capture(write_capture(tmp_path / "dydx.jsonl"))
    faults = Faults(skip_after_frames=skip_after, skip_frames=1)
    async with Simulator([capture], speed=None, faults=faults) as simulator:
        relay = Relay(
            parse_config(
                config_text(nats_server.url, f"127.0.0.1:{simulator.port}"),
                source="<test>",
                venues=supported_data_types(),
            )
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            for _ in range(40):
                messages = await stored_messages(nats_server.url, 10, polls=60)
                books = [
                    decode(data, "json")["payload"]
                    for subject, _, data in messages
                    if subject.endswith(".l2_orderbook")
                ]
                if sum(b["is_snapshot"] for b in books) == 2 and rebuilt(books) == (bids, asks):
                    break
        finally:
            stop.set()
            assert await task == 0
    resyncs = {
        (s.labels["instrument"], s.labels["reason"]): s.value
        for metric in relay.metrics.registry.collect()
        for s in metric.samples
        if s.name == "relay_book_resyncs_total"
    }
    envelopes = [decode(data, "json") for _, _, data in messages]
    counts = Counter(e["data_type"] for e in envelopes)
    print(f"\ndydx: {len(messages)} messages in JetStream: {dict(counts)}; resyncs {resyncs}")
    assert resyncs == {("BTC-USD", "gap"): 1.0}
    fresh = [i for i, b in enumerate(books) if b["is_snapshot"]][1]
    before, _ = reference([f for f in frames if json.loads(f)["message_id"] < SKIPPED_MESSAGE_ID])
    assert rebuilt(books[:fresh]) == before  # with the levels the crossing update removed
    assert rebuilt(books) == (bids, asks)
    stored_trades = [
        (
            e["payload"]["trade_id"],
            e["payload"]["price"],
            e["payload"]["quantity"],
            e["payload"]["side"],
        )
        for e in envelopes
        if e["data_type"] == "trade"
    ]
    assert stored_trades == trades
    assert (counts["candle"], counts["funding_rate"], counts["open_interest"]) == (1, 2, 1)
    assert {e["venue"] for e in envelopes} == {"dydx"}
