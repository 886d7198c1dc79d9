"""Deribit protocol: subscribe requests, heartbeats, answers, frame errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.deribit_frames import CALL, PUT, first, protocol, recv, trades_frame

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    DataType,
)
from relay.infrastructure.venues.deribit.protocol import (
    CHANNELS_PER_SUBSCRIBE,
    MAX_PENDING_REQUESTS,
)
from relay.infrastructure.venues.registry import venue_spec


def notification(channel: str, data: Any) -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}
    )


# -- requests, heartbeats, limits --------------------------------------------------------------


def test_subscribe_frames_set_the_heartbeat_then_subscribe_in_chunks_of_100_channels() -> None:
    names = [f"BTC-{i}-P" for i in range(60)]
    frames = [
        json.loads(f) for f in protocol(names, (DataType.TRADE, DataType.TICKER)).subscribe_frames()
    ]
    assert frames[0] == {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "public/set_heartbeat",
        "params": {"interval": 30},
    }
    assert [f["id"] for f in frames] == [1, 2, 3]
    assert [len(f["params"]["channels"]) for f in frames[1:]] == [CHANNELS_PER_SUBSCRIBE, 20]
    assert frames[1]["params"]["channels"][:2] == ["trades.BTC-0-P.100ms", "ticker.BTC-0-P.100ms"]
    spec = venue_spec("deribit")
    assert spec.subscribe_interval_s >= 1 / 3.3
    assert spec.max_subscriptions_per_connection == 0


def test_each_data_type_maps_to_its_channel_and_funding_and_liquidation_share_them() -> None:
    proto = protocol(
        ["BTC-PERPETUAL"],
        (DataType.LIQUIDATION, DataType.FUNDING_RATE, DataType.CANDLE, DataType.L2_ORDERBOOK),
        candle_interval="1h",
    )
    assert proto.channels == (
        "trades.BTC-PERPETUAL.100ms",
        "ticker.BTC-PERPETUAL.100ms",
        "book.BTC-PERPETUAL.100ms",
        "chart.trades.BTC-PERPETUAL.60",
    )


@pytest.mark.parametrize("depth", [0, 1, 10, 20, 1000])
def test_every_depth_maps_to_the_full_incremental_book_channel(depth: int) -> None:
    assert protocol([PUT], (DataType.L2_ORDERBOOK,), depth=depth).channels == (f"book.{PUT}.100ms",)


def test_candle_interval_without_deribit_resolution_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"candle_interval='4h': Deribit offers 1m, "):
        protocol([PUT], (DataType.CANDLE,), candle_interval="4h")


def test_test_request_is_answered_with_public_test_and_plain_heartbeats_need_nothing() -> None:
    proto = protocol([PUT])
    assert proto.keepalive() is None
    proto.subscribe_frames()
    outcome = proto.on_frame(
        '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}', 1
    )
    assert outcome.replies == ['{"jsonrpc":"2.0","id":3,"method":"public/test","params":{}}']
    assert outcome.events == []
    assert proto.on_frame(
        '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}', 1
    ) == FrameOutcome([], [], [])
    assert proto.on_frame('{"jsonrpc":"2.0","id":3,"result":{"version":"1.2.26"}}', 1) == (
        FrameOutcome([], [], [])
    )


def test_unanswered_requests_are_forgotten_oldest_first_beyond_the_bound() -> None:
    proto = protocol([PUT])
    proto.subscribe_frames()  # ids 1 (set_heartbeat) and 2 (subscribe)
    test_request = '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'
    for _ in range(MAX_PENDING_REQUESTS):
        proto.on_frame(test_request, 1)
    assert len(proto._pending) == MAX_PENDING_REQUESTS
    with pytest.raises(FrameError) as exc:
        proto.on_frame('{"jsonrpc":"2.0","id":2,"error":{"code":1,"message":"x"}}', 1)
    assert exc.value.reason == "request_error"  # id 2 was forgotten: no longer a subscribe


def test_answers_to_set_heartbeat_and_subscribe_and_the_recorded_ack_are_empty_outcomes() -> None:
    proto = protocol()
    proto.subscribe_frames()
    empty = FrameOutcome([], [], [])
    assert proto.on_frame('{"jsonrpc":"2.0","id":1,"result":"ok"}', 1) == empty
    assert (
        proto.on_frame(json.dumps({"jsonrpc": "2.0", "id": 2, "result": list(proto.channels)}), 1)
        == empty
    )
    assert proto.on_frame(recv()[0][0], 1) == empty  # the recording's own ack, id 0


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (
            '{"jsonrpc":"2.0","id":2,"error":{"code":11050,"message":"bad_request"}}',
            "subscribe_error",
        ),
        ('{"jsonrpc":"2.0","id":2,"result":["book.BTC-24SEP21-8000-P.100ms"]}', "subscribe_error"),
        (
            '{"jsonrpc":"2.0","id":1,"error":{"code":10028,"message":"too_many_requests"}}',
            "request_error",
        ),
        ('{"jsonrpc":"2.0","error":{"code":10028,"message":"too_many_requests"}}', "request_error"),
    ],
)
def test_error_answers_and_a_subscribe_missing_channels_raise(frame: str, reason: str) -> None:
    proto = protocol([PUT])
    proto.subscribe_frames()
    with pytest.raises(FrameError) as exc:
        proto.on_frame(frame, 1)
    assert exc.value.reason == reason


SNAP = '"type":"snapshot","timestamp":1,"instrument_name":"X","change_id":5'


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json {", "not_json"),
        (b"\xff\xfe", "not_json"),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.' + PUT + '.raw",'
            '"data":{"best_bid_price":NaN}}}',
            "not_json",
        ),
        ("[1,2]", "unknown_event"),
        ('{"jsonrpc":"2.0","method":"something"}', "unknown_event"),
        (notification("deribit_price_index.btc_usd", {}), "unknown_event"),
        (notification(f"quote.{PUT}.raw", {}), "unknown_event"),
        ('{"jsonrpc":"2.0","method":"subscription","params":{"data":{}}}', "missing_field"),
        (
            notification(f"book.{PUT}.raw", {"type": "snapshot", "bids": [], "asks": []}),
            "missing_field",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[["new","0.1",1.0]],"asks":[]}}}',
            "invalid_value",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[["new",0.1,-1.0]],"asks":[]}}}',
            "invalid_value",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[["move",0.1,1.0]],"asks":[]}}}',
            "invalid_value",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[["new",1e999999,1.0]],"asks":[]}}}',
            "invalid_value",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[],"asks":[],"type":"partial"}}}',
            "invalid_value",
        ),
        (trades_frame('"liquidation":"X"').replace("BTC-PERPETUAL", PUT), "invalid_value"),
        (
            trades_frame().replace("BTC-PERPETUAL", PUT).replace('"sell"', '"short"'),
            "invalid_value",
        ),
        (notification("book.BTC-PERPETUAL.raw", {}), "unsubscribed"),
        ('{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"other"}}', "unknown_event"),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str | bytes, reason: str) -> None:
    proto = protocol(
        [PUT], (DataType.TRADE, DataType.LIQUIDATION, DataType.L2_ORDERBOOK, DataType.TICKER)
    )
    with pytest.raises(FrameError) as exc:
        proto.on_frame(frame, 1)
    assert exc.value.reason == reason


def test_ticker_channel_of_a_book_only_subscription_is_unsubscribed() -> None:
    frame, t = first(lambda m: m.get("params", {}).get("channel") == f"ticker.{CALL}.raw")
    with pytest.raises(FrameError) as exc:
        protocol([CALL], (DataType.L2_ORDERBOOK,)).on_frame(frame, t)
    assert exc.value.reason == "unsubscribed"
