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


def test_health_shows_each_state_and_holds_resyncing_and_stale_over_a_quick_return() -> None:
    ticker = Instrument("binance-usdm", "SUSHIUSDT", "SUSHI/USDT")
    state = ConsumerState(
        [
            (SUSHI, DataType.L2_ORDERBOOK, "binance-usdm"),
            (ticker, DataType.TICKER, "binance-usdm"),
        ],
        hold_s=1.0,
    )
    book = state.record(SUSHI, DataType.L2_ORDERBOOK)
    tick = state.record(ticker, DataType.TICKER)

    def shown(now_s: float, now_ms: int = 10_000) -> dict[str, tuple[object, ...]]:
        entries = state.health(now_s, now_ms)["binance-usdm"]["SUSHIUSDT"]
        return {data_type: tuple(entry.values()) for data_type, entry in sorted(entries.items())}

    assert shown(0) == {
        "l2_orderbook": ("disconnected", None, 0, None),
        "ticker": ("disconnected", None, 0, None),
    }
    book.seen(9_000, True)
    tick.seen(9_500, False)
    assert shown(0) == {
        "l2_orderbook": ("streaming", 1.0, 0, None),
        "ticker": ("streaming", 0.5, 0, None),
    }
    state.resync("binance-usdm", "SUSHIUSDT", "gap")
    held_until = book.held_until_s
    assert shown(held_until - 0.5)["l2_orderbook"] == ("resyncing", 1.0, 1, "gap")
    book.seen(9_900, True)  # the snapshot: streaming again, still shown resyncing for hold_s
    assert book.state is StreamState.STREAMING
    assert shown(held_until - 0.001)["l2_orderbook"] == ("resyncing", 0.1, 1, "gap")
    assert shown(held_until)["l2_orderbook"] == ("streaming", 0.1, 1, "gap")
    state.stale("binance-usdm", "ticker")
    stale_until = tick.held_until_s
    state.connection_closed("binance-usdm")  # the watchdog replaces the connection
    assert shown(stale_until + 5) == {
        "l2_orderbook": ("disconnected", 0.1, 1, "gap"),
        "ticker": ("stale", 0.5, 0, None),
    }
    tick.seen(9_990, False)  # the first ticker after the reconnect
    assert shown(stale_until + 5)["ticker"] == ("streaming", 0.01, 0, None)
    assert tick.stale_unwritten and not tick.resync_unwritten


def test_a_stale_stream_of_another_venue_or_data_type_is_left_as_it_is() -> None:
    other = Instrument("binance-spot", "SUSHIUSDT", "SUSHI/USDT")
    state = ConsumerState(
        [
            (SUSHI, DataType.TICKER, "binance-usdm"),
            (SUSHI, DataType.TRADE, "binance-usdm"),
            (other, DataType.TICKER, "binance-spot"),
        ]
    )
    for record in state.records.values():
        record.seen(1, False)
    state.stale("binance-usdm", "ticker")
    assert {
        (r.instrument.venue, r.data_type.value): r.state.value for r in state.records.values()
    } == {
        ("binance-usdm", "ticker"): "stale",
        ("binance-usdm", "trade"): "streaming",
        ("binance-spot", "ticker"): "streaming",
    }
