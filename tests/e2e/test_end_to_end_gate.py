"""End to end on the recorded Gate.io sessions: relay simulate -> relay run -> a real nats-server.

Starts nats-server on a free port, ``relay simulate gate-<market>.jsonl --speed max`` and
``relay run`` subscribed to every recorded instrument (trade, ticker, l2_orderbook, 1m
candle); then reads every message JetStream stored and compares it with a reference built
from the raw recorded frames (``support.gate_reference``, no relay code): trades, book
tickers and candles one for one, every book rebuilt from the published snapshot and deltas
equal to the recorded REST snapshot with the recorded ``order_book_update`` diffs applied,
and the counts per type. The spot recording has no book_ticker (it subscribed
``spot.tickers``, which the relay does not use) and the futures one no trade.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.e2e import simulator_process, start_relay, stop_relay, stored_messages
from support.gate_e2e import config_text, verify_gate
from support.reference_books import CAPTURES

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.venues.registry import supported_data_types
from relay.sim.captures import read_capture
from relay.sim.faults import Faults
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration

EXPECTED = {
    "gate-spot": {"trade": 9, "ticker": 0, "candle": 14, "l2_orderbook": 167, "l2_snapshot": 8},
    "gate-futures": {
        "trade": 0,
        "ticker": 75,
        "candle": 1,
        "l2_orderbook": 325,
        "l2_snapshot": 9,
    },
}
"""Counted independently from the raw recordings (see ``support.gate_reference``)."""


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


@pytest.mark.parametrize("venue", ["gate-spot", "gate-futures"])
async def test_recorded_gate_session_arrives_in_jetstream_exactly(
    venue: str, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    expected = EXPECTED[venue]
    total = sum(v for k, v in expected.items() if k != "l2_snapshot")
    async with simulator_process(f"{venue}.jsonl") as simulator:
        config = tmp_path / "relay.toml"
        config.write_text(config_text(nats_server.url, simulator, venue))
        relay = await start_relay(config)
        try:
            messages = await stored_messages(nats_server.url, total)
        finally:
            stderr = await stop_relay(relay)
    assert relay.returncode == 0, stderr[-2000:]
    assert "order book resync" not in stderr
    counts = verify_gate(venue, messages)
    assert {k: counts[k] for k in expected} == expected


async def test_a_skipped_book_diff_resyncs_that_book_only_from_a_fresh_rest_snapshot(
    nats_server: EmbeddedNats,
) -> None:
    """Recorded frame 244 of ``gate-futures.jsonl`` (an OMG_USDT ``order_book_update``) is
    never sent (replay at 4x).

    The next OMG_USDT diff does not chain (``U != u + 1``): the relay drops that book and
    fetches a REST snapshot, which the simulator rebuilds from every frame the replay
    passed (the skipped one included); the following diffs chain on it. Only that book is
    resynced, and every final book equals the full recording's.
    """
    venue = "gate-futures"
    faults = Faults(skip_after_frames=244, skip_frames=1)
    capture = read_capture(CAPTURES / f"{venue}.jsonl")
    async with Simulator([capture], speed=4.0, faults=faults) as simulator:
        relay = Relay(
            parse_config(
                config_text(nats_server.url, f"127.0.0.1:{simulator.port}", venue),
                source="<test>",
                venues=supported_data_types(),
            )
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            messages = await stored_messages(nats_server.url, 75 + 1 + 300)
            for _ in range(20):
                if sum(b'"is_snapshot":true' in data for _, _, data in messages) == 10:
                    break
                messages = await stored_messages(nats_server.url, len(messages) + 1)
        finally:
            stop.set()
            assert await task == 0
    resyncs = {
        (s.labels["instrument"], s.labels["reason"]): s.value
        for metric in relay.metrics.registry.collect()
        for s in metric.samples
        if s.name == "relay_book_resyncs_total"
    }
    print(f"\n{venue}: resyncs after skipping recorded frame 244: {resyncs}")
    assert resyncs == {("OMG_USDT", "gap"): 1.0}
    counts = verify_gate(venue, messages)
    assert counts["l2_snapshot"] == 10
    assert (counts["trade"], counts["ticker"], counts["candle"]) == (0, 75, 1)
