"""BitMEX protocol: subscribe frames, keepalive, answers, trades and quotes of the recording."""

from __future__ import annotations

from decimal import Decimal

import pytest
from support.bitmex_frames import (
    INSTRUMENT_PARTIAL,
    LIQUIDATION_INSERT,
    SYMBOLS,
    first,
    instrument,
    protocol,
    recv,
    table,
)
from support.bitmex_reference import bitmex_reference

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, Keepalive
from relay.domain.model import (
    DataType,
    FundingRate,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Side,
    Trade,
)
from relay.infrastructure.venues.bitmex.protocol import ARGS_PER_SUBSCRIBE

EMPTY = FrameOutcome([], [], [])


def test_subscribe_frames_name_each_table_of_each_symbol() -> None:
    assert protocol(("XBTUSD", "UNIUSDT")).subscribe_frames() == [
        '{"op":"subscribe","args":["trade:XBTUSD","quote:XBTUSD","orderBookL2:XBTUSD",'
        '"trade:UNIUSDT","quote:UNIUSDT","orderBookL2:UNIUSDT"]}'
    ]


def test_subscribe_frames_are_cut_at_the_argument_bound() -> None:
    names = tuple(f"S{i}" for i in range(ARGS_PER_SUBSCRIBE + 1))
    frames = protocol(names, (DataType.TRADE,)).subscribe_frames()
    assert [f.count('"trade:') for f in frames] == [ARGS_PER_SUBSCRIBE, 1]


def test_keepalive_is_the_text_ping_and_pong_is_an_empty_outcome() -> None:
    proto = protocol()
    assert proto.keepalive() == Keepalive(5.0, "ping")
    assert proto.on_frame("pong", 1) == EMPTY
    assert proto.on_frame(b"pong", 1) == EMPTY


def test_the_recorded_welcome_and_subscribe_answers_are_empty_outcomes() -> None:
    proto = protocol()
    answers = [(f, t) for f, t in recv() if '"success":true' in f or '"info"' in f]
    assert len(answers) == 31
    assert all(proto.on_frame(f, t) == EMPTY for f, t in answers)


def test_an_error_answer_is_a_subscribe_error() -> None:
    frame = (
        '{"status":400,"error":"Unknown table: tradez",'
        '"request":{"op":"subscribe","args":["tradez:XBTUSD"]}}'
    )
    with pytest.raises(FrameError) as raised:
        protocol().on_frame(frame, 1)
    assert raised.value.reason == "subscribe_error"
    assert "Unknown table: tradez" in str(raised.value)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ('{"table":"orderBook10","action":"partial","data":[]}', "unknown_event"),
        ('{"table":"trade","action":"upsert","data":[]}', "unknown_event"),
        ('{"table":"quote","action":"update","data":[]}', "unknown_event"),
        ('{"table":"trade","action":"insert"}', "missing_field"),
        ('{"table":"trade","action":"insert","data":{}}', "invalid_value"),
        ('{"hello":1}', "unknown_event"),
        ("{", "not_json"),
    ],
)
def test_frames_it_cannot_use_are_errors_with_a_reason(frame: str, reason: str) -> None:
    with pytest.raises(FrameError) as raised:
        protocol().on_frame(frame, 1)
    assert raised.value.reason == reason


def test_rows_of_a_symbol_not_subscribed_are_unsubscribed() -> None:
    frame, t = first(table("trade", "insert", "UNIUSDT"))
    with pytest.raises(FrameError) as raised:
        protocol(("XBTUSD",)).on_frame(frame, t)
    assert raised.value.reason == "unsubscribed"
    book, t = first(table("orderBookL2", "partial", "UNIUSDT"))
    with pytest.raises(FrameError) as raised:
        protocol(("UNIUSDT",), (DataType.TRADE,)).on_frame(book, t)
    assert raised.value.reason == "unsubscribed"


def test_the_first_recorded_trade_insert() -> None:
    frame, t = first(table("trade", "insert", "UNIUSDT"))
    (event,) = protocol().on_frame(frame, t).events
    assert event.instrument == instrument("UNIUSDT")
    assert event.exchange_timestamp_ms == 1626993370014
    assert event.payload == Trade(
        "39744121-c20e-44ba-8cc8-a6b8cdf72885", Decimal("17.297"), Decimal(52), Side.BUY
    )


def test_trades_and_quotes_of_the_session_match_the_reference() -> None:
    ref = bitmex_reference()
    proto = protocol()
    trades: dict[str, list[tuple[str, Decimal, Decimal, str]]] = {}
    quotes: dict[str, int] = {}
    for frame, t in recv():
        for event in proto.on_frame(frame, t).events:
            name = event.instrument.instrument
            if isinstance(event.payload, Trade):
                p = event.payload
                word = "Buy" if p.side is Side.BUY else "Sell"
                trades.setdefault(name, []).append((p.trade_id, p.price, p.quantity, word))
            elif event.data_type is DataType.TICKER:
                quotes[name] = quotes.get(name, 0) + 1
    assert trades == ref.trades
    assert quotes == ref.quotes
    assert sum(map(len, trades.values())) == 27
    assert sum(quotes.values()) == 436
    assert set(trades) == set(SYMBOLS)


def test_an_instrument_row_gives_funding_and_open_interest() -> None:
    proto = protocol(("XBTUSD",), (DataType.FUNDING_RATE, DataType.OPEN_INTEREST))
    assert proto.subscribe_frames() == ['{"op":"subscribe","args":["instrument:XBTUSD"]}']
    funding, open_interest = proto.on_frame(INSTRUMENT_PARTIAL, 7).events
    assert funding == MarketEvent(
        instrument("XBTUSD"),
        DataType.FUNDING_RATE,
        7,
        1580603443772,  # 2020-02-02T00:30:43.772Z
        FundingRate(
            rate=Decimal("0.000106"),
            mark_price=Decimal("9345.36"),
            next_funding_time_ms=1580616000000,  # 2020-02-02T04:00:00.000Z
        ),
        "1580603443772:0.000106",
    )
    assert open_interest == MarketEvent(
        instrument("XBTUSD"),
        DataType.OPEN_INTEREST,
        7,
        1580603443772,
        OpenInterest(Decimal(983043322)),
        "1580603443772:983043322",
    )


def test_an_instrument_update_without_funding_or_open_interest_gives_nothing() -> None:
    proto = protocol(("XBTUSD",), (DataType.FUNDING_RATE, DataType.OPEN_INTEREST))
    update = (
        '{"table":"instrument","action":"update","data":[{"symbol":"XBTUSD",'
        '"lastPrice":9352,"timestamp":"2020-02-02T00:30:44.000Z"}]}'
    )
    assert proto.on_frame(update, 8) == EMPTY
    only_oi = protocol(("XBTUSD",), (DataType.OPEN_INTEREST,))
    (event,) = only_oi.on_frame(INSTRUMENT_PARTIAL, 9).events
    assert event.data_type is DataType.OPEN_INTEREST


def test_a_liquidation_insert_is_a_liquidation_keyed_by_order_id() -> None:
    proto = protocol(("XBTUSD",), (DataType.LIQUIDATION,))
    assert proto.subscribe_frames() == ['{"op":"subscribe","args":["liquidation:XBTUSD"]}']
    assert proto.on_frame(LIQUIDATION_INSERT, 3).events == [
        MarketEvent(
            instrument("XBTUSD"),
            DataType.LIQUIDATION,
            3,
            None,
            Liquidation(Side.BUY, Decimal("6833.5"), Decimal(2020)),
            "9513c849-ca0d-4e11-8190-9d221972288c",
        )
    ]
    update = LIQUIDATION_INSERT.replace('"insert"', '"update"')
    assert proto.on_frame(update, 4) == EMPTY
