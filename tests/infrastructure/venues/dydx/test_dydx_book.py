"""dYdX book rules: per-level message ids and the uncrossing of "How to uncross the orderbook".

Guide: https://docs.dydx.exchange/api_integration-guides/how_to_uncross_orderbook.
Its example: best bid ``['26854.0', '0.556', '8468']`` and best ask
``['26826.0', '0.0027', '8489']`` (price, size, message id): the bid is older,
so the bid goes.
"""

from __future__ import annotations

from decimal import Decimal

from support.dydx_frames import BOOK_ASKS, BOOK_BIDS, decimals

from relay.application.book_state import BookState
from relay.infrastructure.venues.dydx.book import DydxBook

D = Decimal


def guide_book() -> DydxBook:
    """A book holding the guide's best bid (set by message 8468) and a deeper ask."""
    book = DydxBook()
    book.snapshot(((D("26854.0"), D("0.556")),), ((D("26900.0"), D("1")),), 8468, "k")
    return book


def test_the_guide_example_removes_the_older_best_bid() -> None:
    book = guide_book()
    bids, asks = book.apply((), ((D("26826.0"), D("0.0027")),), 8489)
    assert (bids, asks) == (((D("26854.0"), D(0)),), ((D("26826.0"), D("0.0027")),))
    assert book.book.levels() == ((), ((D("26826.0"), D("0.0027")), (D("26900.0"), D("1"))))
    assert book.bid_offsets == {}
    assert book.ask_offsets == {D("26826.0"): 8489, D("26900.0"): 8468}


def test_a_newer_bid_crossing_older_asks_removes_each_older_ask() -> None:
    book = DydxBook()
    book.snapshot((), ((D("100"), D("1")), (D("101"), D("2")), (D("103"), D("3"))), 5, "k")
    bids, asks = book.apply(((D("102"), D("4")),), (), 9)
    assert bids == ((D("102"), D("4")),)
    assert asks == ((D("100"), D(0)), (D("101"), D(0)))
    assert book.book.levels() == (((D("102"), D("4")),), ((D("103"), D("3")),))


def test_at_equal_offsets_the_smaller_size_is_taken_from_the_larger() -> None:
    book = DydxBook()
    book.snapshot(((D("10"), D("5")),), ((D("9"), D("2")), (D("11"), D("1"))), 3, "k")
    assert book.book.levels() == (((D("10"), D("3")),), ((D("11"), D("1")),))
    equal = DydxBook()
    equal.snapshot(((D("10"), D("2")),), ((D("9"), D("2")),), 3, "k")
    assert equal.book.levels() == ((), ())


def test_a_level_set_by_a_newer_message_is_not_overwritten_by_an_older_one() -> None:
    book = DydxBook()
    book.snapshot(decimals(BOOK_BIDS), decimals(BOOK_ASKS), 10, "k")
    assert book.apply(((D("28194"), D("1")),), (), 12) == (((D("28194"), D("1")),), ())
    assert book.apply(((D("28194"), D("9")), (D("28100"), D("1"))), (), 11) == (
        ((D("28100"), D("1")),),
        (),
    )
    assert book.book.bids[D("28194")] == D("1")
    assert book.apply((), ((D("28195"), D("0")),), 13) == ((), ((D("28195"), D("0")),))
    assert D("28195") not in book.ask_offsets


def test_the_documented_snapshot_is_not_crossed_and_kept_whole() -> None:
    book = DydxBook()
    book.snapshot(decimals(BOOK_BIDS), decimals(BOOK_ASKS), 2, "k")
    bids, asks = book.book.levels()
    assert (bids, asks) == (decimals(BOOK_BIDS), decimals(BOOK_ASKS))
    assert book.gate.state is BookState.SYNCED


def test_drop_throws_the_book_away_until_the_next_snapshot() -> None:
    book = guide_book()
    book.drop("gap")
    assert (book.gate.state, book.gate.resyncs, book.gate.last_reason) == (
        BookState.RESYNCING,
        1,
        "gap",
    )
    assert book.book.levels() == ((), ())
    assert (book.bid_offsets, book.ask_offsets) == ({}, {})
