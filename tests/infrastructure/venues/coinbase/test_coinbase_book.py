"""Coinbase Advanced Trade level2 books: snapshot, deltas, dedup keys, crossed books.

No recorded session of this feed exists. The messages below are the example
messages of the channels page, https://docs.cdp.coinbase.com/coinbase-app/
advanced-trade-apis/websocket/websocket-channels (``CHANNELS``), copied as
published, or built from them by changing only ``type``, ``sequence_num`` and the
``updates`` levels (said so where it happens).
"""

from __future__ import annotations

import json
from decimal import Decimal

from support.coinbase_frames import (
    BTC,
    LEVEL2,
    T_MS,
    book_snapshot,
    l2,
    protocol,
    with_sequence,
)

from relay.application.ports import BookResync
from relay.domain.model import (
    L2Update,
)


def test_documented_level2_snapshot_is_published_best_bid_first() -> None:
    """CHANNELS, Level2 Channel example: a snapshot of two bid levels."""
    outcome = protocol().on_frame(LEVEL2, T_MS)
    [event] = outcome.events
    assert event.instrument == BTC
    assert event.exchange_timestamp_ms == 1675974770714
    assert event.payload == L2Update(
        ((Decimal("21921.73"), Decimal("0.06317902")), (Decimal("21921.3"), Decimal("0.02"))),
        (),
        True,
    )
    assert event.dedup_key.startswith("snapshot:2023-02-09T20:32:50.714964855Z:")
    assert len(event.dedup_key) == len("snapshot:2023-02-09T20:32:50.714964855Z:") + 16


def test_level2_update_after_the_snapshot_is_a_delta_timed_by_its_event_time() -> None:
    """CHANNELS, Level2 Channel example, then the same shape with ``type`` update."""
    proto = protocol()
    proto.on_frame(LEVEL2, T_MS)
    update = l2(
        1,
        "update",
        "BTC-USD",
        ("bid", "21921.3", "0"),
        ("offer", "21930.5", "0.4"),
        event_time="2023-02-09T20:32:51.123456Z",
    )
    [event] = proto.on_frame(update, T_MS + 1).events
    assert event.payload == L2Update(
        ((Decimal("21921.3"), Decimal("0")),), ((Decimal("21930.5"), Decimal("0.4")),), False
    )
    assert event.exchange_timestamp_ms == 1675974771123
    assert event.dedup_key.startswith("1675974771123:")


def test_same_update_received_on_two_connections_has_one_dedup_key() -> None:
    """CHANNELS level2 example on two connections whose ``sequence_num`` differ."""
    first, second = protocol(), protocol()
    first.on_frame(LEVEL2, T_MS)
    second.on_frame(with_sequence(LEVEL2, 40), T_MS)
    [a] = first.on_frame(l2(1, "update", "BTC-USD", ("bid", "21921.3", "0")), T_MS).events
    [b] = second.on_frame(l2(41, "update", "BTC-USD", ("bid", "21921.3", "0")), T_MS).events
    [c] = first.on_frame(l2(2, "update", "BTC-USD", ("bid", "21921.3", "0.5")), T_MS).events
    assert a.msg_id == b.msg_id
    assert c.msg_id != a.msg_id


def test_update_that_crosses_the_book_resyncs_only_that_book() -> None:
    """CHANNELS level2 example shape: a bid at the best ask crosses the book."""
    proto = protocol()
    proto.on_frame(book_snapshot(0, "BTC-USD"), T_MS)
    proto.on_frame(book_snapshot(1, "ETH-USD"), T_MS)
    outcome = proto.on_frame(l2(2, "update", "BTC-USD", ("bid", "21933.98", "1")), T_MS)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(BTC, "crossed_book")]
    assert [json.loads(r) for r in outcome.replies] == [
        {"type": "unsubscribe", "product_ids": ["BTC-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"},
    ]
    assert len(proto.on_frame(l2(3, "update", "ETH-USD", ("bid", "1", "1")), T_MS).events) == 1


def test_removing_the_best_ask_then_bidding_below_the_next_one_does_not_cross() -> None:
    """CHANNELS level2 example shape: best prices are tracked past removed levels."""
    proto = protocol(products=("BTC-USD",))
    proto.on_frame(
        l2(
            0,
            "snapshot",
            "BTC-USD",
            ("bid", "100", "1"),
            ("offer", "101", "1"),
            ("offer", "103", "1"),
        ),
        T_MS,
    )
    proto.on_frame(l2(1, "update", "BTC-USD", ("offer", "101", "0")), T_MS)
    outcome = proto.on_frame(l2(2, "update", "BTC-USD", ("bid", "102", "1")), T_MS)
    assert (len(outcome.events), outcome.resyncs) == (1, [])
    outcome = proto.on_frame(l2(3, "update", "BTC-USD", ("bid", "103", "1")), T_MS)
    assert outcome.resyncs == [BookResync(BTC, "crossed_book")]
