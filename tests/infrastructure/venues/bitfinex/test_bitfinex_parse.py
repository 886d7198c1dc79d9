"""Bitfinex readers on recorded frames (``bitfinex.jsonl``) and the documented shapes of
https://docs.bitfinex.com/reference/ws-public-books, …/ws-public-trades, …/ws-public-candles."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from support.bitfinex_frames import CANDLE_EXAMPLE, decimal_json, instrument

from relay.domain.errors import InvalidValueError
from relay.domain.model import Side, Trade
from relay.infrastructure.venues.bitfinex import parse


def test_book_levels_keep_the_digits_and_the_sign_of_the_amount() -> None:
    assert parse.book_level(decimal_json("[279380,1,0.0089]")) == (
        Decimal(279380),
        1,
        Decimal("0.0089"),
    )
    assert parse.book_level(decimal_json("[0.00002532,0,-1]")) == (
        Decimal("0.00002532"),
        0,
        Decimal(-1),
    )
    assert parse.book_level(decimal_json("[7e-7,1,10000]"))[0] == Decimal("7E-7")
    assert parse.is_snapshot(decimal_json("[[1,1,1]]")) and parse.is_snapshot([])
    assert not parse.is_snapshot(decimal_json("[1,1,1]"))


@pytest.mark.parametrize(
    "level",
    ["[0,1,1]", "[-1,1,1]", '["1",1,1]', "[1,-1,1]", "[1,1.5,1]", "[1,1,0]", "[1,true,1]", "{}"],
)
def test_a_bad_book_level_is_an_invalid_value(level: str) -> None:
    with pytest.raises(InvalidValueError):
        parse.book_level(decimal_json(level))


def test_a_snapshot_level_that_deletes_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        parse.book_snapshot(decimal_json("[[1,1,1],[2,0,-1]]"))
    with pytest.raises(IndexError):
        parse.book_level([1, 1])


def test_a_trade_snapshot_comes_out_oldest_first_with_the_side_of_the_amount() -> None:
    raw: Any = decimal_json(
        "[[670155031,1618677442819,-0.00023057,60410],[670154206,1618676938578,0.00023553,60360]]"
    )
    events = parse.trade_snapshot(instrument("tTESTBTC:TESTUSD"), raw, 5)
    assert [e.payload for e in events] == [
        Trade("670154206", Decimal(60360), Decimal("0.00023553"), Side.BUY),
        Trade("670155031", Decimal(60410), Decimal("0.00023057"), Side.SELL),
    ]
    assert [e.exchange_timestamp_ms for e in events] == [1618676938578, 1618677442819]


def test_a_ticker_without_a_sequence_number_is_keyed_by_its_fields() -> None:
    raw = decimal_json("[1,2,3,4,5,6,7,8,9,10]")
    event = parse.ticker_event(instrument("tBTCUSD"), raw, None, 1)
    assert event.dedup_key == ":1:2:3:4:5:6:7:8:9:10"
    with pytest.raises(InvalidValueError):
        parse.ticker_event(instrument("tBTCUSD"), decimal_json('[1,2,3,4,5,6,7,8,9,"x"]'), 1, 1)


def test_the_candle_of_the_page_reads_close_before_high() -> None:
    event = parse.candle_event(instrument("tBTCUSD"), "1D", decimal_json(CANDLE_EXAMPLE), 1)
    assert event.payload.close_time_ms - event.payload.open_time_ms == 86_400_000  # type: ignore[union-attr]
    assert event.payload.close == Decimal("7383.8")  # type: ignore[union-attr]
    assert event.payload.high == Decimal("7388.3")  # type: ignore[union-attr]
