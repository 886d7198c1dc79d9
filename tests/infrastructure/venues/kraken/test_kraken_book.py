"""Kraken's book rules (checksum, truncation to depth, resync) on the documented messages.

No recorded Kraken v2 session exists in shared/captures, so every frame here is
a documented example (each test names its page) or one derived from one by a
stated change.
"""

from __future__ import annotations

import pytest
from support.kraken_frames import (
    BTC,
    GUIDE_ASKS,
    GUIDE_BIDS,
    MATIC,
    MATIC_ASKS,
    MATIC_BIDS,
    MATIC_UPDATE,
    D,
    book_frame,
    checksum_of,
    decimals,
    guide_snapshot,
    matic_snapshot,
    protocol,
)

from relay.application.ports import BookResync, FrameOutcome
from relay.domain.model import DataType, L2Update
from relay.infrastructure.venues.kraken.book import book_checksum, book_depth, checksum_digits

# --- checksum -----------------------------------------------------------------------------


def test_documented_checksum_worked_example_gives_3310070434() -> None:
    """The guide's worked example: asks low to high, then bids high to low (GUIDE)."""
    assert book_checksum(decimals(GUIDE_ASKS), decimals(GUIDE_BIDS), 1, 8) == 3310070434


def test_checksum_digits_drop_the_point_and_leading_zeros_as_the_guide_shows() -> None:
    """The guide's steps: "45285.2" -> "452852", "0.00100000" -> "100000" (GUIDE)."""
    assert checksum_digits(D("45285.2"), 1) == "452852"
    assert checksum_digits(D("0.00100000"), 8) == "100000"
    assert checksum_digits(D("0.566"), 4) == "5660"
    assert checksum_digits(D("45281"), 1) == "452810"


def test_guide_snapshot_is_published_as_the_verified_book() -> None:
    """The worked example as a snapshot frame (JSON numbers, as v2 sends them) (GUIDE)."""
    outcome = protocol().on_frame(guide_snapshot(), 1_700_000_000_000)
    assert outcome.resyncs == [] and outcome.replies == []
    [event] = outcome.events
    assert event.instrument == BTC
    assert event.data_type is DataType.L2_ORDERBOOK
    assert event.payload == L2Update(decimals(GUIDE_BIDS), decimals(GUIDE_ASKS), True)
    assert event.exchange_timestamp_ms == 1696613755440
    assert event.received_at_ms == 1_700_000_000_000
    assert event.dedup_key == "snapshot:2023-10-06T17:35:55.440295Z:3310070434"
    assert str(event.payload.bids[0][1]) == "0.10000000"


def test_book_page_snapshot_and_update_verify_with_the_pairs_precision() -> None:
    """The book page's MATIC/USD examples write 0.566 for 0.5660; their checksums
    (2439117997, 2114181697) hold with 4 price and 8 quantity decimals (BOOK_PAGE)."""
    proto = protocol()
    snapshot = proto.on_frame(matic_snapshot(), 1)
    assert snapshot.resyncs == []
    assert snapshot.events[0].payload == L2Update(decimals(MATIC_BIDS), decimals(MATIC_ASKS), True)
    update = proto.on_frame(MATIC_UPDATE, 2)
    assert update.resyncs == [] and update.replies == []
    [event] = update.events
    assert event.instrument == MATIC
    assert event.payload == L2Update(((D("0.5657"), D("1098.3947558")),), (), False)
    assert event.exchange_timestamp_ms == 1696613755440
    assert event.dedup_key.startswith("2023-10-06T17:35:55.440295Z:2114181697:")


# --- resync -------------------------------------------------------------------------------


def test_forced_checksum_mismatch_resyncs_only_that_book_and_the_fresh_snapshot_restores_it() -> (
    None
):
    """An update whose checksum disagrees (the guide's book, one quantity changed and the
    checksum left at the old value) throws that one book away (GUIDE, BOOK_PAGE)."""
    proto = protocol()
    proto.on_frame(guide_snapshot(), 1)
    proto.on_frame(matic_snapshot(), 2)
    bad = book_frame("update", "BTC/USD", [("45283.5", "0.20000000")], [], 3310070434)
    outcome = proto.on_frame(bad, 3)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(BTC, "checksum")]
    assert outcome.replies == [
        '{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}',
        '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10,'
        '"snapshot":true}}',
    ]
    # Until the fresh snapshot: BTC/USD updates publish nothing, even a consistent one.
    good_bids = [("45283.5", "0.20000000"), *GUIDE_BIDS[1:]]
    good = book_frame(
        "update", "BTC/USD", [("45283.5", "0.20000000")], [], checksum_of(good_bids, GUIDE_ASKS)
    )
    assert proto.on_frame(good, 4) == FrameOutcome([], [], [])
    # The other book is untouched.
    assert len(proto.on_frame(MATIC_UPDATE, 5).events) == 1
    # The fresh snapshot is published as a snapshot, and updates flow again.
    fresh = proto.on_frame(guide_snapshot(), 6)
    assert fresh.resyncs == []
    assert [e.payload.is_snapshot for e in fresh.events] == [True]  # type: ignore[union-attr]
    after = proto.on_frame(good, 7)
    assert after.resyncs == []
    assert after.events[0].payload == L2Update(((D("45283.5"), D("0.20000000")),), (), False)


def test_mutated_level_in_an_update_is_caught_by_the_checksum() -> None:
    """A correct update (best ask size changed) published; the same update with a digit
    changed in its quantity is a checksum resync (GUIDE)."""
    asks = [("45285.2", "0.00200000"), *GUIDE_ASKS[1:]]
    checksum = checksum_of(GUIDE_BIDS, asks)
    good = book_frame("update", "BTC/USD", [], [("45285.2", "0.00200000")], checksum)
    mutated = good.replace("0.00200000", "0.00300000")
    proto = protocol()
    proto.on_frame(guide_snapshot(), 1)
    assert proto.on_frame(mutated, 2).resyncs == [BookResync(BTC, "checksum")]
    proto = protocol()
    proto.on_frame(guide_snapshot(), 1)
    assert proto.on_frame(good, 2).resyncs == []


def test_snapshot_with_a_wrong_checksum_is_resynced_and_not_published() -> None:
    """The guide's snapshot with its checksum off by one (GUIDE)."""
    outcome = protocol().on_frame(guide_snapshot(3310070435), 1)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(BTC, "checksum")]
    assert len(outcome.replies) == 2


def test_update_before_any_snapshot_publishes_nothing() -> None:
    """The book page's update example without its snapshot first (BOOK_PAGE)."""
    assert protocol().on_frame(MATIC_UPDATE, 1) == FrameOutcome([], [], [])


# --- truncation ---------------------------------------------------------------------------


def test_insert_beyond_depth_truncates_the_worst_level_and_publishes_its_removal() -> None:
    """Depth 10 (GUIDE: "you must remove the 11th worst bid"): a new best bid pushes out
    45276.6; removing that best bid again leaves 9 bids, which the checksum confirms."""
    proto = protocol(depth=10)
    proto.on_frame(guide_snapshot(), 1)
    inserted = [("45284.0", "1.00000000"), *GUIDE_BIDS[:9]]
    insert = book_frame(
        "update", "BTC/USD", [("45284.0", "1.00000000")], [], checksum_of(inserted, GUIDE_ASKS)
    )
    outcome = proto.on_frame(insert, 2)
    assert outcome.resyncs == []
    assert outcome.events[0].payload == L2Update(
        ((D("45284.0"), D("1.00000000")), (D("45276.6"), D(0))), (), False
    )
    remove = book_frame(
        "update", "BTC/USD", [("45284.0", "0")], [], checksum_of(GUIDE_BIDS[:9], GUIDE_ASKS)
    )
    outcome = proto.on_frame(remove, 3)
    assert outcome.resyncs == []
    assert outcome.events[0].payload == L2Update(((D("45284.0"), D(0)),), (), False)


def test_without_truncation_the_dropped_level_would_break_the_checksum() -> None:
    """Depth 25 keeps 11 bids, so the same removal's checksum (over 9 bids) disagrees (GUIDE)."""
    proto = protocol(depth=25)
    proto.on_frame(guide_snapshot(), 1)
    inserted = [("45284.0", "1.00000000"), *GUIDE_BIDS]
    proto.on_frame(
        book_frame(
            "update", "BTC/USD", [("45284.0", "1.00000000")], [], checksum_of(inserted, GUIDE_ASKS)
        ),
        2,
    )
    remove = book_frame(
        "update", "BTC/USD", [("45284.0", "0")], [], checksum_of(GUIDE_BIDS[:9], GUIDE_ASKS)
    )
    assert proto.on_frame(remove, 3).resyncs == [BookResync(BTC, "checksum")]


def test_book_updates_with_equal_time_and_checksum_get_distinct_dedup_keys() -> None:
    """Two deep changes in the same microsecond leave the top-10 checksum equal (BOOK_PAGE)."""
    proto = protocol(depth=25)
    proto.on_frame(matic_snapshot(), 1)
    first = proto.on_frame(
        book_frame("update", "MATIC/USD", [("0.5600", "10.00000000")], [], 2439117997), 2
    )
    second = proto.on_frame(
        book_frame("update", "MATIC/USD", [("0.5601", "10.00000000")], [], 2439117997), 3
    )
    assert first.resyncs == [] and second.resyncs == []
    assert first.events[0].dedup_key != second.events[0].dedup_key
    again = protocol(depth=25)
    again.on_frame(matic_snapshot(), 10)
    repeat = again.on_frame(
        book_frame("update", "MATIC/USD", [("0.5600", "10.00000000")], [], 2439117997), 11
    )
    assert repeat.events[0].dedup_key == first.events[0].dedup_key


@pytest.mark.parametrize(
    ("depth", "channel_depth"),
    [
        (0, 10),
        (1, 10),
        (10, 10),
        (11, 25),
        (25, 25),
        (26, 100),
        (400, 500),
        (1000, 1000),
        (5000, 1000),
    ],
)
def test_depth_maps_to_the_smallest_offered_book_depth_not_below_it(
    depth: int, channel_depth: int
) -> None:
    """Offered depths 10, 25, 100, 500, 1000 (BOOK_PAGE)."""
    assert book_depth(depth) == channel_depth
