"""Kraken Futures' simulated side: subscribe answers and fresh book snapshots on resubscribe."""

from __future__ import annotations

import json
from decimal import Decimal

from support.kraken_futures_frames import ETH, protocol, recv
from support.kraken_futures_reference import kraken_futures_reference

from relay.domain.model import L2Update
from relay.sim.venues.kraken_futures import KrakenFuturesSimulatedVenue


def test_simulated_venue_answers_each_product_as_the_recording_shows() -> None:
    venue = KrakenFuturesSimulatedVenue()
    assert venue.on_client_frame(
        '{"event":"subscribe","feed":"trade","product_ids":["PI_ETHUSD","PI_LTCUSD"]}'
    ) == [
        '{"event":"subscribed","feed":"trade","product_ids":["PI_ETHUSD"]}',
        '{"event":"subscribed","feed":"trade","product_ids":["PI_LTCUSD"]}',
    ]
    assert venue.on_client_frame(
        '{"event":"unsubscribe","feed":"book","product_ids":["PI_ETHUSD"]}'
    ) == ['{"event":"unsubscribed","feed":"book","product_ids":["PI_ETHUSD"]}']
    assert venue.on_client_frame('{"event":"challenge","api_key":"k"}') == [
        '{"event":"error","message":"Unknown event"}'
    ]
    assert venue.on_client_frame("garbage") == []
    assert venue.on_client_frame('{"feed":"book"}') == []


def test_simulated_venue_sends_the_book_passed_on_a_resubscribe_only() -> None:
    venue = KrakenFuturesSimulatedVenue()
    subscribe = '{"event":"subscribe","feed":"book","product_ids":["PI_ETHUSD"]}'
    unsubscribe = subscribe.replace('"subscribe"', '"unsubscribe"')
    assert len(venue.on_client_frame(subscribe)) == 1  # the answer only
    for frame, _ in recv():
        venue.on_frame_passed(frame)
    assert len(venue.on_client_frame(subscribe)) == 1  # not a resubscribe: the answer only
    venue.on_client_frame(unsubscribe)
    _, snapshot = venue.on_client_frame(subscribe)
    message = json.loads(snapshot, parse_float=str)
    assert (message["feed"], message["product_id"], message["seq"]) == (
        "book_snapshot",
        ETH,
        26664749,
    )
    ref = kraken_futures_reference()
    assert {Decimal(lv["price"]): Decimal(lv["qty"]) for lv in message["bids"]} == ref.books[ETH][0]
    assert {Decimal(lv["price"]): Decimal(lv["qty"]) for lv in message["asks"]} == ref.books[ETH][1]
    event = protocol([ETH]).on_frame(snapshot, 1).events[0]
    assert isinstance(event.payload, L2Update) and event.payload.is_snapshot
    assert event.payload.last_update_id == 26664749
