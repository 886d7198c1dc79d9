"""Coinbase Exchange's simulated side: subscriptions answers and fresh snapshots.

Documents followed (see the module docstring of
``relay.infrastructure.venues.coinbase_exchange``):
https://docs.cdp.coinbase.com/exchange/websocket-feed/channels (heartbeat example),
https://docs.cloud.coinbase.com/exchange/docs/websocket-overview (error example),
https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits (limits).
"""

from __future__ import annotations

import json

from support.coinbase_exchange_frames import protocol
from support.coinbase_exchange_reference import (
    raw_frames,
)

from relay.sim.venues.coinbase_exchange import SimulatedCoinbaseExchange


def test_simulated_venue_answers_only_later_subscribes_with_subscriptions_and_snapshots() -> None:
    venue = SimulatedCoinbaseExchange()
    proto = protocol()
    assert venue.on_client_frame(proto.subscribe_frames()[0]) == []  # the recording answers it
    for frame, _ in raw_frames()[:44]:  # BAND-GBP snapshot and its first update (14.8098 gone)
        venue.on_frame_passed(frame)
    unsubscribe = (
        '{"type":"unsubscribe","channels":[{"name":"level2_batch","product_ids":["BAND-GBP"]}]}'
    )
    [answer] = venue.on_client_frame(unsubscribe)
    channels = {c["name"]: c["product_ids"] for c in json.loads(answer)["channels"]}
    assert "BAND-GBP" not in channels["level2_batch"]
    assert "BAND-GBP" in channels["matches"]
    subscribe = unsubscribe.replace("unsubscribe", "subscribe")
    answer, snapshot = venue.on_client_frame(subscribe)
    assert json.loads(answer)["type"] == "subscriptions"
    message = json.loads(snapshot)
    assert message["product_id"] == "BAND-GBP" and message["type"] == "snapshot"
    assert message["asks"][:4] == [
        ["14.8024", "12.77"],
        ["14.8069", "12.49"],
        ["14.8095", "12.73"],
        ["14.8143", "27.80"],
    ]
    assert message["bids"][0] == ["14.7693", "27.51"]
    assert venue.on_client_frame("not json") == []
    assert venue.on_client_frame('{"type": "ping"}') == []
