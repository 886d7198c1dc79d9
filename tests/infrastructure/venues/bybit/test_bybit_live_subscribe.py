"""Bybit live subscribe / unsubscribe on an open connection, on the documented frames.

https://bybit-exchange.github.io/docs/v5/ws/connect ("How to Subscribe to Topics"):
``{"op": "subscribe", "args": ["orderbook.50.ETHUSDT"]}``; ``"op": "unsubscribe"``.
"""

from __future__ import annotations

import pytest
from test_bybit import documented_delta, frame, protocol, synced_linear_book

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome
from relay.config.model import SubscriptionConfig
from relay.domain.model import DataType

ETH = SubscriptionConfig(
    "ETHUSDT", "ETH/USDT:PERP", (DataType.L2_ORDERBOOK, DataType.TRADE, DataType.CANDLE)
)


def test_a_subscribe_sends_the_new_topics_and_leaves_a_synced_book_synced() -> None:
    proto = synced_linear_book()
    assert proto.subscribe(ETH) == FrameOutcome(
        [],
        [],
        [
            '{"op":"subscribe","args":["publicTrade.ETHUSDT","orderbook.50.ETHUSDT","kline.1.ETHUSDT"]}'
        ],
    )
    following = documented_delta()
    following["data"].update(u=177400508, seq=66544703343, b=[["30247.20", "1"]], a=[])
    outcome = proto.on_frame(frame(following), 3)
    assert [e.dedup_key for e in outcome.events] == ["177400508:66544703343"]
    assert outcome.resyncs == []


def test_a_topic_shared_with_a_stream_already_here_cannot_be_added_live() -> None:
    proto = protocol("bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, (DataType.TICKER,))
    assert (
        proto.subscribe(SubscriptionConfig("BTCUSDT", "BTC/USDT:PERP", (DataType.FUNDING_RATE,)))
        is None
    )
    spot = protocol("bybit-spot", {"BTCUSDT": "BTC/USDT"}, (DataType.TICKER,))
    assert (
        spot.subscribe(SubscriptionConfig("BTCUSDT", "BTC/USDT", (DataType.L2_ORDERBOOK,), depth=1))
        is None
    )
    assert spot.subscribe(SubscriptionConfig("BTCUSDT", "BTC/USDT", (DataType.TICKER,))) == (
        FrameOutcome([], [], [])
    )


def test_an_unsubscribe_drops_the_topic_and_its_frames_are_refused() -> None:
    proto = synced_linear_book()
    assert proto.unsubscribe("BTCUSDT", [DataType.L2_ORDERBOOK]) == FrameOutcome(
        [], [], ['{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}']
    )
    with pytest.raises(FrameError) as refused:
        proto.on_frame(frame(documented_delta()), 4)
    assert (refused.value.reason, refused.value.detail) == ("unsubscribed", "orderbook.50.BTCUSDT")
    shared = protocol(
        "bybit-linear", {"BTCUSDT": "BTC/USDT:PERP"}, (DataType.TICKER, DataType.FUNDING_RATE)
    )
    assert shared.unsubscribe("BTCUSDT", [DataType.FUNDING_RATE]) is None
    assert shared.unsubscribe("BTCUSDT", [DataType.FUNDING_RATE, DataType.TICKER]) == FrameOutcome(
        [], [], ['{"op":"unsubscribe","args":["tickers.BTCUSDT"]}']
    )
