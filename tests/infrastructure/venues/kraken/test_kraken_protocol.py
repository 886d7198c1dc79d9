"""Kraken v2 protocol: subscribe frames, acks, keepalive, spec, on documented examples.

No recorded Kraken v2 session exists in shared/captures, so every frame here is
a documented example (each test names its page) or one derived from one by a
stated change.
"""

from __future__ import annotations

import json

import pytest
from support.kraken_frames import ALL, guide_snapshot, protocol

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, Keepalive
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.venues.kraken.protocol import interval_minutes
from relay.infrastructure.venues.registry import venue_spec

# --- control messages, keepalive ----------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        # https://docs.kraken.com/api/docs/websocket-v2/ping (response example)
        '{"method": "pong", "req_id": 101, "time_in": "2023-09-24T14:10:23.799685Z",'
        ' "time_out": "2023-09-24T14:10:23.799703Z"}',
        # https://docs.kraken.com/api/docs/websocket-v2/heartbeat
        '{"channel": "heartbeat"}',
        # https://docs.kraken.com/api/docs/websocket-v2/status (example)
        '{"channel": "status", "data": [{"api_version": "v2",'
        ' "connection_id": 13834774380200032777,'
        ' "system": "online", "version": "2.0.0"}], "type": "update"}',
        # https://docs.kraken.com/api/docs/websocket-v2/book (subscribe ack example)
        '{"method": "subscribe", "result": {"channel": "book", "depth": 10, "snapshot": true,'
        ' "symbol": "ALGO/USD"}, "success": true, "time_in": "2023-10-06T17:35:55.219022Z",'
        ' "time_out": "2023-10-06T17:35:55.219067Z"}',
        # https://docs.kraken.com/api/docs/websocket-v2/trade (unsubscribe ack example)
        '{"method": "unsubscribe", "result": {"channel": "trade", "symbol": "MATIC/USD"},'
        ' "success": true, "time_in": "2023-09-25T09:21:10.428340Z",'
        ' "time_out": "2023-09-25T09:21:10.428375Z"}',
    ],
)
def test_pongs_heartbeats_status_and_acks_give_an_empty_outcome(frame: str) -> None:
    proto = protocol()
    assert proto.on_frame(frame, 1) == FrameOutcome([], [], [])
    assert proto.on_frame(frame, 2) == FrameOutcome([], [], [])  # a duplicate ack too


def test_failed_subscribe_ack_is_a_subscribe_error() -> None:
    """The ack schema: ``success`` false with an ``error`` message (ticker page)."""
    frame = (
        '{"method": "subscribe", "error": "Currency pair not supported", "success": false,'
        ' "time_in": "2023-09-25T09:04:31.742599Z",'
        ' "time_out": "2023-09-25T09:04:31.742648Z"}'
    )
    with pytest.raises(FrameError) as info:
        protocol().on_frame(frame, 1)
    assert info.value.reason == "subscribe_error"
    assert "Currency pair not supported" in info.value.detail


def test_keepalive_is_the_documented_ping_every_30_seconds() -> None:
    """https://docs.kraken.com/api/docs/websocket-v2/ping; the server drops idle connections."""
    assert protocol().keepalive() == Keepalive(30.0, '{"method":"ping"}')


# --- subscribe frames, depth, intervals, limits -------------------------------------------


def test_subscribe_frames_group_symbols_by_channel_depth_and_interval() -> None:
    """Documented subscribe shapes (trade, ticker, book, ohlc pages)."""
    subs = (
        SubscriptionConfig("BTC/USD", "BTC/USD", ALL, 0, "1m"),
        SubscriptionConfig("ETH/USD", "ETH/USD", ALL, 100, "1m"),
        SubscriptionConfig(
            "MATIC/USD", "MATIC/USD", (DataType.L2_ORDERBOOK, DataType.CANDLE), 7, "1h"
        ),
    )
    proto = venue_spec("kraken").protocol_factory(VenueConfig(id="kraken", subscriptions=subs))
    assert [json.loads(frame) for frame in proto.subscribe_frames()] == [
        {
            "method": "subscribe",
            "params": {"channel": "trade", "symbol": ["BTC/USD", "ETH/USD"], "snapshot": False},
        },
        {
            "method": "subscribe",
            "params": {
                "channel": "ticker",
                "symbol": ["BTC/USD", "ETH/USD"],
                "event_trigger": "bbo",
            },
        },
        {
            "method": "subscribe",
            "params": {
                "channel": "book",
                "symbol": ["BTC/USD", "MATIC/USD"],
                "depth": 10,
                "snapshot": True,
            },
        },
        {
            "method": "subscribe",
            "params": {"channel": "book", "symbol": ["ETH/USD"], "depth": 100, "snapshot": True},
        },
        {
            "method": "subscribe",
            "params": {
                "channel": "ohlc",
                "symbol": ["BTC/USD", "ETH/USD"],
                "interval": 1,
                "snapshot": False,
            },
        },
        {
            "method": "subscribe",
            "params": {
                "channel": "ohlc",
                "symbol": ["MATIC/USD"],
                "interval": 60,
                "snapshot": False,
            },
        },
    ]
    assert proto.ws_url() == "wss://ws.kraken.com/v2"


def test_spec_paces_subscribe_frames_and_lists_the_venue() -> None:
    spec = venue_spec("kraken")
    assert spec.subscribe_interval_s == 1.0
    assert spec.max_subscriptions_per_connection == 0
    assert spec.data_types == frozenset(ALL)
    assert spec.default_ws_url == "wss://ws.kraken.com/v2"


@pytest.mark.parametrize(
    ("interval", "minutes"),
    [
        ("1m", 1),
        ("5m", 5),
        ("15m", 15),
        ("30m", 30),
        ("1h", 60),
        ("4h", 240),
        ("1d", 1440),
        ("1w", 10080),
        ("15d", 21600),
        ("120s", 2),
        ("30s", 0),
        ("1M", 0),
    ],
)
def test_candle_interval_is_sent_in_minutes(interval: str, minutes: int) -> None:
    """The ohlc channel's interval is minutes (1 ... 21600); others get 0 and a subscribe
    error from the venue."""
    assert interval_minutes(interval) == minutes


def test_book_message_for_a_symbol_without_a_book_subscription_is_unsubscribed() -> None:
    proto = protocol(data_types=(DataType.TRADE,))
    with pytest.raises(FrameError) as info:
        proto.on_frame(guide_snapshot(), 1)
    assert info.value.reason == "unsubscribed"
