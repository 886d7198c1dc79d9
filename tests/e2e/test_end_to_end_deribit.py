"""End to end on the recorded Deribit session: relay simulate -> relay (in process) -> nats-server.

Starts nats-server on a free port, ``relay simulate deribit.jsonl --speed max`` and a
relay subscribed to the recorded instruments (trade, ticker, l2_orderbook); then reads
every message JetStream stored and compares it with a reference built from the raw
recorded frames by ``support.deribit_reference`` (no relay code): trades and tickers one for
one with the digits Deribit sent, counts per type, and every book rebuilt from the
published snapshot and deltas equal to the book built from the recorded snapshot and
changes. The recording has no ``change_id`` break and no trade notification.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support.deribit_e2e import config_text, verify_deribit
from support.deribit_reference import deribit_reference
from support.e2e import decode, simulator_process, starts_snapshot, stored_messages, wire_book
from support.reference_books import CAPTURES

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.venues.registry import supported_data_types
from relay.sim.captures import read_capture
from relay.sim.faults import Faults
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


async def test_recorded_deribit_session_arrives_in_jetstream_exactly(
    nats_server: EmbeddedNats,
) -> None:
    ref = deribit_reference()
    expected = sum(len(t) for t in ref.tickers.values()) + sum(ref.book_messages.values())
    async with simulator_process("deribit.jsonl") as simulator:
        relay = Relay(
            parse_config(
                config_text(nats_server.url, simulator),
                source="<test>",
                venues=supported_data_types(),
            )
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            messages = await stored_messages(nats_server.url, expected)
        finally:
            stop.set()
            assert await task == 0
    resyncs = [
        s
        for metric in relay.metrics.registry.collect()
        for s in metric.samples
        if s.name == "relay_book_resyncs_total"
    ]
    assert sum(s.value for s in resyncs) == 0

    verify_deribit(messages)


async def test_a_skipped_book_change_breaks_change_id_and_resyncs_that_book_only(
    nats_server: EmbeddedNats,
) -> None:
    """Recorded frame 100 (a change of BTC-24SEP21-8000-P) is never sent.

    The next change's ``prev_change_id`` does not chain: the relay drops that
    book, subscribes its channel again, and the simulated venue's fresh
    snapshot (built from every frame passed) restores it. The final books equal
    the full recording's, and no other book is touched.
    """
    ref = deribit_reference()
    faults = Faults(skip_after_frames=100, skip_frames=1)
    capture = read_capture(CAPTURES / "deribit.jsonl")
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
            expected = sum(len(t) for t in ref.tickers.values()) + 10 + 1
            # The resync's frames go out paced (0.5 s apart): wait for the fresh snapshot.
            for _ in range(20):
                messages = await stored_messages(nats_server.url, expected)
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
    print(f"\nderibit: resyncs after skipping recorded frame 100: {resyncs}")
    assert resyncs == {("BTC-24SEP21-8000-P", "gap"): 1.0}
    updates: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, _, data in messages:
        env = decode(data, "json")
        if env["data_type"] == "l2_orderbook":
            updates[env["instrument"]].append(env["payload"])
    books = {name: wire_book(payloads) for name, payloads in updates.items()}
    snapshots = Counter(
        {name: sum(starts_snapshot(p) for p in payloads) for name, payloads in updates.items()}
    )
    assert snapshots == {name: 2 if name == "BTC-24SEP21-8000-P" else 1 for name in ref.books}
    assert books == ref.books
