"""Bybit's ``TopicBook`` on the orderbook page's documented frames: its ``BookGate`` follows it.

https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook
"""

from __future__ import annotations

from typing import Any

from test_bybit import LINEAR_BTC, delta_with, documented_delta, snapshot_before_delta

from relay.application.book_state import BookGate, BookState
from relay.domain.model import MarketEvent
from relay.infrastructure.venues.bybit.book import TopicBook


def take(book: TopicBook, message: dict[str, Any]) -> tuple[str | None, list[MarketEvent]]:
    events: list[MarketEvent] = []
    reason = book.on_message(message["type"] == "snapshot", message["data"], 1, 2, events)
    return reason, events


def test_the_gate_is_synced_by_a_snapshot_and_resyncing_after_a_gap_or_a_crossed_book() -> None:
    book = TopicBook(LINEAR_BTC, "orderbook.50.BTCUSDT", l2=True, ticker=False)
    assert take(book, documented_delta()) == (None, [])  # a delta before any snapshot: dropped
    assert book.gate == BookGate(BookState.AWAITING_SNAPSHOT, 0, None)

    assert take(book, snapshot_before_delta())[0] is None
    assert book.gate == BookGate(BookState.SYNCED, 0, None)
    reason, events = take(book, documented_delta())
    assert (reason, [e.dedup_key for e in events]) == (None, ["177400507:66544703342"])

    assert take(book, delta_with(177400509, 66544703350, [], [])) == ("gap", [])
    assert book.gate == BookGate(BookState.RESYNCING, 1, "gap")
    assert take(book, delta_with(177400510, 66544703351, [], [])) == (None, [])

    assert take(book, snapshot_before_delta())[0] is None
    assert book.gate == BookGate(BookState.SYNCED, 1, "gap")
    crossing = delta_with(177400507, 66544703342, [["30300.00", "1.000"]], [])
    assert take(book, crossing) == ("crossed_book", [])
    assert book.gate == BookGate(BookState.RESYNCING, 2, "crossed_book")


def test_a_resync_asked_for_is_counted_once_per_loss() -> None:
    book = TopicBook(LINEAR_BTC, "orderbook.50.BTCUSDT", l2=True, ticker=False)
    book.resync("internal_error")
    assert book.gate == BookGate(BookState.AWAITING_SNAPSHOT, 0, "internal_error")
    take(book, snapshot_before_delta())
    book.resync("internal_error")
    book.resync("gap")
    assert book.gate == BookGate(BookState.RESYNCING, 1, "gap")
