"""Kraken Futures ``ticker`` feed: ticker, funding (perpetuals) and open interest, on the
documented example message (Kraken's former futures API page, quoted in ccxt)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.kraken_futures_frames import instrument, protocol

from relay.application.errors import FrameError
from relay.domain.model import DataType, FundingRate, MarketEvent, OpenInterest, Ticker
from relay.infrastructure.venues.kraken_futures.parse import TICKER_EXAMPLE

XBT = "PI_XBTUSD"
TICKER_TYPES = (DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST)
T = 1_700_000_000_000


def with_fields(**fields: object) -> str:
    message = json.loads(TICKER_EXAMPLE)
    message.update(fields)
    for key in [k for k, v in fields.items() if v is None]:
        del message[key]
    return json.dumps(message)


def test_the_documented_ticker_gives_ticker_relative_funding_and_open_interest() -> None:
    proto = protocol([XBT], TICKER_TYPES)
    assert proto.subscribe_frames() == [
        '{"event":"subscribe","feed":"ticker","product_ids":["PI_XBTUSD"]}'
    ]
    events = proto.on_frame(TICKER_EXAMPLE, T).events
    assert events == [
        MarketEvent(
            instrument(XBT),
            DataType.TICKER,
            T,
            1612270825253,
            Ticker(Decimal("34832.5"), Decimal("42864"), Decimal("34847.5"), Decimal("2300")),
            "1612270825253:34832.5:42864:34847.5:2300",
        ),
        MarketEvent(
            instrument(XBT),
            DataType.FUNDING_RATE,
            T,
            1612270825253,
            FundingRate(
                rate=Decimal("0.000135046879166667"),
                mark_price=Decimal("34844.25"),
                index_price=Decimal("34803.45"),
                next_funding_time_ms=1612281600000,
            ),
            "1612270825253:0.000135046879166667",
        ),
        MarketEvent(
            instrument(XBT),
            DataType.OPEN_INTEREST,
            T,
            1612270825253,
            OpenInterest(Decimal("107706940")),
            "1612270825253:107706940",
        ),
    ]


def test_open_interest_is_published_only_when_it_changes() -> None:
    proto = protocol([XBT], (DataType.OPEN_INTEREST,))
    first = proto.on_frame(TICKER_EXAMPLE, T).events
    same = proto.on_frame(with_fields(time=1612270826253), T + 1).events
    changed = proto.on_frame(with_fields(time=1612270827253, openInterest=107706941), T + 2).events
    assert [e.payload for e in first + same + changed] == [
        OpenInterest(Decimal("107706940")),
        OpenInterest(Decimal("107706941")),
    ]


def test_a_dated_future_has_no_funding_and_zero_funding_left_out_is_zero() -> None:
    proto = protocol([XBT], (DataType.FUNDING_RATE,))
    assert proto.on_frame(with_fields(tag="month"), T).events == []
    events = proto.on_frame(with_fields(relative_funding_rate=None), T).events
    assert [e.payload.rate for e in events if isinstance(e.payload, FundingRate)] == [Decimal(0)]


def test_only_the_data_types_subscribed_are_published() -> None:
    events = protocol([XBT], (DataType.TICKER,)).on_frame(TICKER_EXAMPLE, T).events
    assert [e.data_type for e in events] == [DataType.TICKER]


@pytest.mark.parametrize(
    ("frame", "reason", "detail"),
    [
        (with_fields(product_id="PI_ETHUSD"), "unsubscribed", "PI_ETHUSD ticker"),
        (with_fields(bid_size=None), "missing_field", "ticker: 'bid_size'"),
        (with_fields(markPrice=0), "invalid_value", None),
        (with_fields(time=-1), "invalid_value", None),
    ],
)
def test_bad_ticker_messages_are_refused(frame: str, reason: str, detail: str | None) -> None:
    with pytest.raises(FrameError) as caught:
        protocol([XBT], TICKER_TYPES).on_frame(frame, T)
    assert caught.value.reason == reason
    if detail is not None:
        assert caught.value.detail == detail
