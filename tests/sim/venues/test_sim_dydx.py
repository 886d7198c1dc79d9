"""dYdX's simulated side: answers as the indexer words them, a fresh book on a resubscribe.

Frames: the indexer WebSocket page's examples (``support.dydx_frames``), renumbered
for one connection; the simulated side sees them as recorded frames the replay passed.
"""

from __future__ import annotations

import json
from decimal import Decimal

from support.dydx_frames import (
    BOOK_ASKS,
    BOOK_BIDS,
    BOOK_SNAPSHOT,
    BTC,
    CONNECTED,
    book,
    decimals,
    numbered,
    protocol,
)

from relay.application.ports import BookResync
from relay.domain.model import DataType, Instrument, L2Update
from relay.sim.venues.dydx import DydxSimulatedVenue

D = Decimal
SUBSCRIBE = '{"type":"subscribe","channel":"v4_orderbook","id":"BTC-USD"}'
UNSUBSCRIBE = '{"type":"unsubscribe","channel":"v4_orderbook","id":"BTC-USD"}'
CONNECTION = "ee5a4696-dce8-44ef-8d68-f0e0d0b06160"


def test_simulated_venue_answers_as_the_indexer_does() -> None:
    venue = DydxSimulatedVenue()
    venue.on_frame_passed(numbered(BOOK_SNAPSHOT, 7))
    assert venue.on_client_frame(SUBSCRIBE) == []  # a first subscribe: the recording answers
    assert venue.on_client_frame(UNSUBSCRIBE) == [
        f'{{"type":"unsubscribed","connection_id":"{CONNECTION}","message_id":7,'
        '"channel":"v4_orderbook","id":"BTC-USD"}'
    ]
    assert venue.on_client_frame('{"type":"ping"}') == []
    assert venue.on_client_frame('{"type":"hello"}') == [
        f'{{"type":"error","message":"Invalid message type: hello",'
        f'"connection_id":"{CONNECTION}","message_id":7}}'
    ]
    assert venue.on_client_frame('{"type":"subscribe"}') == [
        '{"type":"error","message":"Invalid subscribe message: channel is required",'
        f'"connection_id":"{CONNECTION}","message_id":7}}'
    ]
    assert venue.on_client_frame("garbage") == []
    venue.on_client_frame('{"type":"unsubscribe","channel":"v4_trades","id":"BTC-USD"}')
    (answer,) = venue.on_client_frame('{"type":"subscribe","channel":"v4_trades","id":"BTC-USD"}')
    assert json.loads(answer)["contents"] == {"trades": []}


def test_a_resync_after_a_lost_frame_gets_the_book_the_replay_passed() -> None:
    venue = DydxSimulatedVenue()
    proto = protocol((DataType.L2_ORDERBOOK,))
    frames = [
        CONNECTED,
        numbered(BOOK_SNAPSHOT, 1),
        book(message_id=2, contents={"bids": [["28194", "1.5"]], "asks": [["28199", "0"]]}),
        book(message_id=3, contents={"asks": [["28195", "0.25"]]}),  # lost on the way
        book(message_id=4, contents={"bids": [["28183", "0"], ["28180", "7"]]}),
    ]
    for index, frame in enumerate(frames):
        venue.on_frame_passed(frame)
        if index == 3:
            continue  # the simulator's --skip-after: passed, not sent
        outcome = proto.on_frame(frame, 1_000)
    assert outcome.resyncs == [BookResync(Instrument("dydx", BTC, "BTC/USD:PERP"), "gap")]
    answers = [a for reply in outcome.replies for a in venue.on_client_frame(reply)]
    assert [json.loads(a)["type"] for a in answers] == ["unsubscribed", "subscribed"]
    events = [e for a in answers for e in proto.on_frame(a, 1_000).events]
    (snapshot,) = [e.payload for e in events]
    assert isinstance(snapshot, L2Update) and snapshot.is_snapshot
    bids = dict(decimals(BOOK_BIDS)) | {D("28194"): D("1.5"), D("28180"): D("7")}
    del bids[D("28183")]
    asks = dict(decimals(BOOK_ASKS)) | {D("28195"): D("0.25")}
    del asks[D("28199")]
    assert snapshot.bids == tuple(sorted(bids.items(), reverse=True))
    assert snapshot.asks == tuple(sorted(asks.items()))
    later = proto.on_frame(book(message_id=5, contents={"bids": [["28194", "2"]]}), 1_000)
    assert [e.payload for e in later.events] == [L2Update(((D("28194"), D("2")),), (), False)]
