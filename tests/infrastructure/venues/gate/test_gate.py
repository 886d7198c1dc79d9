"""Gate.io spot and futures protocol on the recorded sessions and documented frames.

Every expected value comes from ``shared/captures/gate-spot.jsonl`` /
``gate-futures.jsonl`` or the documented examples of
https://www.gate.io/docs/developers/apiv4/ws/en/ and
https://www.gate.io/docs/developers/futures/ws/en/.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from support.gate_reference import SYMBOL_QUERY, gate_books, gate_trades
from support.reference_books import records

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, SnapshotRequest, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.gate.protocol import SPOT, USDT_FUTURES, GateProtocol
from relay.infrastructure.venues.registry import venue_spec

ALL = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE)
CAPTURE = {"gate-spot": "gate-spot.jsonl", "gate-futures": "gate-futures.jsonl"}


def symbols_of(venue: str) -> list[str]:
    """The instruments whose books the recording fetched, in fetch order."""
    query = SYMBOL_QUERY[CAPTURE[venue]]
    return [
        r["url"].split(query + "=")[1].split("&")[0]
        for r in records(CAPTURE[venue])
        if r["kind"] == "http"
    ]


def protocol(venue: str, data_types: tuple[DataType, ...] = ALL, depth: int = 0) -> VenueProtocol:
    subs = tuple(
        SubscriptionConfig(s, s.replace("_", "/"), data_types, depth) for s in symbols_of(venue)
    )
    return venue_spec(venue).protocol_factory(VenueConfig(id=venue, subscriptions=subs))


def replay(
    venue: str,
    proto: VenueProtocol,
    skip: frozenset[int] = frozenset(),
    fresh: dict[int, tuple[str, bytes]] | None = None,
) -> tuple[list[MarketEvent], list[SnapshotRequest]]:
    """Feed a capture through ``proto``, answering each snapshot request with the recorded body
    once the recording fetched it. ``recv`` frames numbered in ``skip`` are left out (gaps);
    after ``recv`` frame ``n`` in ``fresh``, the pending request for ``fresh[n][0]`` is
    answered with the body ``fresh[n][1]``."""
    query = SYMBOL_QUERY[CAPTURE[venue]]
    fresh = fresh or {}
    events: list[MarketEvent] = []
    requests: list[SnapshotRequest] = []
    pending: list[SnapshotRequest] = []

    def take(outcome: FrameOutcome) -> None:
        events.extend(outcome.events)
        requests.extend(outcome.snapshot_requests)
        pending.extend(outcome.snapshot_requests)

    def answer(symbol: str, body: bytes, at_ms: int) -> None:
        for request in list(pending):
            if request.instrument.instrument == symbol:
                pending.remove(request)
                take(proto.on_snapshot(request, body, at_ms))

    take(proto.on_open())
    recv_index = -1
    for r in records(CAPTURE[venue]):
        at_ms = int(r["t"] * 1000)
        if r["kind"] == "recv":
            recv_index += 1
            if recv_index not in skip:
                try:
                    take(proto.on_frame(r["data"], at_ms))
                except FrameError as exc:  # spot.tickers: not subscribed by the relay
                    assert exc.reason == "unsubscribed" and '"spot.tickers"' in r["data"]
            if recv_index in fresh:
                answer(fresh[recv_index][0], fresh[recv_index][1], at_ms)
        elif r["kind"] == "http":
            answer(r["url"].split(query + "=")[1].split("&")[0], r["data"].encode(), at_ms)
    return events, requests


def final_books(
    events: list[MarketEvent],
) -> dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]]:
    books: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
    for event in events:
        payload = event.payload
        if not isinstance(payload, L2Update):
            continue
        if payload.is_snapshot:
            books[event.instrument.instrument] = ({}, {})
        bids, asks = books[event.instrument.instrument]
        for side, levels in ((bids, payload.bids), (asks, payload.asks)):
            for price, quantity in levels:
                if quantity == 0:
                    side.pop(price, None)
                else:
                    side[price] = quantity
    return books


@pytest.mark.parametrize(("venue", "synced"), [("gate-spot", 8), ("gate-futures", 9)])
def test_replayed_books_equal_the_reference_built_from_the_raw_frames(
    venue: str, synced: int
) -> None:
    events, requests = replay(venue, protocol(venue))
    assert [r.reason for r in requests] == ["initial"] * 10
    books = gate_books(CAPTURE[venue])
    assert final_books(events) == books
    assert len(books) == synced
    snapshots = [e for e in events if isinstance(e.payload, L2Update) and e.payload.is_snapshot]
    assert len(snapshots) == synced


def test_snapshot_requests_name_the_rest_path_and_honour_depth() -> None:
    spot = protocol("gate-spot").on_open().snapshot_requests[0]
    assert spot.path == "/api/v4/spot/order_book?currency_pair=HAI_ETH&limit=100&with_id=true"
    futures = protocol("gate-futures", depth=20).on_open().snapshot_requests[0]
    assert futures.path == (
        "/api/v4/futures/usdt/order_book?contract=RDNT_USDT&limit=20&with_id=true"
    )


@pytest.mark.parametrize("venue", ["gate-spot", "gate-futures"])
def test_a_skipped_diff_resyncs_that_book_only_and_a_fresh_snapshot_restores_it(
    venue: str,
) -> None:
    capture = CAPTURE[venue]
    frames = [json.loads(r["data"]) for r in records(capture) if r["kind"] == "recv"]
    symbol = symbols_of(venue)[0]
    diffs = [
        i
        for i, f in enumerate(frames)
        if f["channel"].endswith("order_book_update")
        and f["event"] == "update"
        and f["result"]["s"] == symbol
    ]
    skipped, before_last = diffs[len(diffs) // 2], diffs[-2]
    bids, asks = gate_books(capture, until_recv=before_last)[symbol]
    futures = venue == "gate-futures"

    def level(price: Decimal, quantity: Decimal) -> Any:
        return {"p": str(price), "s": int(quantity)} if futures else [str(price), str(quantity)]

    body = json.dumps(
        {
            "id": frames[before_last]["result"]["u"],
            "bids": [level(p, bids[p]) for p in sorted(bids, reverse=True)],
            "asks": [level(p, asks[p]) for p in sorted(asks)],
        }
    ).encode()
    events, requests = replay(
        venue, protocol(venue), skip=frozenset({skipped}), fresh={before_last: (symbol, body)}
    )
    assert [(r.instrument.instrument, r.reason) for r in requests[10:]] == [(symbol, "gap")]
    snapshots = [
        e.instrument.instrument
        for e in events
        if isinstance(e.payload, L2Update) and e.payload.is_snapshot
    ]
    assert len(snapshots) == len(gate_books(capture)) + 1 and snapshots.count(symbol) == 2
    assert final_books(events) == gate_books(capture)


def test_spot_trades_equal_the_recorded_trades() -> None:
    events, _ = replay("gate-spot", protocol("gate-spot"))
    trades = [e for e in events if isinstance(e.payload, Trade)]
    assert [
        (
            e.instrument.instrument,
            e.payload.trade_id,
            e.payload.price,
            e.payload.quantity,
            e.payload.side.value.lower(),
        )
        for e in trades
        if isinstance(e.payload, Trade)
    ] == gate_trades("gate-spot.jsonl")
    assert len(trades) == 9
    first = trades[0]
    assert first.dedup_key == "816995772"
    assert first.exchange_timestamp_ms == 1619093543708
    assert first.payload == Trade("816995772", Decimal("121.58"), Decimal("0.201"), Side.SELL)


def test_futures_trade_documented_frame_negative_size_is_a_sell() -> None:
    proto = GateProtocol(
        VenueConfig(
            id="gate-futures",
            subscriptions=(SubscriptionConfig("BTC_USD", "BTC/USD:PERP", (DataType.TRADE,)),),
        ),
        USDT_FUTURES,
        "wss://example.invalid",
    )
    frame = (
        '{"channel":"futures.trades","event":"update","time":1545136464,"result":[{"size":-108,'
        '"id":27753479,"create_time":1545136464,"create_time_ms":1545136464123,'
        '"price":"96.4","contract":"BTC_USD"}]}'
    )
    (event,) = proto.on_frame(frame, 5).events
    assert event.exchange_timestamp_ms == 1545136464123
    assert event.payload == Trade("27753479", Decimal("96.4"), Decimal(108), Side.SELL)


def test_futures_book_tickers_are_published_with_recorded_values() -> None:
    events, _ = replay("gate-futures", protocol("gate-futures"))
    tickers = [e for e in events if isinstance(e.payload, Ticker)]
    assert len(tickers) == 75
    first = tickers[0]
    assert first.instrument.instrument == "PHB_USDT"
    assert first.exchange_timestamp_ms == 1684930165621
    assert first.payload == Ticker(
        Decimal("0.7379"), Decimal(814), Decimal("0.739"), Decimal(677), 6159967
    )


@pytest.mark.parametrize(("venue", "count"), [("gate-spot", 14), ("gate-futures", 1)])
def test_candles_are_published_with_recorded_values(venue: str, count: int) -> None:
    events, _ = replay(venue, protocol(venue))
    candles = [e for e in events if isinstance(e.payload, Candle)]
    assert len(candles) == count
    if venue == "gate-spot":
        first = candles[0]
        assert first.instrument.instrument == "DIS_USDT"
        assert first.payload == Candle(
            "1m",
            1619093520000,
            1619093579999,
            Decimal("120.92"),
            Decimal("120.92"),
            Decimal("120.92"),
            Decimal("120.92"),
            Decimal(0),
            False,
        )
    else:
        assert candles[0].instrument.instrument == "FRONT_USDT"
        assert candles[0].payload.open_time_ms == 1684930140000  # type: ignore[union-attr]


def test_subscribe_frames_name_every_channel() -> None:
    subs = (SubscriptionConfig("BTC_USDT", "BTC/USDT", ALL),)
    proto = GateProtocol(
        VenueConfig(id="gate-spot", subscriptions=subs), SPOT, "wss://x", lambda: 7.5
    )
    assert [json.loads(f) for f in proto.subscribe_frames()] == [
        {"time": 7, "channel": "spot.trades", "event": "subscribe", "payload": ["BTC_USDT"]},
        {"time": 7, "channel": "spot.book_ticker", "event": "subscribe", "payload": ["BTC_USDT"]},
        {
            "time": 7,
            "channel": "spot.order_book_update",
            "event": "subscribe",
            "payload": ["BTC_USDT", "100ms"],
        },
        {
            "time": 7,
            "channel": "spot.candlesticks",
            "event": "subscribe",
            "payload": ["1m", "BTC_USDT"],
        },
    ]
    keepalive = proto.keepalive()
    assert keepalive is not None and keepalive.frame == '{"channel":"spot.ping"}'


def test_acks_and_pongs_give_nothing() -> None:
    proto = protocol("gate-spot")
    ack = (
        '{"time":1619093532,"channel":"spot.trades","event":"subscribe",'
        '"result":{"status":"success"}}'
    )
    pong = '{"time":1619093532,"channel":"spot.pong","event":"","result":null}'
    assert proto.on_frame(ack, 1).events == []
    assert proto.on_frame(pong, 1).events == []


def test_a_repeated_diff_of_a_synced_book_is_a_stale_update() -> None:
    proto = protocol("gate-spot")
    frames = [r for r in records("gate-spot.jsonl") if r["kind"] in ("recv", "http")]
    replay("gate-spot", proto)
    last_diff = [
        r["data"]
        for r in frames
        if r["kind"] == "recv" and "order_book_update" in r["data"] and '"update"' in r["data"]
    ][-1]
    with pytest.raises(FrameError) as info:
        proto.on_frame(last_diff, 1)
    assert info.value.reason == "stale_update"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "not_json"),
        ('{"time":1,"channel":"spot.new_thing","event":"update","result":{}}', "unknown_event"),
        (
            '{"time":1,"channel":"spot.trades","event":"subscribe","error":{"code":2},"result":null}',
            "subscribe_error",
        ),
        ('{"time":1,"channel":"spot.trades","event":"update","result":{"id":1}}', "missing_field"),
        (
            '{"time":1,"channel":"spot.trades","event":"update","result":{"id":1,"create_time_ms":'
            '"1","side":"sell","currency_pair":"DIS_USDT","amount":"1","price":"NaN"}}',
            "invalid_value",
        ),
        (
            '{"time":1,"channel":"spot.trades","event":"update","result":{"id":1,"create_time_ms":'
            '"1","side":"sell","currency_pair":"BTC_USDT","amount":"1","price":"1"}}',
            "unsubscribed",
        ),
        (
            '{"time":1,"channel":"spot.order_book_update","event":"update","result":{"t":1,'
            '"s":"DIS_USDT","U":5,"u":4,"b":[],"a":[]}}',
            "invalid_value",
        ),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str, reason: str) -> None:
    with pytest.raises(FrameError) as info:
        protocol("gate-spot").on_frame(frame, 1)
    assert info.value.reason == reason


def test_a_malformed_snapshot_is_bad_snapshot() -> None:
    proto = protocol("gate-spot")
    request = proto.on_open().snapshot_requests[0]
    with pytest.raises(FrameError) as info:
        proto.on_snapshot(request, b'{"asks":[],"bids":[]}', 1)
    assert info.value.reason == "bad_snapshot"


def futures_protocol(*data_types: DataType) -> GateProtocol:
    subs = (SubscriptionConfig("BTC_USD", "BTC/USD:PERP", data_types),)
    return GateProtocol(
        VenueConfig(id="gate-futures", subscriptions=subs), USDT_FUTURES, "wss://x", lambda: 9.0
    )


TICKERS_FRAME = (
    '{"time":1541659086,"time_ms":1541659086123,"channel":"futures.tickers","event":"update",'
    '"result":[{"contract":"BTC_USD","last":"118.4","change_percentage":"0.77",'
    '"funding_rate":"-0.000114","funding_rate_indicative":"0.01875","mark_price":"118.35",'
    '"index_price":"118.36","total_size":"73648","volume_24h":"745487577","volume_24h_btc":"117",'
    '"volume_24h_usd":"419950","quanto_base_rate":"","volume_24h_quote":"1665006",'
    '"volume_24h_settle":"178","volume_24h_base":"5526","low_24h":"99.2","high_24h":"132.5"}]}'
)
"""https://www.gate.io/docs/developers/futures/ws/en/#tickers-notification"""

LIQUIDATES_FRAME = (
    '{"channel":"futures.public_liquidates","event":"update","time":1541505434,'
    '"time_ms":1541505434123,"result":[{"price":"215.1","size":"-124.5","time":1541486601,'
    '"contract":"BTC_USD"}]}'
)
"""https://www.gate.io/docs/developers/futures/ws/en/#public-liquidates-notification
(contract renamed BTC_USD, as the page's other examples)"""


def test_futures_tickers_give_funding_rate_and_open_interest() -> None:
    proto = futures_protocol(DataType.FUNDING_RATE, DataType.OPEN_INTEREST)
    funding, interest = proto.on_frame(TICKERS_FRAME, 5).events
    assert funding.exchange_timestamp_ms == interest.exchange_timestamp_ms == 1541659086123
    assert funding.payload == FundingRate(
        Decimal("-0.000114"), Decimal("118.35"), Decimal("118.36"), None
    )
    assert interest.payload == OpenInterest(Decimal(73648))
    assert [json.loads(f)["channel"] for f in proto.subscribe_frames()] == ["futures.tickers"]
    only_interest = futures_protocol(DataType.OPEN_INTEREST).on_frame(TICKERS_FRAME, 5).events
    assert [e.data_type for e in only_interest] == [DataType.OPEN_INTEREST]


def test_futures_public_liquidates_negative_size_is_a_sell() -> None:
    proto = futures_protocol(DataType.LIQUIDATION)
    (event,) = proto.on_frame(LIQUIDATES_FRAME, 5).events
    assert event.exchange_timestamp_ms == 1541486601000
    assert event.payload == Liquidation(Side.SELL, Decimal("215.1"), Decimal("124.5"))
    assert [json.loads(f) for f in proto.subscribe_frames()] == [
        {
            "time": 9,
            "channel": "futures.public_liquidates",
            "event": "subscribe",
            "payload": ["BTC_USD"],
        }
    ]


def test_an_empty_book_ticker_side_is_price_zero() -> None:
    """The futures page: "If ``a`` is empty string, it means empty asks" (size 0)."""
    frame = (
        '{"time":1615366379,"time_ms":1615366379123,"channel":"futures.book_ticker",'
        '"event":"update","result":{"t":1615366379123,"u":2517661076,"s":"BTC_USD",'
        '"b":"54696.6","B":37000,"a":"","A":0}}'
    )
    (event,) = futures_protocol(DataType.TICKER).on_frame(frame, 5).events
    assert event.payload == Ticker(
        Decimal("54696.6"), Decimal(37000), Decimal(0), Decimal(0), 2517661076
    )


def test_listings_keep_tradable_pairs_and_contracts_not_being_delisted() -> None:
    """Bodies shaped as the documented examples of https://www.gate.io/docs/developers/apiv4/en/
    (currency pairs; futures contracts), with one untradable / delisting entry added."""
    spot = venue_spec("gate-spot").instrument_listing
    futures = venue_spec("gate-futures").instrument_listing
    assert spot is not None and futures is not None
    pairs = (
        b'[{"id":"ETH_USDT","base":"ETH","quote":"USDT","fee":"0.2","trade_status":"tradable"},'
        b'{"id":"OLD_USDT","base":"OLD","quote":"USDT","trade_status":"untradable"}]'
    )
    contracts = (
        b'[{"name":"BTC_USDT","type":"direct","quanto_multiplier":"0.0001","in_delisting":false},'
        b'{"name":"OLD_USDT","type":"direct","in_delisting":true}]'
    )
    assert [
        (i.instrument, i.canonical_symbol, i.kind) for i in spot.parse(spot.requests[0], pairs)
    ] == [("ETH_USDT", "ETH/USDT", "spot")]
    assert [
        (i.instrument, i.canonical_symbol, i.kind)
        for i in futures.parse(futures.requests[0], contracts)
    ] == [("BTC_USDT", "BTC/USDT:PERP", "perpetual")]
    with pytest.raises(ValueError):
        spot.parse(spot.requests[0], b'{"not":"a list"}')
