"""The pipeline's runtime knobs on the recorded binance-usdm session: pause, forget, depth.

The events are what the relay makes from ``shared/captures/binance-usdm.jsonl``
(``support.capture_replay``), the encoder is the real JSON codec, the sink
records what it is handed. Each knob must touch only the stream it names.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import orjson
import pytest
from support.capture_replay import replay
from support.reference_books import CAPTURES

from relay.application.pipeline import Pipeline
from relay.application.ports import OutboundMessage
from relay.domain.model import DataType, MarketEvent
from relay.infrastructure.metrics import PrometheusMetrics
from relay.serialization.json_codec import JsonCodec
from relay.sim.captures import read_capture

EVENTS = [event for event, _ in replay(read_capture(CAPTURES / "binance-usdm.jsonl")).events]
HALF = len(EVENTS) // 2
VENUE = "binance-usdm"
SUSHI_TRADE = "market.binance-usdm.sushiusdt.trade"
SUSHI_BOOK = "market.binance-usdm.sushiusdt.l2_orderbook"
AKRO_BOOK = "market.binance-usdm.akrousdt.l2_orderbook"
"""(``support.capture_replay`` names each instrument by its venue id.)"""


class Sink:
    """Keeps every message handed to it."""

    max_payload_bytes = 0

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []

    async def submit(self, message: OutboundMessage) -> None:
        self.messages.append(message)

    async def flush(self) -> None:
        return None

    async def drain(self, timeout_s: float) -> int:
        return 0


class Running:
    def __init__(self) -> None:
        self.sink = Sink()
        self.metrics = PrometheusMetrics()
        self.resyncs: list[tuple[str, str]] = []
        self.pipeline = Pipeline(
            4096,
            JsonCodec(),
            self.sink,
            self.metrics,
            resync_book=lambda i, reason: self.resyncs.append((i.instrument, reason)),
        )

    async def feed(self, events: list[MarketEvent]) -> None:
        for event in events:
            await self.pipeline.put(event)
        await self.pipeline.drain(10)

    def sequences(self, subject: str) -> list[int]:
        return [
            orjson.loads(m.payload)["sequence"] for m in self.sink.messages if m.subject == subject
        ]

    def subjects(self) -> Counter[str]:
        return Counter(m.subject for m in self.sink.messages)

    def dropped(self, data_type: str, reason: str) -> float:
        labels = {"venue": VENUE, "data_type": data_type, "reason": reason}
        value = self.metrics.registry.get_sample_value("relay_events_dropped_total", labels)
        return 0.0 if value is None else value


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    relay = Running()
    task = asyncio.create_task(relay.pipeline.run())
    try:
        yield relay
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def count(events: list[MarketEvent], instrument: str, data_type: DataType) -> int:
    return sum(
        1 for e in events if e.instrument.instrument == instrument and e.data_type is data_type
    )


async def test_a_paused_stream_is_counted_not_published_and_resumes_without_a_hole(
    running: Running,
) -> None:
    baseline = Running()
    baseline_task = asyncio.create_task(baseline.pipeline.run())
    await baseline.feed(EVENTS)
    baseline_task.cancel()
    running.pipeline.set_paused(VENUE, "SUSHIUSDT", DataType.TRADE, True)
    await running.feed(EVENTS[:HALF])
    running.pipeline.set_paused(VENUE, "SUSHIUSDT", DataType.TRADE, False)
    await running.feed(EVENTS[HALF:])
    paused = count(EVENTS[:HALF], "SUSHIUSDT", DataType.TRADE)
    assert running.dropped("trade", "paused") == paused > 0
    assert running.sequences(SUSHI_TRADE) == list(range(1, 41 - paused))
    others = baseline.subjects()
    others[SUSHI_TRADE] -= paused
    assert running.subjects() == others
    assert running.resyncs == []


async def test_a_paused_book_resumes_from_a_resync_of_that_book_only(running: Running) -> None:
    running.pipeline.set_paused(VENUE, "SUSHIUSDT", DataType.L2_ORDERBOOK, True)
    await running.feed(EVENTS[:HALF])
    assert running.sequences(SUSHI_BOOK) == []
    running.pipeline.set_paused(VENUE, "SUSHIUSDT", DataType.L2_ORDERBOOK, False)
    assert running.resyncs == [("SUSHIUSDT", "resumed")]
    await running.feed(EVENTS[HALF:])
    assert running.sequences(SUSHI_BOOK) == []
    assert running.dropped("l2_orderbook", "book_incomplete") == count(
        EVENTS[HALF:], "SUSHIUSDT", DataType.L2_ORDERBOOK
    )


async def test_a_forgotten_stream_drops_its_events_until_restored_and_numbers_on(
    running: Running,
) -> None:
    await running.feed(EVENTS[:100])
    published = len(running.sequences(AKRO_BOOK))
    running.pipeline.forget(VENUE, "AKROUSDT", DataType.L2_ORDERBOOK)
    await running.feed(EVENTS[100:HALF])
    assert len(running.sequences(AKRO_BOOK)) == published
    assert running.dropped("l2_orderbook", "unsubscribed") == count(
        EVENTS[100:HALF], "AKROUSDT", DataType.L2_ORDERBOOK
    )
    running.pipeline.restore(VENUE, "AKROUSDT", DataType.L2_ORDERBOOK, 0)
    await running.feed(EVENTS[HALF:])
    # Restored, the book waits for its next snapshot (none left in the session): its deltas
    # are dropped as book_incomplete; its numbers would go on after ``published``.
    assert len(running.sequences(AKRO_BOOK)) == published
    assert running.dropped("l2_orderbook", "book_incomplete") == count(
        EVENTS[HALF:], "AKROUSDT", DataType.L2_ORDERBOOK
    )
    assert running.resyncs == []


async def test_a_new_depth_resyncs_that_book_only_until_its_next_snapshot(
    running: Running,
) -> None:
    await running.feed(EVENTS[:HALF])
    akro_then = len(running.sequences(AKRO_BOOK))
    sushi_then = running.sequences(SUSHI_BOOK)
    outside_then = running.pipeline.outside_depth
    running.pipeline.set_depth(VENUE, "SUSHIUSDT", 5)
    assert running.resyncs == [("SUSHIUSDT", "depth_changed")]
    await running.feed(EVENTS[HALF:])
    assert running.sequences(SUSHI_BOOK) == sushi_then
    # Each later SUSHIUSDT delta is cut to the new depth (nothing left: outside_depth) or
    # waits for the fresh snapshot (book_incomplete); none is published.
    outside = running.pipeline.outside_depth - outside_then
    assert running.dropped("l2_orderbook", "book_incomplete") + outside == count(
        EVENTS[HALF:], "SUSHIUSDT", DataType.L2_ORDERBOOK
    )
    assert running.sequences(AKRO_BOOK) == list(
        range(1, akro_then + 1 + count(EVENTS[HALF:], "AKROUSDT", DataType.L2_ORDERBOOK))
    )
