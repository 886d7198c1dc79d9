"""Kraken spot WebSocket v2 adapter on Kraken's documented example messages.

No recorded Kraken v2 session exists in shared/captures, so every frame here is
a documented example (each test names its page) or one derived from one by a
stated change.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.kraken_frames import (
    ALL,
    BTC,
    GUIDE_ASKS,
    GUIDE_BIDS,
    MATIC,
    MATIC_ASKS,
    MATIC_BIDS,
    MATIC_UPDATE,
    D,
    book_frame,
    checksum_of,
    decimals,
    guide_snapshot,
    matic_snapshot,
    protocol,
)

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, Keepalive
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import Candle, DataType, Instrument, L2Update, Side, Ticker, Trade
from relay.infrastructure.venues.common.times import rfc3339_ms
from relay.infrastructure.venues.kraken.book import book_checksum, book_depth, checksum_digits
from relay.infrastructure.venues.kraken.listing import parse_asset_pairs
from relay.infrastructure.venues.kraken.protocol import interval_minutes
from relay.infrastructure.venues.registry import ListingRequest, venue_spec
from relay.sim.venues.kraken import KrakenSimulatedVenue

# --- checksum -----------------------------------------------------------------------------


def test_documented_checksum_worked_example_gives_3310070434() -> None:
    """The guide's worked example: asks low to high, then bids high to low (GUIDE)."""
    assert book_checksum(decimals(GUIDE_ASKS), decimals(GUIDE_BIDS), 1, 8) == 3310070434


def test_checksum_digits_drop_the_point_and_leading_zeros_as_the_guide_shows() -> None:
    """The guide's steps: "45285.2" -> "452852", "0.00100000" -> "100000" (GUIDE)."""
    assert checksum_digits(D("45285.2"), 1) == "452852"
    assert checksum_digits(D("0.00100000"), 8) == "100000"
    assert checksum_digits(D("0.566"), 4) == "5660"
    assert checksum_digits(D("45281"), 1) == "452810"


def test_guide_snapshot_is_published_as_the_verified_book() -> None:
    """The worked example as a snapshot frame (JSON numbers, as v2 sends them) (GUIDE)."""
    outcome = protocol().on_frame(guide_snapshot(), 1_700_000_000_000)
    assert outcome.resyncs == [] and outcome.replies == []
    [event] = outcome.events
    assert event.instrument == BTC
    assert event.data_type is DataType.L2_ORDERBOOK
    assert event.payload == L2Update(decimals(GUIDE_BIDS), decimals(GUIDE_ASKS), True)
    assert event.exchange_timestamp_ms == 1696613755440
    assert event.received_at_ms == 1_700_000_000_000
    assert event.dedup_key == "snapshot:2023-10-06T17:35:55.440295Z:3310070434"
    assert str(event.payload.bids[0][1]) == "0.10000000"


def test_book_page_snapshot_and_update_verify_with_the_pairs_precision() -> None:
    """The book page's MATIC/USD examples write 0.566 for 0.5660; their checksums
    (2439117997, 2114181697) hold with 4 price and 8 quantity decimals (BOOK_PAGE)."""
    proto = protocol()
    snapshot = proto.on_frame(matic_snapshot(), 1)
    assert snapshot.resyncs == []
    assert snapshot.events[0].payload == L2Update(decimals(MATIC_BIDS), decimals(MATIC_ASKS), True)
    update = proto.on_frame(MATIC_UPDATE, 2)
    assert update.resyncs == [] and update.replies == []
    [event] = update.events
    assert event.instrument == MATIC
    assert event.payload == L2Update(((D("0.5657"), D("1098.3947558")),), (), False)
    assert event.exchange_timestamp_ms == 1696613755440
    assert event.dedup_key.startswith("2023-10-06T17:35:55.440295Z:2114181697:")


# --- resync -------------------------------------------------------------------------------


def test_forced_checksum_mismatch_resyncs_only_that_book_and_the_fresh_snapshot_restores_it() -> (
    None
):
    """An update whose checksum disagrees (the guide's book, one quantity changed and the
    checksum left at the old value) throws that one book away (GUIDE, BOOK_PAGE)."""
    proto = protocol()
    proto.on_frame(guide_snapshot(), 1)
    proto.on_frame(matic_snapshot(), 2)
    bad = book_frame("update", "BTC/USD", [("45283.5", "0.20000000")], [], 3310070434)
    outcome = proto.on_frame(bad, 3)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(BTC, "checksum")]
    assert outcome.replies == [
        '{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}',
        '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10,'
        '"snapshot":true}}',
    ]
    # Until the fresh snapshot: BTC/USD updates publish nothing, even a consistent one.
    good_bids = [("45283.5", "0.20000000"), *GUIDE_BIDS[1:]]
    good = book_frame(
        "update", "BTC/USD", [("45283.5", "0.20000000")], [], checksum_of(good_bids, GUIDE_ASKS)
    )
    assert proto.on_frame(good, 4) == FrameOutcome([], [], [])
    # The other book is untouched.
    assert len(proto.on_frame(MATIC_UPDATE, 5).events) == 1
    # The fresh snapshot is published as a snapshot, and updates flow again.
    fresh = proto.on_frame(guide_snapshot(), 6)
    assert fresh.resyncs == []
    assert [e.payload.is_snapshot for e in fresh.events] == [True]  # type: ignore[union-attr]
    after = proto.on_frame(good, 7)
    assert after.resyncs == []
    assert after.events[0].payload == L2Update(((D("45283.5"), D("0.20000000")),), (), False)


def test_mutated_level_in_an_update_is_caught_by_the_checksum() -> None:
    """A correct update (best ask size changed) published; the same update with a digit
    changed in its quantity is a checksum resync (GUIDE)."""
    asks = [("45285.2", "0.00200000"), *GUIDE_ASKS[1:]]
    checksum = checksum_of(GUIDE_BIDS, asks)
    good = book_frame("update", "BTC/USD", [], [("45285.2", "0.00200000")], checksum)
    mutated = good.replace("0.00200000", "0.00300000")
    proto = protocol()
    proto.on_frame(guide_snapshot(), 1)
    assert proto.on_frame(mutated, 2).resyncs == [BookResync(BTC, "checksum")]
    proto = protocol()
    proto.on_frame(guide_snapshot(), 1)
    assert proto.on_frame(good, 2).resyncs == []


def test_snapshot_with_a_wrong_checksum_is_resynced_and_not_published() -> None:
    """The guide's snapshot with its checksum off by one (GUIDE)."""
    outcome = protocol().on_frame(guide_snapshot(3310070435), 1)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(BTC, "checksum")]
    assert len(outcome.replies) == 2


def test_update_before_any_snapshot_publishes_nothing() -> None:
    """The book page's update example without its snapshot first (BOOK_PAGE)."""
    assert protocol().on_frame(MATIC_UPDATE, 1) == FrameOutcome([], [], [])


# --- truncation ---------------------------------------------------------------------------


def test_insert_beyond_depth_truncates_the_worst_level_and_publishes_its_removal() -> None:
    """Depth 10 (GUIDE: "you must remove the 11th worst bid"): a new best bid pushes out
    45276.6; removing that best bid again leaves 9 bids, which the checksum confirms."""
    proto = protocol(depth=10)
    proto.on_frame(guide_snapshot(), 1)
    inserted = [("45284.0", "1.00000000"), *GUIDE_BIDS[:9]]
    insert = book_frame(
        "update", "BTC/USD", [("45284.0", "1.00000000")], [], checksum_of(inserted, GUIDE_ASKS)
    )
    outcome = proto.on_frame(insert, 2)
    assert outcome.resyncs == []
    assert outcome.events[0].payload == L2Update(
        ((D("45284.0"), D("1.00000000")), (D("45276.6"), D(0))), (), False
    )
    remove = book_frame(
        "update", "BTC/USD", [("45284.0", "0")], [], checksum_of(GUIDE_BIDS[:9], GUIDE_ASKS)
    )
    outcome = proto.on_frame(remove, 3)
    assert outcome.resyncs == []
    assert outcome.events[0].payload == L2Update(((D("45284.0"), D(0)),), (), False)


def test_without_truncation_the_dropped_level_would_break_the_checksum() -> None:
    """Depth 25 keeps 11 bids, so the same removal's checksum (over 9 bids) disagrees (GUIDE)."""
    proto = protocol(depth=25)
    proto.on_frame(guide_snapshot(), 1)
    inserted = [("45284.0", "1.00000000"), *GUIDE_BIDS]
    proto.on_frame(
        book_frame(
            "update", "BTC/USD", [("45284.0", "1.00000000")], [], checksum_of(inserted, GUIDE_ASKS)
        ),
        2,
    )
    remove = book_frame(
        "update", "BTC/USD", [("45284.0", "0")], [], checksum_of(GUIDE_BIDS[:9], GUIDE_ASKS)
    )
    assert proto.on_frame(remove, 3).resyncs == [BookResync(BTC, "checksum")]


def test_book_updates_with_equal_time_and_checksum_get_distinct_dedup_keys() -> None:
    """Two deep changes in the same microsecond leave the top-10 checksum equal (BOOK_PAGE)."""
    proto = protocol(depth=25)
    proto.on_frame(matic_snapshot(), 1)
    first = proto.on_frame(
        book_frame("update", "MATIC/USD", [("0.5600", "10.00000000")], [], 2439117997), 2
    )
    second = proto.on_frame(
        book_frame("update", "MATIC/USD", [("0.5601", "10.00000000")], [], 2439117997), 3
    )
    assert first.resyncs == [] and second.resyncs == []
    assert first.events[0].dedup_key != second.events[0].dedup_key
    again = protocol(depth=25)
    again.on_frame(matic_snapshot(), 10)
    repeat = again.on_frame(
        book_frame("update", "MATIC/USD", [("0.5600", "10.00000000")], [], 2439117997), 11
    )
    assert repeat.events[0].dedup_key == first.events[0].dedup_key


# --- trade, ticker, candle ----------------------------------------------------------------

TRADE_SNAPSHOT = """{"channel": "trade", "type": "snapshot", "data": [
  {"symbol": "MATIC/USD", "side": "buy", "price": 0.5147, "qty": 6423.46326,
   "ord_type": "limit", "trade_id": 4665846, "timestamp": "2023-09-25T07:48:36.925533Z"},
  {"symbol": "MATIC/USD", "side": "buy", "price": 0.5147, "qty": 1136.19677815,
   "ord_type": "limit", "trade_id": 4665847, "timestamp": "2023-09-25T07:49:36.925603Z"}]}"""
TRADE_UPDATE = """{"channel": "trade", "type": "update", "data": [
  {"symbol": "MATIC/USD", "side": "sell", "price": 0.5117, "qty": 40.0,
   "ord_type": "market", "trade_id": 4665906, "timestamp": "2023-09-25T07:49:37.708706Z"}]}"""


def test_documented_trade_messages_are_trades_keyed_by_trade_id() -> None:
    """https://docs.kraken.com/api/docs/websocket-v2/trade (snapshot and update examples)."""
    proto = protocol()
    snapshot = proto.on_frame(TRADE_SNAPSHOT, 5)
    assert [(e.payload, e.exchange_timestamp_ms, e.dedup_key) for e in snapshot.events] == [
        (Trade("4665846", D("0.5147"), D("6423.46326"), Side.BUY), 1695628116925, "4665846"),
        (Trade("4665847", D("0.5147"), D("1136.19677815"), Side.BUY), 1695628176925, "4665847"),
    ]
    [event] = proto.on_frame(TRADE_UPDATE, 6).events
    assert event.instrument == MATIC and event.data_type is DataType.TRADE
    assert event.payload == Trade("4665906", D("0.5117"), D("40.0"), Side.SELL)
    assert str(event.payload.quantity) == "40.0"
    assert event.exchange_timestamp_ms == 1695628177708
    assert event.msg_id == "kraken:MATIC/USD:trade:4665906"


TICKER_SNAPSHOT = """{"channel": "ticker", "type": "snapshot", "data": [{"symbol": "ALGO/USD",
  "bid": 0.10025, "bid_qty": 740.0, "ask": 0.10036, "ask_qty": 1361.44813783, "last": 0.10035,
  "volume": 997038.98383185, "vwap": 0.10148, "low": 0.09979, "high": 0.10285,
  "change": -0.00017, "change_pct": -0.17, "timestamp": "2023-09-25T09:04:31.742648Z"}]}"""


def test_documented_ticker_is_best_bid_and_ask_with_quantities() -> None:
    """https://docs.kraken.com/api/docs/websocket-v2/ticker (snapshot example)."""
    [event] = protocol().on_frame(TICKER_SNAPSHOT, 7).events
    assert event.instrument == Instrument("kraken", "ALGO/USD", "ALGO/USD")
    assert event.payload == Ticker(D("0.10025"), D("740.0"), D("0.10036"), D("1361.44813783"))
    assert event.exchange_timestamp_ms == 1695632671742
    assert event.dedup_key == "2023-09-25T09:04:31.742648Z:0.10025:740.0:0.10036:1361.44813783"


OHLC_UPDATE = """{"channel": "ohlc", "type": "update",
  "timestamp": "2023-10-04T16:26:30.524394914Z", "data": [{"symbol": "MATIC/USD",
  "open": 0.5624, "high": 0.5628, "low": 0.5622, "close": 0.5627, "trades": 12,
  "volume": 30927.68066226, "vwap": 0.5626, "interval_begin": "2023-10-04T16:25:00.000000000Z",
  "interval": 5, "timestamp": "2023-10-04T16:30:00.000000Z"}]}"""


def test_documented_ohlc_update_is_an_open_candle_of_the_configured_interval() -> None:
    """https://docs.kraken.com/api/docs/websocket-v2/ohlc (update example)."""
    [event] = protocol(interval="5m").on_frame(OHLC_UPDATE, 8).events
    assert event.instrument == MATIC and event.data_type is DataType.CANDLE
    assert event.payload == Candle(
        interval="5m",
        open_time_ms=1696436700000,
        close_time_ms=1696437000000,
        open=D("0.5624"),
        high=D("0.5628"),
        low=D("0.5622"),
        close=D("0.5627"),
        volume=D("30927.68066226"),
        is_closed=False,
        quote_volume=None,
        trade_count=12,
    )
    assert event.exchange_timestamp_ms == 1696436700000
    assert event.dedup_key == "5:1696436700000:12:30927.68066226"


def test_rfc3339_timestamps_with_nanoseconds_become_epoch_milliseconds() -> None:
    assert rfc3339_ms("t", "2023-10-04T16:25:00.000000000Z") == 1696436700000
    assert rfc3339_ms("t", "2023-09-25T07:48:36.925533Z") == 1695628116925
    assert rfc3339_ms("t", "2023-09-25T07:48:36Z") == 1695628116000


# --- control messages, keepalive ----------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        # https://docs.kraken.com/api/docs/websocket-v2/ping (response example)
        '{"method": "pong", "req_id": 101, "time_in": "2023-09-24T14:10:23.799685Z",'
        ' "time_out": "2023-09-24T14:10:23.799703Z"}',
        # https://docs.kraken.com/api/docs/websocket-v2/heartbeat
        '{"channel": "heartbeat"}',
        # https://docs.kraken.com/api/docs/websocket-v2/status (example)
        '{"channel": "status", "data": [{"api_version": "v2",'
        ' "connection_id": 13834774380200032777,'
        ' "system": "online", "version": "2.0.0"}], "type": "update"}',
        # https://docs.kraken.com/api/docs/websocket-v2/book (subscribe ack example)
        '{"method": "subscribe", "result": {"channel": "book", "depth": 10, "snapshot": true,'
        ' "symbol": "ALGO/USD"}, "success": true, "time_in": "2023-10-06T17:35:55.219022Z",'
        ' "time_out": "2023-10-06T17:35:55.219067Z"}',
        # https://docs.kraken.com/api/docs/websocket-v2/trade (unsubscribe ack example)
        '{"method": "unsubscribe", "result": {"channel": "trade", "symbol": "MATIC/USD"},'
        ' "success": true, "time_in": "2023-09-25T09:21:10.428340Z",'
        ' "time_out": "2023-09-25T09:21:10.428375Z"}',
    ],
)
def test_pongs_heartbeats_status_and_acks_give_an_empty_outcome(frame: str) -> None:
    proto = protocol()
    assert proto.on_frame(frame, 1) == FrameOutcome([], [], [])
    assert proto.on_frame(frame, 2) == FrameOutcome([], [], [])  # a duplicate ack too


def test_failed_subscribe_ack_is_a_subscribe_error() -> None:
    """The ack schema: ``success`` false with an ``error`` message (ticker page)."""
    frame = (
        '{"method": "subscribe", "error": "Currency pair not supported", "success": false,'
        ' "time_in": "2023-09-25T09:04:31.742599Z",'
        ' "time_out": "2023-09-25T09:04:31.742648Z"}'
    )
    with pytest.raises(FrameError) as info:
        protocol().on_frame(frame, 1)
    assert info.value.reason == "subscribe_error"
    assert "Currency pair not supported" in info.value.detail


def test_keepalive_is_the_documented_ping_every_30_seconds() -> None:
    """https://docs.kraken.com/api/docs/websocket-v2/ping; the server drops idle connections."""
    assert protocol().keepalive() == Keepalive(30.0, '{"method":"ping"}')


# --- subscribe frames, depth, intervals, limits -------------------------------------------


def test_subscribe_frames_group_symbols_by_channel_depth_and_interval() -> None:
    """Documented subscribe shapes (trade, ticker, book, ohlc pages)."""
    subs = (
        SubscriptionConfig("BTC/USD", "BTC/USD", ALL, 0, "1m"),
        SubscriptionConfig("ETH/USD", "ETH/USD", ALL, 100, "1m"),
        SubscriptionConfig(
            "MATIC/USD", "MATIC/USD", (DataType.L2_ORDERBOOK, DataType.CANDLE), 7, "1h"
        ),
    )
    proto = venue_spec("kraken").protocol_factory(VenueConfig(id="kraken", subscriptions=subs))
    assert [json.loads(frame) for frame in proto.subscribe_frames()] == [
        {
            "method": "subscribe",
            "params": {"channel": "trade", "symbol": ["BTC/USD", "ETH/USD"], "snapshot": False},
        },
        {
            "method": "subscribe",
            "params": {
                "channel": "ticker",
                "symbol": ["BTC/USD", "ETH/USD"],
                "event_trigger": "bbo",
            },
        },
        {
            "method": "subscribe",
            "params": {
                "channel": "book",
                "symbol": ["BTC/USD", "MATIC/USD"],
                "depth": 10,
                "snapshot": True,
            },
        },
        {
            "method": "subscribe",
            "params": {"channel": "book", "symbol": ["ETH/USD"], "depth": 100, "snapshot": True},
        },
        {
            "method": "subscribe",
            "params": {
                "channel": "ohlc",
                "symbol": ["BTC/USD", "ETH/USD"],
                "interval": 1,
                "snapshot": False,
            },
        },
        {
            "method": "subscribe",
            "params": {
                "channel": "ohlc",
                "symbol": ["MATIC/USD"],
                "interval": 60,
                "snapshot": False,
            },
        },
    ]
    assert proto.ws_url() == "wss://ws.kraken.com/v2"


def test_spec_paces_subscribe_frames_and_lists_the_venue() -> None:
    spec = venue_spec("kraken")
    assert spec.subscribe_interval_s == 1.0
    assert spec.max_subscriptions_per_connection == 0
    assert spec.data_types == frozenset(ALL)
    assert spec.default_ws_url == "wss://ws.kraken.com/v2"


@pytest.mark.parametrize(
    ("depth", "channel_depth"),
    [
        (0, 10),
        (1, 10),
        (10, 10),
        (11, 25),
        (25, 25),
        (26, 100),
        (400, 500),
        (1000, 1000),
        (5000, 1000),
    ],
)
def test_depth_maps_to_the_smallest_offered_book_depth_not_below_it(
    depth: int, channel_depth: int
) -> None:
    """Offered depths 10, 25, 100, 500, 1000 (BOOK_PAGE)."""
    assert book_depth(depth) == channel_depth


@pytest.mark.parametrize(
    ("interval", "minutes"),
    [
        ("1m", 1),
        ("5m", 5),
        ("15m", 15),
        ("30m", 30),
        ("1h", 60),
        ("4h", 240),
        ("1d", 1440),
        ("1w", 10080),
        ("15d", 21600),
        ("120s", 2),
        ("30s", 0),
        ("1M", 0),
    ],
)
def test_candle_interval_is_sent_in_minutes(interval: str, minutes: int) -> None:
    """The ohlc channel's interval is minutes (1 ... 21600); others get 0 and a subscribe
    error from the venue."""
    assert interval_minutes(interval) == minutes


# --- malformed frames ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "not_json"),
        (b"\xff\xfe", "not_json"),
        ("[1, 2]", "unknown_event"),
        ('{"channel": "spread", "type": "update", "data": []}', "unknown_event"),
        ('{"method": "edit_order", "success": true}', "unknown_event"),
        (TRADE_UPDATE.replace('"price": 0.5117, ', ""), "missing_field"),
        (TRADE_UPDATE.replace('"sell"', '"short"'), "invalid_value"),
        (TRADE_UPDATE.replace("40.0", "-40.0"), "invalid_value"),
        (TRADE_UPDATE.replace("0.5117", '"abc"'), "invalid_value"),
        (TRADE_UPDATE.replace("0.5117", "1e999999"), "invalid_value"),
        (TRADE_UPDATE.replace("2023-09-25T07:49:37.708706Z", "yesterday"), "invalid_value"),
        (TRADE_UPDATE.replace("MATIC/USD", "DOGE/USD"), "unsubscribed"),
        (MATIC_UPDATE.replace('"checksum": 2114181697,', ""), "missing_field"),
        (MATIC_UPDATE.replace("2114181697", '"x"'), "invalid_value"),
        (MATIC_UPDATE.replace('"bids": [', '"bids": [{"price": 0, "qty": 1}, '), "invalid_value"),
        (MATIC_UPDATE.replace('"type": "update"', '"type": "partial"'), "invalid_value"),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str | bytes, reason: str) -> None:
    with pytest.raises(FrameError) as info:
        protocol().on_frame(frame, 1)
    assert info.value.reason == reason


def test_book_message_for_a_symbol_without_a_book_subscription_is_unsubscribed() -> None:
    proto = protocol(data_types=(DataType.TRADE,))
    with pytest.raises(FrameError) as info:
        proto.on_frame(guide_snapshot(), 1)
    assert info.value.reason == "unsubscribed"


# --- listing ------------------------------------------------------------------------------

ASSET_PAIRS = """{"error": [], "result": {"XETHXXBT": {"altname": "ETHXBT", "wsname": "ETH/XBT",
  "aclass_base": "currency", "base": "XETH", "aclass_quote": "currency", "quote": "XXBT",
  "lot": "unit", "cost_decimals": 6, "pair_decimals": 5, "lot_decimals": 8, "lot_multiplier": 1,
  "leverage_buy": [2, 3, 4, 5], "leverage_sell": [2, 3, 4, 5],
  "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40, "ordermin": "0.01",
  "costmin": "0.00002", "tick_size": "0.00001", "status": "online",
  "long_position_limit": 1100, "short_position_limit": 400}}}"""
"""The documented AssetPairs response example, fee tables left out
(https://docs.kraken.com/rest/#tag/Spot-Market-Data/operation/getTradableAssetPairs)."""


def test_asset_pairs_listing_names_pairs_by_their_v2_symbol() -> None:
    """wsname "ETH/XBT" is "ETH/BTC" on v2 (v1 XBT/USD vs v2 BTC/USD:
    https://docs.kraken.com/exchange/api-reference/spot-websocket)."""
    listing = venue_spec("kraken").instrument_listing
    assert listing is not None
    assert listing.requests == (ListingRequest("/0/public/AssetPairs"),)
    listed = listing.parse(listing.requests[0], ASSET_PAIRS.encode())
    assert [(i.instrument, i.canonical_symbol, i.kind) for i in listed] == [
        ("ETH/BTC", "ETH/BTC", "spot")
    ]


def test_asset_pairs_without_wsname_are_left_out_and_errors_are_refused() -> None:
    body = b'{"error": [], "result": {"XXDGZUSD": {"wsname": "XDG/USD"}, "X.d": {"altname": "X"}}}'
    assert [i.instrument for i in parse_asset_pairs(ListingRequest("/"), body)] == ["DOGE/USD"]
    with pytest.raises(ValueError, match="EGeneral"):
        parse_asset_pairs(ListingRequest("/"), b'{"error": ["EGeneral:Invalid arguments"]}')


# --- simulated venue ----------------------------------------------------------------------


def test_simulated_venue_answers_pings_and_acks_each_symbol() -> None:
    sim = KrakenSimulatedVenue()
    assert sim.on_client_frame('{"method":"ping","req_id":101}') == [
        '{"method":"pong","req_id":101}'
    ]
    replies = sim.on_client_frame(
        '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"],'
        '"snapshot":false}}'
    )
    assert [json.loads(r) for r in replies] == [
        {
            "method": "subscribe",
            "result": {"channel": "trade", "symbol": "BTC/USD", "snapshot": False},
            "success": True,
        },
        {
            "method": "subscribe",
            "result": {"channel": "trade", "symbol": "ETH/USD", "snapshot": False},
            "success": True,
        },
    ]
    proto = protocol()
    for reply in replies:
        assert proto.on_frame(reply, 1) == FrameOutcome([], [], [])


def test_simulated_venue_sends_a_fresh_verified_snapshot_when_a_book_is_subscribed_again() -> None:
    """The replay passed the guide's snapshot and one update; a resync's subscribe gets the
    book as it stands now, which the protocol accepts (GUIDE)."""
    sim = KrakenSimulatedVenue()
    asks = [("45285.2", "0.00200000"), *GUIDE_ASKS[1:]]
    update = book_frame(
        "update",
        "BTC/USD",
        [],
        [("45285.2", "0.00200000")],
        checksum_of(GUIDE_BIDS, asks),
        "2023-10-06T17:35:56.000001Z",
    )
    sim.on_frame_passed(guide_snapshot())
    sim.on_frame_passed(update)
    proto = protocol()
    bad = update.replace("0.00200000", "0.00300000")
    proto.on_frame(guide_snapshot(), 1)
    resync = proto.on_frame(bad, 2)
    assert resync.resyncs == [BookResync(BTC, "checksum")]
    answers: list[str] = []
    for frame in resync.replies:
        answers.extend(sim.on_client_frame(frame))
    assert len(answers) == 3  # unsubscribe ack, subscribe ack, snapshot
    events: list[Any] = []
    for answer in answers:
        outcome = proto.on_frame(answer, 3)
        assert outcome.resyncs == []
        events.extend(outcome.events)
    [snapshot] = events
    assert snapshot.payload == L2Update(decimals(GUIDE_BIDS), decimals(asks), True)
    assert snapshot.exchange_timestamp_ms == 1696613756000
