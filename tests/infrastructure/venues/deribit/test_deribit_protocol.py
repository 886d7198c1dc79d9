"""Deribit adapter on real frames of shared/captures/deribit.jsonl and documented examples."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from support.deribit_reference import deribit_reference, instruments
from support.reference_books import records

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.deribit.listing import canonical_symbol
from relay.infrastructure.venues.deribit.protocol import (
    CHANNELS_PER_SUBSCRIBE,
    MAX_PENDING_REQUESTS,
    DeribitProtocol,
    UnsupportedIntervalError,
)
from relay.infrastructure.venues.registry import ListingRequest, venue_spec
from relay.sim.venues.deribit import DeribitSimulatedVenue

BOOKISH = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.OPEN_INTEREST)
PUT = "BTC-24SEP21-8000-P"
CALL = "ETH-30JUL21-2800-C"


def protocol(
    names: list[str] | None = None, data_types: tuple[DataType, ...] = BOOKISH, **sub: Any
) -> DeribitProtocol:
    subs = tuple(
        SubscriptionConfig(n, canonical_symbol(n, "option", "", ""), data_types, **sub)
        for n in (names if names is not None else instruments())
    )
    proto = venue_spec("deribit").protocol_factory(VenueConfig(id="deribit", subscriptions=subs))
    assert isinstance(proto, DeribitProtocol)
    return proto


def recv() -> list[tuple[str, int]]:
    """Every recorded venue frame with its receive time in ms."""
    return [
        (r["data"], int(r["t"] * 1000)) for r in records("deribit.jsonl") if r["kind"] == "recv"
    ]


def book_frames(instrument: str) -> list[tuple[str, int]]:
    return [(f, t) for f, t in recv() if f'"channel":"book.{instrument}.' in f]


def first(predicate: Any) -> tuple[str, int]:
    return next((f, t) for f, t in recv() if predicate(json.loads(f)))


def notification(channel: str, data: Any) -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}
    )


def instrument(name: str) -> Instrument:
    return Instrument("deribit", name, canonical_symbol(name, "option", "", ""))


# -- books ------------------------------------------------------------------------------------


def test_book_snapshot_lists_every_recorded_level_best_first_with_the_digits_sent() -> None:
    proto = protocol([CALL])
    frame, t = book_frames(CALL)[0]
    outcome = proto.on_frame(frame, t)
    d = Decimal
    assert outcome.events == [
        MarketEvent(
            instrument(CALL),
            DataType.L2_ORDERBOOK,
            t,
            1626993723632,
            L2Update(
                ((d("0.0015"), d("4714.0")), (d("0.001"), d("861.0")), (d("0.0005"), d("1.0"))),
                (
                    (d("0.0025"), d("873.0")),
                    (d("0.003"), d("167.0")),
                    (d("0.004"), d("5.0")),
                    (d("0.0055"), d("5.0")),
                    (d("0.017"), d("26.0")),
                    (d("0.02"), d("4.0")),
                    (d("0.03"), d("100.0")),
                    (d("0.042"), d("5.0")),
                    (d("0.045"), d("50.0")),
                    (d("0.073"), d("1.0")),
                    (d("0.15"), d("25.0")),
                    (d("0.232"), d("13.0")),
                    (d("0.35"), d("1.0")),
                ),
                True,
                13169025645,
                13169025645,
            ),
            "snapshot:13169025645",
        )
    ]
    assert str(outcome.events[0].payload.bids[0][1]) == "4714.0"  # type: ignore[union-attr]
    assert outcome.replies == [] and outcome.resyncs == []


def test_book_changes_chained_by_prev_change_id_are_deltas_and_delete_is_quantity_zero() -> None:
    proto = protocol([PUT])
    frames = book_frames(PUT)
    proto.on_frame(*frames[0])
    added = proto.on_frame(*frames[1])
    deleted = proto.on_frame(*frames[2])
    assert added.events == [
        MarketEvent(
            instrument(PUT),
            DataType.L2_ORDERBOOK,
            frames[1][1],
            1626993724318,
            L2Update((), ((Decimal("0.001"), Decimal("2.6")),), False, 33195894355, 33195894355),
            "33195894164:33195894355",
        )
    ]
    assert deleted.events[0].payload == L2Update(
        (), ((Decimal("0.001"), Decimal(0)),), False, 33195894358, 33195894358
    )
    assert deleted.events[0].dedup_key == "33195894164:33195894358"


def test_replayed_capture_builds_the_reference_books_without_a_resync() -> None:
    proto = protocol()
    ref = deribit_reference()
    books: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
    counts: dict[str, int] = {}
    for frame, t in recv():
        outcome = proto.on_frame(frame, t)
        assert outcome.resyncs == [] and outcome.replies == []
        for event in outcome.events:
            counts[event.data_type.value] = counts.get(event.data_type.value, 0) + 1
            payload = event.payload
            if isinstance(payload, L2Update):
                name = event.instrument.instrument
                if payload.is_snapshot:
                    books[name] = ({}, {})
                for side, levels in zip(books[name], (payload.bids, payload.asks), strict=True):
                    for price, quantity in levels:
                        if quantity:
                            side[price] = quantity
                        else:
                            side.pop(price, None)
    assert ref.breaks == 0
    assert books == ref.books
    assert counts == {"ticker": 89, "l2_orderbook": 46, "open_interest": 10}


def _put_after_gap() -> tuple[DeribitProtocol, list[tuple[str, int]], FrameOutcome]:
    """A book synced on the recorded snapshot, then fed a change whose predecessor is missing."""
    proto = protocol([PUT])
    proto.subscribe_frames()
    frames = book_frames(PUT)
    proto.on_frame(*frames[0])
    return proto, frames, proto.on_frame(*frames[2])  # frames[1] skipped: a gap


def test_gap_in_change_ids_resyncs_that_one_book_with_unsubscribe_and_subscribe() -> None:
    _, _, outcome = _put_after_gap()
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(instrument(PUT), "gap")]
    assert [json.loads(r) for r in outcome.replies] == [
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "public/unsubscribe",
            "params": {"channels": [f"book.{PUT}.100ms"]},
        },
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "public/subscribe",
            "params": {"channels": [f"book.{PUT}.100ms"]},
        },
    ]


def test_changes_after_a_gap_publish_nothing_until_the_fresh_snapshot_restores_the_book() -> None:
    proto, frames, outcome = _put_after_gap()
    venue = DeribitSimulatedVenue()
    for frame, _ in frames[:4]:
        venue.on_frame_passed(frame)
    assert proto.on_frame(*frames[3]).events == []  # still awaiting the snapshot
    unsubscribe, subscribe = outcome.replies
    assert len(venue.on_client_frame(unsubscribe)) == 1
    answer, snapshot = venue.on_client_frame(subscribe)
    assert proto.on_frame(answer, 1).events == []
    fresh = proto.on_frame(snapshot, 2).events
    ref = deribit_reference()
    assert len(fresh) == 1
    payload = fresh[0].payload
    assert isinstance(payload, L2Update) and payload.is_snapshot
    assert payload.last_update_id == 33195894526 and fresh[0].dedup_key == "snapshot:33195894526"
    assert dict(payload.bids) == {Decimal("0.0005"): Decimal("153.1")}
    assert Decimal("0.001") in dict(payload.asks)
    after = proto.on_frame(*frames[4])
    assert after.resyncs == []
    assert after.events[0].payload == L2Update(
        (), ((Decimal("0.001"), Decimal(0)),), False, 33195894530, 33195894530
    )
    assert after.events[0].dedup_key == "33195894526:33195894530"
    for frame, t in frames[5:]:
        proto.on_frame(frame, t)
    assert proto._books[PUT].book.bids == ref.books[PUT][0]
    assert proto._books[PUT].book.asks == ref.books[PUT][1]


def test_a_change_fed_twice_is_a_stale_update_without_resync() -> None:
    proto = protocol([PUT])
    frames = book_frames(PUT)
    proto.on_frame(*frames[0])
    proto.on_frame(*frames[1])
    with pytest.raises(FrameError) as exc:
        proto.on_frame(*frames[1])
    assert exc.value.reason == "stale_update"
    assert proto.on_frame(*frames[2]).events[0].payload.last_update_id == 33195894358  # type: ignore[union-attr]


# -- tickers, funding, open interest ---------------------------------------------------------


def test_recorded_option_ticker_is_a_ticker_and_open_interest_published_when_changed() -> None:
    proto = protocol([CALL])
    frame, t = first(lambda m: m.get("params", {}).get("channel") == f"ticker.{CALL}.raw")
    outcome = proto.on_frame(frame, t)
    d = Decimal
    assert outcome.events == [
        MarketEvent(
            instrument(CALL),
            DataType.TICKER,
            t,
            1626993723632,
            Ticker(d("0.0015"), d("4714.0"), d("0.0025"), d("873.0")),
            "1626993723632:0.0015:4714.0:0.0025:873.0",
        ),
        MarketEvent(
            instrument(CALL),
            DataType.OPEN_INTEREST,
            t,
            1626993723632,
            OpenInterest(d("12685.0")),
            "1626993723632:12685.0",
        ),
    ]
    assert [e.data_type for e in proto.on_frame(frame, t).events] == [DataType.TICKER]


def test_ticker_of_an_empty_book_side_has_price_and_amount_zero() -> None:
    proto = protocol()
    frame, t = first(
        lambda m: (
            m.get("params", {}).get("channel", "").startswith("ticker")
            and m["params"]["data"]["best_bid_price"] == 0
        )
    )
    ticker = proto.on_frame(frame, t).events[0].payload
    assert isinstance(ticker, Ticker)
    assert (ticker.bid_price, ticker.bid_quantity) == (Decimal("0.0"), Decimal("0.0"))


def test_perpetual_ticker_gives_ticker_funding_8h_and_open_interest() -> None:
    """Deribit's documented perpetual ticker (as quoted in cryptofeed's deribit.py docstring)."""
    frame = (
        '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.raw",'
        '"data":{"timestamp":1550652954406,"open_interest":0.12759952124659626,"mark_price":3940.06,'
        '"last_price":3906,"instrument_name":"BTC-PERPETUAL","index_price":3918.51,'
        '"funding_8h":0.01520525,"current_funding":0.00499954,"best_bid_price":3914.97,'
        '"best_bid_amount":40,"best_ask_price":3996.61,"best_ask_amount":50}}}'
    )
    proto = protocol(
        ["BTC-PERPETUAL"], (DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST)
    )
    events = proto.on_frame(frame, 7).events
    d = Decimal
    assert [(e.payload, e.dedup_key, e.exchange_timestamp_ms) for e in events] == [
        (
            Ticker(d("3914.97"), d(40), d("3996.61"), d(50)),
            "1550652954406:3914.97:40:3996.61:50",
            1550652954406,
        ),
        (
            FundingRate(d("0.01520525"), d("3940.06"), d("3918.51")),
            "1550652954406:0.01520525",
            1550652954406,
        ),
        (
            OpenInterest(d("0.12759952124659626")),
            "1550652954406:0.12759952124659626",
            1550652954406,
        ),
    ]


# -- trades, liquidations, candles ------------------------------------------------------------


def trades_frame(*extra: str) -> str:
    """Deribit's documented trade notification (quoted in cryptofeed's deribit.py docstring)."""
    fields = ",".join(
        (
            '"trade_seq":933',
            '"trade_id":"9178"',
            '"timestamp":1550736299753',
            '"tick_direction":3',
            '"price":3948.69',
            '"instrument_name":"BTC-PERPETUAL"',
            '"index_price":3930.73',
            '"direction":"sell"',
            '"amount":10',
            *extra,
        )
    )
    return (
        '{"params":{"data":[{' + fields + '}],"channel":"trades.BTC-PERPETUAL.raw"},'
        '"method":"subscription","jsonrpc":"2.0"}'
    )


def test_documented_trade_is_a_trade_with_the_taker_side() -> None:
    proto = protocol(["BTC-PERPETUAL"], (DataType.TRADE, DataType.LIQUIDATION))
    assert proto.on_frame(trades_frame(), 5).events == [
        MarketEvent(
            instrument("BTC-PERPETUAL"),
            DataType.TRADE,
            5,
            1550736299753,
            Trade("9178", Decimal("3948.69"), Decimal(10), Side.SELL),
            "9178",
        )
    ]


@pytest.mark.parametrize(("flag", "side"), [("M", Side.BUY), ("T", Side.SELL), ("MT", Side.SELL)])
def test_trade_flagged_liquidation_also_gives_the_liquidated_orders_side(
    flag: str, side: Side
) -> None:
    """``liquidation`` per https://docs.deribit.com/subscriptions/trades/tradesinstrument_nameinterval."""
    proto = protocol(["BTC-PERPETUAL"], (DataType.TRADE, DataType.LIQUIDATION))
    events = proto.on_frame(trades_frame(f'"liquidation":"{flag}"'), 5).events
    assert [(e.data_type, e.payload, e.dedup_key) for e in events] == [
        (DataType.TRADE, Trade("9178", Decimal("3948.69"), Decimal(10), Side.SELL), "9178"),
        (DataType.LIQUIDATION, Liquidation(side, Decimal("3948.69"), Decimal(10)), "9178"),
    ]


def test_liquidation_only_subscription_skips_plain_trades() -> None:
    proto = protocol(["BTC-PERPETUAL"], (DataType.LIQUIDATION,))
    assert proto.on_frame(trades_frame(), 5).events == []
    assert [e.data_type for e in proto.on_frame(trades_frame('"liquidation":"T"'), 5).events] == [
        DataType.LIQUIDATION
    ]


def test_documented_chart_notification_is_an_open_candle_with_cost_as_quote_volume() -> None:
    """Example of https://docs.deribit.com/subscriptions/market-data/charttradesinstrument_nameresolution
    (as reproduced in gocryptotrader's Deribit tests)."""
    frame = (
        '{"params" : {"data" : {"volume" : 0.05219351,"tick" : 1573645080000,'
        '"open" : 8869.79,"low" : 8788.25,"high" : 8870.31,"cost" : 460,"close" : 8791.25},'
        '"channel" : "chart.trades.BTC-PERPETUAL.1"},"method" : "subscription",'
        '"jsonrpc" : "2.0"  }'
    )
    proto = protocol(["BTC-PERPETUAL"], (DataType.CANDLE,))
    d = Decimal
    assert proto.on_frame(frame, 9).events == [
        MarketEvent(
            instrument("BTC-PERPETUAL"),
            DataType.CANDLE,
            9,
            1573645080000,
            Candle(
                "1m",
                1573645080000,
                1573645139999,
                d("8869.79"),
                d("8870.31"),
                d("8788.25"),
                d("8791.25"),
                d("0.05219351"),
                False,
                quote_volume=d(460),
            ),
            "1573645080000:0.05219351:460:8870.31:8788.25:8791.25",
        )
    ]


# -- requests, heartbeats, limits --------------------------------------------------------------


def test_subscribe_frames_set_the_heartbeat_then_subscribe_in_chunks_of_100_channels() -> None:
    names = [f"BTC-{i}-P" for i in range(60)]
    frames = [
        json.loads(f) for f in protocol(names, (DataType.TRADE, DataType.TICKER)).subscribe_frames()
    ]
    assert frames[0] == {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "public/set_heartbeat",
        "params": {"interval": 30},
    }
    assert [f["id"] for f in frames] == [1, 2, 3]
    assert [len(f["params"]["channels"]) for f in frames[1:]] == [CHANNELS_PER_SUBSCRIBE, 20]
    assert frames[1]["params"]["channels"][:2] == ["trades.BTC-0-P.100ms", "ticker.BTC-0-P.100ms"]
    spec = venue_spec("deribit")
    assert spec.subscribe_interval_s >= 1 / 3.3
    assert spec.max_subscriptions_per_connection == 0


def test_each_data_type_maps_to_its_channel_and_funding_and_liquidation_share_them() -> None:
    proto = protocol(
        ["BTC-PERPETUAL"],
        (DataType.LIQUIDATION, DataType.FUNDING_RATE, DataType.CANDLE, DataType.L2_ORDERBOOK),
        candle_interval="1h",
    )
    assert proto.channels == (
        "trades.BTC-PERPETUAL.100ms",
        "ticker.BTC-PERPETUAL.100ms",
        "book.BTC-PERPETUAL.100ms",
        "chart.trades.BTC-PERPETUAL.60",
    )


@pytest.mark.parametrize("depth", [0, 1, 10, 20, 1000])
def test_every_depth_maps_to_the_full_incremental_book_channel(depth: int) -> None:
    assert protocol([PUT], (DataType.L2_ORDERBOOK,), depth=depth).channels == (f"book.{PUT}.100ms",)


def test_candle_interval_without_deribit_resolution_is_refused() -> None:
    with pytest.raises(UnsupportedIntervalError):
        protocol([PUT], (DataType.CANDLE,), candle_interval="4h")


def test_test_request_is_answered_with_public_test_and_plain_heartbeats_need_nothing() -> None:
    proto = protocol([PUT])
    assert proto.keepalive() is None
    proto.subscribe_frames()
    outcome = proto.on_frame(
        '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}', 1
    )
    assert outcome.replies == ['{"jsonrpc":"2.0","id":3,"method":"public/test","params":{}}']
    assert outcome.events == []
    assert proto.on_frame(
        '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}', 1
    ) == FrameOutcome([], [], [])
    assert proto.on_frame('{"jsonrpc":"2.0","id":3,"result":{"version":"1.2.26"}}', 1) == (
        FrameOutcome([], [], [])
    )


def test_unanswered_requests_are_forgotten_oldest_first_beyond_the_bound() -> None:
    proto = protocol([PUT])
    proto.subscribe_frames()  # ids 1 (set_heartbeat) and 2 (subscribe)
    test_request = '{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'
    for _ in range(MAX_PENDING_REQUESTS):
        proto.on_frame(test_request, 1)
    assert len(proto._pending) == MAX_PENDING_REQUESTS
    with pytest.raises(FrameError) as exc:
        proto.on_frame('{"jsonrpc":"2.0","id":2,"error":{"code":1,"message":"x"}}', 1)
    assert exc.value.reason == "request_error"  # id 2 was forgotten: no longer a subscribe


def test_answers_to_set_heartbeat_and_subscribe_and_the_recorded_ack_are_empty_outcomes() -> None:
    proto = protocol()
    proto.subscribe_frames()
    empty = FrameOutcome([], [], [])
    assert proto.on_frame('{"jsonrpc":"2.0","id":1,"result":"ok"}', 1) == empty
    assert (
        proto.on_frame(json.dumps({"jsonrpc": "2.0", "id": 2, "result": list(proto.channels)}), 1)
        == empty
    )
    assert proto.on_frame(recv()[0][0], 1) == empty  # the recording's own ack, id 0


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (
            '{"jsonrpc":"2.0","id":2,"error":{"code":11050,"message":"bad_request"}}',
            "subscribe_error",
        ),
        ('{"jsonrpc":"2.0","id":2,"result":["book.BTC-24SEP21-8000-P.100ms"]}', "subscribe_error"),
        (
            '{"jsonrpc":"2.0","id":1,"error":{"code":10028,"message":"too_many_requests"}}',
            "request_error",
        ),
        ('{"jsonrpc":"2.0","error":{"code":10028,"message":"too_many_requests"}}', "request_error"),
    ],
)
def test_error_answers_and_a_subscribe_missing_channels_raise(frame: str, reason: str) -> None:
    proto = protocol([PUT])
    proto.subscribe_frames()
    with pytest.raises(FrameError) as exc:
        proto.on_frame(frame, 1)
    assert exc.value.reason == reason


SNAP = '"type":"snapshot","timestamp":1,"instrument_name":"X","change_id":5'


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json {", "not_json"),
        (b"\xff\xfe", "not_json"),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.' + PUT + '.raw",'
            '"data":{"best_bid_price":NaN}}}',
            "not_json",
        ),
        ("[1,2]", "unknown_event"),
        ('{"jsonrpc":"2.0","method":"something"}', "unknown_event"),
        (notification("deribit_price_index.btc_usd", {}), "unknown_event"),
        (notification(f"quote.{PUT}.raw", {}), "unknown_event"),
        ('{"jsonrpc":"2.0","method":"subscription","params":{"data":{}}}', "missing_field"),
        (
            notification(f"book.{PUT}.raw", {"type": "snapshot", "bids": [], "asks": []}),
            "missing_field",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[["new","0.1",1.0]],"asks":[]}}}',
            "invalid_value",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[["new",0.1,-1.0]],"asks":[]}}}',
            "invalid_value",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[["move",0.1,1.0]],"asks":[]}}}',
            "invalid_value",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[["new",1e999999,1.0]],"asks":[]}}}',
            "invalid_value",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.' + PUT + '.raw",'
            '"data":{' + SNAP + ',"bids":[],"asks":[],"type":"partial"}}}',
            "invalid_value",
        ),
        (trades_frame('"liquidation":"X"').replace("BTC-PERPETUAL", PUT), "invalid_value"),
        (
            trades_frame().replace("BTC-PERPETUAL", PUT).replace('"sell"', '"short"'),
            "invalid_value",
        ),
        (notification("book.BTC-PERPETUAL.raw", {}), "unsubscribed"),
        ('{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"other"}}', "unknown_event"),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str | bytes, reason: str) -> None:
    proto = protocol(
        [PUT], (DataType.TRADE, DataType.LIQUIDATION, DataType.L2_ORDERBOOK, DataType.TICKER)
    )
    with pytest.raises(FrameError) as exc:
        proto.on_frame(frame, 1)
    assert exc.value.reason == reason


def test_ticker_channel_of_a_book_only_subscription_is_unsubscribed() -> None:
    frame, t = first(lambda m: m.get("params", {}).get("channel") == f"ticker.{CALL}.raw")
    with pytest.raises(FrameError) as exc:
        protocol([CALL], (DataType.L2_ORDERBOOK,)).on_frame(frame, t)
    assert exc.value.reason == "unsubscribed"


# -- listing and the simulated venue -----------------------------------------------------------

LISTING_EXAMPLE = b"""{"jsonrpc": "2.0", "id": 1, "result": [
 {"tick_size": 2.5, "settlement_period": "month", "settlement_currency": "BTC",
  "quote_currency": "USD", "kind": "future", "is_active": true, "instrument_name": "BTC-29SEP23",
  "instrument_id": 138583, "expiration_timestamp": 1695974400000, "base_currency": "BTC"},
 {"tick_size": 0.5, "settlement_period": "perpetual", "settlement_currency": "BTC",
  "quote_currency": "USD", "kind": "future", "is_active": true,
  "instrument_name": "BTC-PERPETUAL", "instrument_id": 124972, "base_currency": "BTC"}]}"""


def test_listing_parser_reads_the_documented_get_instruments_example() -> None:
    """Trimmed example of https://docs.deribit.com/api-reference/market-data/public-get_instruments."""
    listing = venue_spec("deribit").instrument_listing
    assert listing is not None
    assert [r.path for r in listing.requests] == [
        f"/api/v2/public/get_instruments?currency={c}" for c in ("BTC", "ETH", "USDC", "USDT")
    ]
    listed = listing.parse(ListingRequest("/x"), LISTING_EXAMPLE)
    assert [(i.instrument, i.canonical_symbol, i.kind) for i in listed] == [
        ("BTC-29SEP23", "BTC/29SEP23", "future"),
        ("BTC-PERPETUAL", "BTC/USD:PERP", "perpetual"),
    ]
    with pytest.raises(ValueError):
        listing.parse(ListingRequest("/x"), b'{"error":{"code":1}}')


def test_canonical_symbols_keep_the_instrument_name_readable() -> None:
    assert canonical_symbol("BTC_USDC-PERPETUAL", "perpetual", "BTC", "USDC") == "BTC/USDC:PERP"
    assert canonical_symbol("BTC_USDC", "spot", "BTC", "USDC") == "BTC/USDC"
    assert canonical_symbol(PUT, "option", "BTC", "USD") == "BTC/24SEP21-8000-P"


def test_simulated_venue_answers_requests_with_their_ids() -> None:
    venue = DeribitSimulatedVenue()
    assert [
        json.loads(r)
        for r in venue.on_client_frame(
            '{"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":30}}'
        )
    ] == [{"jsonrpc": "2.0", "id": 1, "result": "ok"}]
    assert (
        json.loads(
            venue.on_client_frame('{"jsonrpc":"2.0","id":7,"method":"public/test","params":{}}')[0]
        )["id"]
        == 7
    )
    assert [
        json.loads(r)
        for r in venue.on_client_frame(
            '{"jsonrpc":"2.0","id":2,"method":"public/subscribe",'
            '"params":{"channels":["book.X.100ms","trades.X.100ms"]}}'
        )
    ] == [{"jsonrpc": "2.0", "id": 2, "result": ["book.X.100ms", "trades.X.100ms"]}]
    assert json.loads(
        venue.on_client_frame(
            '{"jsonrpc":"2.0","id":3,"method":"public/unsubscribe",'
            '"params":{"channels":["book.X.100ms"]}}'
        )[0]
    )["result"] == ["book.X.100ms"]
    error = venue.on_client_frame('{"jsonrpc":"2.0","id":4,"method":"private/buy","params":{}}')
    assert json.loads(error[0])["error"]["code"] == -32601
    assert venue.on_client_frame("garbage") == []


def test_simulated_venue_sends_a_fresh_snapshot_of_the_book_passed_on_resubscribe() -> None:
    venue = DeribitSimulatedVenue()
    subscribe = (
        '{"jsonrpc":"2.0","id":9,"method":"public/subscribe",'
        f'"params":{{"channels":["book.{CALL}.100ms"]}}}}'
    )
    assert len(venue.on_client_frame(subscribe)) == 1  # nothing passed yet: the ack only
    for frame, _ in recv():
        venue.on_frame_passed(frame)
    assert len(venue.on_client_frame(subscribe)) == 1  # not a resubscribe: the ack only
    venue.on_client_frame(subscribe.replace("public/subscribe", "public/unsubscribe"))
    _, snapshot = venue.on_client_frame(subscribe)
    message = json.loads(snapshot, parse_float=str)
    data = message["params"]["data"]
    assert message["params"]["channel"] == f"book.{CALL}.100ms"
    assert (data["type"], data["instrument_name"]) == ("snapshot", CALL)
    ref = deribit_reference()
    assert {Decimal(p): Decimal(a) for _, p, a in data["bids"]} == ref.books[CALL][0]
    assert {Decimal(p): Decimal(a) for _, p, a in data["asks"]} == ref.books[CALL][1]
    proto = protocol([CALL])
    event = proto.on_frame(snapshot, 1).events[0]
    assert isinstance(event.payload, L2Update) and event.payload.is_snapshot
