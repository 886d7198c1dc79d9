"""OKX's ``OkxBook`` behind the protocol, on the order book page's documented frames: its
``BookGate`` follows the book.

https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
"""

from __future__ import annotations

from typing import Any

import pytest
from test_okx import DOC_SNAPSHOT, book_frame, protocol

from relay.application.book_state import BookGate, BookState
from relay.application.errors import FrameError


def update(prev: int, seq: int, checksum: int = 0) -> dict[str, Any]:
    return {
        "asks": [],
        "bids": [["8471", "1", "0", "1"]],
        "ts": "1597026443088",
        "checksum": checksum,
        "prevSeqId": prev,
        "seqId": seq,
    }


def test_the_gate_is_synced_by_a_snapshot_and_resyncing_after_a_gap_or_a_bad_checksum() -> None:
    proto = protocol(symbols={"BTC-USDT": "BTC/USDT"})
    book = proto.books["BTC-USDT"]
    assert book.gate == BookGate(BookState.AWAITING_SNAPSHOT, 0, None)
    with pytest.raises(FrameError) as refused:
        proto.on_frame(book_frame("update", update(123456, 123457)), 1)
    assert refused.value.reason == "awaiting_snapshot"

    proto.on_frame(book_frame("snapshot", DOC_SNAPSHOT), 2)
    assert book.gate == BookGate(BookState.SYNCED, 0, None)
    assert [r.reason for r in proto.on_frame(book_frame("update", update(5, 9)), 3).resyncs] == [
        "gap"
    ]
    assert book.gate == BookGate(BookState.RESYNCING, 1, "gap")

    proto.on_frame(book_frame("snapshot", DOC_SNAPSHOT), 4)
    assert book.gate == BookGate(BookState.SYNCED, 1, "gap")
    outcome = proto.on_frame(book_frame("update", update(123456, 123457, checksum=1)), 5)
    assert [r.reason for r in outcome.resyncs] == ["checksum"]
    assert book.gate == BookGate(BookState.RESYNCING, 2, "checksum")


def test_resync_books_resyncs_the_gate_of_a_synced_book_only() -> None:
    proto = protocol(symbols={"BTC-USDT": "BTC/USDT", "ETH-USDT": "ETH/USDT"})
    proto.on_frame(book_frame("snapshot", DOC_SNAPSHOT), 1)
    proto.resync_books(None, "internal_error")
    assert proto.books["BTC-USDT"].gate == BookGate(BookState.RESYNCING, 1, "internal_error")
    assert proto.books["ETH-USDT"].gate == BookGate(
        BookState.AWAITING_SNAPSHOT, 0, "internal_error"
    )
