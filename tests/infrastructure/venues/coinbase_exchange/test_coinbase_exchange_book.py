"""Coinbase Exchange books on the recorded session: snapshots, deltas, crossed-book resyncs.

Documents followed (see the module docstring of
``relay.infrastructure.venues.coinbase_exchange``):
https://docs.cdp.coinbase.com/exchange/websocket-feed/channels (heartbeat example),
https://docs.cloud.coinbase.com/exchange/docs/websocket-overview (error example),
https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits (limits).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.coinbase_exchange_frames import (
    ALL,
    BAND_GBP,
    SKL_BTC,
    first_frame,
    frame_at,
    protocol,
    replay,
)
from support.coinbase_exchange_reference import (
    PRODUCTS,
    books,
    l2update_count,
    raw_frames,
    tickers,
    trades,
)

from relay.application.errors import FrameError
from relay.application.ports import BookResync
from relay.domain.model import DataType, L2Update, MarketEvent, Ticker, Trade
from relay.sim.venues.coinbase_exchange import SimulatedCoinbaseExchange


def rebuild(updates: list[L2Update]) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for update in updates:
        if update.is_snapshot:
            bids, asks = {}, {}
        for side, levels in ((bids, update.bids), (asks, update.asks)):
            for price, quantity in levels:
                if quantity == 0:
                    side.pop(price, None)
                else:
                    side[price] = quantity
    return bids, asks


# --- parsing real frames -------------------------------------------------------------------------


def test_snapshot_is_published_with_every_recorded_level_best_first() -> None:
    frame, at_ms = frame_at(2)
    outcome = protocol().on_frame(frame, at_ms)
    [event] = outcome.events
    assert (event.instrument, event.data_type, event.received_at_ms) == (
        BAND_GBP,
        DataType.L2_ORDERBOOK,
        1618677817077,
    )
    assert event.exchange_timestamp_ms is None
    assert event.dedup_key == "snapshot:986ef65f82eecb04"
    assert event.msg_id == "coinbase-exchange:BAND-GBP:l2_orderbook:snapshot:986ef65f82eecb04"
    payload = event.payload
    assert isinstance(payload, L2Update)
    assert payload.is_snapshot is True
    assert (payload.first_update_id, payload.last_update_id) == (None, None)
    assert (len(payload.bids), len(payload.asks)) == (152, 166)
    assert payload.bids[:3] == (
        (Decimal("14.7693"), Decimal("27.51")),
        (Decimal("14.7659"), Decimal("12.48")),
        (Decimal("14.7594"), Decimal("12.28")),
    )
    assert payload.asks[:3] == (
        (Decimal("14.8024"), Decimal("12.77")),
        (Decimal("14.8069"), Decimal("12.49")),
        (Decimal("14.8095"), Decimal("12.73")),
    )
    assert str(payload.asks[13][1]) == "467.90"  # the venue's digits are kept
    assert outcome.replies == [] and outcome.resyncs == []


def test_l2update_is_a_delta_with_the_venue_time_and_a_content_dedup_key() -> None:
    proto = protocol()
    proto.on_frame(*frame_at(15))  # SKL-BTC snapshot
    frame, at_ms = frame_at(30)
    assert frame == (
        '{"type":"l2update","product_id":"SKL-BTC","changes":[["sell","0.00001306",'
        '"660.5"]],"time":"2021-04-17T16:43:37.075687Z"}'
    )
    [event] = proto.on_frame(frame, at_ms).events
    assert event == MarketEvent(
        SKL_BTC,
        DataType.L2_ORDERBOOK,
        1618677817118,
        1618677817075,
        L2Update((), ((Decimal("0.00001306"), Decimal("660.5")),), False),
        "b6d8bb47fc76d15d:2021-04-17T16:43:37.075687Z:c3e113d7c57ddbcf",
    )


def test_l2update_removing_a_level_carries_quantity_zero() -> None:
    proto = protocol()
    proto.on_frame(*frame_at(2))  # BAND-GBP snapshot
    index, frame, at_ms = first_frame(
        lambda f: f["type"] == "l2update" and f["product_id"] == "BAND-GBP"
    )
    assert index == 43
    [event] = proto.on_frame(frame, at_ms).events
    assert event.payload == L2Update((), ((Decimal("14.8098"), Decimal("0.00")),), False)


def test_recorded_session_builds_the_reference_books_and_publishes_every_trade_and_ticker() -> None:
    events, outcomes, rejected = replay(protocol())
    assert rejected == {}
    assert not any(o.resyncs or o.replies or o.snapshot_requests for o in outcomes)
    reference = books()
    for product in PRODUCTS:
        mine = [e for e in events if e.instrument.instrument == product]
        updates = [e.payload for e in mine if isinstance(e.payload, L2Update)]
        assert [u.is_snapshot for u in updates].count(True) == 1
        assert updates[0].is_snapshot
        assert len(updates) == 1 + l2update_count(product)
        assert rebuild(updates) == reference[product], product
        assert [
            (
                e.payload.trade_id,
                str(e.payload.price),
                str(e.payload.quantity),
                e.payload.side.value,
            )
            for e in mine
            if isinstance(e.payload, Trade)
        ] == trades(product)
        assert [
            (str(e.payload.bid_price), str(e.payload.ask_price), e.payload.update_id)
            for e in mine
            if isinstance(e.payload, Ticker)
        ] == tickers(product)
    counts = {t: sum(1 for e in events if e.data_type is t) for t in ALL}
    assert counts == {DataType.TRADE: 107, DataType.TICKER: 107, DataType.L2_ORDERBOOK: 9729}
    keys = [e.msg_id for e in events]
    assert len(keys) == len(set(keys))


# --- book integrity ------------------------------------------------------------------------------


def test_l2update_before_its_snapshot_is_skipped_as_unsynced() -> None:
    proto = protocol()
    with pytest.raises(FrameError) as caught:
        proto.on_frame(*frame_at(30))  # SKL-BTC update, its snapshot not fed
    assert caught.value.reason == "unsynced"


def crossing_update(product: str, price: str) -> str:
    return json.dumps(
        {
            "type": "l2update",
            "product_id": product,
            "changes": [["buy", price, "1.00"]],
            "time": "2021-04-17T16:43:37.500000Z",
        }
    )


def test_update_that_crosses_the_book_resyncs_that_one_product() -> None:
    proto = protocol()
    frames = raw_frames()
    events, _, _ = replay(proto, frames[:200])
    band_before = [e for e in events if e.instrument.instrument == "BAND-GBP"]
    assert band_before  # BAND-GBP was synced and publishing
    # A bid above the best ask (14.8024 in the snapshot) crosses the book.
    outcome = proto.on_frame(crossing_update("BAND-GBP", "14.9999"), 2)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(BAND_GBP, "crossed_book")]
    assert [json.loads(r) for r in outcome.replies] == [
        {
            "type": "unsubscribe",
            "channels": [{"name": "level2_batch", "product_ids": ["BAND-GBP"]}],
        },
        {"type": "subscribe", "channels": [{"name": "level2_batch", "product_ids": ["BAND-GBP"]}]},
    ]
    # Nothing more for BAND-GBP's book until a snapshot; the other books go on.
    later, outcomes, rejected = replay(proto, frames[200:2000])
    band_updates = sum(1 for f, _ in frames[200:2000] if '"l2update","product_id":"BAND-GBP"' in f)
    assert band_updates > 0
    assert rejected == {"unsynced": band_updates}
    assert not [
        e
        for e in later
        if e.instrument.instrument == "BAND-GBP" and e.data_type is DataType.L2_ORDERBOOK
    ]
    assert [
        e
        for e in later
        if e.instrument.instrument == "SKL-USD" and e.data_type is DataType.L2_ORDERBOOK
    ]
    assert not any(o.resyncs for o in outcomes)


def test_fresh_snapshot_after_a_resync_restores_publishing_with_new_dedup_keys() -> None:
    proto = protocol()
    frames = raw_frames()
    venue = SimulatedCoinbaseExchange()
    venue.on_client_frame(proto.subscribe_frames()[0])
    replay(proto, frames[:200])
    for frame, _ in frames[:200]:
        venue.on_frame_passed(frame)
    outcome = proto.on_frame(crossing_update("BAND-GBP", "14.9999"), 2)
    replies = [r for reply in outcome.replies for r in venue.on_client_frame(reply)]
    assert [json.loads(r)["type"] for r in replies] == [
        "subscriptions",
        "subscriptions",
        "snapshot",
    ]
    events, _, rejected = replay(proto, [(r, 3) for r in replies] + frames[200:])
    assert rejected == {}
    band = [
        e
        for e in events
        if e.instrument.instrument == "BAND-GBP" and e.data_type is DataType.L2_ORDERBOOK
    ]
    assert band[0].payload.is_snapshot is True  # type: ignore[union-attr]
    assert len(band) == 1 + sum(
        1 for f, _ in frames[200:] if '"l2update","product_id":"BAND-GBP"' in f
    )
    assert rebuild([e.payload for e in band]) == books()["BAND-GBP"]  # type: ignore[misc]
    assert band[0].dedup_key.startswith("snapshot:")
    assert band[0].dedup_key != "snapshot:986ef65f82eecb04"
    assert band[1].dedup_key.startswith(band[0].dedup_key.removeprefix("snapshot:") + ":")
