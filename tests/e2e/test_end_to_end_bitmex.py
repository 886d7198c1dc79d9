"""End to end on the recorded BitMEX session: relay simulate -> relay (in process) -> nats-server.

Starts nats-server on a free port, ``relay simulate bitmex.jsonl --speed max`` and a relay
subscribed to the ten recorded symbols (trade, ticker, l2_orderbook); then reads every
message JetStream stored and compares it with a reference built from the raw recorded
frames by ``support.bitmex_reference`` (no relay code): trades one for one with the digits
BitMEX sent, quote counts, and every book rebuilt from the published snapshot and deltas
equal to the book built from the recorded ``orderBookL2`` rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from support.bitmex_e2e import config_text, rebuild, streams_of, verify_bitmex
from support.bitmex_reference import bitmex_reference
from support.e2e import simulator_process, stored_messages
from support.reference_books import CAPTURES

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.venues.registry import supported_data_types
from relay.sim.captures import read_capture
from relay.sim.faults import Faults
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration

SKIPPED_FRAME = 104
"""A recorded ``insert`` of one BCHUSD level whose id the recorded frame 108 updates."""


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


def resync_counts(relay: Relay) -> dict[tuple[str, str], float]:
    return {
        (s.labels["instrument"], s.labels["reason"]): s.value
        for metric in relay.metrics.registry.collect()
        for s in metric.samples
        if s.name == "relay_book_resyncs_total"
    }


async def test_recorded_bitmex_session_arrives_in_jetstream_exactly(
    nats_server: EmbeddedNats,
) -> None:
    ref = bitmex_reference()
    expected = (
        sum(map(len, ref.trades.values()))
        + sum(ref.quotes.values())
        + sum(sum(m) for m in ref.book_messages.values())
    )
    async with simulator_process("bitmex.jsonl") as simulator:
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
    assert sum(resync_counts(relay).values()) == 0
    counts = verify_bitmex(messages)
    print(f"\nbitmex: {len(messages)} messages in JetStream (expected >= {expected}): {counts}")
    assert counts["trade"] == 27
    assert counts["ticker"] == 436
    assert counts["l2_orderbook"] - counts["l2_snapshot_messages"] == 1969


async def test_a_skipped_insert_makes_the_next_update_of_its_id_a_gap_and_resyncs_that_book_only(
    nats_server: EmbeddedNats,
) -> None:
    """Recorded frame 104 (an insert of a BCHUSD level) is never sent.

    Frame 108 updates that level's id, unknown to the relay: a gap. The relay drops
    the BCHUSD book, unsubscribes and subscribes ``orderBookL2:BCHUSD`` again, and the
    simulated venue's fresh partial (built from every frame passed, the skipped one
    included) restores it. The final books equal the full recording's; no other book
    is resynced.
    """
    ref = bitmex_reference()
    faults = Faults(skip_after_frames=SKIPPED_FRAME, skip_frames=1)
    capture = read_capture(CAPTURES / "bitmex.jsonl")
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
            expected = sum(map(len, ref.trades.values())) + sum(ref.quotes.values()) + 11
            messages = await stored_messages(nats_server.url, expected)
            for _ in range(20):  # wait for the fresh partial of BCHUSD
                streams = streams_of(messages)
                _, snapshots = rebuild([e["payload"] for e in streams[("BCHUSD", "l2_orderbook")]])
                if snapshots == 2:
                    break
                messages = await stored_messages(nats_server.url, expected)
        finally:
            stop.set()
            assert await task == 0
    resyncs = resync_counts(relay)
    print(f"\nbitmex: resyncs after skipping recorded frame {SKIPPED_FRAME}: {resyncs}")
    assert resyncs == {("BCHUSD", "gap"): 1.0}
    streams = streams_of(messages)
    for name, book in ref.books.items():
        rebuilt, snapshots = rebuild([e["payload"] for e in streams[(name, "l2_orderbook")]])
        assert snapshots == (2 if name == "BCHUSD" else 1), name
        assert rebuilt == book, name
