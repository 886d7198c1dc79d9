"""OKX live subscribe / unsubscribe on an open connection, on the recorded okx.jsonl session.

https://www.okx.com/docs-v5/en/#overview-websocket-subscribe: ``{"op": "subscribe",
"args": [{"channel": "books", "instId": "UNI-USD-SWAP"}]}``, and ``"op": "unsubscribe"``.
A channel added or removed at runtime must leave every other book as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from test_okx import protocol, recv_frames, reference_books

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome
from relay.config.model import SubscriptionConfig
from relay.domain.model import DataType, L2Update, MarketEvent
from relay.infrastructure.venues.okx.protocol import OkxProtocol

UNI = SubscriptionConfig("UNI-USD-SWAP", "UNI/USD:PERP", (DataType.L2_ORDERBOOK, DataType.TRADE))

Action = Callable[[OkxProtocol], FrameOutcome | None]


def replay(actions: dict[int, Action]) -> tuple[list[MarketEvent], list[FrameOutcome], list[str]]:
    """The recording through a protocol subscribed to BTC-USDT trades and book, running
    ``actions[i]`` before recorded frame ``i``: (events, the actions' outcomes, rejections
    as ``"<reason> <channel> <instId>"``)."""
    proto = protocol(
        symbols={"BTC-USDT": "BTC/USDT"}, data_types=(DataType.TRADE, DataType.L2_ORDERBOOK)
    )
    events: list[MarketEvent] = []
    outcomes: list[FrameOutcome] = []
    rejected: list[str] = []
    for index, (text, at_ms) in enumerate(recv_frames()):
        if index in actions:
            outcome = actions[index](proto)
            assert outcome is not None
            outcomes.append(outcome)
        try:
            outcome = proto.on_frame(text, at_ms)
        except FrameError as exc:
            arg = json.loads(text).get("arg", {})
            rejected.append(f"{exc.reason} {arg.get('channel')} {arg.get('instId')}")
            continue
        assert outcome.resyncs == []
        events.extend(outcome.events)
    return events, outcomes, rejected


def book(events: list[MarketEvent], inst_id: str) -> dict[str, dict[Decimal, Decimal]]:
    sides: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
    for event in events:
        payload = event.payload
        if event.instrument.instrument != inst_id or not isinstance(payload, L2Update):
            continue
        if payload.is_snapshot:
            sides = {"bids": {}, "asks": {}}
        for name, levels in (("bids", payload.bids), ("asks", payload.asks)):
            for price, size in levels:
                if size:
                    sides[name][price] = size
                else:
                    sides[name].pop(price, None)
    return sides


def ids(events: list[MarketEvent], inst_id: str) -> list[str]:
    return [e.msg_id for e in events if e.instrument.instrument == inst_id]


BASELINE = replay({})[0]
UNI_SNAPSHOT = next(
    i
    for i, (text, _) in enumerate(recv_frames())
    if json.loads(text).get("arg", {}).get("instId") == "UNI-USD-SWAP"
    and json.loads(text).get("action") == "snapshot"
)


def test_a_book_subscribed_live_is_checksummed_like_the_others_and_touches_nothing_else() -> None:
    events, [outcome], _ = replay({UNI_SNAPSHOT - 1: lambda p: p.subscribe(UNI)})
    assert outcome == FrameOutcome(
        [],
        [],
        [
            '{"op":"subscribe","args":[{"channel":"books","instId":"UNI-USD-SWAP"},'
            '{"channel":"trades","instId":"UNI-USD-SWAP"}]}'
        ],
    )
    assert book(events, "UNI-USD-SWAP") == reference_books(recv_frames())["UNI-USD-SWAP"]
    assert ids(events, "BTC-USDT") == ids(BASELINE, "BTC-USDT")


def test_live_unsubscribe_drops_the_book_and_refuses_its_later_frames() -> None:
    later = UNI_SNAPSHOT + 40
    events, outcomes, rejected = replay(
        {
            UNI_SNAPSHOT - 1: lambda p: p.subscribe(UNI),
            later: lambda p: p.unsubscribe("UNI-USD-SWAP", [DataType.L2_ORDERBOOK]),
        }
    )
    assert outcomes[1] == FrameOutcome(
        [], [], ['{"op":"unsubscribe","args":[{"channel":"books","instId":"UNI-USD-SWAP"}]}']
    )
    uni_book_frames = [
        i
        for i, (text, _) in enumerate(recv_frames())
        if json.loads(text).get("arg", {}) == {"channel": "books", "instId": "UNI-USD-SWAP"}
        and "data" in json.loads(text)
    ]
    published = [
        e
        for e in events
        if e.instrument.instrument == "UNI-USD-SWAP" and isinstance(e.payload, L2Update)
    ]
    assert len(published) == sum(1 for i in uni_book_frames if UNI_SNAPSHOT <= i < later)
    assert rejected.count("unsubscribed books UNI-USD-SWAP") == sum(
        1 for i in uni_book_frames if i >= later
    )
    assert ids(events, "BTC-USDT") == ids(BASELINE, "BTC-USDT")


def test_a_liquidation_channel_another_instrument_wants_stays_subscribed() -> None:
    proto = protocol(
        symbols={"BTC-USDT-SWAP": "BTC/USDT:PERP", "ETH-USDT-SWAP": "ETH/USDT:PERP"},
        data_types=(DataType.LIQUIDATION,),
    )
    assert proto.unsubscribe("BTC-USDT-SWAP", [DataType.LIQUIDATION]) == FrameOutcome([], [], [])
    assert proto.unsubscribe("ETH-USDT-SWAP", [DataType.LIQUIDATION]) == FrameOutcome(
        [], [], ['{"op":"unsubscribe","args":[{"channel":"liquidation-orders","instType":"SWAP"}]}']
    )
    assert proto.subscribe_args() == []
