"""Binance adapters on real frames from shared/captures and Binance's documented examples."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from support.reference_books import binance_books, records

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, SnapshotRequest, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    Liquidation,
    MarketEvent,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.registry import venue_spec

ALL = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE)
USDM_SYMBOLS = {
    "SUSHIUSDT": "SUSHI/USDT",
    "AKROUSDT": "AKRO/USDT",
    "KEEPUSDT": "KEEP/USDT",
    "CTKUSDT": "CTK/USDT",
}
SPOT_SYMBOLS = {
    "NKNUSDT": "NKN/USDT",
    "BLZETH": "BLZ/ETH",
    "LRCBTC": "LRC/BTC",
    "RUNEEUR": "RUNE/EUR",
}


def protocol(
    venue: str, symbols: dict[str, str], data_types: tuple[DataType, ...] = ALL
) -> VenueProtocol:
    subs = tuple(SubscriptionConfig(i, c, data_types) for i, c in symbols.items())
    return venue_spec(venue).protocol_factory(VenueConfig(id=venue, subscriptions=subs))


def recv_frame(capture: str, predicate: Any) -> tuple[str, int]:
    """The first recorded recv frame whose decoded data matches, with its receive time in ms."""
    for r in records(capture):
        if r["kind"] == "recv" and predicate(json.loads(r["data"])):
            return r["data"], int(r["t"] * 1000)
    raise AssertionError("no such frame")


def replay(
    capture: str,
    proto: VenueProtocol,
    skip: set[int] = frozenset(),  # type: ignore[assignment]
) -> tuple[list[MarketEvent], list[SnapshotRequest]]:
    """Feed a whole capture through a protocol, answering snapshot requests from its http records.

    A snapshot request is answered once the recording has fetched that snapshot
    (as the venue would have at that time). Frames whose index is in ``skip``
    are left out, to make gaps.
    """
    recs = records(capture)
    bodies = {
        r["url"].split("?")[0].split(".com")[-1]
        + "?symbol="
        + r["url"].split("symbol=")[1].split("&")[0]: r
        for r in recs
        if r["kind"] == "http"
    }
    events: list[MarketEvent] = []
    requests: list[SnapshotRequest] = []
    pending: list[SnapshotRequest] = []

    def take(outcome: FrameOutcome) -> None:
        events.extend(outcome.events)
        requests.extend(outcome.snapshot_requests)
        pending.extend(outcome.snapshot_requests)

    take(proto.on_open())
    recv_index = -1
    for r in recs:
        if r["kind"] == "recv":
            recv_index += 1
            if recv_index in skip:
                continue
            try:
                take(proto.on_frame(r["data"], int(r["t"] * 1000)))
            except FrameError as exc:
                assert exc.reason == "unsubscribed"
        elif r["kind"] == "http":
            for request in list(pending):
                key = request.path.split("&")[0]
                if bodies[key] is r:
                    pending.remove(request)
                    take(proto.on_snapshot(request, r["data"].encode(), int(r["t"] * 1000)))
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


def test_usdm_agg_trade_is_a_trade_with_the_aggressor_side() -> None:
    frame, t_ms = recv_frame("binance-usdm.jsonl", lambda d: d["data"].get("a") == 16599292)
    outcome = protocol("binance-usdm", USDM_SYMBOLS).on_frame(frame, t_ms)
    assert outcome.events == [
        MarketEvent(
            Instrument("binance-usdm", "CTKUSDT", "CTK/USDT"),
            DataType.TRADE,
            t_ms,
            1626992741421,
            Trade("16599292", Decimal("1.01100"), Decimal("10"), Side.BUY),
            "16599292",
        )
    ]
    assert str(outcome.events[0].payload.price) == "1.01100"  # type: ignore[union-attr]


def test_spot_agg_trade_keeps_the_venue_digits() -> None:
    frame, t_ms = recv_frame("binance-spot.jsonl", lambda d: d["data"].get("e") == "aggTrade")
    [event] = protocol("binance-spot", SPOT_SYMBOLS).on_frame(frame, t_ms).events
    assert event.payload == Trade(
        "15683430", Decimal("0.35280000"), Decimal("58.00000000"), Side.BUY
    )
    assert str(event.payload.price) == "0.35280000"
    assert event.exchange_timestamp_ms == 1633998523963
    assert event.msg_id == "binance-spot:NKNUSDT:trade:15683430"


def test_usdm_book_ticker_is_a_ticker_with_event_time() -> None:
    frame, t_ms = recv_frame("binance-usdm.jsonl", lambda d: d["data"].get("u") == 600859600576)
    [event] = protocol("binance-usdm", USDM_SYMBOLS).on_frame(frame, t_ms).events
    assert event.payload == Ticker(
        Decimal("7.6110"), Decimal("2"), Decimal("7.6120"), Decimal("297"), 600859600576
    )
    assert event.exchange_timestamp_ms == 1626992741017
    assert event.instrument.subject(event.data_type) == "market.binance-usdm.sushi-usdt.ticker"


def test_spot_book_ticker_without_event_type_is_recognized_by_its_stream() -> None:
    frame, t_ms = recv_frame("binance-spot.jsonl", lambda d: d["data"].get("u") == 499869768)
    [event] = protocol("binance-spot", SPOT_SYMBOLS).on_frame(frame, t_ms).events
    assert event.payload == Ticker(
        Decimal("0.35210000"),
        Decimal("672.00000000"),
        Decimal("0.35260000"),
        Decimal("3199.00000000"),
        499869768,
    )
    assert event.exchange_timestamp_ms is None


def test_usdm_kline_is_an_open_candle() -> None:
    frame, t_ms = recv_frame(
        "binance-usdm.jsonl",
        lambda d: d["data"].get("e") == "kline" and d["data"]["E"] == 1626992741424,
    )
    [event] = protocol("binance-usdm", USDM_SYMBOLS).on_frame(frame, t_ms).events
    assert event.payload == Candle(
        interval="1m",
        open_time_ms=1626992700000,
        close_time_ms=1626992759999,
        open=Decimal("1.01000"),
        high=Decimal("1.01100"),
        low=Decimal("1.01000"),
        close=Decimal("1.01100"),
        volume=Decimal("3917"),
        is_closed=False,
        quote_volume=Decimal("3957.89900"),
        trade_count=48,
    )
    assert event.dedup_key == "1626992700000:1626992741424"


def test_mark_price_update_is_a_funding_rate() -> None:
    """Documented example: https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Mark-Price-Stream"""
    frame = (
        '{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,'
        '"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265",'
        '"r":"0.00038167","T":1562306400000}}'
    )
    proto = protocol("binance-usdm", {"BTCUSDT": "BTC/USDT"}, (DataType.FUNDING_RATE,))
    [event] = proto.on_frame(frame, 1).events
    assert event.payload == FundingRate(
        Decimal("0.00038167"), Decimal("11794.15000000"), Decimal("11784.62659091"), 1562306400000
    )
    assert event.exchange_timestamp_ms == 1562305380000


def test_force_order_is_a_liquidation_at_its_average_price() -> None:
    """Documented example: https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Liquidation-Order-Streams"""
    frame = (
        '{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1568014460893,'
        '"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910",'
        '"ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}}'
    )
    proto = protocol("binance-usdm", {"BTCUSDT": "BTC/USDT"}, (DataType.LIQUIDATION,))
    [event] = proto.on_frame(frame, 1).events
    assert event.payload == Liquidation(Side.SELL, Decimal("9910"), Decimal("0.014"), "FILLED")
    assert event.instrument.subject(event.data_type) == "market.binance-usdm.btc-usdt.liquidation"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "not_json"),
        ('{"stream":"x@y","data":{"e":"somethingNew","s":"SUSHIUSDT"}}', "unknown_event"),
        (
            '{"stream":"sushiusdt@aggTrade","data":{"e":"aggTrade","s":"SUSHIUSDT","a":1}}',
            "missing_field",
        ),
        (
            '{"stream":"sushiusdt@aggTrade","data":{"e":"aggTrade","s":"SUSHIUSDT","a":1,'
            '"p":"NaN","q":"1","T":1,"m":true}}',
            "invalid_value",
        ),
        (
            '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","s":"BTCUSDT","a":1,'
            '"p":"1","q":"1","T":1,"m":true}}',
            "unsubscribed",
        ),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str, reason: str) -> None:
    with pytest.raises(FrameError) as info:
        protocol("binance-usdm", USDM_SYMBOLS).on_frame(frame, 1)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("capture", "venue", "symbols", "futures"),
    [
        ("binance-usdm.jsonl", "binance-usdm", USDM_SYMBOLS, True),
        ("binance-spot.jsonl", "binance-spot", SPOT_SYMBOLS, False),
    ],
)
def test_replayed_depth_builds_the_reference_book(
    capture: str, venue: str, symbols: dict[str, str], futures: bool
) -> None:
    events, requests = replay(capture, protocol(venue, symbols))
    assert [r.reason for r in requests] == ["initial"] * 4
    books = final_books(events)
    assert books == binance_books(capture, futures)
    snapshots = [e for e in events if isinstance(e.payload, L2Update) and e.payload.is_snapshot]
    assert len(snapshots) == 4


def test_usdm_snapshot_event_carries_every_recorded_level() -> None:
    events, _ = replay("binance-usdm.jsonl", protocol("binance-usdm", USDM_SYMBOLS))
    snapshot = next(
        e
        for e in events
        if e.instrument.instrument == "SUSHIUSDT" and isinstance(e.payload, L2Update)
    )
    recorded = json.loads(
        next(
            r["data"]
            for r in records("binance-usdm.jsonl")
            if r["kind"] == "http" and "SUSHIUSDT" in r["url"]
        )
    )
    payload = snapshot.payload
    assert isinstance(payload, L2Update)
    assert payload.is_snapshot
    assert payload.last_update_id == 600859605926
    assert [(str(p), str(q)) for p, q in payload.bids] == [tuple(x) for x in recorded["bids"]]
    assert [(str(p), str(q)) for p, q in payload.asks] == [tuple(x) for x in recorded["asks"]]
    assert snapshot.exchange_timestamp_ms == 1626992741264
    first_delta = events[events.index(snapshot) + 1].payload
    assert isinstance(first_delta, L2Update)
    assert (first_delta.first_update_id, first_delta.last_update_id) == (600859605926, 600859607423)


def test_gap_in_depth_updates_triggers_resync_and_stops_the_book() -> None:
    recs = [r for r in records("binance-usdm.jsonl") if r["kind"] == "recv"]
    sushi = [
        i
        for i, r in enumerate(recs)
        if json.loads(r["data"])["data"].get("e") == "depthUpdate"
        and json.loads(r["data"])["data"]["s"] == "SUSHIUSDT"
    ]
    dropped = sushi[100]
    events, requests = replay(
        "binance-usdm.jsonl", protocol("binance-usdm", {"SUSHIUSDT": "SUSHI/USDT"}), {dropped}
    )
    assert [r.reason for r in requests] == ["initial", "gap"]
    deltas = [e for e in events if isinstance(e.payload, L2Update)]
    dropped_u = json.loads(recs[dropped]["data"])["data"]["u"]
    last_published = deltas[-1].payload
    assert isinstance(last_published, L2Update)
    assert last_published.last_update_id < dropped_u
    assert len(deltas) == 1 + sum(
        1 for i in sushi[:100] if json.loads(recs[i]["data"])["data"]["u"] >= 600859605926
    )


def test_resync_after_gap_publishes_a_fresh_snapshot_then_deltas() -> None:
    recs = [r for r in records("binance-usdm.jsonl") if r["kind"] == "recv"]
    diffs = [
        (i, json.loads(r["data"])["data"])
        for i, r in enumerate(recs)
        if json.loads(r["data"])["data"].get("e") == "depthUpdate"
        and json.loads(r["data"])["data"]["s"] == "SUSHIUSDT"
    ]
    proto = protocol("binance-usdm", {"SUSHIUSDT": "SUSHI/USDT"}, (DataType.L2_ORDERBOOK,))
    [initial] = proto.on_open().snapshot_requests
    snapshot_body = next(
        r["data"]
        for r in records("binance-usdm.jsonl")
        if r["kind"] == "http" and "SUSHIUSDT" in r["url"]
    ).encode()
    for _, d in diffs[:50]:
        proto.on_frame(json.dumps({"stream": "sushiusdt@depth@100ms", "data": d}), 1)
    proto.on_snapshot(initial, snapshot_body, 1)
    gap = proto.on_frame(json.dumps({"stream": "sushiusdt@depth@100ms", "data": diffs[51][1]}), 2)
    assert gap.events == []
    [resync] = gap.snapshot_requests
    assert resync.reason == "gap"
    assert resync.path == "/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000"
    # The venue's book as of diffs[51]: the reference book rebuilt to that update id.
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    snap = json.loads(snapshot_body)
    for side, levels in ((bids, snap["bids"]), (asks, snap["asks"])):
        for p, q in levels:
            side[Decimal(p)] = Decimal(q)
    for _, d in diffs:
        if d["u"] < snap["lastUpdateId"]:
            continue
        for side, levels in ((bids, d["b"]), (asks, d["a"])):
            for p, q in levels:
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = Decimal(q)
        if d is diffs[51][1]:
            break
    fresh = json.dumps(
        {
            "lastUpdateId": diffs[51][1]["u"],
            "bids": [[str(p), str(q)] for p, q in sorted(bids.items(), reverse=True)],
            "asks": [[str(p), str(q)] for p, q in sorted(asks.items())],
        }
    ).encode()
    after = proto.on_frame(json.dumps({"stream": "sushiusdt@depth@100ms", "data": diffs[52][1]}), 3)
    assert after.events == []
    resynced = proto.on_snapshot(resync, fresh, 4)
    # Futures keep the diff whose u equals lastUpdateId (it straddles it), then chain on pu.
    assert [e.dedup_key for e in resynced.events] == [
        f"snapshot:{diffs[51][1]['u']}",
        f"{diffs[51][1]['u']}:{diffs[51][1]['u']}",
        f"{diffs[51][1]['u']}:{diffs[52][1]['u']}",
    ]
    assert resynced.snapshot_requests == []


def test_snapshot_older_than_buffered_diffs_is_refetched() -> None:
    proto = protocol("binance-usdm", {"SUSHIUSDT": "SUSHI/USDT"}, (DataType.L2_ORDERBOOK,))
    [initial] = proto.on_open().snapshot_requests
    frame = (
        '{"stream":"sushiusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"T":1,'
        '"s":"SUSHIUSDT","U":700,"u":710,"pu":699,"b":[],"a":[]}}'
    )
    proto.on_frame(frame, 1)
    outcome = proto.on_snapshot(initial, b'{"lastUpdateId":650,"bids":[],"asks":[]}', 2)
    assert outcome.events == []
    assert [r.reason for r in outcome.snapshot_requests] == ["stale_snapshot"]


def _sushi_diffs() -> list[dict[str, Any]]:
    """The recorded SUSHIUSDT depth diffs of binance-usdm.jsonl, in order."""
    recs = [r for r in records("binance-usdm.jsonl") if r["kind"] == "recv"]
    return [
        json.loads(r["data"])["data"]
        for r in recs
        if json.loads(r["data"])["data"].get("e") == "depthUpdate"
        and json.loads(r["data"])["data"]["s"] == "SUSHIUSDT"
    ]


def _sushi_snapshot_as_of(diffs: list[dict[str, Any]], index: int) -> bytes:
    """The venue's REST snapshot right after ``diffs[index]``: the recorded one plus the diffs."""
    snap = json.loads(
        next(
            r["data"]
            for r in records("binance-usdm.jsonl")
            if r["kind"] == "http" and "SUSHIUSDT" in r["url"]
        )
    )
    book = {"bids": dict(snap["bids"]), "asks": dict(snap["asks"])}
    for diff in diffs[: index + 1]:
        if diff["u"] < snap["lastUpdateId"]:
            continue
        for side, key in ((book["bids"], "b"), (book["asks"], "a")):
            for p, q in diff[key]:
                if Decimal(q) == 0:
                    side.pop(p, None)
                else:
                    side[p] = q
    return json.dumps(
        {
            "lastUpdateId": diffs[index]["u"],
            "bids": sorted(book["bids"].items(), key=lambda pq: -Decimal(pq[0])),
            "asks": sorted(book["asks"].items(), key=lambda pq: Decimal(pq[0])),
        }
    ).encode()


def test_futures_snapshot_ending_where_the_first_buffered_diff_chains_on_is_used() -> None:
    """A snapshot whose lastUpdateId is the ``pu`` of the first buffered diff is not stale.

    That diff's ``U`` is above lastUpdateId, yet it continues the snapshot exactly
    (the futures chain is ``pu`` == previous ``u``); refetching would loop for nothing.
    This is what a rotation's new connection sees when the snapshot is taken
    between two updates (recorded SUSHIUSDT diffs, binance-usdm.jsonl).
    """
    diffs = _sushi_diffs()
    before, first, second = diffs[60], diffs[61], diffs[62]
    assert first["pu"] == before["u"] and first["U"] > before["u"]
    proto = protocol("binance-usdm", {"SUSHIUSDT": "SUSHI/USDT"}, (DataType.L2_ORDERBOOK,))
    [initial] = proto.on_open().snapshot_requests
    for diff in (first, second):
        proto.on_frame(json.dumps({"stream": "sushiusdt@depth@100ms", "data": diff}), 1)
    outcome = proto.on_snapshot(initial, _sushi_snapshot_as_of(diffs, 60), 2)
    assert outcome.snapshot_requests == []
    assert [e.dedup_key for e in outcome.events] == [
        f"snapshot:{before['u']}",
        f"{before['u']}:{first['u']}",
        f"{before['u']}:{second['u']}",
    ]


def test_diffs_older_than_the_snapshot_time_limit_are_not_kept() -> None:
    """While a snapshot is awaited, only the last ``snapshot_timeout_s`` + 5 s of diffs are kept.

    Recorded SUSHIUSDT diffs 40-80 fed 1 s apart (default time limit 10 s, so a
    15 s window): a snapshot as of diff 60, received 20 s before the newest,
    finds the diffs after it gone and is refetched (``stale_snapshot``); one as
    of diff 66, 14 s before the newest, is aligned and followed by 66-80.
    """
    diffs = _sushi_diffs()
    fed = diffs[40:81]
    for as_of, expected in ((60, "stale"), (66, "aligned")):
        proto = protocol("binance-usdm", {"SUSHIUSDT": "SUSHI/USDT"}, (DataType.L2_ORDERBOOK,))
        [initial] = proto.on_open().snapshot_requests
        for i, diff in enumerate(fed):
            proto.on_frame(
                json.dumps({"stream": "sushiusdt@depth@100ms", "data": diff}), 1_000_000 + 1000 * i
            )
        outcome = proto.on_snapshot(initial, _sushi_snapshot_as_of(diffs, as_of), 2_000_000)
        if expected == "stale":
            assert outcome.events == []
            assert [r.reason for r in outcome.snapshot_requests] == ["stale_snapshot"]
        else:
            # Futures keep the diff whose u equals lastUpdateId, then the 14 newer ones.
            snapshot_id = diffs[as_of]["u"]
            assert outcome.snapshot_requests == []
            assert [e.dedup_key for e in outcome.events] == [f"snapshot:{snapshot_id}"] + [
                f"{snapshot_id}:{d['u']}" for d in diffs[as_of:81]
            ]


def _synced_sushi() -> tuple[VenueProtocol, list[str]]:
    """A USD-M protocol whose SUSHIUSDT book is synced, and the recorded diffs not yet fed."""
    recs = records("binance-usdm.jsonl")
    snapshot = next(r for r in recs if r["kind"] == "http" and "SUSHIUSDT" in r["url"])
    last_update_id = json.loads(snapshot["data"])["lastUpdateId"]
    frames = [
        r["data"]
        for r in recs
        if r["kind"] == "recv"
        and json.loads(r["data"])["data"].get("e") == "depthUpdate"
        and json.loads(r["data"])["data"]["s"] == "SUSHIUSDT"
        and json.loads(r["data"])["data"]["u"] >= last_update_id
    ]
    proto = protocol("binance-usdm", {"SUSHIUSDT": "SUSHI/USDT"}, (DataType.L2_ORDERBOOK,))
    [initial] = proto.on_open().snapshot_requests
    proto.on_frame(frames[0], 1)
    synced = proto.on_snapshot(initial, snapshot["data"].encode(), 2)
    assert [e.payload.is_snapshot for e in synced.events] == [True, False]  # type: ignore[union-attr]
    return proto, frames[1:]


def test_depth_update_fed_twice_after_sync_is_a_stale_update_and_publishes_nothing() -> None:
    proto, frames = _synced_sushi()
    first = proto.on_frame(frames[0], 3)
    assert [e.payload.last_update_id for e in first.events] == [  # type: ignore[union-attr]
        json.loads(frames[0])["data"]["u"]
    ]
    with pytest.raises(FrameError) as info:
        proto.on_frame(frames[0], 4)
    assert info.value.reason == "stale_update"
    following = proto.on_frame(frames[1], 5)
    assert [e.payload.last_update_id for e in following.events] == [  # type: ignore[union-attr]
        json.loads(frames[1])["data"]["u"]
    ]
    assert following.snapshot_requests == []


def test_depth_update_that_crosses_the_book_restarts_the_sync() -> None:
    proto, frames = _synced_sushi()
    data = json.loads(frames[0])["data"]
    data["b"] = [["1000.0000", "5"]]  # a bid far above every ask of the recorded book
    outcome = proto.on_frame(json.dumps({"stream": "sushiusdt@depth@100ms", "data": data}), 3)
    assert outcome.events == []
    assert [r.reason for r in outcome.snapshot_requests] == ["crossed_book"]
    assert proto.on_frame(frames[1], 4).events == []


def test_depth_level_with_a_negative_quantity_or_extra_element_is_an_invalid_value() -> None:
    proto, frames = _synced_sushi()
    for levels in ([["7.6110", "-1"]], [["7.6110", "2", "3"]], [{"7.6110": "2"}], [["0", "2"]]):
        data = dict(json.loads(frames[0])["data"], b=levels)
        with pytest.raises(FrameError) as info:
            proto.on_frame(json.dumps({"stream": "sushiusdt@depth@100ms", "data": data}), 3)
        assert info.value.reason == "invalid_value"
    assert len(proto.on_frame(frames[0], 4).events) == 1


@pytest.mark.parametrize(
    ("frame", "detail"),
    [
        (
            '{"stream":"sushiusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"SUSHIUSDT",'
            '"U":1,"u":2,"pu":0,"b":[],"a":[]}}',
            "SUSHIUSDT l2_orderbook",
        ),
        (
            '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT",'
            '"U":1,"u":2,"pu":0,"b":[],"a":[]}}',
            "BTCUSDT l2_orderbook",
        ),
        (
            '{"stream":"akrousdt@aggTrade","data":{"e":"aggTrade","s":"AKROUSDT","a":1,'
            '"p":"1","q":"1","T":1,"m":true}}',
            "AKROUSDT trade",
        ),
    ],
)
def test_frames_of_a_data_type_the_symbol_is_not_subscribed_to_are_unsubscribed(
    frame: str, detail: str
) -> None:
    subs = (
        SubscriptionConfig("SUSHIUSDT", "SUSHI/USDT", (DataType.TRADE,)),
        SubscriptionConfig("AKROUSDT", "AKRO/USDT", (DataType.L2_ORDERBOOK,)),
    )
    proto = venue_spec("binance-usdm").protocol_factory(
        VenueConfig(id="binance-usdm", subscriptions=subs)
    )
    with pytest.raises(FrameError) as info:
        proto.on_frame(frame, 1)
    assert (info.value.reason, info.value.detail) == ("unsubscribed", detail)
