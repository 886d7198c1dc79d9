"""The pipeline's basics on a recorded session: numbering, duplicates, backpressure, drain.

The events are the ones the relay makes from ``shared/captures/binance-usdm.jsonl``
(replayed through the Binance USD-M protocol by ``support.capture_replay``), the
encoder is the real JSON codec; the sink records what it is handed (and can be
held shut, as a JetStream that stopped acknowledging would be). Books are
covered against a real nats-server in ``test_pipeline_books.py``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.capture_replay import replay
from support.reference_books import CAPTURES

from relay.application.pipeline import Pipeline
from relay.application.pipeline_streams import RecentIds
from relay.application.ports import OutboundMessage
from relay.domain.model import MarketEvent
from relay.infrastructure.metrics import PrometheusMetrics
from relay.serialization.json_codec import JsonCodec
from relay.sim.captures import read_capture

USDM_EVENTS = [event for event, _ in replay(read_capture(CAPTURES / "binance-usdm.jsonl")).events]
"""The 1,527 events of the recorded Binance USD-M session, in the order the relay makes them."""


class RecordingSink:
    """A :class:`~relay.application.ports.MessageSink` that keeps every message.

    ``gate``: while clear, :meth:`submit` waits (a JetStream that stopped
    acknowledging); ``entered`` is set once a submit is waiting on it. ``unflushed``:
    messages submitted since the last :meth:`flush` (a batching publisher would still
    hold them unwritten).
    """

    max_payload_bytes = 0

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()
        self.flushes = 0
        self._flushed = 0

    @property
    def unflushed(self) -> int:
        return len(self.messages) - self._flushed

    async def submit(self, message: OutboundMessage) -> None:
        if not self.gate.is_set():
            self.entered.set()
            await self.gate.wait()
        self.messages.append(message)

    async def flush(self) -> None:
        self.flushes += 1
        self._flushed = len(self.messages)

    async def drain(self, timeout_s: float) -> int:
        return 0


class Running:
    """A pipeline whose loop runs, its sink and its metrics."""

    def __init__(self, max_queue_events: int) -> None:
        self.sink = RecordingSink()
        self.metrics = PrometheusMetrics()
        self.pipeline = Pipeline(max_queue_events, JsonCodec(), self.sink, self.metrics)

    def duplicates(self, data_type: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "relay_events_duplicate_total", {"venue": "binance-usdm", "data_type": data_type}
        )
        return 0.0 if value is None else value


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    relay = Running(max_queue_events=64)
    task = asyncio.create_task(relay.pipeline.run())
    try:
        yield relay
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def put_all(pipeline: Pipeline, events: list[MarketEvent]) -> None:
    for event in events:
        await pipeline.put(event)


def sequences(messages: list[OutboundMessage]) -> dict[str, list[int]]:
    """Subject -> the ``sequence`` of each of its envelopes, in the order submitted."""
    numbered: dict[str, list[int]] = {}
    for message in messages:
        numbered.setdefault(message.subject, []).append(orjson.loads(message.payload)["sequence"])
    return numbered


def test_the_recorded_session_gives_1527_events_with_distinct_ids() -> None:
    assert len(USDM_EVENTS) == 1527
    assert len({event.msg_id for event in USDM_EVENTS}) == 1527


async def test_every_subject_is_numbered_from_one_without_holes_in_arrival_order(
    running: Running,
) -> None:
    await put_all(running.pipeline, USDM_EVENTS)
    assert await running.pipeline.drain(10.0) == 0
    messages = running.sink.messages
    assert [m.msg_id for m in messages] == [e.msg_id for e in USDM_EVENTS]
    numbered = sequences(messages)
    per_subject = Counter(e.instrument.subject(e.data_type, "market") for e in USDM_EVENTS)
    assert {subject: len(seqs) for subject, seqs in numbered.items()} == per_subject
    for subject, seqs in numbered.items():
        assert seqs == list(range(1, len(seqs) + 1)), subject
    assert len(numbered) == 16
    assert Counter(m.data_type for m in messages) == {
        "trade": 91,
        "ticker": 613,
        "candle": 67,
        "l2_orderbook": 756,
    }
    assert running.pipeline.accepted == 1527
    assert running.pipeline.duplicates == 0


async def test_a_replayed_stretch_is_suppressed_and_counted_without_using_numbers(
    running: Running,
) -> None:
    """A reconnect that replays what was already published: nothing goes out twice."""
    await put_all(running.pipeline, USDM_EVENTS[:1000])
    await put_all(running.pipeline, USDM_EVENTS[:500])
    await put_all(running.pipeline, USDM_EVENTS[1000:])
    assert await running.pipeline.drain(10.0) == 0
    assert [m.msg_id for m in running.sink.messages] == [e.msg_id for e in USDM_EVENTS]
    assert running.pipeline.accepted == 2027
    assert running.pipeline.duplicates == 500
    replayed = Counter(e.data_type.value for e in USDM_EVENTS[:500])
    assert {dt: running.duplicates(dt) for dt in replayed} == replayed
    for subject, seqs in sequences(running.sink.messages).items():
        assert seqs == list(range(1, len(seqs) + 1)), subject


async def test_a_full_queue_blocks_the_reader_until_the_sink_takes_again() -> None:
    """Full policy ``block``: the reader's ``put`` waits; nothing is dropped."""
    relay = Running(max_queue_events=4)
    pipeline, sink = relay.pipeline, relay.sink
    sink.gate.clear()
    loop_task = asyncio.create_task(pipeline.run())
    try:
        await pipeline.put(USDM_EVENTS[0])
        await asyncio.wait_for(sink.entered.wait(), 5.0)  # the loop holds event 0 at the sink
        for event in USDM_EVENTS[1:5]:
            await pipeline.put(event)
        assert pipeline.depth == 4
        blocked = asyncio.create_task(put_all(pipeline, USDM_EVENTS[5:12]))
        for _ in range(20):  # let every ready task run: the put stays blocked
            await asyncio.sleep(0)
        assert not blocked.done()
        assert (pipeline.accepted, pipeline.depth, len(sink.messages)) == (5, 4, 0)
        sink.gate.set()
        await asyncio.wait_for(blocked, 5.0)
        assert await pipeline.drain(5.0) == 0
    finally:
        loop_task.cancel()
        await asyncio.gather(loop_task, return_exceptions=True)
    assert [m.msg_id for m in sink.messages] == [e.msg_id for e in USDM_EVENTS[:12]]
    assert pipeline.accepted == 12


async def test_drain_returns_what_is_still_queued_when_the_loop_cannot_take_it() -> None:
    relay = Running(max_queue_events=64)
    await put_all(relay.pipeline, USDM_EVENTS[:10])
    assert await relay.pipeline.drain(0.05) == 10  # no loop running: nothing was taken
    loop_task = asyncio.create_task(relay.pipeline.run())
    try:
        assert await relay.pipeline.drain(5.0) == 0
    finally:
        loop_task.cancel()
        await asyncio.gather(loop_task, return_exceptions=True)
    assert len(relay.sink.messages) == 10
    assert relay.sink.flushes >= 1


def test_recent_ids_forget_the_oldest_beyond_their_capacity() -> None:
    ids = [event.msg_id for event in USDM_EVENTS[:4]]
    recent = RecentIds(3)
    assert [recent.add(i) for i in ids[:3]] == [True, True, True]
    assert recent.add(ids[0]) is False
    assert recent.add(ids[3]) is True  # ids[0] forgotten
    assert recent.add(ids[0]) is True  # remembered again; ids[1] forgotten
    assert recent.add(ids[2]) is False
    assert recent.add(ids[1]) is True


@given(st.lists(st.integers(0, 12), max_size=200), st.integers(1, 6))
def test_recent_ids_remember_exactly_the_last_capacity_new_ids(
    keys: list[int],
    capacity: int,
) -> None:
    """``add`` is False iff the id is among the last ``capacity`` ids it returned True for."""
    recent = RecentIds(capacity)
    remembered: list[str] = []
    for key in keys:
        msg_id = f"binance-usdm:{key}"
        assert recent.add(msg_id) is (msg_id not in remembered)
        if msg_id not in remembered:
            remembered = [*remembered, msg_id][-capacity:]
