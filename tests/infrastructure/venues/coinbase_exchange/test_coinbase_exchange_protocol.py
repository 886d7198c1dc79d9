"""Coinbase Exchange feed adapter on real frames of coinbase-exchange.jsonl and documented examples.

Documents followed (see the module docstring of
``relay.infrastructure.venues.coinbase_exchange``):
https://docs.cdp.coinbase.com/exchange/websocket-feed/channels (heartbeat example),
https://docs.cloud.coinbase.com/exchange/docs/websocket-overview (error example),
https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits (limits).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
import pytest
from support.coinbase_exchange_reference import (
    PRODUCTS,
    books,
    l2update_count,
    raw_frames,
    tickers,
    trades,
)

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent, Side, Ticker, Trade
from relay.infrastructure.venues.coinbase_exchange.listing import parse_products
from relay.infrastructure.venues.common.times import rfc3339_ms
from relay.infrastructure.venues.registry import ListingRequest, venue_spec
from relay.sim.venues.coinbase_exchange import SimulatedCoinbaseExchange

VENUE = "coinbase-exchange"
ALL = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK)
BAND_GBP = Instrument(VENUE, "BAND-GBP", "BAND/GBP")
SKL_BTC = Instrument(VENUE, "SKL-BTC", "SKL/BTC")


def protocol(
    products: dict[str, str] = PRODUCTS, data_types: tuple[DataType, ...] = ALL, depth: int = 0
) -> VenueProtocol:
    subs = tuple(SubscriptionConfig(i, c, data_types, depth=depth) for i, c in products.items())
    return venue_spec(VENUE).protocol_factory(VenueConfig(id=VENUE, subscriptions=subs))


def frame_at(index: int) -> tuple[str, int]:
    """The recorded venue frame with this index (0 = the first ``recv``), with its time in ms."""
    return raw_frames()[index]


def first_frame(predicate: Any) -> tuple[int, str, int]:
    for index, (frame, at_ms) in enumerate(raw_frames()):
        if predicate(json.loads(frame)):
            return index, frame, at_ms
    raise AssertionError("no such frame")


def replay(
    proto: VenueProtocol, frames: list[tuple[str, int]] | None = None
) -> tuple[list[MarketEvent], list[FrameOutcome], dict[str, int]]:
    """Feed frames (default: the whole recording); returns events, outcomes and rejections."""
    events: list[MarketEvent] = []
    outcomes: list[FrameOutcome] = []
    rejected: dict[str, int] = {}
    for frame, at_ms in raw_frames() if frames is None else frames:
        try:
            outcome = proto.on_frame(frame, at_ms)
        except FrameError as exc:
            rejected[exc.reason] = rejected.get(exc.reason, 0) + 1
            continue
        outcomes.append(outcome)
        events.extend(outcome.events)
    return events, outcomes, rejected


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


# --- subscribing, limits, keepalive -------------------------------------------------------------


def test_one_subscribe_frame_names_every_channel_with_its_products() -> None:
    proto = protocol({"BAND-GBP": "BAND/GBP", "SKL-BTC": "SKL/BTC"})
    assert proto.ws_url() == "wss://ws-feed.exchange.coinbase.com"
    products = ["BAND-GBP", "SKL-BTC"]
    assert [json.loads(f) for f in proto.subscribe_frames()] == [
        {
            "type": "subscribe",
            "channels": [
                {"name": "level2_batch", "product_ids": products},
                {"name": "matches", "product_ids": products},
                {"name": "ticker", "product_ids": products},
                {"name": "heartbeat", "product_ids": products},
            ],
        }
    ]


def test_a_channel_lists_only_the_products_that_want_its_data_type() -> None:
    subs = (
        SubscriptionConfig("BAND-GBP", "BAND/GBP", (DataType.TRADE,)),
        SubscriptionConfig("SKL-BTC", "SKL/BTC", (DataType.L2_ORDERBOOK, DataType.TICKER)),
    )
    proto = venue_spec(VENUE).protocol_factory(VenueConfig(id=VENUE, subscriptions=subs))
    assert json.loads(proto.subscribe_frames()[0])["channels"] == [
        {"name": "level2_batch", "product_ids": ["SKL-BTC"]},
        {"name": "matches", "product_ids": ["BAND-GBP"]},
        {"name": "ticker", "product_ids": ["SKL-BTC"]},
        {"name": "heartbeat", "product_ids": ["BAND-GBP", "SKL-BTC"]},
    ]


@pytest.mark.parametrize("depth", [0, 1, 50, 1000])
def test_every_depth_maps_to_the_full_depth_level2_batch_channel(depth: int) -> None:
    frame = json.loads(protocol({"BAND-GBP": "BAND/GBP"}, depth=depth).subscribe_frames()[0])
    assert frame["channels"][0] == {"name": "level2_batch", "product_ids": ["BAND-GBP"]}


def test_spec_respects_the_documented_inbound_message_rate() -> None:
    spec = venue_spec(VENUE)
    assert spec.subscribe_interval_s == 0.1  # 10 inbound messages per second
    assert spec.max_subscriptions_per_connection == 0  # no per-connection limit documented
    assert spec.data_types == frozenset(ALL)
    assert spec.default_rest_url == "https://api.exchange.coinbase.com"
    assert spec.max_connection_age_s == 0.0


def test_no_venue_ping_is_sent_and_the_documented_heartbeat_gives_an_empty_outcome() -> None:
    """Heartbeat example of https://docs.cdp.coinbase.com/exchange/websocket-feed/channels."""
    proto = protocol({"BTC-USD": "BTC/USD"})
    assert proto.keepalive() is None
    heartbeat = (
        '{"type": "heartbeat", "sequence": 90, "last_trade_id": 20,'
        ' "product_id": "BTC-USD", "time": "2014-11-07T08:19:28.464459Z"}'
    )
    assert proto.on_frame(heartbeat, 1) == FrameOutcome([], [], [])
    assert proto.on_open() == FrameOutcome([], [], [])


def test_recorded_subscriptions_answers_give_empty_outcomes_even_when_repeated() -> None:
    proto = protocol()
    for index in (0, 1, 8, 8):
        frame, at_ms = frame_at(index)
        assert json.loads(frame)["type"] == "subscriptions"
        assert proto.on_frame(frame, at_ms) == FrameOutcome([], [], [])


def test_documented_error_message_is_a_subscribe_error() -> None:
    """Error example of https://docs.cloud.coinbase.com/exchange/docs/websocket-overview."""
    with pytest.raises(FrameError) as caught:
        protocol().on_frame('{"type": "error", "message": "error message"}', 1)
    assert caught.value.reason == "subscribe_error"
    assert caught.value.detail == "error message: "
    with pytest.raises(FrameError) as caught:
        protocol().on_frame(
            '{"type":"error","message":"Failed to subscribe",'
            '"reason":"level2 requires authentication"}',
            1,
        )
    assert caught.value.detail == "Failed to subscribe: level2 requires authentication"


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


def test_match_is_a_trade_whose_aggressor_is_opposite_to_the_maker_side() -> None:
    _, frame, at_ms = first_frame(lambda f: f["type"] == "match")
    [event] = protocol().on_frame(frame, at_ms).events
    assert event == MarketEvent(
        SKL_BTC,
        DataType.TRADE,
        1618677817129,
        1618677817089,
        Trade("280232", Decimal("0.00001305"), Decimal("985"), Side.BUY),
        "280232",
    )
    # The ticker of the same trade names the taker side: "buy".
    _, ticker, _ = first_frame(lambda f: f["type"] == "ticker" and f["trade_id"] == 280232)
    assert json.loads(ticker)["side"] == "buy" and json.loads(frame)["side"] == "sell"


def test_every_recorded_trade_side_equals_the_taker_side_of_its_ticker() -> None:
    events, _, _ = replay(protocol())
    sides = {
        (e.instrument.instrument, e.payload.trade_id): e.payload.side.value.lower()
        for e in events
        if isinstance(e.payload, Trade)
    }
    ticker_sides = {
        (f["product_id"], str(f["trade_id"])): f["side"]
        for f in (json.loads(raw) for raw, _ in raw_frames())
        if f["type"] == "ticker"
    }
    assert len(ticker_sides) == 107
    assert all(sides[key] == side for key, side in ticker_sides.items())


def test_last_match_is_a_trade_deduplicated_by_its_trade_id() -> None:
    frame, at_ms = frame_at(6)
    [event] = protocol().on_frame(frame, at_ms).events
    assert event == MarketEvent(
        BAND_GBP,
        DataType.TRADE,
        1618677817079,
        1618677810244,
        Trade("881613", Decimal("14.7775"), Decimal("0.04"), Side.BUY),
        "881613",
    )


def test_ticker_without_sizes_is_best_bid_and_ask_with_zero_quantities() -> None:
    frame, at_ms = frame_at(4)
    [event] = protocol().on_frame(frame, at_ms).events
    assert event == MarketEvent(
        BAND_GBP,
        DataType.TICKER,
        1618677817079,
        1618677810244,
        Ticker(Decimal("14.7550"), Decimal(0), Decimal("14.8060"), Decimal(0), 333938798),
        "333938798",
    )


def test_ticker_with_best_sizes_publishes_them() -> None:
    message = json.loads(frame_at(4)[0])
    message |= {"best_bid_size": "3.10", "best_ask_size": "0.50"}
    [event] = protocol().on_frame(json.dumps(message), 5).events
    assert event.payload == Ticker(
        Decimal("14.7550"), Decimal("3.10"), Decimal("14.8060"), Decimal("0.50"), 333938798
    )


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


def test_two_connections_give_the_same_message_ids_for_the_same_venue_events() -> None:
    first, _, _ = replay(protocol())
    second, _, _ = replay(protocol())
    assert [e.msg_id for e in first] == [e.msg_id for e in second]


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


def test_match_or_ticker_fed_twice_is_a_stale_update_and_publishes_nothing() -> None:
    proto = protocol()
    for index in (4, 6):  # BAND-GBP ticker, last_match
        frame, at_ms = frame_at(index)
        proto.on_frame(frame, at_ms)
        with pytest.raises(FrameError) as caught:
            proto.on_frame(frame, at_ms)
        assert caught.value.reason == "stale_update"


def test_ticker_with_an_older_sequence_is_a_stale_update() -> None:
    proto = protocol()
    frame, at_ms = frame_at(4)
    proto.on_frame(frame, at_ms)
    older = json.loads(frame) | {"sequence": 333938797}
    with pytest.raises(FrameError) as caught:
        proto.on_frame(json.dumps(older), at_ms)
    assert caught.value.reason == "stale_update"
    assert caught.value.detail == "BAND-GBP ticker: sequence 333938797 <= 333938798"


# --- malformed frames ----------------------------------------------------------------------------

_UPDATE = {
    "type": "l2update",
    "product_id": "BAND-GBP",
    "changes": [["sell", "14.9", "1"]],
    "time": "2021-04-17T16:43:37.083117Z",
}
_MATCH = {
    "type": "match",
    "trade_id": 1,
    "side": "sell",
    "size": "1",
    "price": "2",
    "product_id": "BAND-GBP",
    "sequence": 5,
    "time": "2021-04-17T16:43:37.083117Z",
}


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json {", "not_json"),
        ("[1, 2]", "unknown_event"),
        ('{"type": "done"}', "unknown_event"),
        ('{"no_type": 1}', "unknown_event"),
        (json.dumps({k: v for k, v in _UPDATE.items() if k != "product_id"}), "missing_field"),
        (json.dumps({k: v for k, v in _UPDATE.items() if k != "time"}), "missing_field"),
        (json.dumps(_UPDATE | {"changes": [["up", "14.9", "1"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": [["sell", "14.9", "-1"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": [["sell", "0", "1"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": [["sell", "abc", "1"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": [["sell", "14.9"]]}), "invalid_value"),
        (json.dumps(_UPDATE | {"changes": "nope"}), "invalid_value"),
        (json.dumps(_UPDATE | {"time": "yesterday"}), "invalid_value"),
        (json.dumps(_UPDATE | {"time": "2021-04-17T16:43:37"}), "invalid_value"),
        (json.dumps(_UPDATE | {"product_id": "BTC-USD"}), "unsubscribed"),
        (json.dumps(_UPDATE | {"product_id": 7}), "invalid_value"),
        (json.dumps(_MATCH | {"side": "up"}), "invalid_value"),
        (json.dumps(_MATCH | {"sequence": "5"}), "invalid_value"),
        (json.dumps(_MATCH | {"trade_id": -1}), "invalid_value"),
        (json.dumps(_MATCH | {"price": 2.5}), "invalid_value"),
        (json.dumps({k: v for k, v in _MATCH.items() if k != "size"}), "missing_field"),
        (
            '{"type": "snapshot", "product_id": "BAND-GBP", "bids": [["1", "2", "3"]], "asks": []}',
            "invalid_value",
        ),
        (
            '{"type": "ticker", "product_id": "BAND-GBP", "sequence": 1, "best_bid": "1",'
            ' "time": "2021-04-17T16:43:37.083117Z"}',
            "missing_field",
        ),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str, reason: str) -> None:
    proto = protocol()
    proto.on_frame(*frame_at(2))  # BAND-GBP synced, so l2update reaches its checks
    with pytest.raises(FrameError) as caught:
        proto.on_frame(frame, 1)
    assert caught.value.reason == reason


def test_trade_only_product_refuses_book_frames_as_unsubscribed() -> None:
    proto = protocol({"BAND-GBP": "BAND/GBP"}, (DataType.TRADE,))
    with pytest.raises(FrameError) as caught:
        proto.on_frame(*frame_at(2))
    assert caught.value.reason == "unsubscribed"
    assert len(proto.on_frame(*frame_at(6)).events) == 1


def test_venue_time_is_converted_to_exact_epoch_milliseconds() -> None:
    assert rfc3339_ms("time", "2021-04-17T16:43:37.075687Z") == 1618677817075
    assert rfc3339_ms("time", "2014-11-07T08:19:28.464459Z") == 1415348368464
    assert rfc3339_ms("time", "2021-04-17T16:43:37Z") == 1618677817000


# --- listing and simulated venue -----------------------------------------------------------------


def test_products_listing_parses_the_documented_product_objects() -> None:
    """Product fields as in the status channel example of
    https://docs.cdp.coinbase.com/exchange/websocket-feed/channels and
    https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products/get-all-known-trading-pairs.
    """
    listing = venue_spec(VENUE).instrument_listing
    assert listing is not None
    assert listing.requests == (ListingRequest("/products"),)
    body = orjson.dumps(
        [
            {
                "id": "BTC-USD",
                "base_currency": "BTC",
                "quote_currency": "USD",
                "base_increment": "0.00000001",
                "quote_increment": "0.01",
                "display_name": "BTC-USD",
                "status": "online",
                "status_message": None,
                "min_market_funds": "10",
                "post_only": False,
                "limit_only": False,
                "cancel_only": False,
                "fx_stablecoin": False,
            },
            {
                "id": "BAND-GBP",
                "base_currency": "BAND",
                "quote_currency": "GBP",
                "status": "delisted",
            },
        ]
    )
    [listed] = listing.parse(listing.requests[0], body)
    assert (listed.instrument, listed.canonical_symbol, listed.kind) == (
        "BTC-USD",
        "BTC/USD",
        "spot",
    )
    with pytest.raises(ValueError):
        parse_products(listing.requests[0], b'{"message": "NotFound"}')


def test_simulated_venue_answers_only_later_subscribes_with_subscriptions_and_snapshots() -> None:
    venue = SimulatedCoinbaseExchange()
    proto = protocol()
    assert venue.on_client_frame(proto.subscribe_frames()[0]) == []  # the recording answers it
    for frame, _ in raw_frames()[:44]:  # BAND-GBP snapshot and its first update (14.8098 gone)
        venue.on_frame_passed(frame)
    unsubscribe = (
        '{"type":"unsubscribe","channels":[{"name":"level2_batch","product_ids":["BAND-GBP"]}]}'
    )
    [answer] = venue.on_client_frame(unsubscribe)
    channels = {c["name"]: c["product_ids"] for c in json.loads(answer)["channels"]}
    assert "BAND-GBP" not in channels["level2_batch"]
    assert "BAND-GBP" in channels["matches"]
    subscribe = unsubscribe.replace("unsubscribe", "subscribe")
    answer, snapshot = venue.on_client_frame(subscribe)
    assert json.loads(answer)["type"] == "subscriptions"
    message = json.loads(snapshot)
    assert message["product_id"] == "BAND-GBP" and message["type"] == "snapshot"
    assert message["asks"][:4] == [
        ["14.8024", "12.77"],
        ["14.8069", "12.49"],
        ["14.8095", "12.73"],
        ["14.8143", "27.80"],
    ]
    assert message["bids"][0] == ["14.7693", "27.51"]
    assert venue.on_client_frame("not json") == []
    assert venue.on_client_frame('{"type": "ping"}') == []
