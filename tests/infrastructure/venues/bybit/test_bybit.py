"""Bybit v5 adapters on Bybit's documented example messages.

No recorded Bybit session exists in shared/captures: the frames here are the
documented examples of https://bybit-exchange.github.io/docs/v5/ (each test
names its page). Where a test needs a frame the docs do not show (a snapshot
the documented delta can continue, a forced gap), it is the documented frame
with the fields named in the test changed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.ticker_frames import BYBIT_TICKER

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, Keepalive, VenueProtocol
from relay.bootstrap import load
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.bybit.listing import parse_instruments
from relay.infrastructure.venues.bybit.protocol import LINEAR, SPOT, book_depth
from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest, venue_spec
from relay.sim.venues.bybit import BybitSimulatedVenue

ORDERBOOK_PAGE = "https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook"
CONNECT_PAGE = "https://bybit-exchange.github.io/docs/v5/ws/connect"

LINEAR_BTC = Instrument("bybit-linear", "BTCUSDT", "BTC/USDT:PERP")
BOOK_TOPIC = "orderbook.50.BTCUSDT"


def protocol(
    venue: str,
    symbols: dict[str, str],
    data_types: tuple[DataType, ...],
    depth: int = 0,
    candle_interval: str = "1m",
) -> VenueProtocol:
    subs = tuple(
        SubscriptionConfig(i, c, data_types, depth, candle_interval) for i, c in symbols.items()
    )
    return venue_spec(venue).protocol_factory(VenueConfig(id=venue, subscriptions=subs))


def linear_book() -> VenueProtocol:
    return protocol("bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, (DataType.L2_ORDERBOOK,))


def frame(message: dict[str, Any]) -> str:
    return json.dumps(message)


def documented_snapshot() -> dict[str, Any]:
    """The orderbook page's snapshot example, with only the levels it shows (it elides others)."""
    return {
        "topic": "orderbook.50.BTCUSDT",
        "type": "snapshot",
        "ts": 1672304484978,
        "data": {
            "s": "BTCUSDT",
            "b": [["16493.50", "0.006"], ["16493.00", "0.100"]],
            "a": [["16611.00", "0.029"], ["16612.00", "0.213"]],
            "u": 18521288,
            "seq": 7961638724,
        },
        "cts": 1672304484976,
    }


def documented_delta() -> dict[str, Any]:
    """The orderbook page's delta example."""
    return {
        "topic": "orderbook.50.BTCUSDT",
        "type": "delta",
        "ts": 1687940967466,
        "data": {
            "s": "BTCUSDT",
            "b": [
                ["30247.20", "30.028"],
                ["30245.40", "0.224"],
                ["30242.10", "1.593"],
                ["30240.30", "1.305"],
                ["30240.00", "0"],
            ],
            "a": [
                ["30248.70", "0"],
                ["30249.30", "0.892"],
                ["30249.50", "1.778"],
                ["30249.60", "0"],
                ["30251.90", "2.947"],
                ["30252.20", "0.659"],
                ["30252.50", "4.591"],
            ],
            "u": 177400507,
            "seq": 66544703342,
        },
        "cts": 1687940967464,
    }


def snapshot_before_delta() -> dict[str, Any]:
    """The documented snapshot's shape holding levels the documented delta updates, at u - 1."""
    return {
        "topic": "orderbook.50.BTCUSDT",
        "type": "snapshot",
        "ts": 1687940967400,
        "data": {
            "s": "BTCUSDT",
            "b": [["30247.00", "1.000"], ["30240.00", "2.000"]],
            "a": [["30248.70", "1.500"], ["30249.60", "0.700"], ["30260.00", "3.000"]],
            "u": 177400506,
            "seq": 66544703300,
        },
    }


def delta_with(u: int, seq: int, bids: list[list[str]], asks: list[list[str]]) -> dict[str, Any]:
    message = documented_delta()
    message["data"].update(u=u, seq=seq, b=bids, a=asks)
    return message


def synced_linear_book() -> VenueProtocol:
    proto = linear_book()
    proto.on_frame(frame(snapshot_before_delta()), 1)
    assert [e.dedup_key for e in proto.on_frame(frame(documented_delta()), 2).events] == [
        "177400507:66544703342"
    ]
    return proto


D = Decimal


def test_orderbook_snapshot_is_published_as_the_whole_book() -> None:
    """Documented example: https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook"""
    outcome = linear_book().on_frame(frame(documented_snapshot()), 1700000000000)
    assert outcome.events == [
        MarketEvent(
            LINEAR_BTC,
            DataType.L2_ORDERBOOK,
            1700000000000,
            1672304484978,
            L2Update(
                ((D("16493.50"), D("0.006")), (D("16493.00"), D("0.100"))),
                ((D("16611.00"), D("0.029")), (D("16612.00"), D("0.213"))),
                True,
                18521288,
                18521288,
            ),
            "snapshot:18521288:7961638724",
        )
    ]
    assert outcome.events[0].msg_id == (
        "bybit-linear:BTCUSDT:l2_orderbook:snapshot:18521288:7961638724"
    )
    assert outcome.replies == [] and outcome.resyncs == []


def test_orderbook_delta_continuing_u_is_published_as_its_changed_levels() -> None:
    """Documented delta example: https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook"""
    proto = linear_book()
    proto.on_frame(frame(snapshot_before_delta()), 1)
    [event] = proto.on_frame(frame(documented_delta()), 2).events
    assert event == MarketEvent(
        LINEAR_BTC,
        DataType.L2_ORDERBOOK,
        2,
        1687940967466,
        L2Update(
            (
                (D("30247.20"), D("30.028")),
                (D("30245.40"), D("0.224")),
                (D("30242.10"), D("1.593")),
                (D("30240.30"), D("1.305")),
                (D("30240.00"), D("0")),
            ),
            (
                (D("30248.70"), D("0")),
                (D("30249.30"), D("0.892")),
                (D("30249.50"), D("1.778")),
                (D("30249.60"), D("0")),
                (D("30251.90"), D("2.947")),
                (D("30252.20"), D("0.659")),
                (D("30252.50"), D("4.591")),
            ),
            False,
            177400507,
            177400507,
        ),
        "177400507:66544703342",
    )
    assert str(event.payload.bids[0][0]) == "30247.20"  # type: ignore[union-attr]


def test_gap_in_u_resyncs_that_one_book_and_the_fresh_snapshot_restores_publishing() -> None:
    """Documented delta example (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook)
    with u moved past previous u + 1."""
    proto = protocol(
        "bybit-linear",
        {"BTCUSDT": "BTC/USDT:PERP", "ETHUSDT": "ETH/USDT:PERP"},
        (DataType.L2_ORDERBOOK,),
    )
    proto.on_frame(frame(snapshot_before_delta()), 1)
    eth_snapshot = snapshot_before_delta()
    eth_snapshot["topic"] = "orderbook.50.ETHUSDT"
    eth_snapshot["data"].update(s="ETHUSDT", b=[["1800.00", "1"]], a=[["1801.00", "1"]], u=40)
    proto.on_frame(frame(eth_snapshot), 1)

    gap = proto.on_frame(frame(delta_with(177400508, 66544703350, [["30247.00", "2"]], [])), 2)
    assert gap == FrameOutcome(
        [],
        [],
        [
            '{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}',
            '{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}',
        ],
        [BookResync(LINEAR_BTC, "gap")],
    )
    # Nothing more for that book until its snapshot, even a delta that would have continued.
    assert proto.on_frame(frame(delta_with(177400509, 66544703360, [], [])), 3) == FrameOutcome(
        [], [], []
    )
    # The other book of the connection goes on.
    eth_delta = delta_with(41, 900, [["1800.00", "2"]], [])
    eth_delta["topic"] = "orderbook.50.ETHUSDT"
    assert [e.dedup_key for e in proto.on_frame(frame(eth_delta), 3).events] == ["41:900"]

    fresh = snapshot_before_delta()
    fresh["data"].update(
        b=[["30250.00", "4.000"]], a=[["30251.00", "5.000"]], u=177400520, seq=66544703400
    )
    restored = proto.on_frame(frame(fresh), 4)
    assert restored.events == [
        MarketEvent(
            LINEAR_BTC,
            DataType.L2_ORDERBOOK,
            4,
            1687940967400,
            L2Update(
                ((D("30250.00"), D("4.000")),),
                ((D("30251.00"), D("5.000")),),
                True,
                177400520,
                177400520,
            ),
            "snapshot:177400520:66544703400",
        )
    ]
    following = proto.on_frame(
        frame(delta_with(177400521, 66544703401, [["30250.00", "0"]], [])), 5
    )
    assert [(e.payload.is_snapshot, e.dedup_key) for e in following.events] == [  # type: ignore[union-attr]
        (False, "177400521:66544703401")
    ]
    assert following.resyncs == [] and following.replies == []


def test_snapshot_with_u_1_after_a_venue_restart_resets_the_book() -> None:
    """The orderbook page: 'Occasionally, you'll receive "u"=1, which is a snapshot data due to
    the restart of the service' (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook)."""
    proto = synced_linear_book()
    restart = snapshot_before_delta()
    restart["data"].update(
        b=[["30100.00", "1.500"]], a=[["30101.00", "0.500"]], u=1, seq=70000000000
    )
    outcome = proto.on_frame(frame(restart), 3)
    assert outcome.events == [
        MarketEvent(
            LINEAR_BTC,
            DataType.L2_ORDERBOOK,
            3,
            1687940967400,
            L2Update(((D("30100.00"), D("1.500")),), ((D("30101.00"), D("0.500")),), True, 1, 1),
            "snapshot:1:70000000000",
        )
    ]
    assert outcome.resyncs == []
    after = proto.on_frame(frame(delta_with(2, 70000000001, [["30100.00", "1.000"]], [])), 4)
    assert [e.payload for e in after.events] == [
        L2Update(((D("30100.00"), D("1.000")),), (), False, 2, 2)
    ]


def test_delta_not_newer_than_the_book_is_a_stale_update_and_changes_nothing() -> None:
    proto = synced_linear_book()
    with pytest.raises(FrameError) as info:
        proto.on_frame(frame(documented_delta()), 3)
    assert info.value.reason == "stale_update"
    after = proto.on_frame(frame(delta_with(177400508, 66544703350, [], [])), 4)
    assert [e.dedup_key for e in after.events] == ["177400508:66544703350"]


def test_delta_that_crosses_the_book_resyncs_it_as_crossed_book() -> None:
    proto = synced_linear_book()
    crossing = delta_with(177400508, 66544703350, [["31000.00", "1"]], [])
    outcome = proto.on_frame(frame(crossing), 3)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(LINEAR_BTC, "crossed_book")]
    assert outcome.replies == [
        '{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}',
        '{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}',
    ]


def test_delta_before_the_first_snapshot_is_dropped() -> None:
    assert linear_book().on_frame(frame(documented_delta()), 1) == FrameOutcome([], [], [])


def test_public_trade_is_a_trade_with_the_taker_side() -> None:
    """Documented example: https://bybit-exchange.github.io/docs/v5/websocket/public/trade"""
    message = {
        "topic": "publicTrade.BTCUSDT",
        "type": "snapshot",
        "ts": 1672304486868,
        "data": [
            {
                "T": 1672304486865,
                "s": "BTCUSDT",
                "S": "Buy",
                "v": "0.001",
                "p": "16578.50",
                "L": "PlusTick",
                "i": "20f43950-d8dd-5b31-9112-a178eb6023af",
                "BT": False,
            }
        ],
    }
    proto = protocol("bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, (DataType.TRADE,))
    [event] = proto.on_frame(frame(message), 7).events
    assert event == MarketEvent(
        LINEAR_BTC,
        DataType.TRADE,
        7,
        1672304486865,
        Trade("20f43950-d8dd-5b31-9112-a178eb6023af", D("16578.50"), D("0.001"), Side.BUY),
        "20f43950-d8dd-5b31-9112-a178eb6023af",
    )
    assert str(event.payload.price) == "16578.50"  # type: ignore[union-attr]


LINEAR_TICKER = BYBIT_TICKER
TICKER_TYPES = (DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST)


def test_linear_ticker_snapshot_gives_ticker_funding_rate_and_open_interest() -> None:
    """Documented example: https://bybit-exchange.github.io/docs/v5/websocket/public/ticker"""
    proto = protocol("bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, TICKER_TYPES)
    events = proto.on_frame(frame(LINEAR_TICKER), 9).events
    assert events == [
        MarketEvent(
            LINEAR_BTC,
            DataType.TICKER,
            9,
            1673272861686,
            Ticker(D("17215.50"), D("84.489"), D("17216.00"), D("83.020")),
            "1673272861686",
        ),
        MarketEvent(
            LINEAR_BTC,
            DataType.FUNDING_RATE,
            9,
            1673272861686,
            FundingRate(D("-0.000212"), D("17217.33"), D("17227.36"), 1673280000000),
            "1673272861686",
        ),
        MarketEvent(
            LINEAR_BTC,
            DataType.OPEN_INTEREST,
            9,
            1673272861686,
            OpenInterest(D("68744.761")),
            "1673272861686",
        ),
    ]


def test_linear_ticker_delta_is_merged_onto_the_last_snapshot() -> None:
    """The ticker page: 'If a response param is not found in the message, then its value has not
    changed' (https://bybit-exchange.github.io/docs/v5/websocket/public/ticker). The delta is the
    documented snapshot cut to a changed best bid and mark price."""
    proto = protocol("bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, TICKER_TYPES)
    proto.on_frame(frame(LINEAR_TICKER), 9)
    delta = {
        "topic": "tickers.BTCUSDT",
        "type": "delta",
        "data": {
            "symbol": "BTCUSDT",
            "bid1Price": "17215.00",
            "bid1Size": "12.5",
            "markPrice": "17218.01",
        },
        "cs": 24987956099,
        "ts": 1673272861786,
    }
    assert proto.on_frame(frame(delta), 10).events == [
        MarketEvent(
            LINEAR_BTC,
            DataType.TICKER,
            10,
            1673272861786,
            Ticker(D("17215.00"), D("12.5"), D("17216.00"), D("83.020")),
            "1673272861786",
        ),
        MarketEvent(
            LINEAR_BTC,
            DataType.FUNDING_RATE,
            10,
            1673272861786,
            FundingRate(D("-0.000212"), D("17218.01"), D("17227.36"), 1673280000000),
            "1673272861786",
        ),
    ]
    oi_only = {
        "topic": "tickers.BTCUSDT",
        "type": "delta",
        "data": {"symbol": "BTCUSDT", "openInterest": "68745.000"},
        "cs": 24987956100,
        "ts": 1673272861886,
    }
    assert [e.payload for e in proto.on_frame(frame(oi_only), 11).events] == [
        OpenInterest(D("68745.000"))
    ]


def test_ticker_delta_before_any_snapshot_gives_nothing() -> None:
    proto = protocol("bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, TICKER_TYPES)
    delta = dict(LINEAR_TICKER, type="delta")
    assert proto.on_frame(frame(delta), 1).events == []


def test_dated_future_ticker_with_an_empty_funding_rate_gives_no_funding_event() -> None:
    """Inverse futures carry ``"fundingRate": ""``; the documented linear ticker with that field."""
    proto = protocol("bybit-inverse", {"BTCUSDH23": "BTC/USD:20230331"}, TICKER_TYPES)
    message = json.loads(json.dumps(LINEAR_TICKER))
    message["topic"] = "tickers.BTCUSDH23"
    message["data"].update(symbol="BTCUSDH23", fundingRate="", nextFundingTime="0")
    types = [e.data_type for e in proto.on_frame(frame(message), 1).events]
    assert types == [DataType.TICKER, DataType.OPEN_INTEREST]


def test_spot_ticker_comes_from_the_level_1_orderbook() -> None:
    """Spot tickers carry no best bid/ask (https://bybit-exchange.github.io/docs/v5/websocket/public/ticker),
    so the level 1 book is used: the orderbook page's snapshot example on ``orderbook.1``."""
    proto = protocol("bybit-spot", {"BTCUSDT": "BTC/USDT"}, (DataType.TICKER,))
    assert proto.subscribe_frames() == ['{"op":"subscribe","args":["orderbook.1.BTCUSDT"]}']
    message = documented_snapshot()
    message["topic"] = "orderbook.1.BTCUSDT"
    message["data"].update(b=[["16493.50", "0.006"]], a=[["16611.00", "0.029"]])
    [event] = proto.on_frame(frame(message), 3).events
    assert event == MarketEvent(
        Instrument("bybit-spot", "BTCUSDT", "BTC/USDT"),
        DataType.TICKER,
        3,
        1672304484978,
        Ticker(D("16493.50"), D("0.006"), D("16611.00"), D("0.029"), 18521288),
        "18521288:7961638724",
    )


def test_spot_ticker_and_depth_1_book_share_one_topic() -> None:
    proto = protocol(
        "bybit-spot", {"BTCUSDT": "BTC/USDT"}, (DataType.TICKER, DataType.L2_ORDERBOOK), depth=1
    )
    assert proto.subscribe_frames() == ['{"op":"subscribe","args":["orderbook.1.BTCUSDT"]}']
    message = documented_snapshot()
    message["topic"] = "orderbook.1.BTCUSDT"
    assert [e.data_type for e in proto.on_frame(frame(message), 3).events] == [
        DataType.L2_ORDERBOOK,
        DataType.TICKER,
    ]


def test_kline_is_an_open_candle_with_the_configured_interval() -> None:
    """Documented example: https://bybit-exchange.github.io/docs/v5/websocket/public/kline"""
    message = {
        "topic": "kline.5.BTCUSDT",
        "data": [
            {
                "start": 1672324800000,
                "end": 1672325099999,
                "interval": "5",
                "open": "16649.5",
                "close": "16677",
                "high": "16677",
                "low": "16608",
                "volume": "2.081",
                "turnover": "34666.4005",
                "confirm": False,
                "timestamp": 1672324988882,
            }
        ],
        "ts": 1672324988882,
        "type": "snapshot",
    }
    proto = protocol(
        "bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, (DataType.CANDLE,), candle_interval="5m"
    )
    assert proto.subscribe_frames() == ['{"op":"subscribe","args":["kline.5.BTCUSDT"]}']
    [event] = proto.on_frame(frame(message), 4).events
    assert event == MarketEvent(
        LINEAR_BTC,
        DataType.CANDLE,
        4,
        1672324988882,
        Candle(
            "5m",
            1672324800000,
            1672325099999,
            D("16649.5"),
            D("16677"),
            D("16608"),
            D("16677"),
            D("2.081"),
            False,
            D("34666.4005"),
        ),
        "1672324800000:1672324988882:open",
    )


def test_all_liquidation_of_a_short_position_is_a_buy_liquidation() -> None:
    """Documented example: https://bybit-exchange.github.io/docs/v5/websocket/public/all-liquidation
    (``S`` is the position side: ``Sell`` = a short liquidated by a buy order)."""
    message = {
        "topic": "allLiquidation.ROSEUSDT",
        "type": "snapshot",
        "ts": 1739502303204,
        "data": [{"T": 1739502302929, "s": "ROSEUSDT", "S": "Sell", "v": "20000", "p": "0.04499"}],
    }
    proto = protocol("bybit-linear", {"ROSEUSDT": "ROSE/USDT:PERP"}, (DataType.LIQUIDATION,))
    [event] = proto.on_frame(frame(message), 5).events
    assert event == MarketEvent(
        Instrument("bybit-linear", "ROSEUSDT", "ROSE/USDT:PERP"),
        DataType.LIQUIDATION,
        5,
        1739502302929,
        Liquidation(Side.BUY, D("0.04499"), D("20000")),
        "1739502302929:BUY:20000:0.04499",
    )


def test_keepalive_is_an_op_ping_every_20_seconds() -> None:
    """https://bybit-exchange.github.io/docs/v5/ws/connect: 'send the ping heartbeat packet every
    20 seconds'."""
    assert linear_book().keepalive() == Keepalive(20.0, '{"op":"ping"}')


@pytest.mark.parametrize(
    "pong",
    [
        # Spot, linear/inverse and option pongs documented on the connect page.
        '{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a",'
        '"op":"ping"}',
        '{"success":true,"ret_msg":"pong","conn_id":"465772b1-7630-4fdc-a492-e003e6f0f260",'
        '"req_id":"","op":"ping"}',
        '{"args":["1672916271846"],"op":"pong"}',
        # Subscribe acks documented on the connect page (public spot, linear/inverse).
        '{"success":true,"ret_msg":"subscribe","conn_id":"2324d924-aa4d-45b0-a858-7b8be29ab52b",'
        '"req_id":"10001","op":"subscribe"}',
        '{"success":true,"ret_msg":"","conn_id":"3cd84cb1-4d06-4a05-930a-2efe5fc70f0f",'
        '"req_id":"","op":"subscribe"}',
    ],
)
def test_pongs_and_subscribe_acks_give_an_empty_outcome(pong: str) -> None:
    """Documented examples: https://bybit-exchange.github.io/docs/v5/ws/connect"""
    assert linear_book().on_frame(pong, 1) == FrameOutcome([], [], [])


def test_refused_subscribe_is_a_subscribe_error() -> None:
    """The documented ack shape (https://bybit-exchange.github.io/docs/v5/ws/connect) with
    ``success`` false."""
    refused = (
        '{"success":false,"ret_msg":"error:handler not found,topic:orderbook.7.BTCUSDT",'
        '"conn_id":"3cd84cb1","req_id":"","op":"subscribe"}'
    )
    with pytest.raises(FrameError) as info:
        linear_book().on_frame(refused, 1)
    assert info.value.reason == "subscribe_error"


def test_spot_subscribe_frames_carry_at_most_10_args() -> None:
    """Connect page, 'Public channel - Args limits': 'Spot can input up to 10 args for each
    subscription request'."""
    symbols = {f"C{i}USDT": f"C{i}/USDT" for i in range(6)}
    proto = protocol("bybit-spot", symbols, tuple(venue_spec("bybit-spot").data_types))
    frames = [json.loads(f) for f in proto.subscribe_frames()]
    assert [len(f["args"]) for f in frames] == [10, 10, 4]
    assert all(f["op"] == "subscribe" for f in frames)
    assert frames[0]["args"][:4] == [
        "publicTrade.C0USDT",
        "orderbook.1.C0USDT",
        "orderbook.50.C0USDT",
        "kline.1.C0USDT",
    ]
    assert [topic for f in frames for topic in f["args"]] == [
        topic
        for i in range(6)
        for topic in (
            f"publicTrade.C{i}USDT",
            f"orderbook.1.C{i}USDT",
            f"orderbook.50.C{i}USDT",
            f"kline.1.C{i}USDT",
        )
    ]


def test_linear_subscribes_every_topic_in_one_frame() -> None:
    proto = protocol(
        "bybit-linear",
        {"BTCUSDT": "BTC/USDT:PERP", "ETHUSDT": "ETH/USDT:PERP"},
        tuple(venue_spec("bybit-linear").data_types),
        depth=200,
    )
    assert proto.subscribe_frames() == [
        '{"op":"subscribe","args":["publicTrade.BTCUSDT","tickers.BTCUSDT",'
        '"orderbook.200.BTCUSDT","allLiquidation.BTCUSDT","kline.1.BTCUSDT",'
        '"publicTrade.ETHUSDT","tickers.ETHUSDT","orderbook.200.ETHUSDT",'
        '"allLiquidation.ETHUSDT","kline.1.ETHUSDT"]}'
    ]


@pytest.mark.parametrize("venue", ["bybit-spot", "bybit-linear", "bybit-inverse"])
def test_a_full_connection_of_30_character_symbols_stays_under_21000_args_characters(
    venue: str,
) -> None:
    """Connect page: 'you cannot have length of "args" array over 21,000 characters'."""
    spec = venue_spec(venue)
    count = spec.max_subscriptions_per_connection
    assert count == (109 if venue == "bybit-spot" else 87)
    symbols = {f"{i:04d}".ljust(30, "X"): f"S{i}/USDT" for i in range(count)}
    proto = protocol(venue, symbols, tuple(spec.data_types), depth=1000, candle_interval="12h")
    args = [topic for f in proto.subscribe_frames() for topic in json.loads(f)["args"]]
    assert len(json.dumps(args, separators=(",", ":"))) <= 21_000
    assert spec.subscribe_interval_s == 0.1


@pytest.mark.parametrize(
    ("requested", "subscribed"),
    [
        (0, 50),
        (1, 1),
        (2, 50),
        (50, 50),
        (51, 200),
        (200, 200),
        (201, 1000),
        (1000, 1000),
        (5000, 1000),
    ],
)
def test_depth_maps_to_the_nearest_offered_depth_at_or_above_it(
    requested: int, subscribed: int
) -> None:
    """Depths on https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook."""
    assert book_depth(SPOT, requested) == subscribed
    assert book_depth(LINEAR, requested) == subscribed


def test_unsupported_candle_interval_is_refused_when_the_protocol_is_built() -> None:
    with pytest.raises(InvalidValueError):
        protocol(
            "bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, (DataType.CANDLE,), candle_interval="2m"
        )


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json", "not_json"),
        ('["a"]', "unknown_event"),
        ('{"topic":"somethingNew.BTCUSDT","type":"snapshot","ts":1,"data":{}}', "unknown_event"),
        ('{"op":"auth","success":true}', "unknown_event"),
        (
            '{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT",'
            '"b":[],"a":[]}}',
            "missing_field",
        ),
        (
            '{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT",'
            '"b":[["1","-2"]],"a":[],"u":5,"seq":6}}',
            "invalid_value",
        ),
        (
            '{"topic":"orderbook.50.BTCUSDT","type":"update","ts":1,"data":{"s":"BTCUSDT",'
            '"b":[],"a":[],"u":5,"seq":6}}',
            "invalid_value",
        ),
        (
            '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT",'
            '"S":"Hold","v":"1","p":"1","i":"x"}]}',
            "invalid_value",
        ),
        (
            '{"topic":"orderbook.200.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT",'
            '"b":[],"a":[],"u":5,"seq":6}}',
            "unsubscribed",
        ),
        ('{"topic":"publicTrade.ETHUSDT","type":"snapshot","ts":1,"data":[]}', "unsubscribed"),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(message: str, reason: str) -> None:
    proto = protocol(
        "bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, (DataType.L2_ORDERBOOK, DataType.TRADE)
    )
    with pytest.raises(FrameError) as info:
        proto.on_frame(message, 1)
    assert info.value.reason == reason


def test_registered_venues_use_the_documented_public_endpoints() -> None:
    """https://bybit-exchange.github.io/docs/v5/ws/connect"""
    assert [
        venue_spec(v).default_ws_url for v in ("bybit-spot", "bybit-linear", "bybit-inverse")
    ] == [
        "wss://stream.bybit.com/v5/public/spot",
        "wss://stream.bybit.com/v5/public/linear",
        "wss://stream.bybit.com/v5/public/inverse",
    ]
    assert venue_spec("bybit-spot").data_types == frozenset(
        {DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE}
    )
    assert DataType.OPEN_INTEREST in venue_spec("bybit-inverse").data_types


LINEAR_INSTRUMENTS = {
    "retCode": 0,
    "retMsg": "OK",
    "result": {
        "category": "linear",
        "list": [
            {
                "symbol": "BTCUSDT",
                "contractType": "LinearPerpetual",
                "status": "Trading",
                "baseCoin": "BTC",
                "quoteCoin": "USDT",
                "launchTime": "1585526400000",
                "deliveryTime": "0",
                "deliveryFeeRate": "",
                "priceScale": "2",
                "leverageFilter": {
                    "minLeverage": "1",
                    "maxLeverage": "100.00",
                    "leverageStep": "0.01",
                },
                "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.10"},
                "lotSizeFilter": {
                    "maxOrderQty": "1190.000",
                    "minOrderQty": "0.001",
                    "qtyStep": "0.001",
                    "postOnlyMaxOrderQty": "1190.000",
                    "maxMktOrderQty": "500.000",
                    "minNotionalValue": "5",
                },
                "unifiedMarginTrade": True,
                "fundingInterval": 480,
                "settleCoin": "USDT",
                "copyTrading": "both",
                "upperFundingRate": "0.00375",
                "lowerFundingRate": "-0.00375",
                "isPreListing": False,
                "preListingInfo": None,
                "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
                "symbolType": "",
            },
        ],
        "nextPageCursor": "",
    },
    "retExtInfo": {},
    "time": 1735809771618,
}

SPOT_INSTRUMENTS = {
    "retCode": 0,
    "retMsg": "OK",
    "result": {
        "category": "spot",
        "list": [
            {
                "symbol": "BTCUSDT",
                "baseCoin": "BTC",
                "quoteCoin": "USDT",
                "innovation": "0",
                "status": "Trading",
                "marginTrading": "utaOnly",
                "stTag": "0",
                "lotSizeFilter": {
                    "basePrecision": "0.000001",
                    "quotePrecision": "0.0000001",
                    "minOrderQty": "0.000011",
                    "maxOrderQty": "83",
                    "minOrderAmt": "5",
                    "maxOrderAmt": "8000000",
                    "maxLimitOrderQty": "83",
                    "maxMarketOrderQty": "41.5",
                },
                "priceFilter": {"tickSize": "0.1"},
                "riskParameters": {"priceLimitRatioX": "0.005", "priceLimitRatioY": "0.01"},
                "symbolType": "",
            },
        ],
    },
    "retExtInfo": {},
    "time": 1760027412300,
}


def test_listing_parses_the_documented_linear_and_spot_responses() -> None:
    """Documented examples: https://bybit-exchange.github.io/docs/v5/market/instrument"""
    linear = venue_spec("bybit-linear").instrument_listing
    spot = venue_spec("bybit-spot").instrument_listing
    assert linear is not None and spot is not None
    assert linear.requests == (
        ListingRequest("/v5/market/instruments-info?category=linear&limit=1000"),
    )
    assert spot.requests == (ListingRequest("/v5/market/instruments-info?category=spot"),)
    assert linear.parse(linear.requests[0], json.dumps(LINEAR_INSTRUMENTS).encode()) == [
        ListedInstrument("BTCUSDT", "BTC/USDT:PERP", "perpetual")
    ]
    assert spot.parse(spot.requests[0], json.dumps(SPOT_INSTRUMENTS).encode()) == [
        ListedInstrument("BTCUSDT", "BTC/USDT", "spot")
    ]


def test_listing_names_inverse_perpetuals_and_dated_futures() -> None:
    """The documented linear entry with its category, contract type, coins and delivery time
    changed (https://bybit-exchange.github.io/docs/v5/market/instrument)."""
    answer = json.loads(json.dumps(LINEAR_INSTRUMENTS))
    answer["result"]["category"] = "inverse"
    perpetual = answer["result"]["list"][0]
    perpetual.update(symbol="BTCUSD", contractType="InversePerpetual", quoteCoin="USD")
    future = dict(
        perpetual, symbol="BTCUSDH26", contractType="InverseFutures", deliveryTime="1774598400000"
    )
    answer["result"]["list"].append(future)
    request = ListingRequest("/v5/market/instruments-info?category=inverse&limit=1000")
    assert parse_instruments(request, json.dumps(answer).encode()) == [
        ListedInstrument("BTCUSD", "BTC/USD:PERP", "perpetual"),
        ListedInstrument("BTCUSDH26", "BTC/USD:20260327", "future"),
    ]


def test_listing_error_answer_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="10001"):
        parse_instruments(
            ListingRequest("/v5/market/instruments-info?category=spot"),
            b'{"retCode":10001,"retMsg":"params error","result":{}}',
        )


def test_simulated_venue_answers_pings_and_subscribes() -> None:
    """Pong and ack shapes of https://bybit-exchange.github.io/docs/v5/ws/connect (linear)."""
    venue = BybitSimulatedVenue()
    assert venue.on_client_frame('{"op":"ping"}') == [
        '{"success":true,"ret_msg":"pong","conn_id":"simulated","req_id":"","op":"ping"}'
    ]
    assert venue.on_client_frame('{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}') == [
        '{"success":true,"ret_msg":"","conn_id":"simulated","req_id":"","op":"subscribe"}'
    ]
    assert venue.on_client_frame("not json") == []
    # The protocol takes the simulated pong and ack as it takes the venue's.
    for reply in [
        *venue.on_client_frame('{"op":"ping"}'),
        *venue.on_client_frame('{"op":"unsubscribe","args":["x"]}'),
    ]:
        assert linear_book().on_frame(reply, 1) == FrameOutcome([], [], [])


def test_simulated_venue_sends_the_book_passed_so_far_when_a_book_is_subscribed_again() -> None:
    venue = BybitSimulatedVenue()
    venue.on_client_frame('{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
    venue.on_frame_passed(frame(snapshot_before_delta()))
    venue.on_frame_passed(frame(documented_delta()))
    venue.on_client_frame('{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}')
    ack, snapshot = venue.on_client_frame('{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
    assert json.loads(ack)["op"] == "subscribe"
    assert json.loads(snapshot) == {
        "topic": "orderbook.50.BTCUSDT",
        "type": "snapshot",
        "ts": 1687940967466,
        "data": {
            "s": "BTCUSDT",
            "b": [
                ["30247.20", "30.028"],
                ["30247.00", "1.000"],
                ["30245.40", "0.224"],
                ["30242.10", "1.593"],
                ["30240.30", "1.305"],
            ],
            "a": [
                ["30249.30", "0.892"],
                ["30249.50", "1.778"],
                ["30251.90", "2.947"],
                ["30252.20", "0.659"],
                ["30252.50", "4.591"],
                ["30260.00", "3.000"],
            ],
            "u": 177400507,
            "seq": 66544703342,
        },
    }
    # A protocol that lost the book takes the simulated snapshot as a fresh one.
    proto = synced_linear_book()
    proto.on_frame(frame(delta_with(177400600, 66544703999, [], [])), 3)
    [event] = proto.on_frame(snapshot, 4).events
    assert event.payload == L2Update(
        (
            (D("30247.20"), D("30.028")),
            (D("30247.00"), D("1.000")),
            (D("30245.40"), D("0.224")),
            (D("30242.10"), D("1.593")),
            (D("30240.30"), D("1.305")),
        ),
        (
            (D("30249.30"), D("0.892")),
            (D("30249.50"), D("1.778")),
            (D("30251.90"), D("2.947")),
            (D("30252.20"), D("0.659")),
            (D("30252.50"), D("4.591")),
            (D("30260.00"), D("3.000")),
        ),
        True,
        177400507,
        177400507,
    )


def test_first_subscribe_of_a_book_gets_only_the_ack() -> None:
    venue = BybitSimulatedVenue()
    venue.on_frame_passed(frame(snapshot_before_delta()))
    replies = venue.on_client_frame('{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
    assert len(replies) == 1


@pytest.mark.parametrize("venue", ["bybit-spot", "bybit-linear", "bybit-inverse"])
def test_config_example_loads_and_builds_its_protocol(venue: str) -> None:
    path = Path(__file__).resolve().parents[4] / "config" / "examples" / f"{venue}.toml"
    [config] = load(path).venues
    assert config.id == venue
    proto = venue_spec(venue).protocol_factory(config)
    assert proto.subscribe_frames()
