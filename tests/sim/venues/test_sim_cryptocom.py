"""Crypto.com's simulated side: request answers and a fresh snapshot on a repeated subscribe.

Frames are the Exchange API v1 reference's samples (``support.cryptocom_frames``; there
is no recording of this venue).
"""

from __future__ import annotations

import json

from support.cryptocom_frames import BOOK_SNAPSHOT, BOOK_UPDATE, HEARTBEAT_ANSWER, delta, protocol

from relay.domain.model import DataType, L2Update
from relay.sim.venues.cryptocom import CryptocomSimulatedVenue

SUBSCRIBE = (
    '{"id":2,"method":"subscribe","params":{"channels":["book.BTCUSD-PERP.10"],'
    '"book_subscription_type":"SNAPSHOT_AND_UPDATE","book_update_frequency":10}}'
)


def test_simulated_venue_answers_requests_with_their_ids_and_takes_heartbeat_answers() -> None:
    venue = CryptocomSimulatedVenue()
    assert [json.loads(r) for r in venue.on_client_frame(SUBSCRIBE)] == [
        {"id": 2, "code": 0, "method": "subscribe"}
    ]
    assert [
        json.loads(r)
        for r in venue.on_client_frame(
            '{"id":5,"method":"unsubscribe","params":{"channels":["trade.BTCUSD-PERP"]}}'
        )
    ] == [{"id": 5, "code": 0, "method": "unsubscribe"}]
    assert venue.on_client_frame(HEARTBEAT_ANSWER) == []
    assert [json.loads(r) for r in venue.on_client_frame('{"id":7,"method":"public/auth"}')] == [
        {"id": 7, "code": 40001, "method": "public/auth", "message": "Unknown method"}
    ]
    assert venue.on_client_frame("garbage") == []


def test_a_repeated_book_subscribe_gets_the_book_passed_which_the_protocol_takes() -> None:
    """The replay passed the documented snapshot, its delta and one more (``u`` 7845460003);
    the client's resync (a second subscribe of the channel) is answered with the book as of
    then, which the protocol publishes whole and chains the next delta onto."""
    venue = CryptocomSimulatedVenue()
    assert len(venue.on_client_frame(SUBSCRIBE)) == 1  # first subscribe: the answer only
    later = delta(7845460003, 7845460002, [["50113.500000", "0"]], [["50125.000000", "1.5"]])
    for frame in (BOOK_SNAPSHOT, BOOK_UPDATE, later):
        venue.on_frame_passed(frame)
    answer, fresh = venue.on_client_frame(SUBSCRIBE)
    assert json.loads(answer)["code"] == 0
    proto = protocol((DataType.L2_ORDERBOOK,))
    (event,) = proto.on_frame(fresh, 1).events
    assert isinstance(event.payload, L2Update) and event.payload.is_snapshot
    assert event.payload.last_update_id == 7845460003
    assert [str(p) for p, _ in event.payload.bids[:2]] == ["50113.000000", "50112.000000"]
    assert [(str(p), str(q)) for p, q in event.payload.asks[:2]] == [
        ("50125.000000", "1.5"),
        ("50130.000000", "1.279000"),
    ]
    assert len(event.payload.asks) == 11  # 10 documented, 50126 removed, 50180 and 50125 added
    follow = proto.on_frame(delta(7845460004, 7845460003, [], [["50125.000000", "0"]]), 2)
    assert [e.dedup_key for e in follow.events] == ["7845460003:7845460004"]
