"""What the pipeline leaves for the key-value buckets: book images and stream states."""

from __future__ import annotations

from decimal import Decimal

from relay.application.consumer_state import BookImage, ConsumerState, StreamState
from relay.domain.model import DataType, Instrument, L2Update

D = Decimal
SUSHI = Instrument("binance-usdm", "SUSHIUSDT", "SUSHI/USDT")


def levels(*pairs: tuple[str, str]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((D(p), D(q)) for p, q in pairs)


def test_a_book_image_follows_snapshot_parts_and_deltas_and_is_due_after_each_snapshot() -> None:
    image = BookImage(SUSHI)
    image.apply(L2Update(levels(("2", "1")), levels(("3", "1")), True, None, None, 1, 2), 1, 100)
    assert (image.complete, image.due) == (False, False)
    image.apply(L2Update(levels(("1", "4")), levels(("4", "2")), True, None, None, 2, 2), 2, 100)
    assert (image.complete, image.due) == (True, True)
    image.apply(L2Update(levels(("2", "0"), ("1.5", "7")), (), False), 3, 250)
    assert (image.sequence, image.received_at_ms) == (3, 250)
    assert image.snapshot() == L2Update(
        levels(("1.5", "7"), ("1", "4")), levels(("3", "1"), ("4", "2")), True
    )


def test_a_resync_is_counted_and_only_the_books_next_snapshot_makes_it_streaming() -> None:
    state = ConsumerState([(SUSHI, DataType.L2_ORDERBOOK, "binance-usdm#2")])
    record = state.record(SUSHI, DataType.L2_ORDERBOOK)

    def now() -> str:
        return record.state.value

    assert now() == "disconnected"
    record.seen(10, True)
    state.resync("binance-usdm", "SUSHIUSDT", "gap")
    record.seen(11, False)  # a delta queued before the resync
    assert (record.state, record.resyncs, record.last_reason) == (StreamState.RESYNCING, 1, "gap")
    record.seen(12, True)
    assert now() == "streaming" and record.resync_unwritten
    state.connection_closed("binance-usdm")  # another connection of the venue
    assert now() == "streaming"
    state.connection_closed("binance-usdm#2")
    assert now() == "disconnected"
    assert record.document() == {
        "venue": "binance-usdm",
        "instrument": "SUSHIUSDT",
        "canonical_symbol": "SUSHI/USDT",
        "data_type": "l2_orderbook",
        "state": "disconnected",
        "last_event_at": 12,
        "resyncs": 1,
        "last_reason": "gap",
    }
