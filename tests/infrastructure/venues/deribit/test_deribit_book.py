"""Deribit books on the recorded session: snapshots, change_id chains, gaps and stale changes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.deribit_frames import CALL, PUT, instrument, protocol, recv
from support.deribit_reference import deribit_reference

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome
from relay.domain.model import (
    DataType,
    L2Update,
    MarketEvent,
)
from relay.infrastructure.venues.deribit.protocol import (
    DeribitProtocol,
)
from relay.sim.venues.deribit import DeribitSimulatedVenue


def book_frames(instrument: str) -> list[tuple[str, int]]:
    return [(f, t) for f, t in recv() if f'"channel":"book.{instrument}.' in f]


# -- books ------------------------------------------------------------------------------------


def test_book_snapshot_lists_every_recorded_level_best_first_with_the_digits_sent() -> None:
    proto = protocol([CALL])
    frame, t = book_frames(CALL)[0]
    outcome = proto.on_frame(frame, t)
    d = Decimal
    assert outcome.events == [
        MarketEvent(
            instrument(CALL),
            DataType.L2_ORDERBOOK,
            t,
            1626993723632,
            L2Update(
                ((d("0.0015"), d("4714.0")), (d("0.001"), d("861.0")), (d("0.0005"), d("1.0"))),
                (
                    (d("0.0025"), d("873.0")),
                    (d("0.003"), d("167.0")),
                    (d("0.004"), d("5.0")),
                    (d("0.0055"), d("5.0")),
                    (d("0.017"), d("26.0")),
                    (d("0.02"), d("4.0")),
                    (d("0.03"), d("100.0")),
                    (d("0.042"), d("5.0")),
                    (d("0.045"), d("50.0")),
                    (d("0.073"), d("1.0")),
                    (d("0.15"), d("25.0")),
                    (d("0.232"), d("13.0")),
                    (d("0.35"), d("1.0")),
                ),
                True,
                13169025645,
                13169025645,
            ),
            "snapshot:13169025645",
        )
    ]
    assert str(outcome.events[0].payload.bids[0][1]) == "4714.0"  # type: ignore[union-attr]
    assert outcome.replies == [] and outcome.resyncs == []


def test_book_changes_chained_by_prev_change_id_are_deltas_and_delete_is_quantity_zero() -> None:
    proto = protocol([PUT])
    frames = book_frames(PUT)
    proto.on_frame(*frames[0])
    added = proto.on_frame(*frames[1])
    deleted = proto.on_frame(*frames[2])
    assert added.events == [
        MarketEvent(
            instrument(PUT),
            DataType.L2_ORDERBOOK,
            frames[1][1],
            1626993724318,
            L2Update((), ((Decimal("0.001"), Decimal("2.6")),), False, 33195894355, 33195894355),
            "33195894164:33195894355",
        )
    ]
    assert deleted.events[0].payload == L2Update(
        (), ((Decimal("0.001"), Decimal(0)),), False, 33195894358, 33195894358
    )
    assert deleted.events[0].dedup_key == "33195894164:33195894358"


def test_replayed_capture_builds_the_reference_books_without_a_resync() -> None:
    proto = protocol()
    ref = deribit_reference()
    books: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
    counts: dict[str, int] = {}
    for frame, t in recv():
        outcome = proto.on_frame(frame, t)
        assert outcome.resyncs == [] and outcome.replies == []
        for event in outcome.events:
            counts[event.data_type.value] = counts.get(event.data_type.value, 0) + 1
            payload = event.payload
            if isinstance(payload, L2Update):
                name = event.instrument.instrument
                if payload.is_snapshot:
                    books[name] = ({}, {})
                for side, levels in zip(books[name], (payload.bids, payload.asks), strict=True):
                    for price, quantity in levels:
                        if quantity:
                            side[price] = quantity
                        else:
                            side.pop(price, None)
    assert ref.breaks == 0
    assert books == ref.books
    assert counts == {"ticker": 89, "l2_orderbook": 46, "open_interest": 10}


def _put_after_gap() -> tuple[DeribitProtocol, list[tuple[str, int]], FrameOutcome]:
    """A book synced on the recorded snapshot, then fed a change whose predecessor is missing."""
    proto = protocol([PUT])
    proto.subscribe_frames()
    frames = book_frames(PUT)
    proto.on_frame(*frames[0])
    return proto, frames, proto.on_frame(*frames[2])  # frames[1] skipped: a gap


def test_gap_in_change_ids_resyncs_that_one_book_with_unsubscribe_and_subscribe() -> None:
    _, _, outcome = _put_after_gap()
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(instrument(PUT), "gap")]
    assert [json.loads(r) for r in outcome.replies] == [
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "public/unsubscribe",
            "params": {"channels": [f"book.{PUT}.100ms"]},
        },
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "public/subscribe",
            "params": {"channels": [f"book.{PUT}.100ms"]},
        },
    ]


def test_changes_after_a_gap_publish_nothing_until_the_fresh_snapshot_restores_the_book() -> None:
    proto, frames, outcome = _put_after_gap()
    venue = DeribitSimulatedVenue()
    for frame, _ in frames[:4]:
        venue.on_frame_passed(frame)
    assert proto.on_frame(*frames[3]).events == []  # still awaiting the snapshot
    unsubscribe, subscribe = outcome.replies
    assert len(venue.on_client_frame(unsubscribe)) == 1
    answer, snapshot = venue.on_client_frame(subscribe)
    assert proto.on_frame(answer, 1).events == []
    fresh = proto.on_frame(snapshot, 2).events
    ref = deribit_reference()
    assert len(fresh) == 1
    payload = fresh[0].payload
    assert isinstance(payload, L2Update) and payload.is_snapshot
    assert payload.last_update_id == 33195894526 and fresh[0].dedup_key == "snapshot:33195894526"
    assert dict(payload.bids) == {Decimal("0.0005"): Decimal("153.1")}
    assert Decimal("0.001") in dict(payload.asks)
    after = proto.on_frame(*frames[4])
    assert after.resyncs == []
    assert after.events[0].payload == L2Update(
        (), ((Decimal("0.001"), Decimal(0)),), False, 33195894530, 33195894530
    )
    assert after.events[0].dedup_key == "33195894526:33195894530"
    for frame, t in frames[5:]:
        proto.on_frame(frame, t)
    assert proto._books[PUT].book.bids == ref.books[PUT][0]
    assert proto._books[PUT].book.asks == ref.books[PUT][1]


def test_a_change_fed_twice_is_a_stale_update_without_resync() -> None:
    proto = protocol([PUT])
    frames = book_frames(PUT)
    proto.on_frame(*frames[0])
    proto.on_frame(*frames[1])
    with pytest.raises(FrameError) as exc:
        proto.on_frame(*frames[1])
    assert exc.value.reason == "stale_update"
    assert proto.on_frame(*frames[2]).events[0].payload.last_update_id == 33195894358  # type: ignore[union-attr]
