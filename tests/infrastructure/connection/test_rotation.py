"""Venue connections against the real simulator and a real nats-server, in process.

Rotation is exercised with the simulator in ``resume`` mode: a new connection
picks up where real time is, as the venue's would, and its REST snapshot is
the venue's book at that moment.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from support.e2e import (
    Stored,
    config_text,
    expected_counts,
    stored_messages,
    verify_jetstream,
)
from support.reference_books import CAPTURES

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.venues.registry import supported_data_types
from relay.sim.captures import Capture, RecordKind, read_capture
from relay.sim.faults import Faults, ReconnectMode
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration


async def run_rotating(
    capture: Capture, speed: float | None, rotate_after_s: float, watch_s: float, wait_stored: bool
) -> tuple[Relay, Simulator, Stored]:
    """Run the relay on ``capture`` (``resume`` mode) with rotations.

    ``wait_stored``: run until JetStream holds every recorded event (and its
    count stopped growing), and return the stored messages; else run for
    ``watch_s`` (a window in which something must not happen) and return none.
    """
    messages: Stored = []
    faults = Faults(reconnect=ReconnectMode.RESUME)
    async with (
        EmbeddedNats() as server,
        Simulator([capture], speed=speed, faults=faults) as simulator,
    ):
        text = config_text(
            server.url, f"127.0.0.1:{simulator.port}", free_port(), "json", ("binance-usdm",)
        )
        text = text.replace("rest_url = ", f"rotate_after_s = {rotate_after_s}\nrest_url = ", 1)
        relay = Relay(parse_config(text, source="<test>", venues=supported_data_types()))
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        if wait_stored:
            messages = await stored_messages(server.url, expected_counts(("binance-usdm",)))
        else:
            await asyncio.sleep(watch_s)
        stop.set()
        assert await task == 0
    return relay, simulator, messages


async def test_rotation_hands_over_without_gap_or_duplicate() -> None:
    capture = read_capture(CAPTURES / "binance-usdm.jsonl")
    relay, simulator, messages = await run_rotating(capture, 4.0, 2.0, 0.0, wait_stored=True)
    rotations = relay.metrics.registry.get_sample_value(
        "relay_connection_rotations_total", {"venue": "binance-usdm"}
    )
    assert rotations is not None and rotations >= 1
    # Each handover ends when both connections have delivered the same event: at least one
    # duplicate per rotation was suppressed, and none reached JetStream (checked below).
    assert relay.pipeline.duplicates >= rotations
    # A rotation started after the recording's last frame never gets a first frame: the
    # old connection is kept, so one more connection may have been served than rotated.
    assert simulator.connections_served - int(rotations) in (1, 2)
    seen = verify_jetstream(messages, "json", ("binance-usdm",))
    print(
        f"\n{int(rotations)} rotations, {relay.pipeline.duplicates} duplicates suppressed, "
        f"JetStream: {dict(seen)}"
    )
    assert (seen["trade"], seen["ticker"], seen["candle"]) == (91, 613, 67)
    assert seen["l2_snapshot"] == 4 * (1 + int(rotations))


async def test_rotation_that_gets_no_frame_opens_no_further_connection() -> None:
    """The new connection of a rotation is never rotated itself before it is handed over.

    The recording is cut to its first 40 frames, served at ``max`` speed in
    ``resume`` mode: it is over long before the first rotation (1 s), so the
    rotation's connection never gets a frame. Its own rotation timer (1 s after
    it opened) must not open yet another connection while the handover waits.
    """
    capture = read_capture(CAPTURES / "binance-usdm.jsonl")
    recv = [r for r in capture.records if r.kind is RecordKind.RECV][:40]
    short = replace(
        capture,
        records=tuple(r for r in capture.records if r.kind is not RecordKind.RECV or r in recv),
    )
    relay, simulator, _ = await run_rotating(short, None, 1.0, 3.5, wait_stored=False)
    rotations = relay.metrics.registry.get_sample_value(
        "relay_connection_rotations_total", {"venue": "binance-usdm"}
    )
    assert rotations is None or rotations == 0
    assert simulator.connections_served == 2
