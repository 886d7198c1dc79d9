"""Bitstamp's readers on recorded frames (``bitstamp.jsonl``) and the documented shapes
(https://www.bitstamp.net/websocket/v2/, https://www.bitstamp.net/api/)."""

from __future__ import annotations

import json
from decimal import Decimal

import orjson
import pytest
from support.bitstamp_reference import diffs, snapshot

from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, Side, Trade
from relay.infrastructure.venues.bitstamp import parse
from relay.infrastructure.venues.bitstamp.listing import LISTING, trading_pairs

ETHUSD = Instrument("bitstamp", "ethusd", "ETH/USD")

TRADE = (
    '{"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,"amount_str":"0.07920000",'
    '"price":3805.44,"price_str":"3805.44","type":0,"microtimestamp":"1641343699596000",'
    '"buy_order_id":1443875737346049,"sell_order_id":1443875731320832},'
    '"channel":"live_trades_ethusd","event":"trade"}'
)
"""The first recorded trade of ``bitstamp.jsonl``."""

SELL_TRADE = (
    '{"data":{"id":216000484,"timestamp":"1641343709","amount":0.931,"amount_str":"0.93100000",'
    '"price":3802.93,"price_str":"3802.93","type":1,"microtimestamp":"1641343709599000",'
    '"buy_order_id":1443875774971904,"sell_order_id":1443875778322433},'
    '"channel":"live_trades_ethusd","event":"trade"}'
)
"""A recorded taker sell (``type`` 1)."""

DIFF = (
    '{"data":{"timestamp":"1641343691","microtimestamp":"1641343691406478",'
    '"bids":[["3800.71","1.76200000"],["3800.07","10.00000000"],["3799.64","0.00000000"],'
    '["3797.93","2.73248242"]],"asks":[]},"channel":"diff_order_book_ethusd","event":"data"}'
)
"""The first recorded ethusd diff."""


def test_recorded_trades_keep_the_venue_digits_and_the_taker_side() -> None:
    buy = parse.trade(json.loads(TRADE)["data"], ETHUSD, 5)
    sell = parse.trade(json.loads(SELL_TRADE)["data"], ETHUSD, 6)
    assert (buy.data_type, buy.received_at_ms, buy.exchange_timestamp_ms, buy.dedup_key) == (
        DataType.TRADE,
        5,
        1641343699596,
        "216000477",
    )
    assert buy.payload == Trade("216000477", Decimal("3805.44"), Decimal("0.07920000"), Side.BUY)
    assert isinstance(buy.payload, Trade) and str(buy.payload.quantity) == "0.07920000"
    assert sell.payload == Trade("216000484", Decimal("3802.93"), Decimal("0.93100000"), Side.SELL)
    assert sell.msg_id == "bitstamp:ethusd:trade:216000484"


@pytest.mark.parametrize("kind", [2, -1, "0", True, 0.0, None])
def test_a_trade_type_other_than_0_or_1_is_an_invalid_value(kind: object) -> None:
    data = json.loads(TRADE)["data"]
    data["type"] = kind
    with pytest.raises(InvalidValueError, match="type"):
        parse.trade(data, ETHUSD, 1)


def test_a_recorded_diff_is_its_microtimestamp_and_levels() -> None:
    diff = parse.book_diff(json.loads(DIFF)["data"], 7)
    assert diff.microtimestamp == 1641343691406478
    assert diff.received_at_ms == 7
    assert diff.asks == ()
    assert diff.bids == (
        (Decimal("3800.71"), Decimal("1.76200000")),
        (Decimal("3800.07"), Decimal("10.00000000")),
        (Decimal("3799.64"), Decimal("0E-8")),
        (Decimal("3797.93"), Decimal("2.73248242")),
    )


def test_every_recorded_diff_and_order_book_parses() -> None:
    count = 0
    for pair in ("ethusd", "xrpeur", "batbtc", "sgbeur"):
        body = snapshot(pair)
        book = parse.book_snapshot(json.dumps(body).encode())
        assert book.microtimestamp == int(body["microtimestamp"])
        assert (len(book.bids), len(book.asks)) == (len(body["bids"]), len(body["asks"]))
        for data in diffs(pair):
            assert parse.book_diff(data, 0).microtimestamp == int(data["microtimestamp"])
            count += 1
    assert count == 85 + 70 + 136


def test_the_recorded_ethusd_order_book_is_2023_bids_and_1971_asks_best_first() -> None:
    book = parse.book_snapshot(json.dumps(snapshot("ethusd")).encode())
    assert book.microtimestamp == 1641343695681418
    assert (len(book.bids), len(book.asks)) == (2023, 1971)
    assert book.bids[0] == (Decimal("3802.90"), Decimal("0.60000000"))


@pytest.mark.parametrize(
    "raw", ["", "-1", "1.5", "1e6", "\u0661", "9" * 20, str(2**63), 1641343691406478, None]
)
def test_microtimestamps_are_digit_strings_within_int64(raw: object) -> None:
    with pytest.raises(InvalidValueError, match="microtimestamp"):
        parse.micros("microtimestamp", raw)


def test_a_snapshot_without_microtimestamp_or_not_an_object_is_refused() -> None:
    with pytest.raises(KeyError):
        parse.book_snapshot(b'{"timestamp":"1641343695","bids":[],"asks":[]}')
    with pytest.raises(InvalidValueError):
        parse.book_snapshot(b"[]")
    with pytest.raises(orjson.JSONDecodeError):
        parse.book_snapshot(b"{")


def test_the_listing_is_the_enabled_pairs_by_url_symbol() -> None:
    body = [
        {
            "name": "BTC/USD",
            "url_symbol": "btcusd",
            "base_decimals": 8,
            "counter_decimals": 0,
            "minimum_order": "10 USD",
            "trading": "Enabled",
            "description": "Bitcoin / U.S. dollar",
        },
        {"name": "SGB/EUR", "url_symbol": "sgbeur", "trading": "Disabled"},
    ]
    listed = trading_pairs(LISTING, json.dumps(body).encode())
    assert [(i.instrument, i.canonical_symbol, i.kind) for i in listed] == [
        ("btcusd", "BTC/USD", "spot")
    ]
    with pytest.raises(ValueError, match="bad instrument entry"):
        trading_pairs(LISTING, b'[{"trading":"Enabled"}]')
    with pytest.raises(ValueError, match="no instrument list"):
        trading_pairs(LISTING, b'{"name":"BTC/USD"}')
