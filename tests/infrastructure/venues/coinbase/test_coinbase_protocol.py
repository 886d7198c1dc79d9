"""Coinbase Advanced Trade protocol: subscribe frames, sequence_num gaps, resyncs, frame errors.

No recorded session of this feed exists. The messages below are the example
messages of the channels page, https://docs.cdp.coinbase.com/coinbase-app/
advanced-trade-apis/websocket/websocket-channels (``CHANNELS``), copied as
published, or built from them by changing only ``type``, ``sequence_num`` and the
``updates`` levels (said so where it happens).
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.coinbase_frames import (
    ALL,
    BTC,
    CANDLES,
    CHANNELS,
    ETH,
    HEARTBEAT,
    JSON_VALUES,
    LEVEL2,
    MARKET_TRADES,
    PRODUCTS,
    T_MS,
    TICKER,
    book_snapshot,
    json_paths,
    l2,
    protocol,
    with_sequence,
)

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    DataType,
    L2Update,
)
from relay.infrastructure.venues.coinbase.listing import PRODUCTS_DOC
from relay.infrastructure.venues.coinbase.protocol import CHANNELS_DOC, CoinbaseProtocol
from relay.infrastructure.venues.registry import venue_spec


def test_module_and_tests_cite_the_channels_page() -> None:
    assert CHANNELS_DOC == CHANNELS
    assert PRODUCTS_DOC == PRODUCTS
    assert CHANNELS in venue_spec("coinbase").docs


def test_heartbeat_and_subscriptions_ack_give_an_empty_outcome() -> None:
    """CHANNELS, Heartbeats Channel example; the ack shape is nautilus_trader's test data."""
    proto = protocol()
    assert proto.on_frame(HEARTBEAT, T_MS) == FrameOutcome([], [], [], [])
    ack = (
        '{"channel":"subscriptions","client_id":"","timestamp":"2023-06-23T20:31:27Z",'
        '"sequence_num":1,"events":[{"subscriptions":{"level2":["BTC-USD"]}}]}'
    )
    assert proto.on_frame(ack, T_MS) == FrameOutcome([], [], [], [])


def test_sequence_gap_resyncs_every_book_of_the_connection() -> None:
    """CHANNELS level2 example shape; sequence 2 is lost, 3 reveals the gap."""
    proto = protocol()
    assert len(proto.on_frame(book_snapshot(0, "BTC-USD"), T_MS).events) == 1
    assert len(proto.on_frame(book_snapshot(1, "ETH-USD"), T_MS).events) == 1
    outcome = proto.on_frame(l2(3, "update", "BTC-USD", ("bid", "21921.5", "1")), T_MS)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(BTC, "gap"), BookResync(ETH, "gap")]
    assert [json.loads(r) for r in outcome.replies] == [
        {"type": "unsubscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
    ]


def test_fresh_snapshot_after_a_gap_restores_publishing_one_book_at_a_time() -> None:
    """CHANNELS level2 example shape: gap, stale updates dropped, snapshot, deltas again."""
    proto = protocol()
    proto.on_frame(book_snapshot(0, "BTC-USD"), T_MS)
    proto.on_frame(book_snapshot(1, "ETH-USD"), T_MS)
    assert len(proto.on_frame(l2(5, "update", "BTC-USD", ("bid", "1", "1")), T_MS).resyncs) == 2
    assert proto.on_frame(l2(6, "update", "BTC-USD", ("bid", "2", "1")), T_MS).events == []
    ack = '{"channel":"subscriptions","sequence_num":7,"events":[{"subscriptions":{}}]}'
    assert proto.on_frame(ack, T_MS) == FrameOutcome([], [], [], [])
    [snapshot] = proto.on_frame(book_snapshot(8, "BTC-USD"), T_MS).events
    assert snapshot.payload == L2Update(
        ((Decimal("21921.73"), Decimal("0.06317902")), (Decimal("21921.3"), Decimal("0.02"))),
        ((Decimal("21933.98"), Decimal("1.5")),),
        True,
    )
    [delta] = proto.on_frame(l2(9, "update", "BTC-USD", ("offer", "21933.98", "0")), T_MS).events
    assert delta.payload == L2Update((), ((Decimal("21933.98"), Decimal("0")),), False)
    assert proto.on_frame(l2(10, "update", "ETH-USD", ("bid", "3", "1")), T_MS).events == []
    assert len(proto.on_frame(book_snapshot(11, "ETH-USD"), T_MS).events) == 1


def test_gap_revealed_by_a_heartbeat_resyncs_the_books_in_its_outcome() -> None:
    """CHANNELS heartbeat example, numbered 0 then 5."""
    proto = protocol(products=("BTC-USD",))
    proto.on_frame(book_snapshot(0), T_MS)
    outcome = proto.on_frame(with_sequence(HEARTBEAT, 5), T_MS)
    assert outcome.resyncs == [BookResync(BTC, "gap")]
    assert len(outcome.replies) == 2


def test_gap_without_books_asks_for_nothing() -> None:
    """CHANNELS market trades example numbered 0, then 3."""
    proto = protocol(data_types=(DataType.TRADE,))
    proto.on_frame(MARKET_TRADES, T_MS)
    outcome = proto.on_frame(with_sequence(MARKET_TRADES.replace("000000000", "1"), 3), T_MS)
    assert (len(outcome.events), outcome.replies, outcome.resyncs) == (1, [], [])


def test_sequence_not_above_the_last_is_a_stale_update_and_leaves_the_book() -> None:
    """CHANNELS level2 example shape, with a repeated ``sequence_num``."""
    proto = protocol()
    proto.on_frame(book_snapshot(4), T_MS)
    with pytest.raises(FrameError) as caught:
        proto.on_frame(l2(4, "update", "BTC-USD", ("bid", "21921.73", "0")), T_MS)
    assert caught.value.reason == "stale_update"
    [event] = proto.on_frame(l2(5, "update", "BTC-USD", ("bid", "21921.74", "1")), T_MS).events
    assert event.payload == L2Update(((Decimal("21921.74"), Decimal("1")),), (), False)


def test_malformed_level2_message_raises_and_resyncs_every_book_with_the_next_outcome() -> None:
    """CHANNELS level2 example shape with a negative quantity."""
    proto = protocol()
    proto.on_frame(book_snapshot(0), T_MS)
    with pytest.raises(FrameError) as caught:
        proto.on_frame(l2(1, "update", "BTC-USD", ("bid", "21921.73", "-1")), T_MS)
    assert caught.value.reason == "invalid_value"
    outcome = proto.on_frame(with_sequence(HEARTBEAT, 2), T_MS)
    assert outcome.resyncs == [BookResync(BTC, "bad_update"), BookResync(ETH, "bad_update")]
    assert len(outcome.replies) == 2
    assert proto.on_frame(l2(3, "update", "BTC-USD", ("bid", "1", "1")), T_MS).events == []


def test_venue_error_message_is_a_subscribe_error() -> None:
    with pytest.raises(FrameError) as caught:
        protocol().on_frame('{"type":"error","message":"failure to subscribe"}', T_MS)
    assert caught.value.reason == "subscribe_error"
    assert "failure to subscribe" in caught.value.detail


def _trade_without(field: str) -> str:
    message = json.loads(MARKET_TRADES)
    del message["events"][0]["trades"][0][field]
    return json.dumps(message)


def _trade_with(field: str, value: Any) -> str:
    message = json.loads(MARKET_TRADES)
    message["events"][0]["trades"][0][field] = value
    return json.dumps(message)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("{not json", "not_json"),
        ("[1, 2]", "unknown_event"),
        ('{"channel":"status","sequence_num":0,"events":[]}', "unknown_event"),
        (_trade_without("price"), "missing_field"),
        (_trade_with("price", "-1"), "invalid_value"),
        (_trade_with("price", 1260.01), "invalid_value"),
        (_trade_with("side", "buy"), "invalid_value"),
        (_trade_with("time", "yesterday"), "invalid_value"),
        (_trade_with("product_id", "SOL-USD"), "unsubscribed"),
        (_trade_without("trade_id"), "missing_field"),
        (MARKET_TRADES.replace('"sequence_num": 0,', ""), "missing_field"),
        (MARKET_TRADES.replace('"sequence_num": 0', '"sequence_num": "0"'), "invalid_value"),
        (l2(0, "delta", "BTC-USD", ("bid", "1", "1")), "unknown_event"),
        (l2(0, "snapshot", "BTC-USD", ("ask", "1", "1")), "invalid_value"),
        (l2(0, "snapshot", "BTC-USD", ("bid", "0", "1")), "invalid_value"),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str, reason: str) -> None:
    """Frames built from the CHANNELS examples with one field broken."""
    with pytest.raises(FrameError) as caught:
        protocol().on_frame(frame, T_MS)
    assert caught.value.reason == reason


def test_trades_of_a_product_subscribed_for_other_data_types_are_unsubscribed() -> None:
    proto = protocol(data_types=(DataType.L2_ORDERBOOK,))
    with pytest.raises(FrameError) as caught:
        proto.on_frame(MARKET_TRADES, T_MS)
    assert caught.value.reason == "unsubscribed"


def test_subscribe_frames_send_heartbeats_first_then_one_channel_per_message() -> None:
    """Overview: one channel per subscribe message; CHANNELS: subscribe heartbeats too."""
    proto = protocol()
    assert [json.loads(f) for f in proto.subscribe_frames()] == [
        {"type": "subscribe", "channel": "heartbeats"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "market_trades"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "ticker"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "candles"},
    ]
    assert proto.ws_url() == "wss://advanced-trade-ws.coinbase.com"
    assert proto.on_open() == FrameOutcome([], [], [])


def test_only_the_channels_a_product_needs_are_subscribed() -> None:
    subs = (
        SubscriptionConfig("BTC-USD", "BTC/USD", (DataType.TRADE,)),
        SubscriptionConfig("ETH-USD", "ETH/USD", (DataType.L2_ORDERBOOK, DataType.TRADE)),
    )
    proto = CoinbaseProtocol(VenueConfig(id="coinbase", subscriptions=subs, ws_url="ws://x/cb"))
    assert [json.loads(f) for f in proto.subscribe_frames()] == [
        {"type": "subscribe", "channel": "heartbeats"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "market_trades"},
        {"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "level2"},
    ]
    assert proto.ws_url() == "ws://x/cb"


def test_subscribe_pacing_keeps_two_connections_under_eight_messages_per_second() -> None:
    """Rate limits page: unauthenticated messages, 8 per second per IP."""
    spec = venue_spec("coinbase")
    assert spec.subscribe_interval_s == 0.25
    assert 2 / spec.subscribe_interval_s <= 8
    assert spec.max_subscriptions_per_connection == 20
    assert spec.data_types == frozenset(ALL)


def test_every_depth_maps_to_the_full_level2_channel() -> None:
    assert protocol(depth=10).subscribe_frames() == protocol(depth=0).subscribe_frames()
    assert protocol(depth=1000).subscribe_frames() == protocol(depth=0).subscribe_frames()


def test_no_client_ping_is_sent_the_heartbeats_channel_keeps_the_connection() -> None:
    assert protocol().keepalive() is None


def test_rest_snapshots_are_never_used() -> None:
    from relay.application.ports import SnapshotRequest

    with pytest.raises(FrameError) as caught:
        protocol().on_snapshot(SnapshotRequest(BTC, "/x", "initial"), b"{}", T_MS)
    assert caught.value.reason == "bad_snapshot"


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from([HEARTBEAT, CANDLES, MARKET_TRADES, TICKER, LEVEL2]),
    choice=st.integers(min_value=0),
    value=JSON_VALUES,
)
def test_any_field_replaced_by_any_json_value_raises_only_frame_error(
    base: str, choice: int, value: Any
) -> None:
    """The CHANNELS examples (numbered 1 after a level2 snapshot numbered 0; level2 as an
    update) with one field, or the whole message, replaced."""
    message = json.loads(base)
    message["sequence_num"] = 1
    if message["channel"] == "l2_data":
        message["events"][0]["type"] = "update"
    paths = json_paths(message)
    path = paths[choice % len(paths)]
    if path:
        target = message
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    else:
        message = value
    proto = protocol()
    proto.on_frame(with_sequence(LEVEL2, 0), T_MS)
    with contextlib.suppress(FrameError):
        proto.on_frame(json.dumps(message), T_MS)
