"""Crypto.com protocol: subscribe requests, depth, heartbeat answers, request errors, limits.

Frames are the samples of the Exchange API v1 reference
(https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html: "Websocket
Subscriptions", "Websocket Heartbeats", "Error Response Format", the channel pages);
``support.cryptocom_frames`` names the section of each.
"""

from __future__ import annotations

import json

import pytest
from support.cryptocom_frames import (
    BOOK_SNAPSHOT,
    ERROR,
    HEARTBEAT,
    HEARTBEAT_ANSWER,
    SUBSCRIBED,
    TRADE,
    protocol,
)

from relay.application.errors import FrameError
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType
from relay.infrastructure.venues.cryptocom import SPEC
from relay.infrastructure.venues.cryptocom.protocol import (
    CryptocomProtocol,
)


def subscribe_frames(*subs: SubscriptionConfig) -> list[dict[str, object]]:
    proto = CryptocomProtocol(VenueConfig(id="cryptocom", subscriptions=subs))
    return [json.loads(frame) for frame in proto.subscribe_frames()]


def test_subscribe_requests_carry_every_channel_and_books_go_in_a_delta_request() -> None:
    every = tuple(sorted(SPEC.data_types, key=lambda d: d.value))
    assert subscribe_frames(
        SubscriptionConfig("BTCUSD-PERP", "BTC/USD:PERP", every, candle_interval="1h"),
        SubscriptionConfig("BTC_USDT", "BTC/USDT", (DataType.TRADE, DataType.L2_ORDERBOOK)),
    ) == [
        {
            "id": 1,
            "method": "subscribe",
            "params": {
                "channels": [
                    "trade.BTCUSD-PERP",
                    "ticker.BTCUSD-PERP",
                    "funding.BTCUSD-PERP",
                    "candlestick.1h.BTCUSD-PERP",
                    "trade.BTC_USDT",
                ]
            },
        },
        {
            "id": 2,
            "method": "subscribe",
            "params": {
                "channels": ["book.BTCUSD-PERP.50", "book.BTC_USDT.50"],
                "book_subscription_type": "SNAPSHOT_AND_UPDATE",
                "book_update_frequency": 10,
            },
        },
    ]


@pytest.mark.parametrize(
    ("depth", "channel"),
    [
        (0, "book.X_Y.50"),
        (1, "book.X_Y.10"),
        (10, "book.X_Y.10"),
        (11, "book.X_Y.50"),
        (400, "book.X_Y.50"),
    ],
)
def test_depth_picks_the_smallest_offered_book_that_holds_it(depth: int, channel: str) -> None:
    (frame,) = subscribe_frames(
        SubscriptionConfig("X_Y", "X/Y", (DataType.L2_ORDERBOOK,), depth=depth)
    )
    assert frame["params"] == {
        "channels": [channel],
        "book_subscription_type": "SNAPSHOT_AND_UPDATE",
        "book_update_frequency": 10,
    }


def test_a_candle_interval_without_a_time_frame_is_refused_with_the_supported_ones() -> None:
    with pytest.raises(InvalidValueError, match=r"candle_interval='3m': Crypto\.com offers 1m, "):
        subscribe_frames(SubscriptionConfig("X_Y", "X/Y", (DataType.CANDLE,), candle_interval="3m"))
    (frame,) = subscribe_frames(
        SubscriptionConfig("X_Y", "X/Y", (DataType.CANDLE,), candle_interval="1w")
    )
    assert frame["params"] == {"channels": ["candlestick.7D.X_Y"]}


def test_the_heartbeat_is_answered_with_respond_heartbeat_and_its_id() -> None:
    outcome = protocol().on_frame(HEARTBEAT, 1)
    assert (outcome.events, outcome.replies) == ([], [HEARTBEAT_ANSWER])
    with pytest.raises(FrameError) as caught:
        protocol().on_frame('{"method":"public/heartbeat","code":0}', 1)
    assert caught.value.reason == "missing_field"


def test_subscribe_answers_pass_and_error_codes_are_frame_errors() -> None:
    proto = protocol()
    assert proto.on_frame(SUBSCRIBED, 1).events == []
    refused = '{"id":2,"code":40003,"method":"subscribe","message":"EXCEED_MAX_SUBSCRIPTIONS"}'
    with pytest.raises(FrameError) as caught:
        proto.on_frame(refused, 1)
    assert (caught.value.reason, caught.value.detail) == (
        "subscribe_error",
        "subscribe id 2: code 40003 'EXCEED_MAX_SUBSCRIPTIONS'",
    )
    with pytest.raises(FrameError) as caught:
        proto.on_frame(ERROR, 1)
    assert caught.value.reason == "request_error"


def test_frames_for_other_instruments_channels_or_methods_are_refused() -> None:
    proto = protocol((DataType.TRADE,))
    cases = [
        (TRADE.replace("BTCUSD-PERP", "ETHUSD-PERP"), "unsubscribed"),
        (BOOK_SNAPSHOT, "unsubscribed"),
        (TRADE.replace('"channel":"trade"', '"channel":"mark"'), "unknown_event"),
        ('{"id":1,"method":"private/get-order-detail","code":0}', "unknown_event"),
        ("[1]", "unknown_event"),
        ("{", "not_json"),
    ]
    for frame, reason in cases:
        with pytest.raises(FrameError) as caught:
            proto.on_frame(frame, 1)
        assert caught.value.reason == reason, frame


def test_the_venue_spec_holds_the_documented_limits() -> None:
    """1 s before the first request; 100 requests/s (paced at 20/s); 400 channels per
    connection, 5 per instrument -> 80 subscriptions per connection."""
    assert SPEC.default_ws_url == "wss://stream.crypto.com/exchange/v1/market"
    assert (SPEC.connect_wait_s, SPEC.subscribe_interval_s) == (1.0, 0.05)
    assert SPEC.max_subscriptions_per_connection == 80
    assert protocol().keepalive() is None
