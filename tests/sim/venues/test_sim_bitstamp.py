"""Bitstamp's simulated side: subscribe acknowledgements and heartbeat answers as the venue
writes them, and REST order books rebuilt from ``bitstamp.jsonl`` equal to the reference
books built from the raw frames (``support.bitstamp_reference``)."""

from __future__ import annotations

import json
from decimal import Decimal

from support.bitstamp_reference import bitstamp_books, diffs, pairs, snapshot
from support.reference_books import records

from relay.sim.venues.bitstamp import BitstampSimulatedVenue, BitstampSnapshotBuilder


def test_subscribes_are_acknowledged_and_heartbeats_answered() -> None:
    side = BitstampSimulatedVenue()
    subscribe = '{"event":"bts:subscribe","data":{"channel":"diff_order_book_ethusd"}}'
    assert [json.loads(r) for r in side.on_client_frame(subscribe)] == [
        {"event": "bts:subscription_succeeded", "channel": "diff_order_book_ethusd", "data": {}}
    ]
    unsubscribe = '{"event":"bts:unsubscribe","data":{"channel":"live_trades_ethusd"}}'
    assert [json.loads(r) for r in side.on_client_frame(unsubscribe)] == [
        {"event": "bts:unsubscription_succeeded", "channel": "live_trades_ethusd", "data": {}}
    ]
    assert [json.loads(r) for r in side.on_client_frame('{"event":"bts:heartbeat"}')] == [
        {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}
    ]
    assert side.on_client_frame("not json") == []
    assert side.on_client_frame('{"event":"bts:subscribe","data":{"channel":7}}') == []


def test_rebuilt_order_books_at_the_end_equal_the_reference_books() -> None:
    frames = [r["data"] for r in records("bitstamp.jsonl") if r["kind"] == "recv"]
    builder = BitstampSnapshotBuilder([frames])
    reference = bitstamp_books()
    rebuilt = 0
    for pair in pairs():
        path = f"/api/v2/order_book/{pair}"
        recorded = json.dumps(snapshot(pair))
        assert builder.snapshot(path, "", recorded, [0]) is None
        body = builder.snapshot(path, "", recorded, [len(frames)])
        if pair not in reference:
            assert body is None  # sgbeur: no diff at all
            continue
        assert body is not None
        book = json.loads(body)
        last = max(int(d["microtimestamp"]) for d in diffs(pair))
        assert (book["microtimestamp"], book["timestamp"]) == (str(last), str(last // 1_000_000))
        bids = [(Decimal(p), Decimal(q)) for p, q in book["bids"]]
        asks = [(Decimal(p), Decimal(q)) for p, q in book["asks"]]
        assert bids == sorted(reference[pair][0].items(), reverse=True)
        assert asks == sorted(reference[pair][1].items())
        rebuilt += 1
    assert rebuilt == 9
    assert builder.snapshot("/api/v2/ticker/ethusd", "", "{}", [len(frames)]) is None
