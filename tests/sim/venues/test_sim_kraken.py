"""Kraken's simulated side: pongs, acks, and fresh verified snapshots on resubscribe.

No recorded Kraken v2 session exists in shared/captures, so every frame here is
a documented example (each test names its page) or one derived from one by a
stated change.
"""

from __future__ import annotations

import json
from typing import Any

from support.kraken_frames import (
    BTC,
    GUIDE_ASKS,
    GUIDE_BIDS,
    book_frame,
    checksum_of,
    decimals,
    guide_snapshot,
    protocol,
)

from relay.application.ports import BookResync, FrameOutcome
from relay.domain.model import L2Update
from relay.sim.venues.kraken import KrakenSimulatedVenue

# --- simulated venue ----------------------------------------------------------------------


def test_simulated_venue_answers_pings_and_acks_each_symbol() -> None:
    sim = KrakenSimulatedVenue()
    assert sim.on_client_frame('{"method":"ping","req_id":101}') == [
        '{"method":"pong","req_id":101}'
    ]
    replies = sim.on_client_frame(
        '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"],'
        '"snapshot":false}}'
    )
    assert [json.loads(r) for r in replies] == [
        {
            "method": "subscribe",
            "result": {"channel": "trade", "symbol": "BTC/USD", "snapshot": False},
            "success": True,
        },
        {
            "method": "subscribe",
            "result": {"channel": "trade", "symbol": "ETH/USD", "snapshot": False},
            "success": True,
        },
    ]
    proto = protocol()
    for reply in replies:
        assert proto.on_frame(reply, 1) == FrameOutcome([], [], [])


def test_simulated_venue_sends_a_fresh_verified_snapshot_when_a_book_is_subscribed_again() -> None:
    """The replay passed the guide's snapshot and one update; a resync's subscribe gets the
    book as it stands now, which the protocol accepts (GUIDE)."""
    sim = KrakenSimulatedVenue()
    asks = [("45285.2", "0.00200000"), *GUIDE_ASKS[1:]]
    update = book_frame(
        "update",
        "BTC/USD",
        [],
        [("45285.2", "0.00200000")],
        checksum_of(GUIDE_BIDS, asks),
        "2023-10-06T17:35:56.000001Z",
    )
    sim.on_frame_passed(guide_snapshot())
    sim.on_frame_passed(update)
    proto = protocol()
    bad = update.replace("0.00200000", "0.00300000")
    proto.on_frame(guide_snapshot(), 1)
    resync = proto.on_frame(bad, 2)
    assert resync.resyncs == [BookResync(BTC, "checksum")]
    answers: list[str] = []
    for frame in resync.replies:
        answers.extend(sim.on_client_frame(frame))
    assert len(answers) == 3  # unsubscribe ack, subscribe ack, snapshot
    events: list[Any] = []
    for answer in answers:
        outcome = proto.on_frame(answer, 3)
        assert outcome.resyncs == []
        events.extend(outcome.events)
    [snapshot] = events
    assert snapshot.payload == L2Update(decimals(GUIDE_BIDS), decimals(asks), True)
    assert snapshot.exchange_timestamp_ms == 1696613756000
