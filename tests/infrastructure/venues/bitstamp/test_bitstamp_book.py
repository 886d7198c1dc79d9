"""Bitstamp's splice of REST order books and ``diff_order_book`` diffs by ``microtimestamp``,
on the recorded session ``bitstamp.jsonl`` against the reference built from its raw
frames (``support.bitstamp_reference``), and its integrity rules on recorded diffs."""

from __future__ import annotations

import json
from decimal import Decimal

from support.bitstamp_reference import bitstamp_books, diffs, pairs, snapshot
from support.reference_books import Book, records

from relay.application.book_state import BookState
from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, SnapshotRequest, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, L2Update, MarketEvent
from relay.infrastructure.venues.bitstamp import parse
from relay.infrastructure.venues.bitstamp.book import MAX_BUFFERED_DIFFS, BookSync
from relay.infrastructure.venues.registry import venue_spec
from relay.sim.venues.bitstamp import BitstampSnapshotBuilder


def protocol() -> VenueProtocol:
    """Subscribed to trades and books of every recorded pair, as configured in upper case."""
    subs = tuple(
        SubscriptionConfig(p.upper(), p.upper(), (DataType.TRADE, DataType.L2_ORDERBOOK))
        for p in pairs()
    )
    return venue_spec("bitstamp").protocol_factory(VenueConfig(id="bitstamp", subscriptions=subs))


class Session:
    """The recording fed to one protocol, REST bodies answering its requests: recorded
    ones first, then (``fresh``) the simulator's book-accurate rebuild at that frame."""

    def __init__(self) -> None:
        self.proto = protocol()
        self.events: list[MarketEvent] = []
        self.pending: list[SnapshotRequest] = []
        self.rejected: list[str] = []
        self.frames = [r["data"] for r in records("bitstamp.jsonl") if r["kind"] == "recv"]
        self.builder = BitstampSnapshotBuilder([self.frames])
        self.take(self.proto.on_open())

    def take(self, outcome: FrameOutcome) -> FrameOutcome:
        self.events += outcome.events
        self.pending += outcome.snapshot_requests
        return outcome

    def frame(self, text: str) -> FrameOutcome | None:
        try:
            return self.take(self.proto.on_frame(text, 1))
        except FrameError as exc:
            self.rejected.append(exc.reason)
            return None

    def answer(self, body: str) -> FrameOutcome:
        request = self.pending.pop(0)
        return self.take(self.proto.on_snapshot(request, body.encode(), 2))

    def fresh(self, position: int) -> FrameOutcome:
        """The oldest pending request answered as the simulator would after ``position``
        recorded frames."""
        path = self.pending[0].path
        recorded = json.dumps(snapshot(path.rsplit("/", 1)[1]))
        body = self.builder.snapshot(path, "", recorded, [position])
        assert body is not None
        return self.answer(body)

    def recorded(self) -> None:
        """Every recorded REST body, in recorded order (the requests are in that order)."""
        for pair in pairs():
            assert self.pending[0].path == f"/api/v2/order_book/{pair}"
            self.answer(json.dumps(snapshot(pair)))

    def books(self) -> dict[str, Book]:
        """Each instrument's book rebuilt from the published snapshot and deltas."""
        books: dict[str, Book] = {}
        for event in self.events:
            payload = event.payload
            if not isinstance(payload, L2Update):
                continue
            name = event.instrument.instrument.lower()
            if payload.is_snapshot:
                books[name] = ({}, {})
            for side, levels in zip(books[name], (payload.bids, payload.asks), strict=True):
                for price, quantity in levels:
                    if quantity:
                        side[price] = quantity
                    else:
                        side.pop(price, None)
        return books


def kinds(events: list[MarketEvent]) -> list[tuple[str, bool]]:
    return [
        (e.instrument.instrument, e.payload.is_snapshot)
        for e in events
        if isinstance(e.payload, L2Update)
    ]


def test_the_recording_spliced_by_microtimestamp_gives_the_reference_books() -> None:
    session = Session()
    session.recorded()
    for text in session.frames:
        session.frame(text)
    assert session.rejected == []
    assert session.pending == []
    snapshots = [e for e in session.events if kinds([e]) and kinds([e])[0][1]]
    deltas = [e for e in session.events if kinds([e]) and not kinds([e])[0][1]]
    trades = [e for e in session.events if e.data_type is DataType.TRADE]
    assert (len(snapshots), len(deltas), len(trades)) == (9, 615, 10)
    assert session.books() == bitstamp_books()
    by_pair = {e.instrument.instrument.lower(): e for e in snapshots}
    assert by_pair["ethusd"].dedup_key == "snapshot:1641343695681418"
    assert by_pair["ethusd"].exchange_timestamp_ms == 1641343695681
    first_delta = next(e for e in deltas if e.instrument.instrument == "ETHUSD")
    assert first_delta.dedup_key == "1641343695681418:1641343695973837"
    assert first_delta.payload == L2Update(
        first_delta.payload.bids,  # type: ignore[union-attr]
        first_delta.payload.asks,  # type: ignore[union-attr]
        False,
        1641343695973837,
        1641343695973837,
    )


def test_a_diff_going_backwards_resyncs_that_book_only_and_a_fresh_snapshot_restores_it() -> None:
    """Half way through, an earlier ethusd diff is received again: the ethusd book is thrown
    away (``gap``) and a REST snapshot asked for it alone; the other books keep publishing
    deltas. The snapshot the simulator rebuilds after the next frame is met first by a
    later ethusd diff (no diff received since the resync reaches back to it), so it is
    fetched again (``stale_snapshot``); that one is spliced, and every final book equals
    the reference built from the raw frames."""
    session = Session()
    session.recorded()
    half = len(session.frames) // 2
    for text in session.frames[:half]:
        session.frame(text)
    earlier = next(
        f for f in session.frames[:half] if '"diff_order_book_ethusd","event":"data"' in f
    )
    mark = len(session.events)
    outcome = session.frame(earlier)
    assert outcome is not None
    assert [(r.instrument.instrument, r.reason, r.path) for r in outcome.snapshot_requests] == [
        ("ETHUSD", "gap", "/api/v2/order_book/ethusd")
    ]
    assert outcome.events == [] and len(session.events) == mark
    reasons = [r.reason for r in session.pending]
    for position in range(half, len(session.frames)):
        outcome = session.frame(session.frames[position])
        reasons += [r.reason for r in outcome.snapshot_requests] if outcome else []
        while session.pending:
            reasons += [r.reason for r in session.fresh(position + 1).snapshot_requests]
    assert reasons == ["gap", "stale_snapshot"]
    published = kinds(session.events[mark:])
    assert ("ETHUSD", True) in published
    resumed = published.index(("ETHUSD", True))
    assert ("ETHUSD", False) not in published[:resumed]
    assert {name for name, _ in published[:resumed]} >= {"BATBTC", "USDTEUR"}
    assert session.pending == [] and session.rejected == []
    assert session.books() == bitstamp_books()
    books = session.proto._books  # type: ignore[attr-defined]
    assert [(p, b.gate.resyncs, b.gate.state) for p, b in books.items() if b.gate.resyncs] == [
        ("ethusd", 1, BookState.SYNCED)
    ]


def test_a_snapshot_older_than_the_first_diff_received_is_fetched_again() -> None:
    """galaeur's snapshot (1641343696956853) met first by the diff after it: the stream may
    lack what came between, so ``stale_snapshot``; the next diff after a newer snapshot
    that a buffered diff reaches splices."""
    later = [d for d in diffs("galaeur") if int(d["microtimestamp"]) > 1641343696956853]
    book = BookSync(protocol()._books["galaeur"].instrument, 60_000)  # type: ignore[attr-defined]
    events: list[MarketEvent] = []
    body = snapshot("galaeur")
    levels = (parse.book_snapshot(json.dumps(body).encode()),)[0]
    assert book.on_snapshot(1641343696956853, levels.bids, levels.asks, 1, events) is None
    first = parse.book_diff(later[0], 2)
    assert book.on_diff(first, events) == "stale_snapshot"
    assert events == [] and book.gate.state is BookState.AWAITING_SNAPSHOT
    # A newer snapshot, at the buffered diff's time: it reaches the stream.
    assert book.on_snapshot(first.microtimestamp, levels.bids, levels.asks, 3, events) is None
    assert events == []
    assert book.on_diff(parse.book_diff(later[1], 4), events) is None
    assert [(e.dedup_key, e.payload.is_snapshot) for e in events] == [  # type: ignore[union-attr]
        (f"snapshot:{first.microtimestamp}", True),
        (f"{first.microtimestamp}:{later[1]['microtimestamp']}", False),
    ]


def test_a_diff_crossing_the_book_resyncs_it() -> None:
    book = BookSync(protocol()._books["ethusd"].instrument, 60_000)  # type: ignore[attr-defined]
    events: list[MarketEvent] = []
    body = parse.book_snapshot(json.dumps(snapshot("ethusd")).encode())
    before = parse.book_diff(diffs("ethusd")[0], 1)
    assert before.microtimestamp < body.microtimestamp
    book.on_diff(before, events)
    book.on_snapshot(body.microtimestamp, body.bids, body.asks, 2, events)
    crossing = parse.BookDiff(body.microtimestamp + 1, ((Decimal("4000"), Decimal("1")),), (), 3)
    assert book.on_diff(crossing, events) == "crossed_book"
    assert [e.payload.is_snapshot for e in events] == [True]  # type: ignore[union-attr]
    assert (book.gate.state, book.gate.last_reason) == (BookState.RESYNCING, "crossed_book")


def test_the_buffer_is_bounded_and_a_snapshot_behind_what_it_dropped_is_stale() -> None:
    """More than :data:`MAX_BUFFERED_DIFFS` diffs while waiting: the oldest go, so a
    snapshot between the first and the dropped ones is not reached by the buffer."""
    book = BookSync(protocol()._books["ethusd"].instrument, 10**12)  # type: ignore[attr-defined]
    events: list[MarketEvent] = []
    template = parse.book_diff(diffs("ethusd")[0], 0)
    start = template.microtimestamp
    for step in range(MAX_BUFFERED_DIFFS + 10):
        book.on_diff(parse.BookDiff(start + step, template.bids, (), step), events)
    body = parse.book_snapshot(json.dumps(snapshot("ethusd")).encode())
    assert book.on_snapshot(start + 5, body.bids, body.asks, 1, events) == "stale_snapshot"
    assert events == []
