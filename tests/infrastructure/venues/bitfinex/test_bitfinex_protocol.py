"""Bitfinex protocol: subscribe frames, the recorded session, sequence numbers, info codes.

Recorded frames: ``bitfinex.jsonl`` (2021-04, ``conf`` flag ``SEQ_ALL``: 1,670 channel
messages numbered 1..1,670). Info codes: https://docs.bitfinex.com/docs/ws-general.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest
from support.bitfinex_frames import (
    CANDLE_EXAMPLE,
    SYMBOLS,
    config,
    instrument,
    protocol,
    recv,
    subscribed,
)

from relay.application.errors import FrameError
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import Candle, DataType, MarketEvent, Side, Ticker, Trade
from relay.infrastructure.venues.bitfinex import SPEC
from relay.infrastructure.venues.bitfinex.channels import book_length, split_config
from relay.infrastructure.venues.bitfinex.protocol import BitfinexProtocol
from relay.infrastructure.venues.registry import plan_connections

BOOKS = {
    "tTESTBTC:TESTUSD": 232957,
    "tDOGUSD": 225206,
    "tODEUSD": 204928,
    "tIOTETH": 232955,
    "tMNABTC": 232956,
    "tBFTUSD": 232954,
    "tSNGUSD": 232958,
}
"""Book channel ids of the recorded ``subscribed`` answers."""


def replayed(proto: BitfinexProtocol, frames: list[str]) -> tuple[list[MarketEvent], Counter[str]]:
    events: list[MarketEvent] = []
    rejected: Counter[str] = Counter()
    for step, frame in enumerate(frames):
        try:
            events += proto.on_frame(frame, 1000 + step).events
        except FrameError as exc:
            rejected[exc.reason] += 1
    return events, rejected


def test_conf_first_then_one_subscribe_frame_per_channel() -> None:
    frames = BitfinexProtocol(
        config(["tBTCUSD"], (DataType.CANDLE, DataType.L2_ORDERBOOK, DataType.TRADE), depth=30)
    ).subscribe_frames()
    assert frames == [
        '{"event":"conf","flags":196608}',
        '{"event":"subscribe","channel":"trades","symbol":"tBTCUSD"}',
        '{"event":"subscribe","channel":"book","symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"100"}',
        '{"event":"subscribe","channel":"candles","key":"trade:1m:tBTCUSD"}',
    ]
    keepalive = protocol().keepalive()
    assert (keepalive.interval_s, keepalive.frame) == (30.0, '{"event":"ping","cid":1}')
    assert [book_length(d) for d in (0, 1, 25, 26, 100, 101, 250, 1000)] == [
        25,
        25,
        25,
        100,
        100,
        250,
        250,
        250,
    ]


def test_spec_and_connections_of_at_most_25_channels() -> None:
    assert SPEC.data_types == frozenset(
        {DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE}
    )
    assert SPEC.default_ws_url == "wss://api-pub.bitfinex.com/ws/2"
    assert SPEC.docs[2] == "https://docs.bitfinex.com/docs/ws-websocket-checksum"
    names = [f"t{i:03d}USD" for i in range(9)]
    assert [len(c.subscriptions) for c in split_config(config(names))] == [8, 1]
    assert [len(c.subscriptions) for c in split_config(config(SYMBOLS))] == [7]
    plan = plan_connections(SPEC, config(names))
    assert [(name, len(c.subscriptions)) for name, c in plan] == [
        ("bitfinex", 8),
        ("bitfinex#2", 1),
    ]


def test_the_recorded_session_gives_its_trades_tickers_and_books_with_no_refusal() -> None:
    events, rejected = replayed(protocol(), recv())
    counts = Counter((e.data_type.value, getattr(e.payload, "is_snapshot", None)) for e in events)
    assert rejected == Counter()
    assert counts == {
        ("trade", None): 210,
        ("ticker", None): 21,
        ("l2_orderbook", True): 7,
        ("l2_orderbook", False): 1593,
    }
    trades = [e for e in events if e.data_type is DataType.TRADE]
    assert trades[0] == MarketEvent(
        instrument("tBFTUSD"),
        DataType.TRADE,
        1017,
        1618617842840,
        Trade("669293762", Decimal("0.071361"), Decimal("393.46666667"), Side.SELL),
        "669293762",
    )
    assert Counter(e.instrument.instrument for e in trades) == {s: 30 for s in SYMBOLS}
    ticker = next(e for e in events if e.data_type is DataType.TICKER)
    assert ticker.payload == Ticker(
        Decimal("0.068965"), Decimal("60157.36709703"), Decimal("0.0774"), Decimal("48578.50804052")
    )
    assert ticker.dedup_key == (
        "1:0.068965:60157.36709703:0.0774:48578.50804052:"
        "0.001969:0.0262:0.076989:101459.39453471:0.0828:0.068961"
    )
    first_book = next(e for e in events if e.data_type is DataType.L2_ORDERBOOK)
    assert first_book.instrument.instrument == "tTESTBTC:TESTUSD"
    assert first_book.payload.bids[:2] == (  # type: ignore[union-attr]
        (Decimal("60400"), Decimal("0.68826974")),
        (Decimal("60397"), Decimal("1.17989099")),
    )
    assert first_book.dedup_key == "snapshot:1:15"


def _through(proto: BitfinexProtocol, upto: int) -> None:
    """The recorded frames before ``upto`` (those of channels not subscribed are refused)."""
    replayed(proto, recv()[:upto])


def test_a_sequence_break_resyncs_every_book_and_the_next_message_sets_the_baseline() -> None:
    frames = recv()
    proto = protocol()
    _through(proto, 700)  # every book is subscribed (the last at frame 647)
    outcome = proto.on_frame(frames[701], 2)  # frame 700 (a message of any channel) lost
    assert sorted(r.instrument.instrument for r in outcome.resyncs) == sorted(SYMBOLS)
    assert {r.reason for r in outcome.resyncs} == {"gap"}
    assert sorted(outcome.replies[0::2]) == sorted(
        f'{{"event":"unsubscribe","chanId":{chan}}}' for chan in BOOKS.values()
    )
    assert all('"channel":"book"' in reply for reply in outcome.replies[1::2])
    later, rejected = replayed(proto, frames[702:1000])
    assert rejected == Counter()
    assert not [e for e in later if e.data_type is DataType.L2_ORDERBOOK]


def test_a_gap_revealed_by_a_refused_message_still_sends_the_resync() -> None:
    proto = protocol(["tDOGUSD"])
    _through(proto, 700)
    outcome = proto.on_frame("[999999,[1,2,3],5000]", 2)  # a gap, on a channel never subscribed
    assert [(r.instrument.instrument, r.reason) for r in outcome.resyncs] == [("tDOGUSD", "gap")]
    assert outcome.replies[0] == '{"event":"unsubscribe","chanId":225206}'


def test_a_repeated_sequence_number_is_stale_and_skipped() -> None:
    frames = recv()
    proto = protocol()
    _through(proto, 100)
    with pytest.raises(FrameError) as caught:
        proto.on_frame(frames[98], 2)
    assert caught.value.reason == "stale_update"
    assert proto.on_frame(frames[100], 3).resyncs == []


def test_maintenance_holds_resyncs_and_its_end_subscribes_every_channel_again() -> None:
    proto = protocol(["tDOGUSD"])
    _through(proto, 60)
    start = proto.on_frame('{"event":"info","code":20060,"msg":"Maintenance"}', 2)
    assert start.replies == [] and start.resyncs == []
    held = proto.resync_books(["tDOGUSD"], "checksum")
    assert ([r.reason for r in held.resyncs], held.replies) == (["checksum"], [])
    end = proto.on_frame('{"event":"info","code":20061,"msg":"Maintenance ended"}', 3)
    assert end.replies == [
        '{"event":"unsubscribe","chanId":232950}',
        '{"event":"unsubscribe","chanId":225158}',
        '{"event":"unsubscribe","chanId":225206}',
        '{"event":"subscribe","channel":"trades","symbol":"tDOGUSD"}',
        '{"event":"subscribe","channel":"ticker","symbol":"tDOGUSD"}',
        '{"event":"subscribe","channel":"book","symbol":"tDOGUSD","prec":"P0","freq":"F0","len":"100"}',
    ]
    assert [(r.instrument.instrument, r.reason) for r in end.resyncs] == [
        ("tDOGUSD", "maintenance")
    ]


def test_info_20051_asks_for_a_reconnect() -> None:
    outcome = protocol().on_frame('{"event":"info","code":20051,"msg":"Stop/Restart"}', 1)
    assert outcome.reconnect is True
    greeting = recv()[0]
    assert protocol().on_frame(greeting, 1).reconnect is False


def test_a_fresh_subscription_replaces_the_book_after_its_unsubscribe() -> None:
    proto = protocol(["tDOGUSD"], (DataType.L2_ORDERBOOK,))
    proto.on_frame(subscribed("book", 5, "tDOGUSD"), 1)
    proto.on_frame("[5,[[100,1,2],[101,1,-3]]]", 2)
    outcome = proto.resync_books(None, "checksum")
    assert outcome.replies[0] == '{"event":"unsubscribe","chanId":5}'
    assert proto.on_frame("[5,[100,1,7]]", 3).events == []  # the old channel, on its way out
    assert proto.resync_books(None, "gap").replies == []  # a subscribe is already under way
    proto.on_frame('{"event":"unsubscribed","status":"OK","chanId":5}', 4)
    with pytest.raises(FrameError) as caught:
        proto.on_frame("[5,[100,1,7]]", 5)
    assert caught.value.reason == "unsubscribed"
    proto.on_frame(subscribed("book", 6, "tDOGUSD"), 6)
    (snapshot,) = proto.on_frame("[6,[[100,1,4],[102,2,-5]]]", 7).events
    assert snapshot.payload.bids == ((Decimal(100), Decimal(4)),)  # type: ignore[union-attr]
    assert snapshot.payload.asks == ((Decimal(102), Decimal(5)),)  # type: ignore[union-attr]
    assert snapshot.dedup_key == "snapshot:2:"


def test_the_documented_candle_is_an_open_candle_of_the_subscribed_time_frame() -> None:
    proto = BitfinexProtocol(config(["tBTCUSD"], (DataType.CANDLE,)))
    proto.on_frame(
        '{"event":"subscribed","channel":"candles","chanId":343351,"key":"trade:1m:tBTCUSD"}', 1
    )
    (event,) = proto.on_frame(f"[343351,{CANDLE_EXAMPLE}]", 2).events
    assert event.payload == Candle(
        "1m",
        1574698260000,
        1574698320000,
        Decimal("7379.785503"),
        Decimal("7388.3"),
        Decimal("7379.785503"),
        Decimal("7383.8"),
        Decimal("1.68829482"),
        False,
    )
    older = CANDLE_EXAMPLE.replace("1574698260000", "1574698200000")
    (newest,) = proto.on_frame(f"[343351,[{older},{CANDLE_EXAMPLE}]]", 3).events
    assert newest.exchange_timestamp_ms == 1574698260000


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ('{"event":"error","msg":"symbol: invalid","code":10300}', "subscribe_error"),
        ('{"event":"conf","status":"FAILED","flags":196608}', "subscribe_error"),
        ('{"event":"whatever"}', "unknown_event"),
        ('"hb"', "unknown_event"),
        ("[999,[1,2,3]]", "unsubscribed"),
        ('{"event":"subscribed","channel":"book","chanId":1,"symbol":"tXXXUSD"}', "unsubscribed"),
        ("[1,", "not_json"),
    ],
)
def test_refused_frames_name_their_reason(frame: str, reason: str) -> None:
    with pytest.raises(FrameError) as caught:
        protocol().on_frame(frame, 1)
    assert caught.value.reason == reason


def test_a_candle_interval_bitfinex_does_not_offer_is_refused_when_the_protocol_is_built() -> None:
    sub = config(["tBTCUSD"], (DataType.CANDLE,)).subscriptions[0]
    for interval, key in (("1d", "trade:1D:tBTCUSD"), ("2w", "trade:14D:tBTCUSD")):
        frames = BitfinexProtocol(
            VenueConfig(id="bitfinex", subscriptions=(replace(sub, candle_interval=interval),))
        ).subscribe_frames()
        assert frames[1] == f'{{"event":"subscribe","channel":"candles","key":"{key}"}}'
    with pytest.raises(InvalidValueError) as caught:
        BitfinexProtocol(
            VenueConfig(id="bitfinex", subscriptions=(replace(sub, candle_interval="1M"),))
        )
    assert "Bitfinex offers 1m, 5m, 15m, 30m, 1h, 3h, 6h, 12h, 1d, 1w, 2w" in str(caught.value)
