"""A book that lost a message is resynced through its venue connection, end to end.

The recorded binance-usdm session, replayed at 4x by the in-process simulator
(``resume`` mode: its REST depth snapshots match the book where the replay
is), a real nats-server, and the relay in process. Mid-replay the publisher
reports a SUSHIUSDT book message as given up on; the pipeline stops that
book's deltas, the composition root asks the Binance connection for a resync,
a new REST snapshot is fetched and published, and the final books still
equal the reference built from the recording.
"""

from __future__ import annotations

import asyncio
import contextlib

import nats
import pytest
from support.e2e import expected_counts, relay_in_process, sample, stored_messages, verify_jetstream
from support.reference_books import CAPTURES

from relay.application.ports import OutboundMessage
from relay.domain.model import Instrument
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.sim.captures import read_capture
from relay.sim.faults import Faults, ReconnectMode
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration

USDM_ONLY = ("binance-usdm",)
SUSHI = Instrument("binance-usdm", "SUSHIUSDT", "SUSHI/USDT")
SUBJECT = "market.binance-usdm.sushi-usdt.l2_orderbook"


async def stored_on(url: str, subject: str, count: int) -> None:
    """Wait until stream MARKET holds ``count`` messages on ``subject`` (30 s at most)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                info = await js.stream_info("MARKET", subjects_filter=subject)
                if (info.state.subjects or {}).get(subject, 0) >= count:
                    return
            assert asyncio.get_running_loop().time() < deadline, f"{count} on {subject}"
            await asyncio.sleep(0.05)
    finally:
        await nc.close()


async def test_a_dropped_book_message_resyncs_that_book_from_a_fresh_snapshot() -> None:
    simulator = Simulator(
        [read_capture(CAPTURES / "binance-usdm.jsonl")],
        speed=4.0,
        faults=Faults(reconnect=ReconnectMode.RESUME),
    )
    async with EmbeddedNats() as server, simulator:
        async with relay_in_process(server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY) as relay:
            await stored_on(server.url, SUBJECT, 20)
            relay.pipeline.message_dropped(
                OutboundMessage(
                    SUBJECT,
                    b"",
                    "binance-usdm:SUSHIUSDT:l2_orderbook:lost",
                    "binance-usdm",
                    "l2_orderbook",
                    0,
                    SUSHI,
                ),
                "publish_failed",
            )
            messages = await stored_messages(server.url, expected_counts(USDM_ONLY))
            resyncs = sample(
                relay,
                "relay_book_resyncs_total",
                venue="binance-usdm",
                instrument="SUSHIUSDT",
                reason="message_dropped",
            )
            withheld = sample(
                relay,
                "relay_events_dropped_total",
                venue="binance-usdm",
                data_type="l2_orderbook",
                reason="book_incomplete",
            )
    print(
        f"\nresyncs: {resyncs}; deltas withheld until the new snapshot: {withheld}; "
        f"REST snapshots served: {len(simulator.rest_log)}"
    )
    assert resyncs == 1
    seen = verify_jetstream(messages, "json", USDM_ONLY)
    assert seen["l2_snapshot"] == 5
    assert (seen["trade"], seen["ticker"], seen["candle"]) == (91, 613, 67)
    # Diffs read while the new snapshot is fetched are folded into it by Binance's
    # procedure, so how many deltas remain depends on timing; the books above do not.
    assert seen["l2_orderbook"] <= 756 + 1 - withheld
