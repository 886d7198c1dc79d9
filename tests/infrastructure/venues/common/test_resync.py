"""``books_to_resync``: which books a ``resync_books`` call names."""

from __future__ import annotations

from relay.infrastructure.venues.common.resync import books_to_resync

BOOKS = {"BTC-USDT": 1, "ETH-USDT": 2, "SOL-USDT": 3}


def test_none_names_every_book_in_its_order() -> None:
    assert books_to_resync(BOOKS, None) == ["BTC-USDT", "ETH-USDT", "SOL-USDT"]


def test_named_books_once_each_in_the_given_order_without_foreign_ids() -> None:
    names = ["SOL-USDT", "XRP-USDT", "BTC-USDT", "SOL-USDT"]
    assert books_to_resync(BOOKS, names) == ["SOL-USDT", "BTC-USDT"]
    assert books_to_resync(BOOKS, []) == []
