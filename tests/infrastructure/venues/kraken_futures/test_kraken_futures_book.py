"""Kraken Futures books on the recorded session: snapshots, seq chains, gaps and duplicates."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.kraken_futures_frames import BCH, ETH, instrument, of, protocol, recv
from support.kraken_futures_reference import kraken_futures_reference, products

from relay.application.errors import FrameError
from relay.application.ports import BookResync
from relay.domain.model import DataType, L2Update, MarketEvent
from relay.infrastructure.venues.kraken_futures.book import Delta, FuturesBook
from relay.sim.venues.kraken_futures import KrakenFuturesSimulatedVenue

d = Decimal


def pairs(text: str) -> tuple[tuple[Decimal, Decimal], ...]:
    """``"439.3:20108.0 438.9:23706.0"`` -> ((price, qty), ...)."""
    return tuple((d(p), d(q)) for p, q in (level.split(":") for level in text.split()))


def books(events: list[MarketEvent]) -> list[L2Update]:
    return [e.payload for e in events if isinstance(e.payload, L2Update)]


def test_book_snapshot_lists_every_recorded_level_best_first_with_the_digits_sent() -> None:
    proto = protocol([BCH])
    frame, t = of("book_snapshot", BCH)[0]
    outcome = proto.on_frame(frame, t)
    assert outcome.events == [
        MarketEvent(
            instrument(BCH),
            DataType.L2_ORDERBOOK,
            t,
            1626994925378,
            L2Update(
                pairs(
                    "439.3:20108.0 438.9:23706.0 438.5:30511.0 438.0:33349.0 435.5:7954.0"
                    " 434.7:79088.0 434.2:40266.0 433.4:4794.0 433.2:40841.0 431.8:48120.0"
                    " 423.6:23755.0"
                ),
                pairs(
                    "439.6:50.0 439.9:21692.0 440.2:7954.0 440.3:24200.0 440.7:18940.0"
                    " 443.2:78441.0 443.6:39149.0 443.7:4872.0 444.3:40026.0 444.5:24521.0"
                    " 445.6:24584.0 453.1:23452.0"
                ),
                True,
                91192,
                91192,
            ),
            "snapshot:91192",
        )
    ]
    assert str(books(outcome.events)[0].bids[0][1]) == "20108.0"
    assert outcome.replies == [] and outcome.resyncs == []


def test_book_messages_chained_by_seq_are_one_level_deltas_and_qty_zero_removes() -> None:
    proto = protocol([BCH])
    proto.on_frame(*of("book_snapshot", BCH)[0])
    deltas = of("book", BCH)[:2]
    events = [e for f, t in deltas for e in proto.on_frame(f, t).events]
    assert events == [
        MarketEvent(
            instrument(BCH),
            DataType.L2_ORDERBOOK,
            1626994932694,
            1626994932720,
            L2Update((), ((d("439.6"), d("0.0")),), False, 91193, 91193),
            "91192:91193",
        ),
        MarketEvent(
            instrument(BCH),
            DataType.L2_ORDERBOOK,
            1626994932694,
            1626994932720,
            L2Update((), ((d("439.8"), d("50.0")),), False, 91194, 91194),
            "91192:91194",
        ),
    ]
    _, asks = proto._books[BCH].book.levels()
    assert asks[:2] == ((d("439.8"), d("50.0")), (d("439.9"), d("21692.0")))


def test_the_whole_recording_gives_every_product_the_reference_book_without_a_resync() -> None:
    ref = kraken_futures_reference()
    assert ref.breaks == 0
    proto = protocol()
    counts: dict[str, int] = {}
    for frame, t in recv():
        try:
            outcome = proto.on_frame(frame, t)
        except FrameError as exc:
            assert exc.reason == "unknown_event"  # the 107 ticker_lite frames
            continue
        assert outcome.resyncs == []
        for event in outcome.events:
            if event.data_type is DataType.L2_ORDERBOOK:
                name = event.instrument.instrument
                counts[name] = counts.get(name, 0) + 1
    assert counts == ref.book_messages
    assert sum(counts.values()) == 7024
    for name in products():
        bids, asks = proto._books[name].book.levels()
        assert dict(bids) == ref.books[name][0], name
        assert dict(asks) == ref.books[name][1], name


def _skip_one(frames: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [frames[0], *frames[2:]]


def test_a_seq_gap_resyncs_that_one_book_and_the_fresh_snapshot_restores_it() -> None:
    """Delta 91193 lost: 91194 is a gap; the book of BCH alone is resynced (unsubscribe +
    subscribe of its book feed); deltas before the fresh snapshot are dropped; the simulated
    venue's snapshot (the book as of the last recorded frame passed) makes it whole again."""
    proto = protocol([BCH, ETH])
    venue = KrakenFuturesSimulatedVenue()
    for frame, t in [*of("book_snapshot", BCH), *of("book_snapshot", ETH)]:
        venue.on_frame_passed(frame)
        proto.on_frame(frame, t)
    deltas = of("book", BCH)
    first, second, *rest = deltas
    venue.on_frame_passed(first[0])
    venue.on_frame_passed(second[0])
    outcome = proto.on_frame(*second)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(instrument(BCH), "gap")]
    assert outcome.replies == [
        '{"event":"unsubscribe","feed":"book","product_ids":["FI_BCHUSD_210730"]}',
        '{"event":"subscribe","feed":"book","product_ids":["FI_BCHUSD_210730"]}',
    ]
    assert not proto._books[BCH].gate.synced and proto._books[ETH].gate.synced
    assert proto.on_frame(*rest[0]).events == []  # before the fresh snapshot: dropped
    venue.on_frame_passed(rest[0][0])
    answers = [a for reply in outcome.replies for a in venue.on_client_frame(reply)]
    assert answers[:2] == [
        '{"event":"unsubscribed","feed":"book","product_ids":["FI_BCHUSD_210730"]}',
        '{"event":"subscribed","feed":"book","product_ids":["FI_BCHUSD_210730"]}',
    ]
    snapshot = answers[2]
    assert json.loads(snapshot)["seq"] == 91195
    events = proto.on_frame(snapshot, 2).events
    assert [(b.is_snapshot, b.last_update_id) for b in books(events)] == [(True, 91195)]
    for frame, t in rest[1:]:
        assert proto.on_frame(frame, t).resyncs == []
    ref = kraken_futures_reference()
    bids, asks = proto._books[BCH].book.levels()
    assert (dict(bids), dict(asks)) == ref.books[BCH]


def test_a_repeated_book_message_is_a_stale_update_and_the_book_goes_on() -> None:
    proto = protocol([BCH])
    proto.on_frame(*of("book_snapshot", BCH)[0])
    first, second = of("book", BCH)[:2]
    proto.on_frame(*first)
    with pytest.raises(FrameError) as caught:
        proto.on_frame(*first)
    assert (caught.value.reason, caught.value.detail) == (
        "stale_update",
        "FI_BCHUSD_210730: seq=91193 <= book's 91193",
    )
    assert books(proto.on_frame(*second).events)[0].last_update_id == 91194


def test_deltas_before_any_snapshot_are_dropped_silently() -> None:
    proto = protocol([BCH])
    assert proto.on_frame(*of("book", BCH)[0]).events == []


@pytest.mark.parametrize(
    ("book_seq", "seq", "expected"),
    [
        (5, 6, Delta.FOLLOWS),
        (5, 5, Delta.STALE),
        (5, 1, Delta.STALE),
        (5, 7, Delta.GAP),
        (20_005, 10_005, Delta.STALE),
        (20_005, 10_004, Delta.GAP),
        (2**63 - 1, 91193, Delta.GAP),
    ],
)
def test_check_places_a_seq_against_the_book(book_seq: int, seq: int, expected: Delta) -> None:
    book = FuturesBook(instrument(BCH))
    book.snapshot((), (), book_seq)
    assert book.check(seq) is expected


def test_resync_books_of_every_book_sends_one_unsubscribe_and_one_subscribe() -> None:
    proto = protocol([BCH, ETH])
    outcome = proto.resync_books(None, "requested")
    assert outcome.replies == [
        '{"event":"unsubscribe","feed":"book","product_ids":["FI_BCHUSD_210730","PI_ETHUSD"]}',
        '{"event":"subscribe","feed":"book","product_ids":["FI_BCHUSD_210730","PI_ETHUSD"]}',
    ]
    assert outcome.resyncs == [
        BookResync(instrument(BCH), "requested"),
        BookResync(instrument(ETH), "requested"),
    ]


def test_a_snapshot_with_a_corrupt_huge_seq_does_not_make_every_later_delta_stale() -> None:
    proto = protocol([BCH])
    frame, t = of("book_snapshot", BCH)[0]
    proto.on_frame(frame.replace('"seq":91192', f'"seq":{2**63 - 1}'), t)
    outcome = proto.on_frame(*of("book", BCH)[0])
    assert outcome.resyncs == [BookResync(instrument(BCH), "gap")]
