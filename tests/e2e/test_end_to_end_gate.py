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

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.e2e import simulator_process, start_relay, stop_relay, stored_messages
from support.gate_e2e import config_text, verify_gate

from relay.infrastructure.embedded_nats import EmbeddedNats

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
