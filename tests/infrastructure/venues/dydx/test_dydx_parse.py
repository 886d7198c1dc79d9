"""dYdX parsers on the indexer WebSocket page's examples (``support.dydx_frames``).

Page: https://docs.dydx.exchange/api_integration-indexer/indexer_websocket; the
candle frame follows the indexer's ``CandleMessageContents`` with the values of
the page's trades example (see ``support.dydx_frames``).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.dydx_frames import (
    BOOK_ASKS,
    BOOK_BIDS,
    BOOK_SNAPSHOT,
    BOOK_UPDATE,
    BTC,
    CANDLE_UPDATE,
    ETH,
    MARKETS_SUBSCRIBED,
    MARKETS_UPDATE,
    TRADES_UPDATE,
    decimals,
)

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    OpenInterest,
    Side,
    Trade,
)
from relay.infrastructure.venues.dydx import parse

INSTRUMENT = Instrument("dydx", BTC, "BTC/USD:PERP")
MARKET_TYPES = frozenset({DataType.FUNDING_RATE, DataType.OPEN_INTEREST})


def test_snapshot_and_update_levels_read_the_documented_book_shapes() -> None:
    contents = json.loads(BOOK_SNAPSHOT)["contents"]
    assert parse.snapshot_levels("bids", contents["bids"]) == decimals(BOOK_BIDS)
    assert parse.snapshot_levels("asks", contents["asks"]) == decimals(BOOK_ASKS)
    update = json.loads(BOOK_UPDATE)["contents"]
    assert parse.update_levels("bids", update["bids"]) == (
        (Decimal("27773"), Decimal("1.986168516")),
    )
    assert parse.update_levels("asks", update.get("asks")) == ()


@pytest.mark.parametrize(
    "raw",
    [[{"price": "0", "size": "1"}], [{"price": "1", "size": "-1"}], [["1", "2"]], {"price": "1"}],
)
def test_malformed_snapshot_levels_are_refused(raw: object) -> None:
    with pytest.raises(InvalidValueError):
        parse.snapshot_levels("bids", raw)


def test_trades_of_the_channel_data_example_keep_their_ids_sides_and_digits() -> None:
    trades = json.loads(TRADES_UPDATE)["contents"]["trades"]
    events = [parse.trade_event(INSTRUMENT, trade, 7) for trade in trades]
    assert [e.payload for e in events] == [
        Trade(
            "8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7",
            Decimal("27839"),
            Decimal("0.000100431"),
            Side.BUY,
        ),
        Trade(
            "38e64479-af09-5417-a795-195f83879156",
            Decimal("27839"),
            Decimal("0.000000004"),
            Side.BUY,
        ),
        Trade(
            "d310c32c-f066-5ba8-a97d-10a29d9a6c84",
            Decimal("27837"),
            Decimal("0.000000005"),
            Side.SELL,
        ),
        Trade(
            "dd1088b5-5cab-518f-a59c-4d5f735ab861",
            Decimal("27837"),
            Decimal("0.000118502"),
            Side.SELL,
        ),
    ]
    assert {e.exchange_timestamp_ms for e in events} == {1_680_568_159_353}
    assert [e.dedup_key for e in events] == [e.payload.trade_id for e in events]  # type: ignore[union-attr]
    assert str(events[1].payload.quantity) == "4E-9"  # type: ignore[union-attr]


def test_a_trade_without_an_id_or_with_another_side_word_is_refused() -> None:
    trade = json.loads(TRADES_UPDATE)["contents"]["trades"][0]
    with pytest.raises(KeyError):
        parse.trade_event(INSTRUMENT, {k: v for k, v in trade.items() if k != "id"}, 7)
    with pytest.raises(InvalidValueError):
        parse.trade_event(INSTRUMENT, {**trade, "side": "buy"}, 7)


def test_candle_contents_become_an_open_one_minute_candle() -> None:
    event = parse.candle_event(INSTRUMENT, json.loads(CANDLE_UPDATE)["contents"], 7)
    assert event.payload == Candle(
        interval="1MIN",
        open_time_ms=1_680_568_140_000,
        close_time_ms=1_680_568_199_999,
        open=Decimal("27839"),
        high=Decimal("27839"),
        low=Decimal("27837"),
        close=Decimal("27837"),
        volume=Decimal("0.000218942"),
        is_closed=False,
        quote_volume=Decimal("6.094889324"),
        trade_count=4,
    )
    assert event.dedup_key == "2023-04-04T00:29:00.000Z:4:0.000218942:27837"
    assert event.exchange_timestamp_ms == 1_680_568_140_000


def test_a_candle_of_an_unknown_resolution_is_refused() -> None:
    contents = {**json.loads(CANDLE_UPDATE)["contents"], "resolution": "3MINS"}
    with pytest.raises(ValueError, match="unknown resolution"):
        parse.candle_event(INSTRUMENT, contents, 7)


@pytest.mark.parametrize(
    ("interval", "word"),
    [
        ("1m", "1MIN"),
        ("5m", "5MINS"),
        ("15m", "15MINS"),
        ("30m", "30MINS"),
        ("1h", "1HOUR"),
        ("4h", "4HOURS"),
        ("1d", "1DAY"),
    ],
)
def test_configured_intervals_map_to_the_indexer_resolutions(interval: str, word: str) -> None:
    assert parse.resolution(interval) == word


@pytest.mark.parametrize("interval", ["3m", "2h", "4HOURS"])
def test_an_interval_the_indexer_lacks_is_refused_with_the_list(interval: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        parse.resolution(interval)
    assert str(info.value) == (
        f"candle_interval={interval!r}: dYdX offers 1m, 5m, 15m, 30m, 1h, 4h, 1d"
    )


def test_markets_answer_gives_funding_and_open_interest_of_each_market() -> None:
    markets = json.loads(MARKETS_SUBSCRIBED)["contents"]["markets"]
    btc = parse.market_events(INSTRUMENT, markets[BTC], MARKET_TYPES, 7)
    assert [e.payload for e in btc] == [
        FundingRate(Decimal("0")),
        OpenInterest(Decimal("1891.473716288")),
    ]
    assert {e.exchange_timestamp_ms for e in btc} == {None}
    digest = parse.digest(markets[BTC])
    assert [e.dedup_key for e in btc] == [f"0:{digest}", f"1891.473716288:{digest}"]
    eth = Instrument("dydx", ETH, "ETH/USD:PERP")
    only_oi = parse.market_events(eth, markets[ETH], frozenset({DataType.OPEN_INTEREST}), 7)
    assert [e.payload for e in only_oi] == [OpenInterest(Decimal("44027.853711"))]


def test_markets_update_gives_the_next_funding_rate_and_no_open_interest_when_absent() -> None:
    trading = json.loads(MARKETS_UPDATE)["contents"]["trading"]
    assert [e.payload for e in parse.market_events(INSTRUMENT, trading[BTC], MARKET_TYPES, 7)] == [
        FundingRate(Decimal("0.00006821875"))
    ]
    eth = parse.market_events(INSTRUMENT, trading[ETH], MARKET_TYPES, 7)
    assert [e.payload for e in eth] == [FundingRate(Decimal("0.00007478125"))]
    assert parse.market_events(INSTRUMENT, {"volume24H": "1"}, MARKET_TYPES, 7) == []
