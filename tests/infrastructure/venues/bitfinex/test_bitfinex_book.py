"""Bitfinex book checksum: the venue library's worked examples, and the book rules.

Examples: bitfinexcom/bitfinex-api-py ``bfxapi/tests/test_ws_orderbook.py`` (two books,
three and two updates, the checksums the venue's library computes), checked here
through the relay's protocol, ``cs`` messages included.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from support.bitfinex_frames import (
    VETBTC_CHECKSUM,
    VETBTC_SNAPSHOT,
    VETBTC_UPDATES,
    XRPBTC_CHECKSUM,
    XRPBTC_SNAPSHOT,
    XRPBTC_UPDATES,
    decimal_json,
    instrument,
    protocol,
    subscribed,
)

from relay.domain.model import DataType
from relay.infrastructure.venues.bitfinex.book import (
    BitfinexBook,
    checksum,
    checksum_text,
    js_number,
    split_levels,
)
from relay.infrastructure.venues.bitfinex.parse import book_level, book_snapshot

EXAMPLES = [
    ("tXRPBTC", XRPBTC_SNAPSHOT, XRPBTC_UPDATES, XRPBTC_CHECKSUM),
    ("tVETBTC", VETBTC_SNAPSHOT, VETBTC_UPDATES, VETBTC_CHECKSUM),
]


@pytest.mark.parametrize(("symbol", "snapshot", "updates", "expected"), EXAMPLES)
def test_the_venue_librarys_checksum_examples_verify_through_the_protocol(
    symbol: str, snapshot: str, updates: tuple[str, ...], expected: int
) -> None:
    proto = protocol([symbol], (DataType.L2_ORDERBOOK,))
    proto.on_frame(subscribed("book", 123, symbol), 1)
    events = [e for f in (snapshot, *updates) for e in proto.on_frame(f, 2).events]
    assert len(events) == 1 + len(updates)
    assert proto.on_frame(f'[123,"cs",{expected}]', 3) == proto.on_frame('[123,"hb"]', 3)
    wrong = proto.on_frame(f'[123,"cs",{expected + 1}]', 4)
    assert [(r.instrument.instrument, r.reason) for r in wrong.resyncs] == [(symbol, "checksum")]
    assert wrong.replies == [
        '{"event":"unsubscribe","chanId":123}',
        '{"event":"subscribe","channel":"book","symbol":"'
        + symbol
        + '","prec":"P0","freq":"F0","len":"100"}',
    ]


@pytest.mark.parametrize(("symbol", "snapshot", "updates", "expected"), EXAMPLES)
def test_book_checksum_equals_the_librarys(
    symbol: str, snapshot: str, updates: tuple[str, ...], expected: int
) -> None:
    book = BitfinexBook(instrument(symbol))
    book.snapshot(book_snapshot(decimal_json(snapshot)[1]))
    for update in updates:
        book.apply(book_level(decimal_json(update)[1]))
    assert book.checksum() == expected
    assert (book.snapshots, book.updates) == (1, len(updates))


def test_numbers_are_written_as_javascript_writes_them() -> None:
    assert js_number(Decimal("7E-7")) == "7e-7"
    assert js_number(Decimal("6.6e-7")) == "6.6e-7"
    assert js_number(Decimal("0.00000121")) == "0.00000121"
    assert js_number(Decimal("-481.8549041")) == "-481.8549041"
    assert js_number(60400) == "60400"


def test_checksum_text_interleaves_bids_and_asks_and_stops_a_short_side() -> None:
    bids = [(Decimal("3366.1"), Decimal("7"))]
    asks = [(Decimal("3366.8"), Decimal("-9")), (Decimal("3368"), Decimal("-8"))]
    assert checksum_text(bids, asks) == "3366.1:7:3366.8:-9:3368:-8"
    many = [(Decimal(p), Decimal(1)) for p in range(100, 70, -1)]
    assert checksum_text(many, []).count(":") == 2 * 25 - 1
    assert -(2**31) <= checksum(bids, asks) < 2**31


def test_a_count_of_zero_deletes_the_level_of_the_amounts_side() -> None:
    levels = [
        (Decimal("279380"), 1, Decimal("0.0089")),
        (Decimal("0.00002532"), 0, Decimal("-1")),
        (Decimal("215350"), 0, Decimal("1")),
    ]
    assert split_levels(levels) == (
        [(Decimal("279380"), Decimal("0.0089")), (Decimal("215350"), Decimal(0))],
        [(Decimal("0.00002532"), Decimal(0))],
    )


def test_reset_empties_the_book_and_counts_one_resync() -> None:
    book = BitfinexBook(instrument("tXRPBTC"))
    book.snapshot(book_snapshot(decimal_json(XRPBTC_SNAPSHOT)[1]))
    assert book.gate.synced
    book.reset("checksum")
    book.reset("gap")
    assert (book.gate.synced, book.gate.resyncs, book.gate.last_reason) == (False, 1, "gap")
    assert book.book.levels() == ((), ())
