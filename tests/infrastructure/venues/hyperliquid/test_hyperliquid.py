"""Hyperliquid adapter on the venue's documented example messages.

No recorded Hyperliquid session exists in shared/captures. The bodies below are
the documented examples, each test citing its page:

- SUBSCRIPTIONS: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions
  (channel names, the ``{"channel": ..., "data": ...}`` wrapper, the WsTrade /
  WsBook / WsBbo / WsLevel / Candle / WsActiveAssetCtx types)
- WEBSOCKET: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket
  (the wscat example: subscribe to SOL trades and its subscriptionResponse)
- HEARTBEATS: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/timeouts-and-heartbeats
- INFO: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint
  (the ``l2Book`` snapshot and ``candleSnapshot`` example responses: the
  WsBook and Candle shapes with string prices)
- PERPETUALS: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/perpetuals
  (``meta`` and ``metaAndAssetCtxs`` example responses)
- SPOT: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/spot
- RATE_LIMITS: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from relay.application.errors import FrameError
from relay.application.ports import Keepalive, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    MarketEvent,
    OpenInterest,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.hyperliquid.listing import (
    PERP_LISTING,
    SPOT_LISTING,
    parse_listing,
)
from relay.infrastructure.venues.registry import venue_spec
from relay.sim.venues.registry import simulated_venue

ALL = (
    DataType.TRADE,
    DataType.TICKER,
    DataType.L2_ORDERBOOK,
    DataType.FUNDING_RATE,
    DataType.OPEN_INTEREST,
    DataType.CANDLE,
)
BTC = Instrument("hyperliquid", "BTC", "BTC/USDC:PERP")
T_MS = 1_754_450_975_000

# INFO, "L2 book snapshot" example response (its "// number of levels" comment
# and trailing comma removed so it is JSON): the WsBook shape of the l2Book channel.
DOC_BOOK: dict[str, Any] = {
    "coin": "BTC",
    "time": 1754450974231,
    "levels": [
        [
            {"px": "113377.0", "sz": "7.6699", "n": 17},
            {"px": "113376.0", "sz": "4.13714", "n": 8},
        ],
        [{"px": "113397.0", "sz": "0.11543", "n": 3}],
    ],
}

# INFO, "Candle snapshot" example response, first (only) element.
DOC_CANDLE: dict[str, Any] = {
    "T": 1681924499999,
    "c": "29258.0",
    "h": "29309.0",
    "i": "15m",
    "l": "29250.0",
    "n": 189,
    "o": "29295.0",
    "s": "BTC",
    "t": 1681923600000,
    "v": "0.98639",
}

# PERPETUALS, "metaAndAssetCtxs" example response, first asset context.
DOC_CTX: dict[str, Any] = {
    "dayNtlVlm": "1169046.29406",
    "funding": "0.0000125",
    "impactPxs": ["14.3047", "14.3444"],
    "markPx": "14.3161",
    "midPx": "14.314",
    "openInterest": "688.11",
    "oraclePx": "14.32",
    "premium": "0.00031774",
    "prevDayPx": "15.322",
}


def protocol(
    data_types: tuple[DataType, ...] = ALL,
    coins: tuple[str, ...] = ("BTC",),
    candle_interval: str = "15m",
    depth: int = 0,
) -> VenueProtocol:
    subs = tuple(
        SubscriptionConfig(coin, f"{coin}/USDC:PERP", data_types, depth, candle_interval)
        for coin in coins
    )
    return venue_spec("hyperliquid").protocol_factory(
        VenueConfig(id="hyperliquid", subscriptions=subs)
    )


def frame(channel: str, data: Any) -> str:
    return json.dumps({"channel": channel, "data": data})


def book_frame(time_ms: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> str:
    return frame(
        "l2Book",
        {
            "coin": "BTC",
            "time": time_ms,
            "levels": [
                [{"px": p, "sz": s, "n": 1} for p, s in bids],
                [{"px": p, "sz": s, "n": 1} for p, s in asks],
            ],
        },
    )


# --- trades ---------------------------------------------------------------


def test_trades_message_gives_one_trade_per_element_with_the_taker_side() -> None:
    """SUBSCRIPTIONS, ``WsTrade``: side "B" is a buy, "A" a sell; dedup key (time, tid).

    The official pages give the WsTrade type but no trade message; the first
    element's values are a live frame quoted in a third-party exchange reference
    (found with the code search: "BTC Price Stream - Exchange WebSocket Reference").
    """
    trades = [
        {
            "coin": "BTC",
            "side": "B",
            "px": "64411.0",
            "sz": "0.31377",
            "time": 1781416943647,
            "hash": "0x7f58708caf49d86c80d2043dae4bfc00009388724a4cf73e23211bdf6e4db257",
            "tid": 828642708897583,
            "users": ["0xe9be", "0xf910"],
        },
        {
            "coin": "BTC",
            "side": "A",
            "px": "64410.5",
            "sz": "0.00100",
            "time": 1781416943647,
            "hash": "0x00",
            "tid": 828642708897584,
            "users": ["0xaa", "0xbb"],
        },
    ]
    outcome = protocol().on_frame(frame("trades", trades), T_MS)
    assert outcome.events == [
        MarketEvent(
            BTC,
            DataType.TRADE,
            T_MS,
            1781416943647,
            Trade("828642708897583", Decimal("64411.0"), Decimal("0.31377"), Side.BUY),
            "1781416943647:828642708897583",
        ),
        MarketEvent(
            BTC,
            DataType.TRADE,
            T_MS,
            1781416943647,
            Trade("828642708897584", Decimal("64410.5"), Decimal("0.00100"), Side.SELL),
            "1781416943647:828642708897584",
        ),
    ]
    assert str(outcome.events[1].payload.price) == "64410.5"  # type: ignore[union-attr]
    assert outcome.snapshot_requests == [] and outcome.replies == [] and outcome.resyncs == []


def test_trade_with_an_unknown_side_is_an_invalid_value() -> None:
    """SUBSCRIPTIONS, ``WsTrade.side`` is "A" or "B"."""
    bad = [{"coin": "BTC", "side": "S", "px": "1.0", "sz": "1", "time": 1, "tid": 2}]
    with pytest.raises(FrameError) as error:
        protocol().on_frame(frame("trades", bad), T_MS)
    assert error.value.reason == "invalid_value"


# --- l2Book ---------------------------------------------------------------


def test_l2book_message_is_published_as_a_snapshot_with_exactly_the_venue_levels() -> None:
    """INFO l2Book example as an ``l2Book`` channel message (SUBSCRIPTIONS: WsBook)."""
    outcome = protocol().on_frame(frame("l2Book", DOC_BOOK), T_MS)
    assert outcome.events == [
        MarketEvent(
            BTC,
            DataType.L2_ORDERBOOK,
            T_MS,
            1754450974231,
            L2Update(
                bids=(
                    (Decimal("113377.0"), Decimal("7.6699")),
                    (Decimal("113376.0"), Decimal("4.13714")),
                ),
                asks=((Decimal("113397.0"), Decimal("0.11543")),),
                is_snapshot=True,
            ),
            "1754450974231",
        )
    ]
    assert outcome.resyncs == [] and outcome.replies == []


def test_every_newer_l2book_message_is_a_full_snapshot_replacing_the_last() -> None:
    """SUBSCRIPTIONS: WsBook is a "Snapshot feed": no diffs, levels gone from it are gone."""
    proto = protocol()
    proto.on_frame(frame("l2Book", DOC_BOOK), T_MS)
    outcome = proto.on_frame(
        book_frame(1754450974731, [("113370.0", "1.5")], [("113380.0", "2"), ("113381.5", "3")]),
        T_MS + 500,
    )
    assert [e.payload for e in outcome.events] == [
        L2Update(
            ((Decimal("113370.0"), Decimal("1.5")),),
            ((Decimal("113380.0"), Decimal("2")), (Decimal("113381.5"), Decimal("3"))),
            True,
        )
    ]
    assert outcome.events[0].dedup_key == "1754450974731"


def test_repeated_l2book_message_is_a_stale_update_and_publishes_nothing() -> None:
    """The same INFO l2Book example twice: the second's time is not newer."""
    proto = protocol()
    proto.on_frame(frame("l2Book", DOC_BOOK), T_MS)
    with pytest.raises(FrameError) as error:
        proto.on_frame(frame("l2Book", DOC_BOOK), T_MS + 1)
    assert error.value.reason == "stale_update"


def test_older_l2book_message_is_stale_and_the_next_newer_one_is_published() -> None:
    proto = protocol()
    proto.on_frame(frame("l2Book", DOC_BOOK), T_MS)
    with pytest.raises(FrameError) as error:
        proto.on_frame(book_frame(1754450974000, [("1.0", "1")], [("2.0", "1")]), T_MS + 1)
    assert error.value.reason == "stale_update"
    outcome = proto.on_frame(book_frame(1754450974232, [("1.0", "1")], [("2.0", "1")]), T_MS + 2)
    assert [e.dedup_key for e in outcome.events] == ["1754450974232"]


def test_refused_l2book_does_not_advance_the_time_so_a_good_one_at_that_time_is_published() -> None:
    proto = protocol()
    with pytest.raises(FrameError) as error:
        proto.on_frame(book_frame(100, [("2.0", "1")], [("1.0", "1")]), T_MS)
    assert error.value.reason == "invalid_value"
    outcome = proto.on_frame(book_frame(100, [("1.0", "1")], [("2.0", "1")]), T_MS)
    assert len(outcome.events) == 1


@pytest.mark.parametrize(
    ("bids", "asks", "why"),
    [
        ([("113377.0", "1"), ("113378.0", "1")], [("113397.0", "1")], "bids ascending"),
        ([("113377.0", "1"), ("113377.0", "1")], [("113397.0", "1")], "bids repeated"),
        ([("113377.0", "1")], [("113398.0", "1"), ("113397.0", "1")], "asks descending"),
        ([("113397.0", "1")], [("113397.0", "1")], "crossed"),
        ([("113377.0", "0")], [("113397.0", "1")], "zero size"),
        ([("113377.0", "-1")], [("113397.0", "1")], "negative size"),
        ([("0", "1")], [("113397.0", "1")], "zero price"),
    ],
)
def test_l2book_snapshot_that_cannot_be_a_book_is_refused(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]], why: str
) -> None:
    with pytest.raises(FrameError) as error:
        protocol().on_frame(book_frame(1, bids, asks), T_MS)
    assert error.value.reason == "invalid_value", why


def test_l2book_prices_sent_as_json_numbers_are_refused() -> None:
    """SUBSCRIPTIONS, ``WsLevel.px: string``: a float would lose the venue's digits."""
    with pytest.raises(FrameError) as error:
        protocol().on_frame(
            '{"channel":"l2Book","data":{"coin":"BTC","time":1,'
            '"levels":[[{"px":113377.0,"sz":"1","n":1}],[]]}}',
            T_MS,
        )
    assert error.value.reason == "invalid_value"


def test_l2book_with_an_empty_side_is_published_with_that_side_empty() -> None:
    outcome = protocol().on_frame(book_frame(5, [("1.5", "2")], []), T_MS)
    assert [e.payload for e in outcome.events] == [
        L2Update(((Decimal("1.5"), Decimal("2")),), (), True)
    ]


def test_each_connection_accepts_its_first_book_and_both_give_the_same_dedup_key() -> None:
    """A new protocol per connection: rotation publishes the same message id twice."""
    first = protocol().on_frame(frame("l2Book", DOC_BOOK), T_MS).events[0]
    second = protocol().on_frame(frame("l2Book", DOC_BOOK), T_MS + 7).events[0]
    assert first.msg_id == second.msg_id == "hyperliquid:BTC:l2_orderbook:1754450974231"


@pytest.mark.parametrize("depth", [0, 1, 5, 20, 21, 100, 1000])
def test_every_depth_maps_to_the_twenty_level_book(depth: int) -> None:
    """l2Book has 20 levels per side; larger depths are capped, the frame is the same."""
    assert protocol((DataType.L2_ORDERBOOK,), depth=depth).subscribe_frames() == [
        '{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}'
    ]


# --- bbo ------------------------------------------------------------------


def test_bbo_message_is_a_ticker() -> None:
    """SUBSCRIPTIONS, ``WsBbo``: ``bbo: [bid, ask]`` of WsLevel (INFO example levels)."""
    bbo = {
        "coin": "BTC",
        "time": 1754450974231,
        "bbo": [
            {"px": "113377.0", "sz": "7.6699", "n": 17},
            {"px": "113397.0", "sz": "0.11543", "n": 3},
        ],
    }
    outcome = protocol().on_frame(frame("bbo", bbo), T_MS)
    assert outcome.events == [
        MarketEvent(
            BTC,
            DataType.TICKER,
            T_MS,
            1754450974231,
            Ticker(Decimal("113377.0"), Decimal("7.6699"), Decimal("113397.0"), Decimal("0.11543")),
            "1754450974231",
        )
    ]


def test_repeated_bbo_is_stale_and_a_one_sided_bbo_is_refused() -> None:
    """SUBSCRIPTIONS, ``WsBbo.bbo: [WsLevel | null, WsLevel | null]``."""
    proto = protocol()
    level = {"px": "1.0", "sz": "1", "n": 1}
    ask = {"px": "2.0", "sz": "1", "n": 1}
    proto.on_frame(frame("bbo", {"coin": "BTC", "time": 10, "bbo": [level, ask]}), T_MS)
    with pytest.raises(FrameError) as stale:
        proto.on_frame(frame("bbo", {"coin": "BTC", "time": 10, "bbo": [level, ask]}), T_MS)
    assert stale.value.reason == "stale_update"
    with pytest.raises(FrameError) as one_sided:
        proto.on_frame(frame("bbo", {"coin": "BTC", "time": 11, "bbo": [level, None]}), T_MS)
    assert one_sided.value.reason == "one_sided_book"


def test_bbo_and_l2book_keep_separate_times() -> None:
    proto = protocol()
    proto.on_frame(frame("l2Book", DOC_BOOK), T_MS)
    bbo = {
        "coin": "BTC",
        "time": DOC_BOOK["time"],
        "bbo": [{"px": "1.0", "sz": "1", "n": 1}, {"px": "2.0", "sz": "1", "n": 1}],
    }
    assert len(proto.on_frame(frame("bbo", bbo), T_MS).events) == 1


# --- activeAssetCtx ---------------------------------------------------------


def test_active_asset_ctx_gives_a_funding_rate_and_the_open_interest() -> None:
    """PERPETUALS metaAndAssetCtxs example context, as SUBSCRIPTIONS' WsActiveAssetCtx."""
    outcome = protocol().on_frame(frame("activeAssetCtx", {"coin": "BTC", "ctx": DOC_CTX}), T_MS)
    assert outcome.events == [
        MarketEvent(
            BTC,
            DataType.FUNDING_RATE,
            T_MS,
            None,
            FundingRate(Decimal("0.0000125"), Decimal("14.3161"), Decimal("14.32")),
            "0.0000125:14.3161:14.32:35a2649a91353f52",
        ),
        MarketEvent(
            BTC,
            DataType.OPEN_INTEREST,
            T_MS,
            None,
            OpenInterest(Decimal("688.11")),
            "688.11:35a2649a91353f52",
        ),
    ]


def test_active_asset_ctx_numbers_keep_their_digits() -> None:
    """SUBSCRIPTIONS types PerpsAssetCtx fields as ``number``: decoded as Decimal, not float."""
    text = (
        '{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":0.0000125,'
        '"openInterest":688.110,"markPx":14.3161,"oraclePx":14.32,"dayNtlVlm":1.0,'
        '"prevDayPx":15.322}}}'
    )
    events = protocol().on_frame(text, T_MS).events
    assert events[0].payload == FundingRate(
        Decimal("0.0000125"), Decimal("14.3161"), Decimal("14.32")
    )
    assert str(events[1].payload.open_interest) == "688.110"  # type: ignore[union-attr]


def test_active_asset_ctx_publishes_only_the_wanted_data_types() -> None:
    proto = protocol((DataType.OPEN_INTEREST,))
    events = proto.on_frame(frame("activeAssetCtx", {"coin": "BTC", "ctx": DOC_CTX}), T_MS).events
    assert [e.data_type for e in events] == [DataType.OPEN_INTEREST]
    with pytest.raises(FrameError) as error:
        protocol((DataType.TRADE,)).on_frame(
            frame("activeAssetCtx", {"coin": "BTC", "ctx": DOC_CTX}), T_MS
        )
    assert error.value.reason == "unsubscribed"


def test_spot_asset_ctx_without_funding_is_a_missing_field_for_a_funding_subscription() -> None:
    """SUBSCRIPTIONS, WsActiveSpotAssetCtx (SPOT spotMetaAndAssetCtxs example) has no funding."""
    spot_ctx = {
        "dayNtlVlm": "8906.0",
        "markPx": "0.14",
        "midPx": "0.209265",
        "prevDayPx": "0.20432",
    }
    with pytest.raises(FrameError) as error:
        protocol((DataType.FUNDING_RATE,)).on_frame(
            frame("activeAssetCtx", {"coin": "BTC", "ctx": spot_ctx}), T_MS
        )
    assert error.value.reason == "missing_field"


# --- candle ---------------------------------------------------------------


def test_candle_message_is_an_open_candle() -> None:
    """INFO candleSnapshot example as a ``candle`` channel message (SUBSCRIPTIONS: Candle)."""
    outcome = protocol().on_frame(frame("candle", DOC_CANDLE), T_MS)
    assert outcome.events == [
        MarketEvent(
            BTC,
            DataType.CANDLE,
            T_MS,
            None,
            Candle(
                "15m",
                1681923600000,
                1681924499999,
                Decimal("29295.0"),
                Decimal("29309.0"),
                Decimal("29250.0"),
                Decimal("29258.0"),
                Decimal("0.98639"),
                False,
                trade_count=189,
            ),
            "1681923600000:189:0.98639:29258.0:29309.0:29250.0",
        )
    ]


def test_candle_rollover_publishes_the_previous_candle_closed_then_the_new_one() -> None:
    proto = protocol()
    proto.on_frame(frame("candle", DOC_CANDLE), T_MS)
    later = dict(
        DOC_CANDLE,
        t=1681924500000,
        T=1681925399999,
        o="29258.0",
        c="29260.0",
        h="29260.0",
        l="29258.0",
        v="0.1",
        n=3,
    )
    events = proto.on_frame(frame("candle", later), T_MS + 1).events
    assert [
        (e.payload.open_time_ms, e.payload.is_closed, e.dedup_key)  # type: ignore[union-attr]
        for e in events
    ] == [
        (1681923600000, True, "1681923600000:closed"),
        (1681924500000, False, "1681924500000:3:0.1:29260.0:29260.0:29258.0"),
    ]
    assert events[0].payload == Candle(
        "15m",
        1681923600000,
        1681924499999,
        Decimal("29295.0"),
        Decimal("29309.0"),
        Decimal("29250.0"),
        Decimal("29258.0"),
        Decimal("0.98639"),
        True,
        trade_count=189,
    )
    with pytest.raises(FrameError) as error:
        proto.on_frame(frame("candle", DOC_CANDLE), T_MS + 2)
    assert error.value.reason == "stale_update"


def test_candle_prices_sent_as_json_numbers_keep_their_digits() -> None:
    """SUBSCRIPTIONS types Candle o/c/h/l/v as ``number``."""
    text = (
        '{"channel":"candle","data":{"t":1681923600000,"T":1681924499999,"s":"BTC",'
        '"i":"15m","o":29295.0,"c":29258.0,"h":29309.0,"l":29250.0,"v":0.98639,"n":189}}'
    )
    candle = protocol().on_frame(text, T_MS).events[0].payload
    assert isinstance(candle, Candle)
    assert (str(candle.open), str(candle.volume)) == ("29295.0", "0.98639")


def test_candle_of_another_interval_is_unsubscribed() -> None:
    with pytest.raises(FrameError) as error:
        protocol(candle_interval="1m").on_frame(frame("candle", DOC_CANDLE), T_MS)
    assert error.value.reason == "unsubscribed"


# --- control frames, errors -----------------------------------------------


def test_pong_and_subscription_responses_give_an_empty_outcome() -> None:
    """HEARTBEATS: ``{ "channel": "pong" }``; WEBSOCKET: the wscat subscriptionResponse."""
    proto = protocol()
    for text in (
        '{ "channel": "pong" }',
        '{"channel":"subscriptionResponse","data":{"method":"subscribe",'
        '"subscription":{"type":"trades","coin":"SOL"}}}',
    ):
        outcome = proto.on_frame(text, T_MS)
        assert (outcome.events, outcome.snapshot_requests, outcome.replies, outcome.resyncs) == (
            [],
            [],
            [],
            [],
        )


def test_keepalive_is_the_documented_ping_every_thirty_seconds() -> None:
    """HEARTBEATS: the server closes connections silent for 60 s; ``{ "method": "ping" }``."""
    assert protocol().keepalive() == Keepalive(30.0, '{"method":"ping"}')
    assert json.loads('{"method":"ping"}') == {"method": "ping"}


def test_subscribe_frames_one_per_channel_in_the_documented_format() -> None:
    """SUBSCRIPTIONS: one ``{"method":"subscribe","subscription":{...}}`` per feed."""
    frames = protocol(coins=("BTC", "PURR/USDC")).subscribe_frames()
    assert [json.loads(f) for f in frames] == [
        {"method": "subscribe", "subscription": {"type": t, "coin": c, **extra}}
        for c in ("BTC", "PURR/USDC")
        for t, extra in (
            ("trades", {}),
            ("bbo", {}),
            ("l2Book", {}),
            ("activeAssetCtx", {}),
            ("candle", {"interval": "15m"}),
        )
    ]


def test_funding_and_open_interest_share_one_subscription() -> None:
    frames = protocol((DataType.FUNDING_RATE, DataType.OPEN_INTEREST)).subscribe_frames()
    assert frames == [
        '{"method":"subscribe","subscription":{"type":"activeAssetCtx","coin":"BTC"}}'
    ]


def test_registry_limits_follow_the_documented_rate_limits() -> None:
    """RATE_LIMITS: 1000 subscriptions and 2000 sent messages per minute per IP."""
    spec = venue_spec("hyperliquid")
    assert spec.max_subscriptions_per_connection == 200  # 1000 / 5 channels per entry
    assert spec.subscribe_interval_s == 0.05  # 1200 frames per minute
    assert 60 / spec.subscribe_interval_s < 2000
    assert spec.max_subscriptions_per_connection * 5 <= 1000
    assert spec.data_types == frozenset(ALL)
    assert protocol().ws_url() == "wss://api.hyperliquid.xyz/ws"


def test_nothing_is_fetched_on_open() -> None:
    outcome = protocol().on_open()
    assert (outcome.events, outcome.snapshot_requests, outcome.replies) == ([], [], [])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not_json"),
        ("[1, 2]", "unknown_event"),
        ('{"channel":"allMids","data":{"mids":{}}}', "unknown_event"),
        ('{"data":{}}', "unknown_event"),
        (
            '{"channel":"error","data":"Error parsing JSON into valid websocket request: '
            '{ \\"type\\": \\"allMids\\" }"}',
            "subscribe_error",
        ),
        ('{"channel":"l2Book","data":{"coin":"BTC","levels":[[],[]]}}', "missing_field"),
        ('{"channel":"l2Book","data":{"coin":"BTC","time":-1,"levels":[[],[]]}}', "invalid_value"),
        ('{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[]]}}', "invalid_value"),
        ('{"channel":"l2Book","data":{"coin":"ETH","time":1,"levels":[[],[]]}}', "unsubscribed"),
        ('{"channel":"trades","data":{"coin":"BTC"}}', "invalid_value"),
        (
            '{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"1","sz":"1","time":1}]}',
            "missing_field",
        ),
        (
            '{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"NaN","sz":"1","time":1,'
            '"tid":1}]}',
            "invalid_value",
        ),
        (
            '{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"1","sz":"1","time":true,'
            '"tid":1}]}',
            "invalid_value",
        ),
        ('{"channel":"candle","data":{"s":"BTC","i":"15m","t":1}}', "missing_field"),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(FrameError) as error:
        protocol().on_frame(text, T_MS)
    assert error.value.reason == reason


# --- simulated venue --------------------------------------------------------


def test_simulated_venue_answers_pings_and_acknowledges_subscriptions() -> None:
    """HEARTBEATS (ping/pong) and WEBSOCKET (subscriptionResponse echoes the subscription)."""
    factory = simulated_venue("hyperliquid")
    assert factory is not None
    venue = factory()
    assert list(venue.on_client_frame('{"method":"ping"}')) == ['{"channel":"pong"}']
    sub = '{"method":"subscribe","subscription":{"type":"trades","coin":"SOL"}}'
    assert [json.loads(f) for f in venue.on_client_frame(sub)] == [
        {
            "channel": "subscriptionResponse",
            "data": {"method": "subscribe", "subscription": {"type": "trades", "coin": "SOL"}},
        }
    ]
    unsub = '{"method":"unsubscribe","subscription":{"type":"l2Book","coin":"BTC"}}'
    assert json.loads(venue.on_client_frame(unsub)[0])["data"]["method"] == "unsubscribe"
    assert list(venue.on_client_frame("nonsense")) == []
    assert list(venue.on_client_frame('{"method":"post","id":1}')) == []


def test_simulated_venue_sends_the_latest_book_after_a_book_subscribe() -> None:
    factory = simulated_venue("hyperliquid")
    assert factory is not None
    venue = factory()
    sub = '{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}'
    assert len(venue.on_client_frame(sub)) == 1
    older = book_frame(1, [("1.0", "1")], [("2.0", "1")])
    latest = frame("l2Book", DOC_BOOK)
    venue.on_frame_passed(older)
    venue.on_frame_passed(latest)
    venue.on_frame_passed(frame("trades", []))
    replies = list(venue.on_client_frame(sub))
    assert replies[1] == latest
    # A fresh connection's protocol takes that frame as its first snapshot.
    proto = protocol()
    assert proto.on_frame(replies[0], T_MS).events == []
    assert [e.dedup_key for e in proto.on_frame(replies[1], T_MS).events] == ["1754450974231"]


# --- instrument listing -----------------------------------------------------

# PERPETUALS "meta" example response, its two "//" comments removed so it is JSON.
DOC_META = """{"universe": [
  {"name": "BTC", "szDecimals": 5, "maxLeverage": 50},
  {"name": "ETH", "szDecimals": 4, "maxLeverage": 50},
  {"name": "HPOS", "szDecimals": 0, "maxLeverage": 3, "onlyIsolated": true},
  {"name": "LOOM", "szDecimals": 1, "maxLeverage": 3, "isDelisted": true,
   "marginMode": "strictIsolated", "onlyIsolated": true}],
 "marginTables": [[50, {"description": "", "marginTiers": [
   {"lowerBound": "0.0", "maxLeverage": 50}]}]]}"""

# SPOT "spotMeta" example response, its typos repaired ("weiDecimals" 8 -> "weiDecimals": 8,
# trailing commas removed) so it is JSON.
DOC_SPOT_META = """{"tokens": [
  {"name": "USDC", "szDecimals": 8, "weiDecimals": 8, "index": 0,
   "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054", "isCanonical": true,
   "evmContract": null, "fullName": null},
  {"name": "PURR", "szDecimals": 0, "weiDecimals": 5, "index": 1,
   "tokenId": "0xc1fb593aeffbeb02f85e0308e9956a90", "isCanonical": true,
   "evmContract": null, "fullName": null},
  {"name": "HFUN", "szDecimals": 2, "weiDecimals": 8, "index": 2,
   "tokenId": "0xbaf265ef389da684513d98d68edf4eae", "isCanonical": false,
   "evmContract": null, "fullName": null}],
 "universe": [
  {"name": "PURR/USDC", "tokens": [1, 0], "index": 0, "isCanonical": true},
  {"tokens": [2, 0], "name": "@1", "index": 1, "isCanonical": false}]}"""


def test_listing_posts_meta_and_spot_meta_to_info() -> None:
    listing = venue_spec("hyperliquid").instrument_listing
    assert listing is not None
    assert [(r.path, r.json_body) for r in listing.requests] == [
        ("/info", '{"type":"meta"}'),
        ("/info", '{"type":"spotMeta"}'),
    ]
    assert venue_spec("hyperliquid").default_rest_url == "https://api.hyperliquid.xyz"


def test_meta_lists_live_perpetuals_as_usdc_perps() -> None:
    """PERPETUALS "Retrieve perpetuals metadata" example: LOOM is delisted."""
    listed = parse_listing(PERP_LISTING, DOC_META.encode())
    assert [(i.instrument, i.canonical_symbol, i.kind) for i in listed] == [
        ("BTC", "BTC/USDC:PERP", "perpetual"),
        ("ETH", "ETH/USDC:PERP", "perpetual"),
        ("HPOS", "HPOS/USDC:PERP", "perpetual"),
    ]


def test_spot_meta_lists_pairs_named_from_their_tokens() -> None:
    """SPOT "Retrieve spot metadata" example: "@1" is HFUN/USDC."""
    listed = parse_listing(SPOT_LISTING, DOC_SPOT_META.encode())
    assert [(i.instrument, i.canonical_symbol, i.kind) for i in listed] == [
        ("PURR/USDC", "PURR/USDC", "spot"),
        ("@1", "HFUN/USDC", "spot"),
    ]


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"universe": 3}', b'{"universe": [{"szDecimals": 5}]}']
)
def test_unreadable_listing_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_listing(PERP_LISTING, body)
    with pytest.raises(ValueError):
        parse_listing(SPOT_LISTING, body)


def test_spot_pair_naming_an_unknown_token_raises_value_error() -> None:
    body = (
        b'{"tokens": [{"name": "USDC", "index": 0}],'
        b' "universe": [{"name": "@9", "tokens": [7, 0]}]}'
    )
    with pytest.raises(ValueError):
        parse_listing(SPOT_LISTING, body)
