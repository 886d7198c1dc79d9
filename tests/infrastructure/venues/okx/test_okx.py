"""OKX adapter on real frames from shared/captures/okx.jsonl and OKX's documented examples.

Documented examples are copied from the stored copies of OKX's API pages
(https://www.okx.com/docs-v5/en/...), cited in each test.
"""

from __future__ import annotations

import binascii
import json
import struct
import zlib
from decimal import Decimal
from typing import Any

import pytest
from support.reference_books import records

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, Keepalive
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
from relay.infrastructure.venues.okx.book import checksum
from relay.infrastructure.venues.okx.channels import (
    MAX_SUBSCRIBE_BYTES,
    book_channel,
    business_url,
    okx_bar,
    split_config,
)
from relay.infrastructure.venues.okx.listing import canonical_symbol, parse_listing
from relay.infrastructure.venues.okx.parse import candle_close_ms
from relay.infrastructure.venues.okx.protocol import OkxProtocol
from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest, venue_spec
from relay.sim.venues.okx import OkxSimulatedVenue
from relay.sim.venues.registry import simulated_venue

CAPTURE = "okx.jsonl"
SYMBOLS = {
    "BTC-USDT": "BTC/USDT",
    "UNI-USD-SWAP": "UNI/USD:PERP",
    "BTC-USD-220527": "BTC/USD:220527",
}
RECORDED = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK)
DOCS = "https://www.okx.com/docs-v5/en/"


def config(
    symbols: dict[str, str] = SYMBOLS,
    data_types: tuple[DataType, ...] = RECORDED,
    depth: int = 0,
    ws_url: str = "",
) -> VenueConfig:
    subs = tuple(SubscriptionConfig(i, c, data_types, depth) for i, c in symbols.items())
    return VenueConfig(id="okx", subscriptions=subs, ws_url=ws_url)


def protocol(**kwargs: Any) -> OkxProtocol:
    proto = venue_spec("okx").protocol_factory(config(**kwargs))
    assert isinstance(proto, OkxProtocol)
    return proto


def recv_frames() -> list[tuple[str, int]]:
    """Every recorded venue frame with its receive time in ms."""
    return [(r["data"], int(r["t"] * 1000)) for r in records(CAPTURE) if r["kind"] == "recv"]


def first_frame(predicate: Any) -> tuple[str, int]:
    for text, at_ms in recv_frames():
        if predicate(json.loads(text)):
            return text, at_ms
    raise AssertionError("no such frame")


def events_of(outcome: FrameOutcome) -> list[MarketEvent]:
    assert outcome.snapshot_requests == [] and outcome.replies == [] and outcome.resyncs == []
    return outcome.events


def signed_crc32(text: str) -> int:
    value = zlib.crc32(text.encode())
    return value - 2**32 if value >= 2**31 else value


def book_frame(
    action: str, entry: dict[str, Any], channel: str = "books", inst_id: str = "BTC-USDT"
) -> str:
    return json.dumps(
        {"arg": {"channel": channel, "instId": inst_id}, "action": action, "data": [entry]}
    )


def reference_books(frames: list[tuple[str, int]]) -> dict[str, dict[str, dict[Decimal, Decimal]]]:
    """Books built straight from recorded frames: snapshot replaces, update applies."""
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    for text, _ in frames:
        message = json.loads(text)
        if message.get("arg", {}).get("channel") != "books" or "data" not in message:
            continue
        inst_id = message["arg"]["instId"]
        for entry in message["data"]:
            if message["action"] == "snapshot":
                books[inst_id] = {"bids": {}, "asks": {}}
            for side in ("bids", "asks"):
                for price, size, *_ in entry[side]:
                    if Decimal(size):
                        books[inst_id][side][Decimal(price)] = Decimal(size)
                    else:
                        books[inst_id][side].pop(Decimal(price), None)
    return books


# --- parsing the recorded frames --------------------------------------------------------


def test_recorded_trade_frame_gives_the_exact_trade() -> None:
    text, at_ms = first_frame(
        lambda m: (
            m.get("arg", {}).get("channel") == "trades"
            and "data" in m
            and m["arg"]["instId"] == "BTC-USDT"
        )
    )
    (event,) = events_of(protocol().on_frame(text, at_ms))
    assert event == MarketEvent(
        Instrument("okx", "BTC-USDT", "BTC/USDT"),
        DataType.TRADE,
        at_ms,
        1652459224818,
        Trade("338476307", Decimal("30236"), Decimal("0.0002"), Side.BUY),
        "338476307",
    )
    assert event.instrument.subject(event.data_type) == "market.okx.btc-usdt.trade"
    assert event.msg_id == "okx:BTC-USDT:trade:338476307"


def test_recorded_sell_trade_of_a_swap_keeps_contract_size_and_side() -> None:
    text, at_ms = first_frame(
        lambda m: (
            m.get("arg", {}).get("channel") == "trades"
            and "data" in m
            and m["arg"]["instId"] == "UNI-USD-SWAP"
        )
    )
    (event,) = events_of(protocol().on_frame(text, at_ms))
    assert event.payload == Trade("12883020", Decimal("5.123"), Decimal("100"), Side.SELL)
    assert event.exchange_timestamp_ms == 1652459215150
    assert event.instrument.subject(event.data_type) == "market.okx.uni-usd:perp.trade"


def test_recorded_ticker_frame_gives_the_best_bid_and_ask() -> None:
    text, at_ms = first_frame(
        lambda m: (
            m.get("arg", {}).get("channel") == "tickers"
            and "data" in m
            and m["arg"]["instId"] == "BTC-USDT"
        )
    )
    (event,) = events_of(protocol().on_frame(text, at_ms))
    assert event.payload == Ticker(
        Decimal("30228.6"), Decimal("0.23393"), Decimal("30228.7"), Decimal("1.55896972")
    )
    assert event.exchange_timestamp_ms == 1652459224956
    assert event.dedup_key == "1652459224956:30228.6:0.23393:30228.7:1.55896972"


def test_recorded_book_snapshot_is_published_whole_best_first() -> None:
    text, at_ms = first_frame(
        lambda m: m.get("action") == "snapshot" and m["arg"]["instId"] == "BTC-USD-220527"
    )
    (event,) = events_of(protocol().on_frame(text, at_ms))
    payload = event.payload
    assert isinstance(payload, L2Update)
    assert payload.is_snapshot is True
    assert (len(payload.bids), len(payload.asks)) == (72, 64)
    assert payload.asks[:2] == (
        (Decimal("30238.8"), Decimal("2")),
        (Decimal("30249.5"), Decimal("50")),
    )
    assert payload.bids[0][0] > payload.bids[1][0]
    assert payload.asks[0][0] < payload.asks[1][0]
    assert event.exchange_timestamp_ms == 1652459225393
    assert event.dedup_key == "snapshot:1652459225393:1054815633"


def test_recorded_book_update_publishes_the_changed_levels() -> None:
    proto = protocol()
    frames = recv_frames()
    snapshot_at = next(
        i for i, (t, _) in enumerate(frames) if '"snapshot"' in t and "BTC-USD-220527" in t
    )
    proto.on_frame(*frames[snapshot_at])
    text, at_ms = next(
        f for f in frames[snapshot_at:] if '"update"' in f[0] and "BTC-USD-220527" in f[0]
    )
    (event,) = events_of(proto.on_frame(text, at_ms))
    assert event.payload == L2Update(
        bids=((Decimal("30182.6"), Decimal("452")),),
        asks=(
            (Decimal("30249.4"), Decimal("0")),
            (Decimal("30261"), Decimal("4")),
            (Decimal("30310.3"), Decimal("19")),
        ),
        is_snapshot=False,
    )
    assert event.exchange_timestamp_ms == 1652459225464
    assert event.dedup_key == "1652459225464:-914047754"


def test_checksum_verifies_on_every_recorded_book_message() -> None:
    """Independent check: every recorded ``checksum`` equals :func:`checksum` of the book
    rebuilt from the frames, and the protocol replays the whole session without a resync."""
    books: dict[str, tuple[dict[Decimal, tuple[str, str]], dict[Decimal, tuple[str, str]]]] = {}
    verified = 0
    for text, _ in recv_frames():
        message = json.loads(text)
        if message.get("arg", {}).get("channel") != "books" or "data" not in message:
            continue
        inst_id = message["arg"]["instId"]
        for entry in message["data"]:
            if message["action"] == "snapshot":
                books[inst_id] = ({}, {})
            for side, levels in zip(books[inst_id], (entry["bids"], entry["asks"]), strict=True):
                for price, size, *_ in levels:
                    if Decimal(size):
                        side[Decimal(price)] = (price, size)
                    else:
                        side.pop(Decimal(price), None)
            bids = [books[inst_id][0][p] for p in sorted(books[inst_id][0], reverse=True)]
            asks = [books[inst_id][1][p] for p in sorted(books[inst_id][1])]
            assert checksum(bids, asks) == entry["checksum"]
            verified += 1
    assert verified == 290

    proto = protocol()
    published = 0
    for text, at_ms in recv_frames():
        outcome = proto.on_frame(text, at_ms)
        assert outcome.resyncs == [] and outcome.replies == []
        published += sum(1 for e in outcome.events if e.data_type is DataType.L2_ORDERBOOK)
    assert published == 290
    reference = reference_books(recv_frames())
    for inst_id, book in proto.books.items():
        book_bids, book_asks = book.levels()
        assert dict(book_bids) == reference[inst_id]["bids"]
        assert dict(book_asks) == reference[inst_id]["asks"]


def test_whole_session_gives_every_recorded_trade_and_ticker_with_unique_ids() -> None:
    proto = protocol()
    events = [e for text, at in recv_frames() for e in proto.on_frame(text, at).events]
    counts = {t: sum(1 for e in events if e.data_type is t) for t in RECORDED}
    assert counts == {DataType.TRADE: 74, DataType.TICKER: 28, DataType.L2_ORDERBOOK: 290}
    assert len({e.msg_id for e in events}) == len(events)


# --- the documented checksum and sequence rules -----------------------------------------


def test_documented_checksum_examples_build_the_documented_strings() -> None:
    """https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
    ("Calculate Checksum": more than 25 levels, and fewer on one side)."""
    assert checksum(
        [("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]
    ) == signed_crc32("3366.1:7:3366.8:9:3366:6:3368:8")
    assert checksum(
        [("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]
    ) == signed_crc32("3366.1:7:3366.8:9:3368:8:3372:8")
    # the docs give no number; the signed value through another path (binascii + struct):
    unsigned = binascii.crc32(b"3366.1:7:3366.8:9:3366:6:3368:8")
    assert unsigned > 2**31
    assert (
        checksum([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")])
        == struct.unpack("<i", struct.pack("<I", unsigned))[0]
        == -1881014294
    )


def test_checksum_uses_only_the_top_25_levels_and_keeps_the_venues_digits() -> None:
    bids = [(f"{100 - i}.50", "1.0") for i in range(30)]
    asks = [(f"{200 + i}.50", "2") for i in range(30)]
    expected = ":".join(
        f"{b[0]}:{b[1]}:{a[0]}:{a[1]}" for b, a in zip(bids[:25], asks[:25], strict=True)
    )
    assert checksum(bids, asks) == signed_crc32(expected)
    assert checksum(bids, asks) != checksum([(b[0], "1") for b in bids], asks)


def test_a_changed_level_fails_the_checksum_and_resyncs_only_that_book() -> None:
    """A size changed in one recorded update: one ``checksum`` BookResync for BTC-USDT and its
    unsubscribe + subscribe frames; its updates are refused until the simulated venue's fresh
    snapshot, which is published as a snapshot, after which every update verifies again."""
    proto = protocol()
    venue = OkxSimulatedVenue()
    frames = recv_frames()
    target = next(
        i
        for i, (t, _) in enumerate(frames)
        if '"update"' in t and '"BTC-USDT"' in t and '"bids":[["' in t
    )
    resyncs: list[BookResync] = []
    refused = 0
    snapshots_after: list[MarketEvent] = []
    for index, (text, at_ms) in enumerate(frames):
        venue.on_frame_passed(text)  # the venue's book is right; the relay's copy is corrupted
        if index == target:
            message = json.loads(text)
            message["data"][0]["bids"][0][1] = str(Decimal(message["data"][0]["bids"][0][1]) + 1)
            text = json.dumps(message)
        try:
            outcome = proto.on_frame(text, at_ms)
        except FrameError as exc:
            assert exc.reason == "awaiting_snapshot"
            refused += 1
            continue
        if index == target:
            assert outcome.events == []
            assert outcome.resyncs == [
                BookResync(Instrument("okx", "BTC-USDT", "BTC/USDT"), "checksum")
            ]
            assert outcome.replies == [
                '{"op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}',
                '{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}',
            ]
            resyncs.extend(outcome.resyncs)
            for reply in outcome.replies:
                for answer in venue.on_client_frame(reply):
                    snapshots_after.extend(proto.on_frame(answer, at_ms).events)
        else:
            assert outcome.resyncs == []
    assert len(resyncs) == 1
    assert refused == 0  # the simulated venue answered at once: nothing was in between
    (snapshot,) = snapshots_after
    assert isinstance(snapshot.payload, L2Update) and snapshot.payload.is_snapshot
    reference = reference_books(frames)
    for inst_id, book in proto.books.items():
        bids, asks = book.levels()
        assert (dict(bids), dict(asks)) == (reference[inst_id]["bids"], reference[inst_id]["asks"])


def test_updates_after_a_resync_are_refused_until_the_snapshot() -> None:
    proto = protocol()
    frames = recv_frames()
    for text, at_ms in frames[:40]:
        proto.on_frame(text, at_ms)
    update_text, at_ms = next(
        f for f in frames[40:] if '"update"' in f[0] and '"UNI-USD-SWAP"' in f[0]
    )
    broken = json.loads(update_text)
    broken["data"][0]["checksum"] += 1
    outcome = proto.on_frame(json.dumps(broken), at_ms)
    assert outcome.resyncs == [
        BookResync(Instrument("okx", "UNI-USD-SWAP", "UNI/USD:PERP"), "checksum")
    ]
    with pytest.raises(FrameError) as refused:
        proto.on_frame(update_text, at_ms)
    assert refused.value.reason == "awaiting_snapshot"
    snapshot_text, _ = first_frame(
        lambda m: m.get("action") == "snapshot" and m["arg"]["instId"] == "UNI-USD-SWAP"
    )
    (event,) = proto.on_frame(snapshot_text, at_ms).events
    assert isinstance(event.payload, L2Update) and event.payload.is_snapshot


DOC_SNAPSHOT = {
    "asks": [["8476.98", "415", "0", "13"], ["8477", "7", "0", "2"]],
    "bids": [["8476.97", "256", "0", "12"], ["8475.55", "101", "0", "1"]],
    "ts": "1597026383085",
    "checksum": 0,
    "prevSeqId": -1,
    "seqId": 123456,
}


def test_documented_seq_ids_chain_and_a_break_is_a_gap_resync() -> None:
    """https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
    (full snapshot and incremental examples, "Sequence ID" rules, checksum fixed to 0)."""
    proto = protocol(symbols={"BTC-USDT": "BTC/USDT"})
    (snapshot,) = events_of(proto.on_frame(book_frame("snapshot", DOC_SNAPSHOT), 1))
    assert snapshot.dedup_key == "snapshot:123456"
    assert isinstance(snapshot.payload, L2Update)
    assert snapshot.payload.last_update_id == 123456
    update = {
        "asks": [["8477", "0", "0", "0"]],
        "bids": [],
        "ts": "1597026383086",
        "checksum": 0,
        "prevSeqId": 123456,
        "seqId": 123457,
    }
    (delta,) = events_of(proto.on_frame(book_frame("update", update), 2))
    assert delta.dedup_key == "123456:123457"
    assert delta.payload == L2Update((), ((Decimal("8477"), Decimal("0")),), False, 123457, 123457)
    heartbeat = {
        "asks": [],
        "bids": [],
        "ts": "1597026443086",
        "checksum": 0,
        "prevSeqId": 123457,
        "seqId": 123457,
    }
    assert events_of(proto.on_frame(book_frame("update", heartbeat), 3)) == []
    reset = {
        "asks": [],
        "bids": [["8470", "1", "0", "1"]],
        "ts": "1597026443087",
        "checksum": 0,
        "prevSeqId": 123457,
        "seqId": 3,
    }
    assert len(events_of(proto.on_frame(book_frame("update", reset), 4))) == 1
    gap = {
        "asks": [],
        "bids": [["8471", "1", "0", "1"]],
        "ts": "1597026443088",
        "checksum": 0,
        "prevSeqId": 5,
        "seqId": 9,
    }
    outcome = proto.on_frame(book_frame("update", gap), 5)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(Instrument("okx", "BTC-USDT", "BTC/USDT"), "gap")]
    assert [json.loads(r)["op"] for r in outcome.replies] == ["unsubscribe", "subscribe"]
    assert proto.books["BTC-USDT"].synced is False


def test_documented_books5_push_is_published_as_a_five_level_snapshot() -> None:
    """https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
    ("Push Data Example of books5 channel")."""
    proto = protocol(symbols={"BCH-USDT-SWAP": "BCH/USDT:PERP"}, depth=5)
    assert json.loads(proto.subscribe_frames()[0])["args"][2] == {
        "channel": "books5",
        "instId": "BCH-USDT-SWAP",
    }
    frame = (
        '{"arg":{"channel":"books5","instId":"BCH-USDT-SWAP"},"data":[{"asks":['
        '["111.06","55154","0","2"],["111.07","53276","0","2"],["111.08","72435","0","2"],'
        '["111.09","70312","0","2"],["111.1","67272","0","2"]],"bids":['
        '["111.05","57745","0","2"],["111.04","57109","0","2"],["111.03","69563","0","2"],'
        '["111.02","71248","0","2"],["111.01","65090","0","2"]],"instId":"BCH-USDT-SWAP",'
        '"ts":"1670324386802","seqId":363996337}]}'
    )
    (event,) = events_of(proto.on_frame(frame, 7))
    assert event.payload == L2Update(
        bids=tuple(
            (Decimal(p), Decimal(s))
            for p, s in [
                ("111.05", "57745"),
                ("111.04", "57109"),
                ("111.03", "69563"),
                ("111.02", "71248"),
                ("111.01", "65090"),
            ]
        ),
        asks=tuple(
            (Decimal(p), Decimal(s))
            for p, s in [
                ("111.06", "55154"),
                ("111.07", "53276"),
                ("111.08", "72435"),
                ("111.09", "70312"),
                ("111.1", "67272"),
            ]
        ),
        is_snapshot=True,
        first_update_id=363996337,
        last_update_id=363996337,
    )
    assert event.dedup_key == "1670324386802:363996337"


@pytest.mark.parametrize(
    ("depth", "channel"),
    [(0, "books"), (1, "books5"), (5, "books5"), (6, "books"), (50, "books"), (400, "books")],
)
def test_depth_maps_to_the_nearest_public_book_channel(depth: int, channel: str) -> None:
    assert book_channel(depth) == channel


# --- other channels, documented examples ------------------------------------------------


def test_documented_funding_rate_push() -> None:
    """https://www.okx.com/docs-v5/en/#public-data-websocket-funding-rate-channel"""
    proto = protocol(symbols={"BTC-USD-SWAP": "BTC/USD:PERP"}, data_types=(DataType.FUNDING_RATE,))
    frame = (
        '{"arg":{"channel":"funding-rate","instId":"BTC-USD-SWAP"},"data":[{'
        '"formulaType":"noRate","fundingRate":"0.0001875391284828","fundingTime":"1700726400000",'
        '"impactValue":"","instId":"BTC-USD-SWAP","instType":"SWAP","interestRate":"",'
        '"method":"current_period","maxFundingRate":"0.00375","minFundingRate":"-0.00375",'
        '"nextFundingRate":"","nextFundingTime":"1700755200000",'
        '"premium":"0.0001233824646391","settFundingRate":"0.0001699799259033",'
        '"settState":"settled","ts":"1700724675402"}]}'
    )
    (event,) = events_of(proto.on_frame(frame, 9))
    assert event.payload == FundingRate(
        Decimal("0.0001875391284828"), next_funding_time_ms=1700726400000
    )
    assert event.exchange_timestamp_ms == 1700724675402
    assert event.dedup_key == "1700726400000:1700724675402"


def test_open_interest_push() -> None:
    """Format from cryptofeed's okx.py docstring (the OKX page
    https://www.okx.com/docs-v5/en/#public-data-websocket-open-interest-channel is not stored)."""
    proto = protocol(
        symbols={"BTC-USDT-SWAP": "BTC/USDT:PERP"}, data_types=(DataType.OPEN_INTEREST,)
    )
    frame = (
        '{"arg":{"channel":"open-interest","instId":"BTC-USDT-SWAP"},"data":[{'
        '"instId":"BTC-USDT-SWAP","instType":"SWAP","oi":"565474","oiCcy":"5654.74",'
        '"ts":"1630338003010"}]}'
    )
    (event,) = events_of(proto.on_frame(frame, 9))
    assert event.payload == OpenInterest(Decimal("565474"))
    assert (event.exchange_timestamp_ms, event.dedup_key) == (1630338003010, "1630338003010")


def test_documented_liquidation_push_for_a_subscribed_instrument_only() -> None:
    """https://www.okx.com/docs-v5/en/#public-data-websocket-liquidation-orders-channel"""
    proto = protocol(
        symbols={"IOST-USDT-SWAP": "IOST/USDT:PERP"}, data_types=(DataType.LIQUIDATION,)
    )
    assert json.loads(proto.subscribe_frames()[0])["args"] == [
        {"channel": "liquidation-orders", "instType": "SWAP"}
    ]
    frame = (
        '{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{'
        '"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13",'
        '"ts":"1692266434010"}],"instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP",'
        '"instType":"SWAP","uly":"IOST-USDT"}]}'
    )
    (event,) = events_of(proto.on_frame(frame, 9))
    assert event.payload == Liquidation(Side.BUY, Decimal("0.007831"), Decimal("13"))
    assert event.dedup_key == "1692266434010:BUY:13:0.007831"
    other = protocol(symbols={"BTC-USDT-SWAP": "BTC/USDT:PERP"}, data_types=(DataType.LIQUIDATION,))
    with pytest.raises(FrameError) as unsubscribed:
        other.on_frame(frame, 9)
    assert unsubscribed.value.reason == "unsubscribed"


def test_documented_candle_push() -> None:
    """https://www.okx.com/docs-v5/en/#order-book-trading-market-data (WS / Candlesticks)."""
    subs = (SubscriptionConfig("BTC-USDT", "BTC/USDT", (DataType.CANDLE,), 0, "1d"),)
    proto = OkxProtocol(VenueConfig("okx", subs))
    assert json.loads(proto.subscribe_frames()[0])["args"] == [
        {"channel": "candle1D", "instId": "BTC-USDT"}
    ]
    frame = (
        '{"arg":{"channel":"candle1D","instId":"BTC-USDT"},"data":[["1597026383085",'
        '"8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061","0"]]}'
    )
    (event,) = events_of(proto.on_frame(frame, 9))
    assert event.payload == Candle(
        interval="1D",
        open_time_ms=1597026383085,
        close_time_ms=1597026383085 + 86_400_000 - 1,
        open=Decimal("8533.02"),
        high=Decimal("8553.74"),
        low=Decimal("8527.17"),
        close=Decimal("8548.26"),
        volume=Decimal("45247"),
        is_closed=False,
        quote_volume=Decimal("5529.5858061"),
    )
    assert event.dedup_key == "1597026383085:0:45247:8548.26"


def test_candle_bars_and_close_times() -> None:
    assert [okx_bar(b) for b in ("1m", "1h", "4H", "1d", "1w", "1M", "6Hutc")] == [
        "1m",
        "1H",
        "4H",
        "1D",
        "1W",
        "1M",
        "6Hutc",
    ]
    assert candle_close_ms(1_700_000_040_000, "1m") == 1_700_000_099_999
    # 1M in UTC+8: 2024-01-31T16:00Z (Feb 1st 00:00 +08) to 2024-02-29T16:00Z
    assert candle_close_ms(1_706_716_800_000, "1M") == 1_709_222_400_000 - 1
    # 1Mutc: 2024-02-01T00:00Z to 2024-03-01T00:00Z
    assert candle_close_ms(1_706_745_600_000, "1Mutc") == 1_709_251_200_000 - 1


# --- connection rules -------------------------------------------------------------------


def test_keepalive_is_the_text_ping_and_pong_is_ignored() -> None:
    """https://www.okx.com/docs-v5/en/#overview-websocket (send 'ping' within N < 30 s)."""
    proto = protocol()
    assert proto.keepalive() == Keepalive(20.0, "ping")
    assert proto.on_frame("pong", 1) == FrameOutcome([], [], [])
    assert proto.on_frame(b"pong", 1) == FrameOutcome([], [], [])


def test_subscribe_acks_are_ignored_and_an_error_event_is_a_subscribe_error() -> None:
    """https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
    (response and failure examples)."""
    proto = protocol()
    ack = (
        '{"id":"1512","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},'
        '"connId":"a4d3ae55"}'
    )
    assert proto.on_frame(ack, 1) == FrameOutcome([], [], [])
    assert proto.on_frame(ack, 1) == FrameOutcome([], [], [])
    unsub = '{"event":"unsubscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"x"}'
    assert proto.on_frame(unsub, 1) == FrameOutcome([], [], [])
    error = (
        '{"id":"1512","event":"error","code":"60012","msg":"Invalid request: '
        '{\\"op\\": \\"subscribe\\", \\"argss\\":[{ \\"channel\\" : \\"books\\", '
        '\\"instId\\" : \\"BTC-USD-191227\\"}]}","connId":"a4d3ae55"}'
    )
    with pytest.raises(FrameError) as raised:
        proto.on_frame(error, 1)
    assert raised.value.reason == "subscribe_error"
    assert "60012" in raised.value.detail


def test_subscribe_frames_cover_every_channel_and_stay_under_the_64kb_limit() -> None:
    """https://www.okx.com/docs-v5/en/#overview-websocket-subscribe (channels under 64 KB)."""
    symbols = {f"COIN{i}-USDT-SWAP": f"COIN{i}/USDT:PERP" for i in range(600)}
    proto = protocol(
        symbols=symbols,
        data_types=(DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.LIQUIDATION),
    )
    frames = proto.subscribe_frames()
    assert len(frames) > 1
    assert all(len(f.encode()) <= MAX_SUBSCRIBE_BYTES for f in frames)
    args = [a for f in frames for a in json.loads(f)["args"]]
    assert all(json.loads(f)["op"] == "subscribe" for f in frames)
    assert len(args) == 600 * 3 + 1  # one liquidation-orders channel for every SWAP
    assert args == proto.subscribe_args()
    spec = venue_spec("okx")
    assert spec.subscribe_interval_s == 0.4
    assert spec.max_subscriptions_per_connection == 29


def test_split_puts_candles_on_the_business_endpoint() -> None:
    subs = (
        SubscriptionConfig("BTC-USDT", "BTC/USDT", (DataType.TRADE, DataType.CANDLE)),
        SubscriptionConfig("ETH-USDT", "ETH/USDT", (DataType.CANDLE,)),
    )
    live, simulated = (
        VenueConfig("okx", subs),
        VenueConfig("okx", subs, ws_url="ws://127.0.0.1:9000/okx/ws/v5/public"),
    )
    public, business = split_config(live)
    assert public.ws_url == ""
    assert [(s.instrument, s.data_types) for s in public.subscriptions] == [
        ("BTC-USDT", (DataType.TRADE,))
    ]
    assert business.ws_url == "wss://ws.okx.com:8443/ws/v5/business"
    assert [(s.instrument, s.data_types) for s in business.subscriptions] == [
        ("BTC-USDT", (DataType.CANDLE,)),
        ("ETH-USDT", (DataType.CANDLE,)),
    ]
    assert split_config(simulated)[1].ws_url == "ws://127.0.0.1:9000/okx/ws/v5/business"
    assert OkxProtocol(business).ws_url() == "wss://ws.okx.com:8443/ws/v5/business"
    trades_only = (SubscriptionConfig("X-Y", "X/Y", (DataType.TRADE,)),)
    assert [c.ws_url for c in split_config(VenueConfig("okx", trades_only))] == [""]
    assert business_url("wss://h/ws/v5/public/") == "wss://h/ws/v5/business"
    assert venue_spec("okx").split_connections is split_config


# --- malformed frames -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("{not json", "not_json"),
        ("[1, 2]", "unknown_event"),
        ('{"event":"login2"}', "unknown_event"),
        ('{"arg":{"channel":"mark-price","instId":"BTC-USDT"},"data":[{}]}', "unknown_event"),
        ('{"arg":{"channel":"trades"}}', "unknown_event"),
        (
            '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT"}]}',
            "missing_field",
        ),
        (
            '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
            '"tradeId":"1","px":"-1","sz":"1","side":"buy","ts":"1"}]}',
            "invalid_value",
        ),
        (
            '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
            '"tradeId":"1","px":"1","sz":"1","side":"up","ts":"1"}]}',
            "invalid_value",
        ),
        (
            '{"arg":{"channel":"trades","instId":"ETH-USDT"},"data":[{"instId":"ETH-USDT",'
            '"tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1"}]}',
            "unsubscribed",
        ),
        (
            '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],'
            '"bids":[],"ts":"1","checksum":0}]}',
            "awaiting_snapshot",
        ),
        (
            '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"partial","data":[]}',
            "invalid_value",
        ),
        (
            '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":'
            '[["x","1"]],"bids":[],"ts":"1","checksum":0}]}',
            "invalid_value",
        ),
        (
            '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[],'
            '"bids":[],"ts":"1","checksum":"12"}]}',
            "invalid_value",
        ),
        ('{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[]}', "unsubscribed"),
    ],
)
def test_malformed_frames_give_the_right_reason(frame: str, reason: str) -> None:
    with pytest.raises(FrameError) as raised:
        protocol().on_frame(frame, 1)
    assert raised.value.reason == reason


# --- symbols, listing, simulated venue --------------------------------------------------


def test_canonical_symbols() -> None:
    assert [
        canonical_symbol(i)
        for i in ("BTC-USDT", "UNI-USD-SWAP", "BTC-USD-220527", "BTC-USD-221230-4000-C")
    ] == ["BTC/USDT", "UNI/USD:PERP", "BTC/USD:220527", "BTC/USD:221230-4000-C"]
    with pytest.raises(ValueError, match="not an OKX instrument id"):
        canonical_symbol("BTCUSDT")


def test_listing_parser_on_the_documented_example() -> None:
    """https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments (response example,
    trimmed), plus a SWAP and a FUTURES entry of the same shape."""
    body = json.dumps(
        {
            "code": "0",
            "msg": "",
            "data": [
                {
                    "baseCcy": "BTC",
                    "instId": "BTC-USDT",
                    "instType": "SPOT",
                    "quoteCcy": "USDT",
                    "state": "live",
                    "tickSz": "0.1",
                    "lotSz": "0.00000001",
                },
                {"instId": "UNI-USD-SWAP", "instType": "SWAP", "settleCcy": "UNI"},
                {"instId": "BTC-USD-220527", "instType": "FUTURES", "settleCcy": "BTC"},
            ],
        }
    ).encode()
    listing = venue_spec("okx").instrument_listing
    assert listing is not None
    assert [r.path for r in listing.requests] == [
        "/api/v5/public/instruments?instType=SPOT",
        "/api/v5/public/instruments?instType=SWAP",
        "/api/v5/public/instruments?instType=FUTURES",
    ]
    assert parse_listing(listing.requests[0], body) == [
        ListedInstrument("BTC-USDT", "BTC/USDT", "spot"),
        ListedInstrument("UNI-USD-SWAP", "UNI/USD:PERP", "perpetual"),
        ListedInstrument("BTC-USD-220527", "BTC/USD:220527", "future"),
    ]
    with pytest.raises(ValueError, match="OKX instruments answer"):
        parse_listing(ListingRequest("/x"), b'{"code":"50011","msg":"Too Many Requests"}')


def test_simulated_venue_answers_pings_and_subscribes_and_resends_a_book() -> None:
    venue = simulated_venue("okx")
    assert venue is not None
    sim = venue()
    assert sim.on_client_frame("ping") == ["pong"]
    request = '{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}'
    assert sim.on_client_frame(request) == [
        '{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"simulated"}'
    ]
    sim.on_frame_passed(book_frame("snapshot", DOC_SNAPSHOT))
    sim.on_frame_passed(
        book_frame(
            "update",
            {
                "asks": [["8477", "0", "0", "0"]],
                "bids": [["8476", "3", "0", "1"]],
                "ts": "1597026383090",
                "checksum": 0,
                "prevSeqId": 123456,
                "seqId": 123460,
            },
        )
    )
    ack, snapshot = sim.on_client_frame(request)
    assert json.loads(ack)["event"] == "subscribe"
    entry = json.loads(snapshot)["data"][0]
    assert json.loads(snapshot)["action"] == "snapshot"
    assert entry["asks"] == [["8476.98", "415", "0", "13"]]
    assert entry["bids"] == [
        ["8476.97", "256", "0", "12"],
        ["8476", "3", "0", "1"],
        ["8475.55", "101", "0", "1"],
    ]
    assert (entry["ts"], entry["prevSeqId"], entry["seqId"]) == ("1597026383090", -1, 123460)
    assert entry["checksum"] == signed_crc32("8476.97:256:8476.98:415:8476:3:8475.55:101")
    assert sim.on_client_frame(
        '{"op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}'
    ) == [
        '{"event":"unsubscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"simulated"}'
    ]
    assert sim.on_client_frame("not json") == []
