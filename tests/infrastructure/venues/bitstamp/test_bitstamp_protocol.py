"""Bitstamp's connection protocol: subscribe frames, keepalive, control events
(https://www.bitstamp.net/websocket/v2/), REST requests and frame errors."""

from __future__ import annotations

import json

import pytest
from support.bitstamp_reference import snapshot

from relay.application.errors import FrameError
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument
from relay.infrastructure.venues.bitstamp.protocol import HEARTBEAT_INTERVAL_S, BitstampProtocol
from relay.infrastructure.venues.registry import venue_spec

SUBSCRIPTION_SUCCEEDED = (
    '{"event":"bts:subscription_succeeded","channel":"diff_order_book_ethusd","data":{}}'
)
"""As recorded in ``bitstamp.jsonl``."""
HEARTBEAT_ANSWER = '{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}'
REQUEST_RECONNECT = '{"event":"bts:request_reconnect","channel":"","data":""}'
ERROR = (
    '{"event":"bts:error","channel":"","data":{"code":null,"message":"Bad subscription string."}}'
)
DIFF = (
    '{"data":{"timestamp":"1641343695","microtimestamp":"1641343695973837",'
    '"bids":[["3802.90","0.00000000"]],"asks":[]},"channel":"diff_order_book_ethusd",'
    '"event":"data"}'
)
TRADE = (
    '{"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,"amount_str":"0.07920000",'
    '"price":3805.44,"price_str":"3805.44","type":0,"microtimestamp":"1641343699596000"},'
    '"channel":"live_trades_ethusd","event":"trade"}'
)


def protocol(*subs: SubscriptionConfig) -> BitstampProtocol:
    subs = subs or (
        SubscriptionConfig("ethusd", "ETH/USD", (DataType.TRADE, DataType.L2_ORDERBOOK)),
        SubscriptionConfig("XRPEUR", "XRP/EUR", (DataType.L2_ORDERBOOK,)),
        SubscriptionConfig("batbtc", "BAT/BTC", (DataType.TRADE,)),
    )
    proto = venue_spec("bitstamp").protocol_factory(
        VenueConfig(id="bitstamp", subscriptions=subs, ws_url="ws://127.0.0.1:1/bitstamp/")
    )
    assert isinstance(proto, BitstampProtocol)
    return proto


def test_every_channel_is_subscribed_by_its_own_frame_books_first() -> None:
    proto = protocol()
    assert proto.ws_url() == "ws://127.0.0.1:1/bitstamp/"
    assert [json.loads(f) for f in proto.subscribe_frames()] == [
        {"event": "bts:subscribe", "data": {"channel": "diff_order_book_ethusd"}},
        {"event": "bts:subscribe", "data": {"channel": "diff_order_book_xrpeur"}},
        {"event": "bts:subscribe", "data": {"channel": "live_trades_ethusd"}},
        {"event": "bts:subscribe", "data": {"channel": "live_trades_batbtc"}},
    ]
    keepalive = proto.keepalive()
    assert keepalive is not None
    assert (keepalive.interval_s, json.loads(keepalive.frame)) == (
        HEARTBEAT_INTERVAL_S,
        {"event": "bts:heartbeat"},
    )


def test_opening_asks_for_each_book_from_rest_in_lower_case() -> None:
    requests = protocol().on_open().snapshot_requests
    assert [(r.instrument.instrument, r.path, r.reason, r.weight) for r in requests] == [
        ("ethusd", "/api/v2/order_book/ethusd", "initial", 1),
        ("XRPEUR", "/api/v2/order_book/xrpeur", "initial", 1),
    ]


def test_control_events_give_nothing_and_a_reconnect_request_asks_for_a_reconnect() -> None:
    proto = protocol()
    for frame in (SUBSCRIPTION_SUCCEEDED, HEARTBEAT_ANSWER):
        outcome = proto.on_frame(frame, 1)
        assert (outcome.events, outcome.snapshot_requests, outcome.replies) == ([], [], [])
        assert outcome.reconnect is False
    assert proto.on_frame(REQUEST_RECONNECT, 2).reconnect is True


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (ERROR, "subscribe_error"),
        ('{"event":"order_created","channel":"live_orders_ethusd","data":{}}', "unknown_event"),
        ('{"event":"data","channel":"order_book_ethusd","data":{}}', "unknown_event"),
        ("[]", "unknown_event"),
        ("{", "not_json"),
        (DIFF.replace("ethusd", "btcusd"), "unsubscribed"),
        (TRADE.replace("ethusd", "xrpeur"), "unsubscribed"),
        (DIFF.replace('"microtimestamp":"1641343695973837",', ""), "missing_field"),
        (DIFF.replace('"1641343695973837"', "1641343695973837"), "invalid_value"),
        (TRADE.replace('"3805.44"', '"-1"'), "invalid_value"),
        (
            TRADE.replace('"data":{', '"data":[{').replace('},"channel"', '}],"channel"'),
            "invalid_value",
        ),
    ],
)
def test_bad_frames_are_refused_with_their_reason(frame: str, reason: str) -> None:
    with pytest.raises(FrameError) as refused:
        protocol().on_frame(frame, 1)
    assert refused.value.reason == reason


def test_a_trade_is_published_for_the_configured_instrument() -> None:
    [event] = protocol().on_frame(TRADE, 9).events
    assert event.instrument == Instrument("bitstamp", "ethusd", "ETH/USD")
    assert event.msg_id == "bitstamp:ethusd:trade:216000477"


def test_resync_books_names_books_case_insensitively_and_asks_for_their_snapshots() -> None:
    proto = protocol()
    proto.on_open()
    outcome = proto.resync_books(["xrpeur", "BATBTC", "ETHUSD", "xrpeur"], "internal_error")
    assert [(r.instrument.instrument, r.path, r.reason) for r in outcome.snapshot_requests] == [
        ("XRPEUR", "/api/v2/order_book/xrpeur", "internal_error"),
        ("ethusd", "/api/v2/order_book/ethusd", "internal_error"),
    ]
    everything = proto.resync_books(None, "internal_error").snapshot_requests
    assert [r.instrument.instrument for r in everything] == ["ethusd", "XRPEUR"]


def test_a_bad_rest_body_is_a_bad_snapshot_and_a_good_one_waits_for_a_diff() -> None:
    proto = protocol()
    request = proto.on_open().snapshot_requests[0]
    for body in (
        b"{",
        b"[]",
        b'{"bids":[],"asks":[]}',
        b'{"microtimestamp":1,"bids":[],"asks":[]}',
    ):
        with pytest.raises(FrameError) as refused:
            proto.on_snapshot(request, body, 1)
        assert refused.value.reason == "bad_snapshot"
    outcome = proto.on_snapshot(request, json.dumps(snapshot("ethusd")).encode(), 2)
    assert (outcome.events, outcome.snapshot_requests) == ([], [])
    first_later = proto.on_frame(DIFF, 3)
    # No diff at or before the snapshot was received: it may be older than the stream.
    assert [r.reason for r in first_later.snapshot_requests] == ["stale_snapshot"]
