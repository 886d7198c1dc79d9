"""Crypto.com trade, ticker, open interest, funding and candle events from the documented
samples (https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html, sections
``trade``, ``ticker``, ``funding``, ``candlestick``; ``support.cryptocom_frames``)."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from support.cryptocom_frames import BOOK, CANDLE, FUNDING, TICKER, TRADE, protocol

from relay.application.errors import FrameError
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    MarketEvent,
    OpenInterest,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.cryptocom import parse

d = Decimal
INSTRUMENT = Instrument("cryptocom", BOOK, "BTC/USD:PERP")


def test_documented_trade_is_the_takers_side_keyed_by_its_trade_id() -> None:
    assert protocol().on_frame(TRADE, 9).events == [
        MarketEvent(
            INSTRUMENT,
            DataType.TRADE,
            9,
            1613581138462,
            Trade("2030407068", d("51327.500000"), d("0.000100"), Side.SELL),
            "2030407068",
        )
    ]


def test_documented_ticker_gives_the_quote_and_the_open_interest_once_until_it_changes() -> None:
    proto = protocol()
    assert proto.on_frame(TICKER, 9).events == [
        MarketEvent(
            INSTRUMENT,
            DataType.TICKER,
            9,
            1613580710768,
            Ticker(d("51170.000000"), d("0.1000"), d("51180.000000"), d("0.2000")),
            "1613580710768:51170.000000:0.1000:51180.000000:0.2000",
        ),
        MarketEvent(
            INSTRUMENT,
            DataType.OPEN_INTEREST,
            9,
            1613580710768,
            OpenInterest(d("12345.12")),
            "1613580710768:12345.12",
        ),
    ]
    later = json.loads(TICKER)
    later["result"]["data"][0]["t"] += 100
    assert [e.data_type for e in proto.on_frame(json.dumps(later), 10).events] == [DataType.TICKER]
    later["result"]["data"][0].update(t=1613580710968, oi="12346")
    assert [e.payload for e in proto.on_frame(json.dumps(later), 11).events][1:] == [
        OpenInterest(d("12346"))
    ]


def test_a_ticker_side_sent_as_null_is_published_as_zero() -> None:
    """The page: ``b``/``bs`` "null if there aren't any bids" (``k``/``ks`` alike); a spot
    pair's ticker has no ``oi``, so no open interest."""
    message = json.loads(TICKER)
    entry = message["result"]["data"][0]
    entry.update(b=None, bs=None)
    del entry["oi"]
    events = protocol().on_frame(json.dumps(message), 9).events
    assert [e.payload for e in events] == [Ticker(d(0), d(0), d("51180.000000"), d("0.2000"))]


def test_documented_funding_rate_is_due_at_the_end_of_its_hour() -> None:
    assert protocol().on_frame(FUNDING, 9).events == [
        MarketEvent(
            INSTRUMENT,
            DataType.FUNDING_RATE,
            9,
            1613582880000,
            FundingRate(d("0.00144"), next_funding_time_ms=1613584800000),
            "1613582880000:0.00144",
        )
    ]


def test_documented_candle_is_published_with_the_relays_interval_word() -> None:
    """``1D`` is the relay's ``1d``: start 2021-02-02T00:00Z, last ms of that day."""
    assert protocol(candle_interval="1d").on_frame(CANDLE, 9).events == [
        MarketEvent(
            INSTRUMENT,
            DataType.CANDLE,
            9,
            1612224000000,
            Candle(
                "1d",
                1612224000000,
                1612310399999,
                d("51140.500000"),
                d("51699.000000"),
                d("49212.000000"),
                d("51313.500000"),
                d("867.9432"),
                False,
            ),
            "1612224000000:867.9432:51699.000000:49212.000000:51313.500000",
        )
    ]


def test_numbers_sent_as_json_numbers_keep_their_digits() -> None:
    """cryptofeed decodes the feed with ``parse_float=Decimal``: prices may be JSON numbers."""
    frame = TRADE.replace('"51327.500000"', "51327.500000").replace('"0.000100"', "0.000100")
    (event,) = protocol().on_frame(frame, 9).events
    assert isinstance(event.payload, Trade)
    assert (str(event.payload.price), str(event.payload.quantity)) == ("51327.500000", "0.000100")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([["1", "2"], "x"], "expected [price, size, orders]"),
        ([["0", "2", "1"]], "expected a price > 0"),
        ([["1", "-2", "1"]], "expected a quantity >= 0"),
        ({"bids": []}, "expected a list"),
    ],
)
def test_book_levels_refuse_malformed_levels(raw: object, message: str) -> None:
    with pytest.raises(InvalidValueError, match=re.escape(message)):
        parse.book_levels("bids", raw)


def test_a_candle_of_a_time_frame_the_relay_does_not_know_is_an_invalid_value() -> None:
    with pytest.raises(FrameError) as caught:
        protocol().on_frame(CANDLE.replace('"interval":"1D"', '"interval":"1M"'), 9)
    assert caught.value.reason == "invalid_value"
