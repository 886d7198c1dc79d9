"""A standby behind its leader at the takeover holds a stream until it reads the anchor's event.

The events are the relay's own from ``shared/captures/binance-usdm.jsonl``. A
"leader" pipeline publishes the first ``cut`` of them (what JetStream stored
before it died); the standby has read ``lag`` fewer (its venue connection is
slower) when it takes over, then reads on. With ``takeover_catchup_s`` the
streams whose anchor it has not read yet hold, and continue exactly after the
anchor once its event arrives; without it (or past the bound) they resume as
before: a counted gap, or a book resync.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import orjson
import pytest
from test_pipeline import RecordingSink
from test_standby import USDM_EVENTS, anchors_of, publish, wire

from relay.application.pipeline import Pipeline
from relay.application.standby import (
    Anchor,
    ResumeKind,
    RingEntry,
    StandbyRing,
    start_catch_up,
)
from relay.domain.model import DataType, Instrument, MarketEvent
from relay.infrastructure.metrics import PrometheusMetrics
from relay.serialization.json_codec import JsonCodec


@dataclass
class Takeover:
    """What a standby published and reported around its takeover."""

    sink: RecordingSink = field(default_factory=RecordingSink)
    kinds: dict[str, ResumeKind] = field(default_factory=dict)
    held_s: dict[str, float] = field(default_factory=dict)
    """Subject -> seconds it held, for the streams that held."""
    resyncs: list[tuple[Instrument, str]] = field(default_factory=list)
    at_promote: dict[str, ResumeKind] = field(default_factory=dict)
    """The kinds reported when :meth:`Pipeline.promote` returned."""
    published_at_promote: set[str] = field(default_factory=set)
    catching_up_at_promote: int = 0

    def resumed(self, subject: str, kind: ResumeKind, held_s: float | None) -> None:
        self.kinds[subject] = kind
        if held_s is not None:
            self.held_s[subject] = held_s


async def take_over(
    before: list[MarketEvent],
    after: list[MarketEvent],
    anchors: dict[str, Anchor],
    catchup_s: float,
    ring_events: int = 10_000,
    clock: Callable[[], float] = time.monotonic,
) -> Takeover:
    """A running standby reads ``before``, takes over, reads ``after``; until no stream holds."""
    result = Takeover()
    pipeline = Pipeline(
        64,
        JsonCodec(),
        result.sink,
        PrometheusMetrics(),
        resync_book=lambda instrument, reason: result.resyncs.append((instrument, reason)),
        standby_ring_events=ring_events,
        on_resume=result.resumed,
        takeover_catchup_s=catchup_s,
        clock=clock,
    )
    task = asyncio.create_task(pipeline.run())

    async def lookup(subject: str) -> Anchor | None:
        return anchors.get(subject)

    try:
        for event in before:
            await pipeline.put(event)
        assert await pipeline.drain(10.0) == 0
        await pipeline.promote(lookup)
        result.at_promote = dict(result.kinds)
        result.published_at_promote = {m.subject for m in result.sink.messages}
        result.catching_up_at_promote = pipeline.catching_up
        # Nothing more may come from the venue: what the takeover published is written.
        assert result.sink.unflushed == 0
        for event in after:
            await pipeline.put(event)
        deadline = time.monotonic() + 10.0
        while pipeline.catching_up:  # ends by itself: drain would end the holds
            assert time.monotonic() < deadline, "streams still holding"
            await asyncio.sleep(0.01)
        assert await pipeline.drain(10.0) == 0
        # A hold that ended at its deadline published its ring: written too.
        assert result.sink.unflushed == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return result


def unread_anchors(anchors: dict[str, Anchor], read: list[MarketEvent]) -> set[str]:
    """The subjects whose anchor's event is not among ``read``."""
    ids = {event.msg_id for event in read}
    return {subject for subject, anchor in anchors.items() if anchor.msg_id not in ids}


def subject_of(event: MarketEvent) -> str:
    return event.instrument.subject(event.data_type, "market")


def is_book(subject: str) -> bool:
    return subject.endswith(DataType.L2_ORDERBOOK.value)


class FrozenClock:
    """A clock that never moves: a hold can end only by an event, never by its deadline."""

    def __call__(self) -> float:
        return 100.0


@pytest.mark.parametrize(("cut", "lag"), [(60, 10), (400, 40), (1000, 300), (1527, 1)])
async def test_a_standby_behind_its_leader_holds_until_the_anchor_then_continues_exactly(
    cut: int, lag: int
) -> None:
    _, whole, _ = await publish(USDM_EVENTS)
    _, leader, _ = await publish(USDM_EVENTS[:cut])
    anchors = anchors_of(leader.messages)
    behind = unread_anchors(anchors, USDM_EVENTS[: cut - lag])

    run = await take_over(
        USDM_EVENTS[: cut - lag], USDM_EVENTS[cut - lag :], anchors, 30.0, clock=FrozenClock()
    )

    seen = {subject_of(event) for event in USDM_EVENTS[: cut - lag]}
    first_later: dict[str, str] = {}
    for event in USDM_EVENTS[cut - lag :]:
        first_later.setdefault(subject_of(event), event.msg_id)
    # Seen before the takeover: they hold at once. First seen after it: they hold from
    # their first event on, unless that event is the anchor's.
    held = behind & seen | {s for s in behind - seen if first_later[s] != anchors[s].msg_id}
    assert behind & seen  # the case is real: streams whose anchor was not read yet
    assert run.catching_up_at_promote == len(behind & seen)
    assert set(run.held_s) == held
    assert not set(run.at_promote) & held  # not resumed at the promote ...
    assert not run.published_at_promote & held  # ... and nothing of them published
    assert set(run.at_promote) == seen - held  # the others did not wait for them
    assert sorted(wire(leader.messages + run.sink.messages)) == sorted(wire(whole.messages))
    assert not {m.msg_id for m in run.sink.messages} & {m.msg_id for m in leader.messages}
    assert run.kinds == {
        subject: ResumeKind.CONTINUED if subject in anchors else ResumeKind.FROM_START
        for subject in anchors_of(whole.messages)
    }
    assert run.resyncs == []


@pytest.mark.parametrize("later", ["nothing", "only the other streams"])
async def test_a_stream_still_behind_at_the_bound_resumes_then_exactly_as_without_holding(
    later: str,
) -> None:
    cut, lag, bound_s = 1000, 20, 0.3
    _, leader, _ = await publish(USDM_EVENTS[:cut])
    anchors = anchors_of(leader.messages)
    before = USDM_EVENTS[: cut - lag]
    behind = unread_anchors(anchors, before) & {subject_of(event) for event in before}
    after = (
        []
        if later == "nothing"
        else [e for e in USDM_EVENTS[cut - lag :] if subject_of(e) not in behind]
    )

    held = await take_over(before, after, anchors, bound_s)
    at_once = await take_over(before, after, anchors, 0.0)

    assert (held.catching_up_at_promote, len(behind)) == (8, 8)  # 4 books, 4 other streams
    assert set(held.held_s) == behind
    assert set(held.at_promote) == set(at_once.at_promote) - behind
    assert min(held.held_s.values()) >= bound_s
    assert sorted(wire(held.sink.messages)) == sorted(wire(at_once.sink.messages))
    assert held.kinds == at_once.kinds
    assert {s: held.kinds[s] for s in behind} == {
        s: ResumeKind.RESYNC if is_book(s) else ResumeKind.GAP for s in behind
    }
    assert sorted(held.resyncs, key=str) == sorted(at_once.resyncs, key=str)
    assert {reason for _, reason in held.resyncs} == {"failover"}
    first: dict[str, int] = {}
    for m in held.sink.messages:
        first.setdefault(m.subject, orjson.loads(m.payload)["sequence"])
    assert {s: first[s] for s in behind if not is_book(s)} == {
        s: anchors[s].sequence + 2 for s in behind if not is_book(s)
    }


def expected_kinds(
    anchors: dict[str, Anchor], read: list[MarketEvent], ring_events: int
) -> dict[str, ResumeKind]:
    """Each stream read: continued when its ring (last ``ring_events``) holds its anchor."""
    rings: dict[str, list[str]] = {}
    for event in read:
        rings.setdefault(subject_of(event), []).append(event.msg_id)
    kinds: dict[str, ResumeKind] = {}
    for subject, ids in rings.items():
        if subject not in anchors:
            kinds[subject] = ResumeKind.GAP if len(ids) > ring_events else ResumeKind.FROM_START
        elif anchors[subject].msg_id in ids[-ring_events:]:
            kinds[subject] = ResumeKind.CONTINUED
        else:
            kinds[subject] = ResumeKind.RESYNC if is_book(subject) else ResumeKind.GAP
    return kinds


@pytest.mark.parametrize(
    ("first", "last", "ring_events"),
    [(900, 1527, 10_000), (0, 1000, 20)],
    ids=["started after the anchors", "anchors fell out of the ring"],
)
async def test_a_standby_ahead_of_its_anchors_resumes_at_once_as_without_holding(
    first: int, last: int, ring_events: int
) -> None:
    _, leader, _ = await publish(USDM_EVENTS[:700])
    anchors = anchors_of(leader.messages)
    read = USDM_EVENTS[first:last]

    run = await take_over(read, [], anchors, 30.0, ring_events, clock=FrozenClock())
    at_once = await take_over(read, [], anchors, 0.0, ring_events)

    assert (run.catching_up_at_promote, run.held_s) == (0, {})
    assert (
        run.at_promote == run.kinds == at_once.kinds == expected_kinds(anchors, read, ring_events)
    )
    assert ResumeKind.GAP in run.kinds.values()
    assert sorted(wire(run.sink.messages)) == sorted(wire(at_once.sink.messages))


def rebased(event: MarketEvent) -> MarketEvent:
    """A book event as a standby that took its own snapshot numbers it: ids of another base."""
    if event.data_type is not DataType.L2_ORDERBOOK:
        return event
    key = event.dedup_key
    if key.startswith("snapshot:"):
        return replace(event, dedup_key=f"snapshot:9{key.removeprefix('snapshot:')}")
    return replace(event, dedup_key=f"9{key}")


async def test_a_book_of_another_snapshot_holds_only_until_its_ring_passes_the_anchor() -> None:
    cut, lag = 1000, 20
    _, leader, _ = await publish(USDM_EVENTS[:cut])
    anchors = anchors_of(leader.messages)
    standby = [rebased(event) for event in USDM_EVENTS]
    books = {subject for subject in anchors if is_book(subject)}

    # The clock never moves: a book's hold can end only when an event newer than its
    # anchor arrives (its ids never match the leader's).
    run = await take_over(
        standby[: cut - lag], standby[cut - lag :], anchors, 30.0, clock=FrozenClock()
    )

    assert books <= set(run.held_s)
    assert {s: kind for s, kind in run.kinds.items() if is_book(s)} == dict.fromkeys(
        books, ResumeKind.RESYNC
    )
    assert {s: kind for s, kind in run.kinds.items() if not is_book(s)} == dict.fromkeys(
        set(anchors) - books, ResumeKind.CONTINUED
    )
    assert sorted((i.instrument, reason) for i, reason in run.resyncs) == [
        ("AKROUSDT", "failover"),
        ("CTKUSDT", "failover"),
        ("KEEPUSDT", "failover"),
        ("SUSHIUSDT", "failover"),
    ]
    assert not [m for m in run.sink.messages if m.subject in books]  # until the fresh snapshot


async def test_a_stop_resumes_the_streams_still_holding_as_at_their_deadline() -> None:
    cut, lag = 1000, 20
    _, leader, _ = await publish(USDM_EVENTS[:cut])
    anchors = anchors_of(leader.messages)
    sink = RecordingSink()
    kinds: dict[str, ResumeKind] = {}
    pipeline = Pipeline(
        64,
        JsonCodec(),
        sink,
        PrometheusMetrics(),
        standby_ring_events=10_000,
        on_resume=lambda subject, kind, held_s: kinds.__setitem__(subject, kind),
        takeover_catchup_s=30.0,
        clock=FrozenClock(),
    )
    task = asyncio.create_task(pipeline.run())

    async def lookup(subject: str) -> Anchor | None:
        return anchors.get(subject)

    try:
        for event in USDM_EVENTS[: cut - lag]:
            await pipeline.put(event)
        assert await pipeline.drain(10.0) == 0
        await pipeline.promote(lookup)
        assert pipeline.catching_up == 8
        assert await pipeline.drain(10.0) == 0
        assert pipeline.catching_up == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    at_once = await take_over(USDM_EVENTS[: cut - lag], [], anchors, 0.0)
    assert kinds == at_once.kinds
    assert sorted(wire(sink.messages)) == sorted(wire(at_once.sink.messages))


SUSHI_TICKERS = [
    e
    for e in USDM_EVENTS
    if (e.instrument.instrument, e.data_type) == ("SUSHIUSDT", DataType.TICKER)
]
T0, T1, T2 = SUSHI_TICKERS[0], SUSHI_TICKERS[1], SUSHI_TICKERS[2]


def stored(
    event: MarketEvent, msg_id: str = "", exchange: bool = True, received: bool = True
) -> Anchor:
    """The anchor a leader that published ``event`` (as sequence 5) leaves."""
    return Anchor(
        msg_id or event.msg_id,
        5,
        event.exchange_timestamp_ms if exchange else None,
        event.received_at_ms if received else None,
    )


def held_ring(*events: MarketEvent) -> StandbyRing:
    ring = StandbyRing(10)
    for event in events:
        ring.add(RingEntry(event, event.msg_id, 0))
    return ring


@pytest.mark.parametrize(
    ("ring", "anchor", "book", "rebuild", "bound_s", "holds"),
    [
        ((T0,), None, False, False, 2.0, False),
        ((T0, T1), stored(T1), False, False, 2.0, False),
        ((T0,), stored(T1), False, False, 2.0, True),
        ((T1,), stored(T0), False, False, 2.0, False),
        ((), stored(T1), False, False, 2.0, True),
        ((T0,), stored(T1), False, False, 0.0, False),
        ((T0,), stored(T0, "another id of the same ms"), False, False, 2.0, True),
        ((T0,), stored(T1), True, True, 2.0, False),
        ((T0,), stored(T1, T1.msg_id + ":2/3"), True, False, 2.0, False),
        ((T0,), stored(T1, T1.msg_id + ":3/3"), True, False, 2.0, True),
        ((T0,), stored(T1, exchange=False), False, False, 2.0, True),
        ((T1,), stored(T0, exchange=False), False, False, 2.0, False),
        ((T0,), stored(T1, exchange=False, received=False), False, False, 2.0, False),
    ],
    ids=[
        "no anchor",
        "anchor in the ring",
        "behind",
        "ahead",
        "empty ring",
        "bound 0",
        "same venue ms, not yet the anchor",
        "book with a depth view",
        "book anchor a snapshot part before the last",
        "book anchor a last snapshot part, behind",
        "no exchange time: received later",
        "no exchange time: received earlier",
        "no time at all",
    ],
)
def test_a_stream_holds_only_when_behind_and_the_anchor_could_still_come(
    ring: tuple[MarketEvent, ...],
    anchor: Anchor | None,
    book: bool,
    rebuild: bool,
    bound_s: float,
    holds: bool,
) -> None:
    wait = start_catch_up(
        held_ring(*ring), anchor, book=book, rebuild_needed=rebuild, now_s=50.0, bound_s=bound_s
    )
    if not holds:
        assert wait is None
        return
    assert wait is not None and anchor is not None
    assert (wait.anchor, wait.anchor_id, wait.started_s, wait.deadline_s) == (
        anchor,
        anchor.msg_id.removesuffix(":3/3"),
        50.0,
        50.0 + bound_s,
    )


@pytest.mark.parametrize(
    ("arrives", "settles"),
    [(T0, False), (T1, True), (T2, True), (replace(T1, dedup_key="another"), False)],
    ids=["older", "the anchor's event", "newer", "another event of the anchor's ms"],
)
def test_a_hold_ends_with_the_anchors_event_or_a_newer_one(
    arrives: MarketEvent, settles: bool
) -> None:
    wait = start_catch_up(held_ring(T0), stored(T1), book=False, now_s=0.0, bound_s=2.0)
    assert wait is not None
    assert wait.settled(RingEntry(arrives, arrives.msg_id, 0)) is settles
