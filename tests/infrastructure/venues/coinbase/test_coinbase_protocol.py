"""Coinbase Advanced Trade adapter on the documented example messages.

No recorded session of this feed exists. The messages below are the example
messages of the channels page, https://docs.cdp.coinbase.com/coinbase-app/
advanced-trade-apis/websocket/websocket-channels (``CHANNELS``), copied as
published, or built from them by changing only ``type``, ``sequence_num`` and the
``updates`` levels (said so where it happens).
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.coinbase_frames import (
    ALL,
    BTC,
    CHANNELS,
    ETH,
    LEVEL2,
    PRODUCTS,
    T_MS,
    book_snapshot,
    l2,
    protocol,
    with_sequence,
)

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    Candle,
    DataType,
    L2Update,
    MarketEvent,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.coinbase.listing import PRODUCTS_DOC
from relay.infrastructure.venues.coinbase.protocol import CHANNELS_DOC, CoinbaseProtocol
from relay.infrastructure.venues.common.times import rfc3339_ms
from relay.infrastructure.venues.registry import ListingRequest, venue_spec
from relay.sim.venues.coinbase import CoinbaseSimulatedVenue

# The channels page's examples, as published (CHANNELS).
HEARTBEAT = """{
  "channel": "heartbeats",
  "client_id": "",
  "timestamp": "2023-06-23T20:31:26.122969572Z",
  "sequence_num": 0,
  "events": [
    {
      "current_time": "2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105",
      "heartbeat_counter": "3049"
    }
  ]
}"""
CANDLES = """{
  "channel": "candles",
  "client_id": "",
  "timestamp": "2023-06-09T20:19:35.39625135Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "candles": [
        {
          "start": "1688998200",
          "high": "1867.72",
          "low": "1865.63",
          "open": "1867.38",
          "close": "1866.81",
          "volume": "0.20269406",
          "product_id": "ETH-USD"
        }
      ]
    }
  ]
}"""
MARKET_TRADES = """{
  "channel": "market_trades",
  "client_id": "",
  "timestamp": "2023-02-09T20:19:35.39625135Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "trades": [
        {
          "trade_id": "000000000",
          "product_id": "ETH-USD",
          "price": "1260.01",
          "size": "0.3",
          "side": "BUY",
          "time": "2019-08-14T20:42:27.265Z"
        }
      ]
    }
  ]
}"""
TICKER = """{
  "channel": "ticker",
  "client_id": "",
  "timestamp": "2023-02-09T20:30:37.167359596Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "tickers": [
        {
          "type": "ticker",
          "product_id": "BTC-USD",
          "price": "21932.98",
          "volume_24_h": "16038.28770938",
          "low_24_h": "21835.29",
          "high_24_h": "23011.18",
          "low_52_w": "15460",
          "high_52_w": "48240",
          "price_percent_chg_24_h": "-4.15775596190603",
          "best_bid": "21931.98",
          "best_bid_quantity": "8000.21",
          "best_ask": "21933.98",
          "best_ask_quantity": "8038.07770938"
        }
      ]
    }
  ]
}"""


def test_module_and_tests_cite_the_channels_page() -> None:
    assert CHANNELS_DOC == CHANNELS
    assert PRODUCTS_DOC == PRODUCTS
    assert CHANNELS in venue_spec("coinbase").docs


def test_documented_market_trade_is_published_on_the_taker_side() -> None:
    """CHANNELS, Market Trades Channel: ``side`` is the maker's, so BUY means a taker SELL."""
    outcome = protocol().on_frame(MARKET_TRADES, T_MS)
    assert outcome.events == [
        MarketEvent(
            ETH,
            DataType.TRADE,
            T_MS,
            1565815347265,
            Trade("000000000", Decimal("1260.01"), Decimal("0.3"), Side.SELL),
            "000000000",
        )
    ]
    assert outcome.events[0].msg_id == "coinbase:ETH-USD:trade:000000000"
    assert (outcome.replies, outcome.resyncs) == ([], [])


def test_documented_ticker_is_best_bid_and_ask_with_quantities() -> None:
    """CHANNELS, Ticker Channel example."""
    [event] = protocol().on_frame(TICKER, T_MS).events
    assert event == MarketEvent(
        BTC,
        DataType.TICKER,
        T_MS,
        1675974637167,
        Ticker(
            Decimal("21931.98"), Decimal("8000.21"), Decimal("21933.98"), Decimal("8038.07770938")
        ),
        "2023-02-09T20:30:37.167359596Z:"
        "21932.98:16038.28770938:21931.98:8000.21:21933.98:8038.07770938",
    )
    assert str(event.payload.ask_quantity) == "8038.07770938"  # type: ignore[union-attr]


def test_documented_candle_is_a_five_minute_candle() -> None:
    """CHANNELS, Candles Channel example: ``start`` is epoch seconds of a 5-minute bucket."""
    [event] = protocol().on_frame(CANDLES, T_MS).events
    assert event == MarketEvent(
        ETH,
        DataType.CANDLE,
        T_MS,
        1686341975396,
        Candle(
            "5m",
            1688998200000,
            1688998499999,
            Decimal("1867.38"),
            Decimal("1867.72"),
            Decimal("1865.63"),
            Decimal("1866.81"),
            Decimal("0.20269406"),
            False,
        ),
        "1688998200:1867.38:1867.72:1865.63:1866.81:0.20269406",
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


def test_heartbeat_and_subscriptions_ack_give_an_empty_outcome() -> None:
    """CHANNELS, Heartbeats Channel example; the ack shape is nautilus_trader's test data."""
    proto = protocol()
    assert proto.on_frame(HEARTBEAT, T_MS) == FrameOutcome([], [], [], [])
    ack = (
        '{"channel":"subscriptions","client_id":"","timestamp":"2023-06-23T20:31:27Z",'
        '"sequence_num":1,"events":[{"subscriptions":{"level2":["BTC-USD"]}}]}'
    )
    assert proto.on_frame(ack, T_MS) == FrameOutcome([], [], [], [])


def test_sequence_gap_resyncs_every_book_of_the_connection() -> None:
    """CHANNELS level2 example shape; sequence 2 is lost, 3 reveals the gap."""
    proto = protocol()
    assert len(proto.on_frame(book_snapshot(0, "BTC-USD"), T_MS).events) == 1
    assert len(proto.on_frame(book_snapshot(1, "ETH-USD"), T_MS).events) == 1
    outcome = proto.on_frame(l2(3, "update", "BTC-USD", ("bid", "21921.5", "1")), T_MS)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(BTC, "gap"), BookResync(ETH, "gap")]
    assert [json.loads(r) for r in outcome.replies] == [
        {"type": "unsubscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
    ]


def test_fresh_snapshot_after_a_gap_restores_publishing_one_book_at_a_time() -> None:
    """CHANNELS level2 example shape: gap, stale updates dropped, snapshot, deltas again."""
    proto = protocol()
    proto.on_frame(book_snapshot(0, "BTC-USD"), T_MS)
    proto.on_frame(book_snapshot(1, "ETH-USD"), T_MS)
    assert len(proto.on_frame(l2(5, "update", "BTC-USD", ("bid", "1", "1")), T_MS).resyncs) == 2
    assert proto.on_frame(l2(6, "update", "BTC-USD", ("bid", "2", "1")), T_MS).events == []
    ack = '{"channel":"subscriptions","sequence_num":7,"events":[{"subscriptions":{}}]}'
    assert proto.on_frame(ack, T_MS) == FrameOutcome([], [], [], [])
    [snapshot] = proto.on_frame(book_snapshot(8, "BTC-USD"), T_MS).events
    assert snapshot.payload == L2Update(
        ((Decimal("21921.73"), Decimal("0.06317902")), (Decimal("21921.3"), Decimal("0.02"))),
        ((Decimal("21933.98"), Decimal("1.5")),),
        True,
    )
    [delta] = proto.on_frame(l2(9, "update", "BTC-USD", ("offer", "21933.98", "0")), T_MS).events
    assert delta.payload == L2Update((), ((Decimal("21933.98"), Decimal("0")),), False)
    assert proto.on_frame(l2(10, "update", "ETH-USD", ("bid", "3", "1")), T_MS).events == []
    assert len(proto.on_frame(book_snapshot(11, "ETH-USD"), T_MS).events) == 1


def test_gap_revealed_by_a_heartbeat_resyncs_the_books_in_its_outcome() -> None:
    """CHANNELS heartbeat example, numbered 0 then 5."""
    proto = protocol(products=("BTC-USD",))
    proto.on_frame(book_snapshot(0), T_MS)
    outcome = proto.on_frame(with_sequence(HEARTBEAT, 5), T_MS)
    assert outcome.resyncs == [BookResync(BTC, "gap")]
    assert len(outcome.replies) == 2


def test_gap_without_books_asks_for_nothing() -> None:
    """CHANNELS market trades example numbered 0, then 3."""
    proto = protocol(data_types=(DataType.TRADE,))
    proto.on_frame(MARKET_TRADES, T_MS)
    outcome = proto.on_frame(with_sequence(MARKET_TRADES.replace("000000000", "1"), 3), T_MS)
    assert (len(outcome.events), outcome.replies, outcome.resyncs) == (1, [], [])


def test_sequence_not_above_the_last_is_a_stale_update_and_leaves_the_book() -> None:
    """CHANNELS level2 example shape, with a repeated ``sequence_num``."""
    proto = protocol()
    proto.on_frame(book_snapshot(4), T_MS)
    with pytest.raises(FrameError) as caught:
        proto.on_frame(l2(4, "update", "BTC-USD", ("bid", "21921.73", "0")), T_MS)
    assert caught.value.reason == "stale_update"
    [event] = proto.on_frame(l2(5, "update", "BTC-USD", ("bid", "21921.74", "1")), T_MS).events
    assert event.payload == L2Update(((Decimal("21921.74"), Decimal("1")),), (), False)


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


def test_malformed_level2_message_raises_and_resyncs_every_book_with_the_next_outcome() -> None:
    """CHANNELS level2 example shape with a negative quantity."""
    proto = protocol()
    proto.on_frame(book_snapshot(0), T_MS)
    with pytest.raises(FrameError) as caught:
        proto.on_frame(l2(1, "update", "BTC-USD", ("bid", "21921.73", "-1")), T_MS)
    assert caught.value.reason == "invalid_value"
    outcome = proto.on_frame(with_sequence(HEARTBEAT, 2), T_MS)
    assert outcome.resyncs == [BookResync(BTC, "bad_update"), BookResync(ETH, "bad_update")]
    assert len(outcome.replies) == 2
    assert proto.on_frame(l2(3, "update", "BTC-USD", ("bid", "1", "1")), T_MS).events == []


def test_venue_error_message_is_a_subscribe_error() -> None:
    with pytest.raises(FrameError) as caught:
        protocol().on_frame('{"type":"error","message":"failure to subscribe"}', T_MS)
    assert caught.value.reason == "subscribe_error"
    assert "failure to subscribe" in caught.value.detail


def _trade_without(field: str) -> str:
    message = json.loads(MARKET_TRADES)
    del message["events"][0]["trades"][0][field]
    return json.dumps(message)


def _trade_with(field: str, value: Any) -> str:
    message = json.loads(MARKET_TRADES)
    message["events"][0]["trades"][0][field] = value
    return json.dumps(message)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("{not json", "not_json"),
        ("[1, 2]", "unknown_event"),
        ('{"channel":"status","sequence_num":0,"events":[]}', "unknown_event"),
        (_trade_without("price"), "missing_field"),
        (_trade_with("price", "-1"), "invalid_value"),
        (_trade_with("price", 1260.01), "invalid_value"),
        (_trade_with("side", "buy"), "invalid_value"),
        (_trade_with("time", "yesterday"), "invalid_value"),
        (_trade_with("product_id", "SOL-USD"), "unsubscribed"),
        (_trade_without("trade_id"), "missing_field"),
        (MARKET_TRADES.replace('"sequence_num": 0,', ""), "missing_field"),
        (MARKET_TRADES.replace('"sequence_num": 0', '"sequence_num": "0"'), "invalid_value"),
        (l2(0, "delta", "BTC-USD", ("bid", "1", "1")), "unknown_event"),
        (l2(0, "snapshot", "BTC-USD", ("ask", "1", "1")), "invalid_value"),
        (l2(0, "snapshot", "BTC-USD", ("bid", "0", "1")), "invalid_value"),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str, reason: str) -> None:
    """Frames built from the CHANNELS examples with one field broken."""
    with pytest.raises(FrameError) as caught:
        protocol().on_frame(frame, T_MS)
    assert caught.value.reason == reason


def test_trades_of_a_product_subscribed_for_other_data_types_are_unsubscribed() -> None:
    proto = protocol(data_types=(DataType.L2_ORDERBOOK,))
    with pytest.raises(FrameError) as caught:
        proto.on_frame(MARKET_TRADES, T_MS)
    assert caught.value.reason == "unsubscribed"


def test_subscribe_frames_send_heartbeats_first_then_one_channel_per_message() -> None:
    """Overview: one channel per subscribe message; CHANNELS: subscribe heartbeats too."""
    proto = protocol()
    assert [json.loads(f) for f in proto.subscribe_frames()] == [
        {"type": "subscribe", "channel": "heartbeats"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "market_trades"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "ticker"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "candles"},
    ]
    assert proto.ws_url() == "wss://advanced-trade-ws.coinbase.com"
    assert proto.on_open() == FrameOutcome([], [], [])


def test_only_the_channels_a_product_needs_are_subscribed() -> None:
    subs = (
        SubscriptionConfig("BTC-USD", "BTC/USD", (DataType.TRADE,)),
        SubscriptionConfig("ETH-USD", "ETH/USD", (DataType.L2_ORDERBOOK, DataType.TRADE)),
    )
    proto = CoinbaseProtocol(VenueConfig(id="coinbase", subscriptions=subs, ws_url="ws://x/cb"))
    assert [json.loads(f) for f in proto.subscribe_frames()] == [
        {"type": "subscribe", "channel": "heartbeats"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "market_trades"},
        {"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "level2"},
    ]
    assert proto.ws_url() == "ws://x/cb"


def test_subscribe_pacing_keeps_two_connections_under_eight_messages_per_second() -> None:
    """Rate limits page: unauthenticated messages, 8 per second per IP."""
    spec = venue_spec("coinbase")
    assert spec.subscribe_interval_s == 0.25
    assert 2 / spec.subscribe_interval_s <= 8
    assert spec.max_subscriptions_per_connection == 20
    assert spec.data_types == frozenset(ALL)


def test_every_depth_maps_to_the_full_level2_channel() -> None:
    assert protocol(depth=10).subscribe_frames() == protocol(depth=0).subscribe_frames()
    assert protocol(depth=1000).subscribe_frames() == protocol(depth=0).subscribe_frames()


def test_no_client_ping_is_sent_the_heartbeats_channel_keeps_the_connection() -> None:
    assert protocol().keepalive() is None


def test_rest_snapshots_are_never_used() -> None:
    from relay.application.ports import SnapshotRequest

    with pytest.raises(FrameError) as caught:
        protocol().on_snapshot(SnapshotRequest(BTC, "/x", "initial"), b"{}", T_MS)
    assert caught.value.reason == "bad_snapshot"


def test_rfc3339_times_with_nanoseconds_are_cut_to_milliseconds() -> None:
    assert rfc3339_ms("t", "2023-02-09T20:32:50.714964855Z") == 1675974770714
    assert rfc3339_ms("t", "1970-01-01T00:00:00Z") == 0
    assert rfc3339_ms("t", "2019-08-14T20:42:27.2Z") == 1565815347200


# The List Public Products example response (PRODUCTS), trimmed to the product's
# scalar fields; ``product_type`` is "UNKNOWN_PRODUCT_TYPE" in the example and is
# set here to "SPOT", one of the enum values the page documents.
PRODUCT = {
    "product_id": "BTC-USD",
    "price": "140.21",
    "price_percentage_change_24h": "9.43%",
    "volume_24h": "1908432",
    "volume_percentage_change_24h": "9.43%",
    "base_increment": "0.00000001",
    "quote_increment": "0.00000001",
    "quote_min_size": "0.00000001",
    "quote_max_size": "1000",
    "base_min_size": "0.00000001",
    "base_max_size": "1000",
    "base_name": "Bitcoin",
    "quote_name": "US Dollar",
    "watched": True,
    "is_disabled": False,
    "new": True,
    "status": "<string>",
    "cancel_only": True,
    "limit_only": True,
    "post_only": True,
    "trading_disabled": False,
    "auction_mode": True,
    "base_display_symbol": "BTC",
    "quote_display_symbol": "USD",
    "product_type": "SPOT",
    "quote_currency_id": "USD",
    "base_currency_id": "BTC",
    "mid_market_price": "140.22",
    "alias": "BTC-USD",
    "alias_to": ["BTC-USDC"],
    "view_only": True,
    "price_increment": "0.00000001",
    "display_name": "BTC PERP",
    "product_venue": "neptune",
    "approximate_quote_24h_volume": "1908432",
}


def test_listing_parses_the_documented_products_response() -> None:
    """PRODUCTS example response: BTC-USD is the spot instrument BTC/USD."""
    listing = venue_spec("coinbase").instrument_listing
    assert listing is not None
    [request] = listing.requests
    assert request == ListingRequest("/api/v3/brokerage/market/products?product_type=SPOT")
    body = json.dumps({"products": [PRODUCT], "num_products": 100}).encode()
    from relay.infrastructure.venues.registry import ListedInstrument

    assert listing.parse(request, body) == [ListedInstrument("BTC-USD", "BTC/USD", "spot")]


def test_listing_leaves_out_aliases_disabled_and_non_spot_products() -> None:
    """PRODUCTS example product, varied: BTC-USDC is an alias of BTC-USD (CHANNELS notes
    -USDC products send the -USD data); the documented UNKNOWN_PRODUCT_TYPE is left out."""
    listing = venue_spec("coinbase").instrument_listing
    assert listing is not None
    products = [
        PRODUCT,
        {**PRODUCT, "product_id": "BTC-USDC", "quote_currency_id": "USDC", "alias_to": []},
        {
            **PRODUCT,
            "product_id": "ETH-EUR",
            "base_currency_id": "ETH",
            "quote_currency_id": "EUR",
            "alias": "",
        },
        {**PRODUCT, "product_id": "XYZ-USD", "is_disabled": True, "alias": ""},
        {**PRODUCT, "product_id": "BIP-20DEC30-CDE", "product_type": "FUTURE", "alias": ""},
        {**PRODUCT, "product_type": "UNKNOWN_PRODUCT_TYPE"},
    ]
    body = json.dumps({"products": products}).encode()
    assert [
        (i.instrument, i.canonical_symbol) for i in listing.parse(listing.requests[0], body)
    ] == [("BTC-USD", "BTC/USD"), ("ETH-EUR", "ETH/EUR")]


@pytest.mark.parametrize("body", [b"<html>", b"[]", b'{"products": [1]}', b'{"error": "x"}'])
def test_listing_refuses_a_body_it_cannot_read(body: bytes) -> None:
    listing = venue_spec("coinbase").instrument_listing
    assert listing is not None
    with pytest.raises(ValueError):
        listing.parse(listing.requests[0], body)


def test_simulated_venue_acknowledges_subscribes_and_unsubscribes() -> None:
    venue = CoinbaseSimulatedVenue()
    venue.on_frame_passed(HEARTBEAT)
    [ack] = venue.on_client_frame(
        '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}'
    )
    assert json.loads(ack) == {
        "channel": "subscriptions",
        "client_id": "",
        "timestamp": "2023-06-23T20:31:26.122969572Z",
        "events": [{"subscriptions": {"level2": ["BTC-USD"]}}],
    }
    [ack] = venue.on_client_frame('{"type":"subscribe","channel":"heartbeats"}')
    assert json.loads(ack)["events"] == [{"subscriptions": {"level2": ["BTC-USD"]}}]
    [ack] = venue.on_client_frame(
        '{"type":"unsubscribe","product_ids":["BTC-USD"],"channel":"level2"}'
    )
    assert json.loads(ack)["events"] == [{"subscriptions": {}}]
    assert venue.on_client_frame("not json") == ()
    assert venue.on_client_frame('{"type":"ping"}') == ()


def test_simulated_venue_answers_a_resubscribed_book_with_its_current_snapshot() -> None:
    """CHANNELS level2 example shape: update 2 is skipped by a fault (passed to the venue
    side, not to the client), the client resyncs, and the simulated snapshot (which has
    the skipped update) brings the client's book back to the venue's."""
    venue, proto = CoinbaseSimulatedVenue(), protocol(products=("BTC-USD",))
    recorded = [
        book_snapshot(0),
        l2(1, "update", "BTC-USD", ("bid", "21921.3", "0")),
        l2(2, "update", "BTC-USD", ("offer", "21935", "2")),
        l2(3, "update", "BTC-USD", ("bid", "21920", "0.7")),
    ]
    replies: list[str] = []
    for index, frame in enumerate(recorded):
        venue.on_frame_passed(frame)
        if index != 2:
            replies.extend(proto.on_frame(frame, T_MS).replies)
    assert [json.loads(r)["type"] for r in replies] == ["unsubscribe", "subscribe"]
    answers = [a for r in replies for a in venue.on_client_frame(r)]
    assert [json.loads(a)["channel"] for a in answers] == [
        "subscriptions",
        "subscriptions",
        "l2_data",
    ]
    events = [e for a in answers for e in proto.on_frame(a, T_MS).events]
    assert [e.payload for e in events] == [
        L2Update(
            ((Decimal("21921.73"), Decimal("0.06317902")), (Decimal("21920"), Decimal("0.7"))),
            ((Decimal("21933.98"), Decimal("1.5")), (Decimal("21935"), Decimal("2"))),
            True,
        )
    ]
    [event] = proto.on_frame(l2(4, "update", "BTC-USD", ("bid", "21920", "0")), T_MS).events
    assert event.payload == L2Update(((Decimal("21920"), Decimal("0")),), (), False)


_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        ["0", "-1", "1e999999", "NaN", "", "bid", "offer", "snapshot", "update", "BTC-USD"]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [prefix] + [p for k, v in value.items() for p in _paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [prefix] + [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))]
    return [prefix]


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from([HEARTBEAT, CANDLES, MARKET_TRADES, TICKER, LEVEL2]),
    choice=st.integers(min_value=0),
    value=_JSON_VALUES,
)
def test_any_field_replaced_by_any_json_value_raises_only_frame_error(
    base: str, choice: int, value: Any
) -> None:
    """The CHANNELS examples (numbered 1 after a level2 snapshot numbered 0; level2 as an
    update) with one field, or the whole message, replaced."""
    message = json.loads(base)
    message["sequence_num"] = 1
    if message["channel"] == "l2_data":
        message["events"][0]["type"] = "update"
    paths = _paths(message)
    path = paths[choice % len(paths)]
    if path:
        target = message
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    else:
        message = value
    proto = protocol()
    proto.on_frame(with_sequence(LEVEL2, 0), T_MS)
    with contextlib.suppress(FrameError):
        proto.on_frame(json.dumps(message), T_MS)


@settings(max_examples=200, deadline=None)
@given(
    base=st.sampled_from(
        [LEVEL2, '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}']
    ),
    choice=st.integers(min_value=0),
    value=_JSON_VALUES,
)
def test_simulated_venue_takes_any_mangled_frame_without_raising(
    base: str, choice: int, value: Any
) -> None:
    """The CHANNELS level2 example and a subscribe message with one field replaced, fed
    to the simulated venue both as a passed frame and as a client frame."""
    message = json.loads(base)
    paths = _paths(message)
    path = paths[choice % len(paths)]
    if path:
        target = message
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    else:
        message = value
    venue = CoinbaseSimulatedVenue()
    venue.on_frame_passed(json.dumps(message))
    replies = venue.on_client_frame(json.dumps(message))
    assert all(isinstance(json.loads(reply), dict) for reply in replies)
