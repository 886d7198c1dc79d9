"""Hot standby in the pipeline: held-back rings and the takeover (relay.application.standby).

The events are the relay's own from ``shared/captures/binance-usdm.jsonl``; a
"leader" pipeline publishes the first ``cut`` of them (what JetStream stored
before it died), a standby pipeline holds events back and takes over, reading
each subject's anchor from what the leader published. The union must be what
one pipeline publishes from the whole session: same message ids, same
``sequence`` numbers, same bytes.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from support.capture_replay import replay
from support.reference_books import CAPTURES
from test_pipeline import RecordingSink

from relay.application.pipeline import Pipeline
from relay.application.ports import OutboundMessage
from relay.application.standby import (
    Anchor,
    ResumeKind,
    RingEntry,
    StandbyRing,
    resume_plan,
)
from relay.domain.model import Instrument, MarketEvent
from relay.infrastructure.metrics import PrometheusMetrics
from relay.serialization.json_codec import JsonCodec
from relay.sim.captures import read_capture

USDM_EVENTS = [event for event, _ in replay(read_capture(CAPTURES / "binance-usdm.jsonl")).events]


def anchor_of(message: OutboundMessage) -> Anchor:
    """What ``AnchorReader`` makes of a stored message: id, sequence and the envelope's times."""
    envelope = orjson.loads(message.payload)
    return Anchor(
        message.msg_id,
        envelope["sequence"],
        envelope["exchange_timestamp"],
        envelope["received_at"],
    )


def anchors_of(messages: list[OutboundMessage]) -> dict[str, Anchor]:
    """Subject -> its last message's anchor (what get_last_msg answers)."""
    return {m.subject: anchor_of(m) for m in messages}


async def publish(
    events: list[MarketEvent],
    ring_events: int = 0,
    anchors: dict[str, Anchor] | None = None,
    resyncs: list[tuple[Instrument, str]] | None = None,
) -> tuple[Pipeline, RecordingSink, dict[str, ResumeKind]]:
    """Run a pipeline over ``events``; a standby (``ring_events`` > 0) is promoted after them."""
    sink = RecordingSink()
    asked = resyncs if resyncs is not None else []
    kinds: dict[str, ResumeKind] = {}
    pipeline = Pipeline(
        64,
        JsonCodec(),
        sink,
        PrometheusMetrics(),
        resync_book=lambda instrument, reason: asked.append((instrument, reason)),
        standby_ring_events=ring_events,
        on_resume=lambda subject, kind, held_s: kinds.__setitem__(subject, kind),
    )
    task = asyncio.create_task(pipeline.run())
    try:
        for event in events:
            await pipeline.put(event)
        assert await pipeline.drain(10.0) == 0
        if ring_events:
            assert pipeline.standby and sink.messages == []

            async def lookup(subject: str) -> Anchor | None:
                return (anchors or {}).get(subject)

            await pipeline.promote(lookup)
            assert not pipeline.standby
            # Nothing more may come from the venue: what the takeover published is written.
            assert sink.unflushed == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return pipeline, sink, kinds


def wire(messages: list[OutboundMessage]) -> list[tuple[str, str, bytes]]:
    return [(m.subject, m.msg_id, m.payload) for m in messages]


@pytest.mark.parametrize("cut", [0, 1, 400, 1000, 1526, 1527])
async def test_a_standby_taking_over_at_any_point_continues_every_stream_exactly(
    cut: int,
) -> None:
    _, whole, _ = await publish(USDM_EVENTS)
    _, leader, _ = await publish(USDM_EVENTS[:cut])
    _, standby, kinds = await publish(USDM_EVENTS, 10_000, anchors_of(leader.messages))

    assert sorted(wire(leader.messages + standby.messages)) == sorted(wire(whole.messages))
    stored = anchors_of(leader.messages)
    assert kinds == {
        subject: ResumeKind.CONTINUED if subject in stored else ResumeKind.FROM_START
        for subject in anchors_of(whole.messages)
    }


async def test_a_standby_that_missed_the_anchor_leaves_one_counted_hole_and_resyncs_books() -> None:
    _, leader, _ = await publish(USDM_EVENTS[:700])
    resyncs: list[tuple[Instrument, str]] = []
    late = USDM_EVENTS[900:]
    _, standby, kinds = await publish(late, 10_000, anchors_of(leader.messages), resyncs)

    stored = anchors_of(leader.messages)
    first: dict[str, int] = {}
    for m in standby.messages:
        first.setdefault(m.subject, orjson.loads(m.payload)["sequence"])
    non_book = {s for s in stored if not s.endswith("l2_orderbook")}
    assert {s: kinds[s] for s in non_book} == dict.fromkeys(non_book, ResumeKind.GAP)
    for subject in non_book:
        if subject in first:
            assert first[subject] == stored[subject].sequence + 2, subject
    books = {s for s in stored if s.endswith("l2_orderbook")}
    assert {s: kinds[s] for s in books} == dict.fromkeys(books, ResumeKind.RESYNC)
    assert sorted(i.instrument for i, _ in resyncs) == [
        "AKROUSDT",
        "CTKUSDT",
        "KEEPUSDT",
        "SUSHIUSDT",
    ]
    assert {reason for _, reason in resyncs} == {"failover"}
    assert not [m for m in standby.messages if m.subject in books]


def ring_of(ids: list[str], capacity: int = 10) -> StandbyRing:
    ring = StandbyRing(capacity)
    for msg_id in ids:
        ring.add(RingEntry(USDM_EVENTS[0], msg_id, 0))
    return ring


@pytest.mark.parametrize(
    ("ids", "capacity", "anchor", "book", "kind", "published", "first"),
    [
        (["a", "b"], 10, None, False, ResumeKind.FROM_START, ["a", "b"], 1),
        (["a", "b", "c"], 2, None, False, ResumeKind.GAP, ["b", "c"], 2),
        (["a", "b", "c"], 2, None, True, ResumeKind.RESYNC, [], 1),
        (["a", "b", "c"], 10, Anchor("b", 7), False, ResumeKind.CONTINUED, ["c"], 8),
        (["a", "b", "c"], 10, Anchor("c", 7), True, ResumeKind.CONTINUED, [], 8),
        (["a", "b", "c"], 10, Anchor("x", 7), False, ResumeKind.GAP, ["a", "b", "c"], 9),
        (["a", "b", "c"], 10, Anchor("x", 7), True, ResumeKind.RESYNC, [], 8),
        (["a", "b", "c"], 10, Anchor("b:3/3", 7), True, ResumeKind.CONTINUED, ["c"], 8),
        (["a", "b", "c"], 10, Anchor("b:2/3", 7), True, ResumeKind.RESYNC, [], 8),
    ],
)
def test_the_resume_plan_follows_the_table_of_the_module(
    ids: list[str],
    capacity: int,
    anchor: Anchor | None,
    book: bool,
    kind: ResumeKind,
    published: list[str],
    first: int,
) -> None:
    plan = resume_plan(ring_of(ids, capacity), anchor, book=book)
    assert (plan.kind, [e.msg_id for e in plan.entries], plan.next_sequence) == (
        kind,
        published,
        first,
    )


def test_a_book_with_a_depth_view_always_resyncs() -> None:
    plan = resume_plan(ring_of(["a", "b"]), Anchor("a", 3), book=True, rebuild_needed=True)
    assert (plan.kind, plan.entries, plan.next_sequence) == (ResumeKind.RESYNC, (), 4)


def test_a_full_ring_forgets_the_oldest_and_counts_it() -> None:
    ring = ring_of(["a", "b", "c", "d"], capacity=3)
    assert ([e.msg_id for e in ring], ring.evicted) == (["b", "c", "d"], 1)
