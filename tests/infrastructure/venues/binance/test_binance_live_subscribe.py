"""Binance live SUBSCRIBE / UNSUBSCRIBE on an open connection, on the recorded binance-usdm session.

Binance "Live Subscribing/Unsubscribing to streams"
(https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams):
``{"method": "SUBSCRIBE", "params": [...], "id": n}``. A stream added or
removed at runtime must leave every other book exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from support.reference_books import binance_books, records

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, SnapshotRequest, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, L2Update, MarketEvent
from relay.infrastructure.venues.registry import venue_spec

CAPTURE = "binance-usdm.jsonl"
SUSHI = SubscriptionConfig("SUSHIUSDT", "SUSHI/USDT", (DataType.TRADE, DataType.L2_ORDERBOOK))
AKRO = SubscriptionConfig("AKROUSDT", "AKRO/USDT", (DataType.TRADE, DataType.L2_ORDERBOOK))

Action = Callable[[VenueProtocol], FrameOutcome | None]


def replay(actions: dict[int, Action]) -> tuple[list[MarketEvent], list[FrameOutcome], list[str]]:
    """Feed the capture to a USD-M protocol subscribed to SUSHIUSDT, running ``actions[i]``
    before recorded frame ``i``; snapshot requests are answered by the recorded answer once
    the recording has it. Returns (events, the actions' outcomes, FrameError reasons)."""
    proto = venue_spec("binance-usdm").protocol_factory(
        VenueConfig(id="binance-usdm", subscriptions=(SUSHI,))
    )
    recs = records(CAPTURE)
    events: list[MarketEvent] = []
    outcomes: list[FrameOutcome] = []
    rejected: list[str] = []
    pending: list[SnapshotRequest] = []

    def take(outcome: FrameOutcome) -> None:
        events.extend(outcome.events)
        pending.extend(outcome.snapshot_requests)

    take(proto.on_open())
    index = -1
    for record in recs:
        if record["kind"] == "recv":
            index += 1
            if index in actions:
                outcome = actions[index](proto)
                assert outcome is not None, "the venue subscribes live"
                outcomes.append(outcome)
                take(outcome)
            try:
                take(proto.on_frame(record["data"], int(record["t"] * 1000)))
            except FrameError as exc:
                rejected.append(f"{exc.reason} {json.loads(record['data'])['stream']}")
        elif record["kind"] == "http":
            for request in list(pending):
                if request.path.split("&")[0] in record["url"]:
                    pending.remove(request)
                    body = record["data"].encode()
                    take(proto.on_snapshot(request, body, int(record["t"] * 1000)))
    return events, outcomes, rejected


def book(events: list[MarketEvent], symbol: str) -> tuple[dict[Decimal, Decimal], ...]:
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for event in events:
        payload = event.payload
        if event.instrument.instrument != symbol or not isinstance(payload, L2Update):
            continue
        if payload.is_snapshot:
            bids, asks = {}, {}
        for side, levels in ((bids, payload.bids), (asks, payload.asks)):
            for price, quantity in levels:
                if quantity == 0:
                    side.pop(price, None)
                else:
                    side[price] = quantity
    return bids, asks


def of(events: list[MarketEvent], symbol: str) -> list[str]:
    return [e.msg_id for e in events if e.instrument.instrument == symbol]


BASELINE = replay({})[0]


def test_live_subscribe_sends_one_frame_and_asks_only_the_new_books_snapshot() -> None:
    [outcome] = replay({0: lambda p: p.subscribe(AKRO)})[1]
    assert outcome.replies == [
        '{"method":"SUBSCRIBE","params":["akrousdt@aggTrade","akrousdt@depth@100ms"],"id":1}'
    ]
    assert [(r.instrument.instrument, r.path, r.reason) for r in outcome.snapshot_requests] == [
        ("AKROUSDT", "/fapi/v1/depth?symbol=AKROUSDT&limit=1000", "initial")
    ]
    assert outcome.events == [] and outcome.resyncs == []


def test_a_book_subscribed_live_equals_the_recordings_and_leaves_the_other_book_as_it_was() -> None:
    events, _, rejected = replay({0: lambda p: p.subscribe(AKRO)})
    reference = binance_books(CAPTURE, futures=True)
    assert book(events, "AKROUSDT") == reference["AKROUSDT"]
    assert of(events, "SUSHIUSDT") == of(BASELINE, "SUSHIUSDT")
    assert [e.payload.is_snapshot for e in events if isinstance(e.payload, L2Update)].count(
        True
    ) == 2
    assert {reason for reason in rejected if "akrousdt" in reason} == {
        "unsubscribed akrousdt@bookTicker",
        "unsubscribed akrousdt@kline_1m",
    }


def test_before_the_subscribe_the_instruments_frames_are_unsubscribed() -> None:
    rejected = replay({})[2]
    assert "unsubscribed akrousdt@aggTrade" in rejected
    assert "unsubscribed akrousdt@depth@100ms" in rejected


@pytest.mark.parametrize("at", [400, 900])
def test_live_unsubscribe_drops_the_book_and_its_frames_only(at: int) -> None:
    actions = {
        0: lambda p: p.subscribe(AKRO),
        at: lambda p: p.unsubscribe("AKROUSDT", [DataType.L2_ORDERBOOK]),
    }
    events, outcomes, rejected = replay(actions)
    assert outcomes[1] == FrameOutcome(
        [], [], ['{"method":"UNSUBSCRIBE","params":["akrousdt@depth@100ms"],"id":2}']
    )
    recs = [r for r in records(CAPTURE) if r["kind"] == "recv"]
    later_depth = sum(
        1 for r in recs[at:] if json.loads(r["data"])["stream"] == "akrousdt@depth@100ms"
    )
    assert rejected.count("unsubscribed akrousdt@depth@100ms") == later_depth > 0
    later_trades = sum(
        1 for r in recs[at:] if json.loads(r["data"])["stream"] == "akrousdt@aggTrade"
    )
    assert [e.data_type for e in events if e.instrument.instrument == "AKROUSDT"].count(
        DataType.TRADE
    ) >= later_trades
    assert of(events, "SUSHIUSDT") == of(BASELINE, "SUSHIUSDT")


def test_unsubscribing_what_is_not_subscribed_sends_nothing() -> None:
    [outcome] = replay({5: lambda p: p.unsubscribe("AKROUSDT", [DataType.TRADE])})[1]
    assert outcome == FrameOutcome([], [], [])
