"""DepthView and split_snapshot: what a consumer rebuilds equals the venue book's top N."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.application.book_publication import DepthView, split_snapshot
from relay.domain.errors import InvalidValueError
from relay.domain.model import L2Update, PriceLevel

Side = dict[Decimal, Decimal]


def consume(book: tuple[Side, Side], update: L2Update) -> None:
    """Apply a published update the way docs/wire-format.md tells consumers to."""
    if update.is_snapshot and update.snapshot_part == 1:
        book[0].clear()
        book[1].clear()
    for side, levels in ((book[0], update.bids), (book[1], update.asks)):
        for price, quantity in levels:
            if quantity == 0:
                side.pop(price, None)
            else:
                side[price] = quantity


def top(side: Side, depth: int, best_high: bool) -> Side:
    prices = sorted(side, reverse=best_high)[:depth]
    return {price: side[price] for price in prices}


def level(price: str, quantity: str) -> PriceLevel:
    return Decimal(price), Decimal(quantity)


def test_a_delta_that_removes_the_best_bid_pulls_the_next_level_into_the_top() -> None:
    view = DepthView(2)
    snapshot = view.apply(
        L2Update(
            (level("10", "1"), level("9", "2"), level("8", "3")),
            (level("11", "1"), level("12", "2"), level("13", "3")),
            True,
            5,
            5,
        )
    )
    assert snapshot == L2Update(
        (level("10", "1"), level("9", "2")), (level("11", "1"), level("12", "2")), True, 5, 5
    )

    delta = view.apply(L2Update((level("10", "0"),), (), False, 6, 6))

    assert delta == L2Update((level("8", "3"), level("10", "0")), (), False, 6, 6)


def test_a_delta_below_the_top_publishes_nothing() -> None:
    view = DepthView(1)
    view.apply(L2Update((level("10", "1"), level("9", "2")), (level("11", "1"),), True))

    assert view.apply(L2Update((level("9", "5"), level("7", "1")), (), False)) is None
    assert view.apply(L2Update((level("9", "0"),), (level("30", "1"),), False)) is None


prices = st.integers(min_value=1, max_value=40).map(Decimal)
quantities = st.sampled_from([Decimal(0), Decimal(0), Decimal(1), Decimal(2), Decimal("0.5")])
levels = st.dictionaries(prices, quantities, max_size=12).map(lambda side: list(side.items()))
"""One update's levels of one side: each price once, as venues send them."""
updates = st.lists(st.tuples(st.booleans(), levels, levels), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(depth=st.integers(min_value=1, max_value=6), stream=updates)
def test_a_consumer_of_the_view_always_holds_the_top_n_of_the_venue_book(
    depth: int, stream: list[tuple[bool, list[PriceLevel], list[PriceLevel]]]
) -> None:
    view = DepthView(depth)
    venue: tuple[Side, Side] = ({}, {})
    consumer: tuple[Side, Side] = ({}, {})
    started = False
    for is_snapshot, bids, asks in stream:
        is_snapshot = is_snapshot or not started
        started = True
        update = L2Update(tuple(bids), tuple(asks), is_snapshot)
        if is_snapshot:
            venue = ({}, {})
        for side, side_levels in ((venue[0], bids), (venue[1], asks)):
            for price, quantity in side_levels:
                if quantity == 0:
                    side.pop(price, None)
                else:
                    side[price] = quantity
        published = view.apply(update)
        if published is not None:
            assert published.is_snapshot is is_snapshot
            consume(consumer, published)
        assert consumer[0] == top(venue[0], depth, best_high=True)
        assert consumer[1] == top(venue[1], depth, best_high=False)


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 10])
def test_split_snapshot_parts_rebuild_the_snapshot_best_levels_first(parts: int) -> None:
    bids = tuple(level(str(100 - i), str(i + 1)) for i in range(7))
    asks = tuple(level(str(101 + i), str(i + 1)) for i in range(4))
    snapshot = L2Update(bids, asks, True, 42, 42)

    pieces = split_snapshot(snapshot, parts)

    assert [(p.snapshot_part, p.snapshot_parts) for p in pieces] == [
        (i, parts) for i in range(1, parts + 1)
    ]
    assert all(p.is_snapshot and p.first_update_id == 42 for p in pieces)
    assert sum((p.bids for p in pieces), ()) == bids
    assert sum((p.asks for p in pieces), ()) == asks
    assert pieces[0].bids[0] == bids[0]
    assert pieces[0].asks[0] == asks[0]
    book: tuple[Side, Side] = ({Decimal(1): Decimal(1)}, {})
    for piece in pieces:
        consume(book, piece)
    assert book == (dict(bids), dict(asks))


@pytest.mark.parametrize(
    ("update", "parts"),
    [
        (L2Update((level("1", "1"),), (), False), 1),
        (L2Update((level("1", "1"),), (), False), 2),
        (L2Update((level("1", "1"),), (), True), 0),
    ],
)
def test_a_delta_or_fewer_than_one_part_is_refused(update: L2Update, parts: int) -> None:
    with pytest.raises(InvalidValueError):
        split_snapshot(update, parts)
