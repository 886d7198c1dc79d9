"""BitMEX's simulated side: answers to ops and pings, a fresh partial on resubscribe."""

from __future__ import annotations

import json
from decimal import Decimal

from support.bitmex_frames import SYMBOLS, protocol, recv
from support.bitmex_reference import bitmex_reference

from relay.domain.model import DataType, L2Update
from relay.sim.venues.bitmex import BitmexSimulatedVenue


def test_simulated_venue_answers_each_argument_and_pings() -> None:
    venue = BitmexSimulatedVenue()
    assert venue.on_client_frame("ping") == ["pong"]
    request = {"op": "subscribe", "args": ["trade:XBTUSD", "orderBookL2:XBTUSD"]}
    assert [json.loads(a) for a in venue.on_client_frame(json.dumps(request))] == [
        {"success": True, "subscribe": "trade:XBTUSD", "request": request},
        {"success": True, "subscribe": "orderBookL2:XBTUSD", "request": request},
    ]
    refusal = json.loads(venue.on_client_frame('{"op":"authKey","args":[]}')[0])
    assert refusal["status"] == 400
    assert venue.on_client_frame("garbage") == []


def test_simulated_venue_sends_the_book_passed_on_resubscribe_and_it_restores_the_relay_book() -> (
    None
):
    ref = bitmex_reference()
    venue = BitmexSimulatedVenue()
    subscribe = '{"op":"subscribe","args":["orderBookL2:XBTUSD"]}'
    assert len(venue.on_client_frame(subscribe)) == 1  # nothing passed yet: the ack only
    for frame, _ in recv():
        venue.on_frame_passed(frame)
    assert len(venue.on_client_frame(subscribe)) == 1  # not a resubscribe: the ack only
    venue.on_client_frame(subscribe.replace("subscribe", "unsubscribe"))
    _, partial = venue.on_client_frame(subscribe)
    message = json.loads(partial, parse_float=Decimal)
    assert (message["table"], message["action"]) == ("orderBookL2", "partial")
    rows = message["data"]
    assert {r["symbol"] for r in rows} == {"XBTUSD"}
    bids = {Decimal(r["price"]): Decimal(r["size"]) for r in rows if r["side"] == "Buy"}
    asks = {Decimal(r["price"]): Decimal(r["size"]) for r in rows if r["side"] == "Sell"}
    assert (bids, asks) == ref.books["XBTUSD"]
    proto = protocol(("XBTUSD",), (DataType.L2_ORDERBOOK,))
    (event,) = proto.on_frame(partial, 1).events
    assert isinstance(event.payload, L2Update) and event.payload.is_snapshot
    assert (dict(event.payload.bids), dict(event.payload.asks)) == ref.books["XBTUSD"]
    assert len(SYMBOLS) == len(ref.books)
