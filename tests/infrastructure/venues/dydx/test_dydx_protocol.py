"""dYdX protocol: a session of the WebSocket page's examples on one connection, continuity
breaks and the resync of that one book.

Frames: ``support.dydx_frames`` (the indexer WebSocket page's examples,
https://docs.dydx.exchange/api_integration-indexer/indexer_websocket, renumbered
with :func:`numbered` as one connection numbers them: the four subscribes take
1-4 on receipt, data is numbered when sent).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.dydx_frames import (
    BOOK_ASKS,
    BOOK_BIDS,
    BOOK_SNAPSHOT,
    BOOK_UPDATE,
    BTC,
    CANDLE_UPDATE,
    CONNECTED,
    ETH,
    MARKETS_SUBSCRIBED,
    MARKETS_UPDATE,
    TRADES_SUBSCRIBED,
    TRADES_UPDATE,
    book,
    decimals,
    numbered,
    protocol,
)

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent
from relay.infrastructure.venues.dydx.parse import digest
from relay.infrastructure.venues.dydx.protocol import DydxProtocol, request_frame

D = Decimal
BTC_BOOK = Instrument("dydx", BTC, "BTC/USD:PERP")
ETH_BOOK = Instrument("dydx", ETH, "ETH/USD:PERP")
CANDLES_SUBSCRIBED = (
    '{"type":"subscribed","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13",'
    '"message_id":3,"channel":"v4_candles","id":"BTC-USD/1MIN","contents":{"candles":[]}}'
)
SESSION = (
    CONNECTED,
    numbered(TRADES_SUBSCRIBED, 1),
    numbered(BOOK_SNAPSHOT, 2),
    numbered(TRADES_UPDATE, 5),  # before the answers numbered 3 and 4
    CANDLES_SUBSCRIBED,
    numbered(MARKETS_SUBSCRIBED, 4),
    numbered(BOOK_UPDATE, 6),
    numbered(CANDLE_UPDATE, 7),
    numbered(MARKETS_UPDATE, 8),
)


def resubscribe(*tickers: str) -> list[str]:
    """The frames of a resync of these tickers' books."""
    frames = []
    for ticker in tickers:
        frames += [
            request_frame("unsubscribe", "v4_orderbook", ticker),
            request_frame("subscribe", "v4_orderbook", ticker),
        ]
    return frames


def run(proto: DydxProtocol, frames: list[str]) -> tuple[list[MarketEvent], list[FrameOutcome]]:
    outcomes = [proto.on_frame(frame, 1_000) for frame in frames]
    return [e for o in outcomes for e in o.events], outcomes


def books(events: list[MarketEvent]) -> list[L2Update]:
    return [e.payload for e in events if isinstance(e.payload, L2Update)]


def btc_book_eth_trades() -> DydxProtocol:
    """BTC-USD: every data type; ETH-USD: trades only (so the connection holds one book)."""
    proto = DydxProtocol(
        VenueConfig(
            id="dydx",
            subscriptions=(
                SubscriptionConfig(BTC, "BTC/USD:PERP", (DataType.TRADE, DataType.L2_ORDERBOOK)),
                SubscriptionConfig(ETH, "ETH/USD:PERP", (DataType.TRADE,)),
            ),
        )
    )
    proto.subscribe_frames()
    return proto


def test_subscribe_frames_are_one_per_channel_and_market_then_markets_once() -> None:
    proto = DydxProtocol(
        VenueConfig(
            id="dydx",
            subscriptions=(
                SubscriptionConfig(BTC, "BTC/USD:PERP", (DataType.TRADE, DataType.L2_ORDERBOOK)),
                SubscriptionConfig(
                    ETH,
                    "ETH/USD:PERP",
                    (DataType.TRADE, DataType.CANDLE, DataType.FUNDING_RATE),
                    candle_interval="1h",
                ),
            ),
        )
    )
    assert proto.subscribe_frames() == [
        '{"type":"subscribe","channel":"v4_trades","id":"BTC-USD"}',
        '{"type":"subscribe","channel":"v4_trades","id":"ETH-USD"}',
        '{"type":"subscribe","channel":"v4_orderbook","id":"BTC-USD"}',
        '{"type":"subscribe","channel":"v4_candles","id":"ETH-USD/1HOUR"}',
        '{"type":"subscribe","channel":"v4_markets"}',
    ]
    assert proto.ws_url() == "wss://indexer.dydx.trade/v4/ws"


def test_a_documented_session_on_one_connection_gives_every_event_and_no_resync() -> None:
    events, outcomes = run(protocol(), list(SESSION))
    assert [(e.data_type, e.dedup_key) for e in events] == [
        (DataType.L2_ORDERBOOK, "snapshot:98db53cca3087794"),
        (DataType.TRADE, "8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7"),
        (DataType.TRADE, "38e64479-af09-5417-a795-195f83879156"),
        (DataType.TRADE, "d310c32c-f066-5ba8-a97d-10a29d9a6c84"),
        (DataType.TRADE, "dd1088b5-5cab-518f-a59c-4d5f735ab861"),
        (DataType.FUNDING_RATE, "0:b499310971b415d0"),
        (DataType.OPEN_INTEREST, "1891.473716288:b499310971b415d0"),
        (DataType.L2_ORDERBOOK, "98db53cca3087794:1:5b737c2b00a8aeca"),
        (DataType.CANDLE, "2023-04-04T00:29:00.000Z:4:0.000218942:27837"),
        (DataType.FUNDING_RATE, "0.00006821875:05c94f160ad3c909"),
    ]
    assert all(o.replies == [] and o.resyncs == [] for o in outcomes)
    snapshot, delta = books(events)
    assert (snapshot.is_snapshot, snapshot.bids, snapshot.asks) == (
        True,
        decimals(BOOK_BIDS),
        decimals(BOOK_ASKS),
    )
    assert (delta.is_snapshot, delta.bids, delta.asks) == (
        False,
        ((D("27773"), D("1.986168516")),),
        (),
    )
    assert {e.instrument for e in events} == {BTC_BOOK}


def test_a_message_id_gap_resyncs_the_book_and_its_fresh_snapshot_restores_it() -> None:
    proto = btc_book_eth_trades()
    frames = [CONNECTED, numbered(TRADES_SUBSCRIBED, 1)]
    frames += [numbered(TRADES_SUBSCRIBED.replace(BTC, ETH), 2), numbered(BOOK_SNAPSHOT, 3)]
    frames += [book(message_id=4, contents={"asks": [["28195", "1"]]})]
    run(proto, frames)
    # message 5 (a BTC book update) is lost
    outcome = proto.on_frame(book(message_id=6, contents={"bids": [["28194", "2"]]}), 1_000)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(BTC_BOOK, "gap")]
    assert outcome.replies == resubscribe(BTC)
    eth_trades = numbered(TRADES_UPDATE.replace(BTC, ETH), 7)
    later_book = book(message_id=8, contents={"bids": [["28194", "3"]]})
    events, outcomes = run(proto, [eth_trades, later_book])
    assert [(e.instrument, e.data_type) for e in events] == [(ETH_BOOK, DataType.TRADE)] * 4
    fresh = json.loads(numbered(BOOK_SNAPSHOT, 9))
    fresh["contents"]["bids"][0]["size"] = "3"
    events, outcomes = run(proto, [json.dumps(fresh)])
    (snapshot,) = books(events)
    assert snapshot.is_snapshot
    assert snapshot.bids == ((D("28194"), D("3")), *decimals(BOOK_BIDS)[1:])
    assert snapshot.asks == decimals(BOOK_ASKS)
    events, outcomes = run(proto, [book(message_id=10, contents={"asks": [["28195", "0"]]})])
    assert [(b.is_snapshot, b.asks) for b in books(events)] == [(False, ((D("28195"), D(0)),))]
    assert all(o.resyncs == [] for o in outcomes)


def test_a_gap_resyncs_every_book_of_the_connection() -> None:
    proto = protocol((DataType.L2_ORDERBOOK,), (BTC, ETH))
    run(
        proto, [CONNECTED, numbered(BOOK_SNAPSHOT, 1), numbered(BOOK_SNAPSHOT.replace(BTC, ETH), 2)]
    )
    outcome = proto.on_frame(book(message_id=4), 1_000)
    assert outcome.resyncs == [BookResync(BTC_BOOK, "gap"), BookResync(ETH_BOOK, "gap")]
    assert outcome.replies == resubscribe(BTC, ETH)


def test_an_unreadable_book_update_resyncs_that_one_book() -> None:
    proto = protocol((DataType.L2_ORDERBOOK,), (BTC, ETH))
    run(
        proto, [CONNECTED, numbered(BOOK_SNAPSHOT, 1), numbered(BOOK_SNAPSHOT.replace(BTC, ETH), 2)]
    )
    with pytest.raises(FrameError) as caught:
        proto.on_frame(book(message_id=3, contents={"bids": [["28194"]]}), 1_000)
    assert caught.value.reason == "invalid_value"
    eth = book(message_id=4, id=ETH, contents={"bids": [["28194", "1"]]})
    outcome = proto.on_frame(eth, 1_000)
    assert outcome.resyncs == [BookResync(BTC_BOOK, "bad_update")]
    assert outcome.replies == resubscribe(BTC)
    with pytest.raises(FrameError) as caught:  # contents missing: the ETH book goes too
        proto.on_frame(json.dumps({**json.loads(eth), "message_id": 5, "contents": None}), 1)
    assert caught.value.reason == "invalid_value"
    assert proto.resync_books([], "internal_error").resyncs == [BookResync(ETH_BOOK, "bad_update")]
    assert [(e.instrument, e.payload) for e in outcome.events] == [
        (ETH_BOOK, L2Update(((D("28194"), D("1")),), (), False))
    ]


def test_a_repeated_message_id_is_refused_as_stale_and_changes_nothing() -> None:
    proto = protocol((DataType.L2_ORDERBOOK,))
    run(proto, [CONNECTED, numbered(BOOK_SNAPSHOT, 1), book(message_id=2)])
    with pytest.raises(FrameError) as caught:
        proto.on_frame(book(message_id=2, contents={"bids": [["28194", "0"]]}), 1_000)
    assert (caught.value.reason, caught.value.detail) == ("stale_update", "message_id 2 <= last 2")
    events, _ = run(proto, [book(message_id=3, contents={"bids": [["28194", "1"]]})])
    assert [b.bids for b in books(events)] == [((D("28194"), D("1")),)]


def test_an_update_crossing_the_book_publishes_the_removed_older_levels() -> None:
    proto = protocol((DataType.L2_ORDERBOOK,))
    run(proto, [CONNECTED, numbered(BOOK_SNAPSHOT, 1)])
    events, _ = run(proto, [book(message_id=2, contents={"bids": [["28196", "0.5"]]})])
    (delta,) = books(events)
    assert delta.bids == ((D("28196"), D("0.5")),)
    assert delta.asks == ((D("28195"), D(0)), (D("28196"), D(0)))


def test_markets_of_unconfigured_tickers_are_skipped_and_unsubscribed_channels_refused() -> None:
    proto = protocol((DataType.TRADE, DataType.FUNDING_RATE), (ETH,))
    eth = {"volume24H": "1462890959.6541", "nextFundingRate": "0.00007478125"}
    events, _ = run(proto, [CONNECTED, numbered(MARKETS_UPDATE, 1)])
    assert [(e.instrument, e.dedup_key) for e in events] == [
        (ETH_BOOK, f"0.00007478125:{digest(eth)}")
    ]
    no_markets = protocol((DataType.TRADE,))
    with pytest.raises(FrameError) as caught:
        no_markets.on_frame(numbered(MARKETS_UPDATE, 1), 1_000)
    assert caught.value.reason == "unsubscribed"
    with pytest.raises(FrameError) as caught:
        protocol((DataType.TRADE,), (ETH,)).on_frame(TRADES_UPDATE, 1_000)
    assert (caught.value.reason, caught.value.detail) == ("unsubscribed", "BTC-USD trade")


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (
            '{"type":"error","message":"Invalid subscribe message: channel is required",'
            '"connection_id":"c","message_id":1}',
            "subscribe_error",
        ),
        ('{"type":"pong","connection_id":"c","message_id":1}', "unknown_event"),
        (
            '{"type":"channel_data","channel":"v4_block_height","message_id":1,"contents":{}}',
            "unknown_event",
        ),
        (
            '{"type":"channel_data","channel":"v4_trades","id":"BTC-USD","contents":{}}',
            "missing_field",
        ),
        ("not json", "not_json"),
        (CANDLE_UPDATE.replace("BTC-USD/1MIN", "BTC-USD/5MINS"), "unsubscribed"),
    ],
)
def test_frames_the_relay_cannot_use_are_refused_with_their_reason(frame: str, reason: str) -> None:
    with pytest.raises(FrameError) as caught:
        protocol().on_frame(frame, 1_000)
    assert caught.value.reason == reason


def test_resync_books_sends_the_resubscribe_of_the_named_books_only() -> None:
    proto = protocol((DataType.L2_ORDERBOOK,), (BTC, ETH))
    run(proto, [CONNECTED, numbered(BOOK_SNAPSHOT, 1)])
    outcome = proto.resync_books([ETH, "SOL-USD"], "internal_error")
    assert outcome.resyncs == [BookResync(ETH_BOOK, "internal_error")]
    assert outcome.replies == resubscribe(ETH)
    events, _ = run(proto, [book(message_id=2)])
    assert len(books(events)) == 1  # BTC-USD stays synced


def test_a_message_of_a_kind_the_relay_does_not_use_still_takes_its_number() -> None:
    proto = protocol((DataType.L2_ORDERBOOK,))
    run(proto, [CONNECTED, numbered(BOOK_SNAPSHOT, 1)])
    for frame in (
        '{"type":"pong","connection_id":"c","message_id":2}',
        '{"type":"channel_data","channel":"v4_block_height","message_id":3,"contents":{}}',
    ):
        with pytest.raises(FrameError) as caught:
            proto.on_frame(frame, 1_000)
        assert caught.value.reason == "unknown_event"
    outcome = proto.on_frame(book(message_id=4), 1_000)
    assert (len(outcome.events), outcome.resyncs) == (1, [])
