"""The client's book: images, stream messages in sequence order, holes and re-bootstraps."""

from __future__ import annotations

from decimal import Decimal

from relay.client.book import BookAssembler
from relay.domain.model import L2Update

D = Decimal


def delta(bids: list[tuple[str, str]], asks: list[tuple[str, str]] | None = None) -> L2Update:
    return L2Update(
        tuple((D(p), D(q)) for p, q in bids), tuple((D(p), D(q)) for p, q in asks or []), False
    )


def snapshot(bids: list[tuple[str, str]], part: int = 1, parts: int = 1) -> L2Update:
    return L2Update(tuple((D(p), D(q)) for p, q in bids), (), True, None, None, part, parts)


def test_an_image_then_buffered_deltas_after_its_sequence_make_a_synced_book() -> None:
    book = BookAssembler()
    assert book.on_message(delta([("1.0", "5")]), 10) is False  # before the image, buffered
    assert book.on_message(delta([("1.1", "2")]), 11) is False
    assert book.needs_image
    assert book.on_image([snapshot([("1.0", "4"), ("0.9", "1")])], 10) is True
    assert (book.synced, book.sequence) == (True, 11)
    assert book.top_bids(5) == [(D("1.1"), D("2")), (D("1.0"), D("4")), (D("0.9"), D("1"))]


def test_an_image_older_than_the_first_buffered_delta_is_refused() -> None:
    book = BookAssembler()
    book.on_message(delta([("1.0", "5")]), 12)
    assert book.on_image([snapshot([("1.0", "4")])], 10) is False
    assert book.needs_image and book.sequence == 0


def test_a_hole_unsyncs_the_book_counts_it_and_the_next_image_resyncs_it() -> None:
    book = BookAssembler()
    book.on_image([snapshot([("1.0", "4")])], 3)
    assert book.on_message(delta([("1.0", "0"), ("0.8", "7")]), 4) is True
    assert book.on_message(delta([("0.7", "1")]), 6) is False  # 5 missing
    assert (book.synced, book.holes, book.needs_image) == (False, 1, True)
    assert book.on_image([snapshot([("0.8", "7"), ("0.75", "3")])], 5) is True
    assert book.sequence == 6
    assert book.top_bids(3) == [(D("0.8"), D("7")), (D("0.75"), D("3")), (D("0.7"), D("1"))]
    assert book.bootstraps == 2


def test_a_snapshot_in_parts_in_the_stream_rebuilds_the_book_after_its_last_part() -> None:
    book = BookAssembler()
    book.on_image([snapshot([("1.0", "4")])], 1)
    book.on_message(snapshot([("2.0", "1")], 1, 2), 2)
    assert not book.synced and not book.needs_image
    book.on_message(snapshot([("1.5", "1")], 2, 2), 3)
    assert book.synced and book.top_bids(5) == [(D("2.0"), D("1")), (D("1.5"), D("1"))]


def test_messages_at_or_below_the_books_sequence_are_ignored() -> None:
    book = BookAssembler()
    book.on_image([snapshot([("1.0", "4")])], 7)
    assert book.on_message(delta([("1.0", "9")]), 7) is False
    assert book.top_bids(1) == [(D("1.0"), D("4"))]


def test_image_parts_out_of_order_are_refused() -> None:
    book = BookAssembler()
    assert book.on_image([snapshot([("1", "1")], 2, 2), snapshot([("2", "1")], 1, 2)], 5) is False
