"""Coinbase Advanced Trade's simulated side: acks and snapshots of resubscribed books.

No recorded session of this feed exists. The messages below are the example
messages of the channels page, https://docs.cdp.coinbase.com/coinbase-app/
advanced-trade-apis/websocket/websocket-channels (``CHANNELS``), copied as
published, or built from them by changing only ``type``, ``sequence_num`` and the
``updates`` levels (said so where it happens).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.coinbase_frames import (
    HEARTBEAT,
    JSON_VALUES,
    LEVEL2,
    T_MS,
    book_snapshot,
    json_paths,
    l2,
    protocol,
)

from relay.domain.model import (
    L2Update,
)
from relay.sim.venues.coinbase import CoinbaseSimulatedVenue


def test_simulated_venue_acknowledges_subscribes_and_unsubscribes() -> None:
    venue = CoinbaseSimulatedVenue()
    venue.on_frame_passed(HEARTBEAT)
    [ack] = venue.on_client_frame(
        '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}'
    )
    assert json.loads(ack) == {
        "channel": "subscriptions",
        "client_id": "",
        "timestamp": "2023-06-23T20:31:26.122969572Z",
        "events": [{"subscriptions": {"level2": ["BTC-USD"]}}],
    }
    [ack] = venue.on_client_frame('{"type":"subscribe","channel":"heartbeats"}')
    assert json.loads(ack)["events"] == [{"subscriptions": {"level2": ["BTC-USD"]}}]
    [ack] = venue.on_client_frame(
        '{"type":"unsubscribe","product_ids":["BTC-USD"],"channel":"level2"}'
    )
    assert json.loads(ack)["events"] == [{"subscriptions": {}}]
    assert venue.on_client_frame("not json") == ()
    assert venue.on_client_frame('{"type":"ping"}') == ()


def test_simulated_venue_answers_a_resubscribed_book_with_its_current_snapshot() -> None:
    """CHANNELS level2 example shape: update 2 is skipped by a fault (passed to the venue
    side, not to the client), the client resyncs, and the simulated snapshot (which has
    the skipped update) brings the client's book back to the venue's."""
    venue, proto = CoinbaseSimulatedVenue(), protocol(products=("BTC-USD",))
    recorded = [
        book_snapshot(0),
        l2(1, "update", "BTC-USD", ("bid", "21921.3", "0")),
        l2(2, "update", "BTC-USD", ("offer", "21935", "2")),
        l2(3, "update", "BTC-USD", ("bid", "21920", "0.7")),
    ]
    replies: list[str] = []
    for index, frame in enumerate(recorded):
        venue.on_frame_passed(frame)
        if index != 2:
            replies.extend(proto.on_frame(frame, T_MS).replies)
    assert [json.loads(r)["type"] for r in replies] == ["unsubscribe", "subscribe"]
    answers = [a for r in replies for a in venue.on_client_frame(r)]
    assert [json.loads(a)["channel"] for a in answers] == [
        "subscriptions",
        "subscriptions",
        "l2_data",
    ]
    events = [e for a in answers for e in proto.on_frame(a, T_MS).events]
    assert [e.payload for e in events] == [
        L2Update(
            ((Decimal("21921.73"), Decimal("0.06317902")), (Decimal("21920"), Decimal("0.7"))),
            ((Decimal("21933.98"), Decimal("1.5")), (Decimal("21935"), Decimal("2"))),
            True,
        )
    ]
    [event] = proto.on_frame(l2(4, "update", "BTC-USD", ("bid", "21920", "0")), T_MS).events
    assert event.payload == L2Update(((Decimal("21920"), Decimal("0")),), (), False)


@settings(max_examples=200, deadline=None)
@given(
    base=st.sampled_from(
        [LEVEL2, '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}']
    ),
    choice=st.integers(min_value=0),
    value=JSON_VALUES,
)
def test_simulated_venue_takes_any_mangled_frame_without_raising(
    base: str, choice: int, value: Any
) -> None:
    """The CHANNELS level2 example and a subscribe message with one field replaced, fed
    to the simulated venue both as a passed frame and as a client frame."""
    message = json.loads(base)
    paths = json_paths(message)
    path = paths[choice % len(paths)]
    if path:
        target = message
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    else:
        message = value
    venue = CoinbaseSimulatedVenue()
    venue.on_frame_passed(json.dumps(message))
    replies = venue.on_client_frame(json.dumps(message))
    assert all(isinstance(json.loads(reply), dict) for reply in replies)
