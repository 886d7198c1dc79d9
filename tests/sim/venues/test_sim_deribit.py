"""Deribit's simulated side: answers to requests and fresh snapshots on resubscribe."""

from __future__ import annotations

import json
from decimal import Decimal

from support.deribit_frames import CALL, protocol, recv
from support.deribit_reference import deribit_reference

from relay.domain.model import (
    L2Update,
)
from relay.sim.venues.deribit import DeribitSimulatedVenue


def test_simulated_venue_answers_requests_with_their_ids() -> None:
    venue = DeribitSimulatedVenue()
    assert [
        json.loads(r)
        for r in venue.on_client_frame(
            '{"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":30}}'
        )
    ] == [{"jsonrpc": "2.0", "id": 1, "result": "ok"}]
    assert (
        json.loads(
            venue.on_client_frame('{"jsonrpc":"2.0","id":7,"method":"public/test","params":{}}')[0]
        )["id"]
        == 7
    )
    assert [
        json.loads(r)
        for r in venue.on_client_frame(
            '{"jsonrpc":"2.0","id":2,"method":"public/subscribe",'
            '"params":{"channels":["book.X.100ms","trades.X.100ms"]}}'
        )
    ] == [{"jsonrpc": "2.0", "id": 2, "result": ["book.X.100ms", "trades.X.100ms"]}]
    assert json.loads(
        venue.on_client_frame(
            '{"jsonrpc":"2.0","id":3,"method":"public/unsubscribe",'
            '"params":{"channels":["book.X.100ms"]}}'
        )[0]
    )["result"] == ["book.X.100ms"]
    error = venue.on_client_frame('{"jsonrpc":"2.0","id":4,"method":"private/buy","params":{}}')
    assert json.loads(error[0])["error"]["code"] == -32601
    assert venue.on_client_frame("garbage") == []


def test_simulated_venue_sends_a_fresh_snapshot_of_the_book_passed_on_resubscribe() -> None:
    venue = DeribitSimulatedVenue()
    subscribe = (
        '{"jsonrpc":"2.0","id":9,"method":"public/subscribe",'
        f'"params":{{"channels":["book.{CALL}.100ms"]}}}}'
    )
    assert len(venue.on_client_frame(subscribe)) == 1  # nothing passed yet: the ack only
    for frame, _ in recv():
        venue.on_frame_passed(frame)
    assert len(venue.on_client_frame(subscribe)) == 1  # not a resubscribe: the ack only
    venue.on_client_frame(subscribe.replace("public/subscribe", "public/unsubscribe"))
    _, snapshot = venue.on_client_frame(subscribe)
    message = json.loads(snapshot, parse_float=str)
    data = message["params"]["data"]
    assert message["params"]["channel"] == f"book.{CALL}.100ms"
    assert (data["type"], data["instrument_name"]) == ("snapshot", CALL)
    ref = deribit_reference()
    assert {Decimal(p): Decimal(a) for _, p, a in data["bids"]} == ref.books[CALL][0]
    assert {Decimal(p): Decimal(a) for _, p, a in data["asks"]} == ref.books[CALL][1]
    proto = protocol([CALL])
    event = proto.on_frame(snapshot, 1).events[0]
    assert isinstance(event.payload, L2Update) and event.payload.is_snapshot
