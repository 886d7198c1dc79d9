"""BitMEX rows on the recorded session: trades, quotes and book rows with exact values."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.bitmex_frames import first, instrument, table

from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, MarketEvent, Side, Ticker, Trade
from relay.infrastructure.venues.bitmex import parse
from relay.infrastructure.venues.common import wire


def row_of(frame: str) -> dict[str, object]:
    data = wire.exact_object(frame)["data"]
    assert isinstance(data, list)
    row = data[0]
    assert isinstance(row, dict)
    return row


def test_trade_row_keeps_the_price_digits_sent_and_the_taker_side() -> None:
    frame, t = first(table("trade", "partial", "XRPU21"))
    assert parse.trade_event(instrument("XRPU21"), row_of(frame), t) == MarketEvent(
        instrument("XRPU21"),
        DataType.TRADE,
        t,
        1626992655328,  # 2021-07-22T22:24:15.328Z
        Trade(
            "8f8fe9db-eb13-26a5-dea2-a398d89e04a8", Decimal("0.00001819"), Decimal(15), Side.SELL
        ),
        "8f8fe9db-eb13-26a5-dea2-a398d89e04a8",
    )


def test_quote_row_is_a_ticker_keyed_by_its_time_and_values() -> None:
    frame, t = first(table("quote", "partial", "XRPU21"))
    event = parse.quote_event(instrument("XRPU21"), row_of(frame), t)
    assert event.payload == Ticker(
        Decimal("0.00001814"), Decimal(15), Decimal("0.00001819"), Decimal(1703)
    )
    assert event.exchange_timestamp_ms == 1626993353978  # 2021-07-22T22:35:53.978Z
    assert event.dedup_key == "1626993353978:0.00001814:15:0.00001819:1703"


def test_quote_row_with_an_empty_side_reads_zero() -> None:
    row = {
        "timestamp": "2021-07-22T22:36:10.014Z",
        "symbol": "UNIUSDT",
        "bidSize": None,
        "bidPrice": None,
        "askPrice": Decimal("17.297"),
        "askSize": 123,
    }
    event = parse.quote_event(instrument("UNIUSDT"), row, 5)
    assert event.payload == Ticker(Decimal(0), Decimal(0), Decimal("17.297"), Decimal(123))


def test_book_rows_of_each_action() -> None:
    insert = row_of(first(table("orderBookL2", "insert"))[0])
    update = row_of(first(table("orderBookL2", "update"))[0])
    delete = row_of(first(table("orderBookL2", "delete"))[0])
    assert parse.book_row(insert, "insert") == (
        54899972480,
        Side.SELL,
        Decimal("27.52"),
        Decimal(991),
    )
    assert parse.book_row(update, "update") == (51999982703, Side.SELL, None, Decimal(123))
    assert parse.book_row(delete, "delete") == (40199991245, Side.BUY, None, Decimal(0))


@pytest.mark.parametrize(
    ("row", "action", "field"),
    [
        ({"symbol": "X", "id": -1, "side": "Buy", "size": 1, "price": 1}, "insert", "id"),
        ({"symbol": "X", "id": 1, "side": "buy", "size": 1, "price": 1}, "insert", "side"),
        ({"symbol": "X", "id": 1, "side": "Buy", "size": 1, "price": 0}, "insert", "price"),
        ({"symbol": "X", "id": 1, "side": "Buy", "size": -1}, "update", "size"),
    ],
)
def test_bad_book_rows_name_the_field(row: dict[str, object], action: str, field: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        parse.book_row(row, action)
    assert raised.value.field == field


def test_a_partial_row_needs_its_price() -> None:
    with pytest.raises(KeyError):
        parse.book_row(json.loads('{"symbol":"X","id":1,"side":"Buy","size":1}'), "insert")
