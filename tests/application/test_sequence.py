"""Sequence numbers per stream."""

from __future__ import annotations

from relay.application.sequence import SequenceTracker
from relay.domain.model import DataType, Instrument

SUSHI = Instrument("binance-usdm", "SUSHIUSDT", "SUSHI/USDT")
CTK = Instrument("binance-usdm", "CTKUSDT", "CTK/USDT")


def test_each_stream_counts_from_one_and_a_kept_counter_shares_the_numbers() -> None:
    tracker = SequenceTracker()
    kept = tracker.counter(SUSHI, DataType.TRADE)
    assert [
        next(tracker.counter(SUSHI, DataType.TRADE)),
        next(kept),
        next(tracker.counter(SUSHI, DataType.TRADE)),
    ] == [1, 2, 3]
    assert next(tracker.counter(SUSHI, DataType.TICKER)) == 1
    assert next(tracker.counter(CTK, DataType.TRADE)) == 1
    assert tracker.counter(SUSHI, DataType.TRADE) is kept
