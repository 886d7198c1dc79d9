"""Hyperliquid's ``L2Book`` on the documented ``WsBook`` example: its ``BookGate`` follows the book.

https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint (l2Book example)
"""

from __future__ import annotations

import pytest
from test_hyperliquid import DOC_BOOK

from relay.application.book_state import BookGate, BookState
from relay.application.errors import FrameError
from relay.domain.errors import InvalidValueError
from relay.domain.model import Instrument
from relay.infrastructure.venues.hyperliquid.book import L2Book

BTC = Instrument("hyperliquid", "BTC", "BTC/USDC:PERP")


def test_every_accepted_message_syncs_the_gate_and_a_resync_forgets_the_time() -> None:
    book = L2Book(BTC)
    assert book.gate == BookGate(BookState.AWAITING_SNAPSHOT, 0, None)
    best_ask_first = DOC_BOOK["levels"][1]  # as bids: above the ask below
    crossed = {**DOC_BOOK, "levels": [best_ask_first, [{"px": "113390.0", "sz": "1", "n": 1}]]}
    with pytest.raises(InvalidValueError) as refused:
        book.on_message(crossed, 1)
    assert "crossed" in str(refused.value)
    assert book.gate == BookGate(BookState.AWAITING_SNAPSHOT, 0, None)

    event = book.on_message(DOC_BOOK, 2)
    assert event.dedup_key == "1754450974231"
    assert (book.gate, book.last_time_ms) == (BookGate(BookState.SYNCED, 0, None), 1754450974231)
    with pytest.raises(FrameError) as stale:
        book.on_message(DOC_BOOK, 3)
    assert stale.value.reason == "stale_update"

    book.resync("internal_error")
    assert (book.gate, book.last_time_ms) == (
        BookGate(BookState.RESYNCING, 1, "internal_error"),
        None,
    )
    assert book.on_message(DOC_BOOK, 4).dedup_key == "1754450974231"
    assert book.gate == BookGate(BookState.SYNCED, 1, "internal_error")
