"""End to end on the recorded Kraken Futures session: relay simulate -> relay run -> nats-server.

Starts nats-server on a free port, ``relay simulate kraken-futures.jsonl --speed max``
and ``relay run`` subscribed to the ten recorded products (trade, l2_orderbook); then
reads every message JetStream stored and compares it with a reference built from
the raw recorded frames by ``support.kraken_futures_reference`` (no relay code):
trades one for one with the digits sent, counts per type, and every book rebuilt
from the published snapshot and deltas equal to the book built from the recorded
``book_snapshot`` and ``book`` messages. The recording has no ``seq`` break.

A second run skips one recorded book message: that book's ``seq`` breaks, the relay
resyncs that one book, and the simulated venue's fresh snapshot restores it.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.e2e import (
    decode,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
    wire_book,
)
from support.kraken_futures_e2e import (
    PRODUCTS,
    by_stream,
    config_text,
    verify_kraken_futures,
)
from support.kraken_futures_reference import kraken_futures_reference
from support.reference_books import CAPTURES, records

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


async def test_recorded_kraken_futures_session_arrives_in_jetstream_exactly(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    expected = 3 + 7024
    async with simulator_process("kraken-futures.jsonl") as simulator:
        config = tmp_path / "relay.toml"
        config.write_text(config_text(nats_server.url, simulator, free_port()))
        relay = await start_relay(config)
        try:
            messages = await stored_messages(nats_server.url, expected)
        finally:
            stderr = await stop_relay(relay)
    assert relay.returncode == 0, stderr[-2000:]
    assert "order book resync" not in stderr
    counts = verify_kraken_futures(messages)
    print(f"\nkraken-futures: {len(messages)} messages in JetStream: {dict(counts)}")


def _skipped_frame() -> tuple[int, str]:
    """The recv frame index (counted as the simulator counts frames) of the first recorded
    ``book`` message of FI_BCHUSD_210730 (seq 91193), and its product."""
    frames = [r["data"] for r in records("kraken-futures.jsonl") if r["kind"] == "recv"]
    index = next(
        i
        for i, f in enumerate(frames)
        if (m := json.loads(f)).get("feed") == "book" and m.get("seq") == 91193
    )
    return index, json.loads(frames[index])["product_id"]


async def test_a_skipped_book_message_breaks_seq_and_resyncs_that_book_only(
    nats_server: EmbeddedNats,
) -> None:
    ref = kraken_futures_reference()
    index, product = _skipped_frame()
    faults = Faults(skip_after_frames=index, skip_frames=1)
    capture = read_capture(CAPTURES / "kraken-futures.jsonl")
    async with Simulator([capture], speed=None, faults=faults) as simulator:
        relay = Relay(
            parse_config(
                config_text(nats_server.url, f"127.0.0.1:{simulator.port}", free_port()),
                source="<test>",
                venues=supported_data_types(),
            )
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            # 11 snapshots (one fresh) once the resync's frames have gone out (paced).
            for _ in range(20):
                messages = await stored_messages(nats_server.url, 3 + 10 + 1)
                if sum(b'"is_snapshot":true' in data for _, _, data in messages) == 11:
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
    print(f"\nkraken-futures: resyncs after skipping recorded frame {index}: {resyncs}")
    assert resyncs == {(product, "gap"): 1.0}
    streams = by_stream(messages)
    snapshots: Counter[str] = Counter()
    for name in PRODUCTS:
        updates = [e["payload"] for e in streams[(name, "l2_orderbook")]]
        snapshots[name] = sum(1 for u in updates if u["is_snapshot"])
        assert wire_book(updates) == ref.books[name], name
    assert snapshots == {name: 2 if name == product else 1 for name in PRODUCTS}
    assert all(decode(data, "json")["venue"] == "kraken-futures" for _, _, data in messages)
