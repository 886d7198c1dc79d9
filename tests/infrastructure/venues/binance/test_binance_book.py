"""Binance's ``BookSync`` on the recorded USD-M SUSHIUSDT diffs: its ``BookGate`` follows it."""

from __future__ import annotations

import json
from typing import Any

from support.reference_books import records

from relay.application.book_state import BookGate, BookState
from relay.domain.model import Instrument, L2Update, MarketEvent
from relay.infrastructure.venues.binance import parse
from relay.infrastructure.venues.binance.book import BookSync, Continuity

SUSHI = Instrument("binance-usdm", "SUSHIUSDT", "SUSHI/USDT")


def sushi_diffs() -> list[dict[str, Any]]:
    """The recorded SUSHIUSDT ``depthUpdate`` data objects of ``binance-usdm.jsonl``, in order."""
    found = []
    for r in records("binance-usdm.jsonl"):
        if r["kind"] == "recv":
            data = json.loads(r["data"])["data"]
            if data.get("e") == "depthUpdate" and data["s"] == "SUSHIUSDT":
                found.append(data)
    return found


def recorded_snapshot() -> parse.DepthSnapshot:
    body = next(
        r["data"]
        for r in records("binance-usdm.jsonl")
        if r["kind"] == "http" and "SUSHIUSDT" in r["url"]
    )
    return parse.depth_snapshot(body.encode())


def take_snapshot(sync: BookSync, snapshot: parse.DepthSnapshot) -> list[MarketEvent]:
    events: list[MarketEvent] = []
    assert (
        sync.on_snapshot(snapshot.last_update_id, snapshot.bids, snapshot.asks, None, 2, events)
        is None
    )
    return events


def test_the_gate_is_synced_by_the_snapshot_resyncing_after_a_gap_and_synced_again() -> None:
    diffs = [parse.depth_diff(d, True, 1) for d in sushi_diffs()]
    sync = BookSync(SUSHI, Continuity.FUTURES, window_ms=10**9)
    events: list[MarketEvent] = []
    for diff in diffs[:50]:
        assert sync.on_diff(diff, events) is None
    assert events == []
    assert sync.gate == BookGate(BookState.AWAITING_SNAPSHOT, 0, None)

    published = take_snapshot(sync, recorded_snapshot())
    first = published[0].payload
    assert isinstance(first, L2Update) and first.is_snapshot
    assert sync.gate == BookGate(BookState.SYNCED, 0, None)

    assert sync.on_diff(diffs[51], events) == "gap"  # diffs[50] left out
    assert sync.gate == BookGate(BookState.RESYNCING, 1, "gap")
    sync.resync("internal_error")  # a second loss before a snapshot is not counted again
    assert sync.gate == BookGate(BookState.RESYNCING, 1, "internal_error")

    fresh = parse.DepthSnapshot(diffs[51].last_update_id, first.bids, first.asks, None)
    assert sync.on_diff(diffs[52], events) is None
    events = take_snapshot(sync, fresh)
    assert [e.dedup_key for e in events] == [
        f"snapshot:{diffs[51].last_update_id}",
        f"{diffs[51].last_update_id}:{diffs[52].last_update_id}",
    ]
    assert sync.gate == BookGate(BookState.SYNCED, 1, "internal_error")


def test_a_resync_asked_of_a_book_never_synced_is_not_counted() -> None:
    sync = BookSync(SUSHI, Continuity.FUTURES, window_ms=10**9)
    sync.resync("internal_error")
    assert sync.gate == BookGate(BookState.AWAITING_SNAPSHOT, 0, "internal_error")
