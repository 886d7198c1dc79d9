"""Coinbase Exchange protocol: the subscribe frame, acks, errors, stale sequences, frame errors.

Documents followed (see the module docstring of
``relay.infrastructure.venues.coinbase_exchange``):
https://docs.cdp.coinbase.com/exchange/websocket-feed/channels (heartbeat example),
https://docs.cloud.coinbase.com/exchange/docs/websocket-overview (error example),
https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits (limits).
"""

from __future__ import annotations

import json

import pytest
from support.coinbase_exchange_frames import ALL, VENUE, frame_at, protocol, replay

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.venues.registry import venue_spec

# --- subscribing, limits, keepalive -------------------------------------------------------------


def test_one_subscribe_frame_names_every_channel_with_its_products() -> None:
    proto = protocol({"BAND-GBP": "BAND/GBP", "SKL-BTC": "SKL/BTC"})
    assert proto.ws_url() == "wss://ws-feed.exchange.coinbase.com"
    products = ["BAND-GBP", "SKL-BTC"]
    assert [json.loads(f) for f in proto.subscribe_frames()] == [
        {
            "type": "subscribe",
            "channels": [
                {"name": "level2_batch", "product_ids": products},
                {"name": "matches", "product_ids": products},
                {"name": "ticker", "product_ids": products},
                {"name": "heartbeat", "product_ids": products},
            ],
        }
    ]


def test_a_channel_lists_only_the_products_that_want_its_data_type() -> None:
    subs = (
        SubscriptionConfig("BAND-GBP", "BAND/GBP", (DataType.TRADE,)),
        SubscriptionConfig("SKL-BTC", "SKL/BTC", (DataType.L2_ORDERBOOK, DataType.TICKER)),
    )
    proto = venue_spec(VENUE).protocol_factory(VenueConfig(id=VENUE, subscriptions=subs))
    assert json.loads(proto.subscribe_frames()[0])["channels"] == [
        {"name": "level2_batch", "product_ids": ["SKL-BTC"]},
        {"name": "matches", "product_ids": ["BAND-GBP"]},
        {"name": "ticker", "product_ids": ["SKL-BTC"]},
        {"name": "heartbeat", "product_ids": ["BAND-GBP", "SKL-BTC"]},
    ]


@pytest.mark.parametrize("depth", [0, 1, 50, 1000])
def test_every_depth_maps_to_the_full_depth_level2_batch_channel(depth: int) -> None:
    frame = json.loads(protocol({"BAND-GBP": "BAND/GBP"}, depth=depth).subscribe_frames()[0])
    assert frame["channels"][0] == {"name": "level2_batch", "product_ids": ["BAND-GBP"]}


def test_spec_respects_the_documented_inbound_message_rate() -> None:
    spec = venue_spec(VENUE)
    assert spec.subscribe_interval_s == 0.1  # 10 inbound messages per second
    assert spec.max_subscriptions_per_connection == 0  # no per-connection limit documented
    assert spec.data_types == frozenset(ALL)
    assert spec.default_rest_url == "https://api.exchange.coinbase.com"
    assert spec.max_connection_age_s == 0.0


def test_no_venue_ping_is_sent_and_the_documented_heartbeat_gives_an_empty_outcome() -> None:
    """Heartbeat example of https://docs.cdp.coinbase.com/exchange/websocket-feed/channels."""
    proto = protocol({"BTC-USD": "BTC/USD"})
    assert proto.keepalive() is None
    heartbeat = (
        '{"type": "heartbeat", "sequence": 90, "last_trade_id": 20,'
        ' "product_id": "BTC-USD", "time": "2014-11-07T08:19:28.464459Z"}'
    )
    assert proto.on_frame(heartbeat, 1) == FrameOutcome([], [], [])
    assert proto.on_open() == FrameOutcome([], [], [])


def test_recorded_subscriptions_answers_give_empty_outcomes_even_when_repeated() -> None:
    proto = protocol()
    for index in (0, 1, 8, 8):
        frame, at_ms = frame_at(index)
        assert json.loads(frame)["type"] == "subscriptions"
        assert proto.on_frame(frame, at_ms) == FrameOutcome([], [], [])


def test_documented_error_message_is_a_subscribe_error() -> None:
    """Error example of https://docs.cloud.coinbase.com/exchange/docs/websocket-overview."""
    with pytest.raises(FrameError) as caught:
        protocol().on_frame('{"type": "error", "message": "error message"}', 1)
    assert caught.value.reason == "subscribe_error"
    assert caught.value.detail == "error message: "
    with pytest.raises(FrameError) as caught:
        protocol().on_frame(
            '{"type":"error","message":"Failed to subscribe",'
            '"reason":"level2 requires authentication"}',
            1,
        )
    assert caught.value.detail == "Failed to subscribe: level2 requires authentication"


def test_two_connections_give_the_same_message_ids_for_the_same_venue_events() -> None:
    first, _, _ = replay(protocol())
    second, _, _ = replay(protocol())
    assert [e.msg_id for e in first] == [e.msg_id for e in second]


def test_match_or_ticker_fed_twice_is_a_stale_update_and_publishes_nothing() -> None:
    proto = protocol()
    for index in (4, 6):  # BAND-GBP ticker, last_match
        frame, at_ms = frame_at(index)
        proto.on_frame(frame, at_ms)
        with pytest.raises(FrameError) as caught:
            proto.on_frame(frame, at_ms)
        assert caught.value.reason == "stale_update"


def test_ticker_with_an_older_sequence_is_a_stale_update() -> None:
    proto = protocol()
    frame, at_ms = frame_at(4)
    proto.on_frame(frame, at_ms)
    older = json.loads(frame) | {"sequence": 333938797}
    with pytest.raises(FrameError) as caught:
        proto.on_frame(json.dumps(older), at_ms)
    assert caught.value.reason == "stale_update"
    assert caught.value.detail == "BAND-GBP ticker: sequence 333938797 <= 333938798"


# --- malformed frames ----------------------------------------------------------------------------

_UPDATE = {
    "type": "l2update",
    "product_id": "BAND-GBP",
    "changes": [["sell", "14.9", "1"]],
    "time": "2021-04-17T16:43:37.083117Z",
}
_MATCH = {
    "type": "match",
    "trade_id": 1,
    "side": "sell",
    "size": "1",
    "price": "2",
    "product_id": "BAND-GBP",
    "sequence": 5,
    "time": "2021-04-17T16:43:37.083117Z",
}


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json {", "not_json"),
        ("[1, 2]", "unknown_event"),
        ('{"type": "done"}', "unknown_event"),
        ('{"no_type": 1}', "unknown_event"),
        (json.dumps({k: v for k, v in _UPDATE.items() if k != "product_id"}), "missing_field"),
        (json.dumps({k: v for k, v in _UPDATE.items() if k != "time"}), "missing_field"),
        (json.dumps(_UPDATE | {"changes": [["up", "14.9", "1"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": [["sell", "14.9", "-1"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": [["sell", "0", "1"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": [["sell", "abc", "1"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": [["sell", "14.9"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": "nope"}), "invalid_value"),
        (json.dumps(_UPDATE | {"time": "yesterday"}), "invalid_value"),
        (json.dumps(_UPDATE | {"time": "2021-04-17T16:43:37"}), "invalid_value"),
        (json.dumps(_UPDATE | {"product_id": "BTC-USD"}), "unsubscribed"),
        (json.dumps(_UPDATE | {"product_id": 7}), "invalid_value"),
        (json.dumps(_MATCH | {"side": "up"}), "invalid_value"),
        (json.dumps(_MATCH | {"sequence": "5"}), "invalid_value"),
        (json.dumps(_MATCH | {"trade_id": -1}), "invalid_value"),
        (json.dumps(_MATCH | {"price": 2.5}), "invalid_value"),
        (json.dumps({k: v for k, v in _MATCH.items() if k != "size"}), "missing_field"),
        (
            '{"type": "snapshot", "product_id": "BAND-GBP", "bids": [["1", "2", "3"]], "asks": []}',
            "invalid_value",
        ),
        (
            '{"type": "ticker", "product_id": "BAND-GBP", "sequence": 1, "best_bid": "1",'
            ' "time": "2021-04-17T16:43:37.083117Z"}',
            "missing_field",
        ),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str, reason: str) -> None:
    proto = protocol()
    proto.on_frame(*frame_at(2))  # BAND-GBP synced, so l2update reaches its checks
    with pytest.raises(FrameError) as caught:
        proto.on_frame(frame, 1)
    assert caught.value.reason == reason


def test_trade_only_product_refuses_book_frames_as_unsubscribed() -> None:
    proto = protocol({"BAND-GBP": "BAND/GBP"}, (DataType.TRADE,))
    with pytest.raises(FrameError) as caught:
        proto.on_frame(*frame_at(2))
    assert caught.value.reason == "unsubscribed"
    assert len(proto.on_frame(*frame_at(6)).events) == 1
