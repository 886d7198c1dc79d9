"""``VenueProtocol.resync_books`` on every registered venue: the book waits for a fresh snapshot.

For each venue id a book is synced from recorded frames (``shared/captures``:
Binance's three markets, OKX, Coinbase Exchange, Deribit, BitMEX, Bitstamp, Gate.io,
Kraken Futures) or the venue's documented examples (Bybit, Kraken, Coinbase,
Hyperliquid, Crypto.com, dYdX: no recording), then
``resync_books(None, "internal_error")`` is called. What it returns must start
the venue's own resync (REST snapshot requests, or the unsubscribe + subscribe
frames of the book channel and a ``BookResync``); the book deltas that follow
must publish nothing (the same frames do publish deltas on a book left synced:
the check can fail); and once the fresh snapshot (snapshot frame or REST body)
is handed in, the published book is exactly that snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from support import cryptocom_frames
from support.coinbase_frames import book_snapshot, l2
from support.dydx_frames import BOOK_SNAPSHOT as DYDX_SNAPSHOT
from support.dydx_frames import CONNECTED as DYDX_CONNECTED
from support.dydx_frames import book as dydx_book
from support.dydx_frames import numbered
from support.kraken_frames import MATIC_ASKS, MATIC_BIDS, MATIC_UPDATE, matic_snapshot
from support.reference_books import records
from test_bybit import delta_with, snapshot_before_delta
from test_hyperliquid import T_MS
from test_hyperliquid import book_frame as hyperliquid_book

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, SnapshotRequest, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent
from relay.infrastructure.venues.registry import registered_venues, venue_spec

REASON = "internal_error"
Levels = tuple[tuple[Decimal, Decimal], ...]


@dataclass
class Scenario:
    """One venue's book, the frames around a resync and the fresh snapshot.

    Attributes:
        instrument: the venue instrument id of the book (as configured).
        sync: frames that bring the book to synced (a REST venue's initial
            snapshot body goes in ``sync_body``, handed in after the frame at
            ``sync_body_after``).
        deltas: frames that publish book deltas on a synced book (none for a
            venue whose every book message is a snapshot).
        fresh: frames carrying the fresh snapshot (a REST venue's fresh body
            goes in ``fresh_body``, handed in after the deltas).
        snapshot: the fresh snapshot's (bids best first, asks best first).
        replies: the frames the resync must send to the venue.
        rest: True when the venue resyncs from REST snapshots.
    """

    instrument: str
    sync: list[str]
    deltas: list[str]
    fresh: list[str]
    snapshot: tuple[Levels, Levels]
    replies: list[str] = field(default_factory=list)
    rest: bool = False
    sync_body: bytes = b""
    sync_body_after: int = 0
    fresh_body: bytes = b""


def config(venue: str, instrument: str, **sub: Any) -> VenueConfig:
    """One subscription to the book (only) of ``instrument``."""
    return VenueConfig(
        id=venue,
        subscriptions=(
            SubscriptionConfig(
                instrument, instrument.replace("-", "/"), (DataType.L2_ORDERBOOK,), **sub
            ),
        ),
    )


def levels(pairs: list[tuple[str, str]] | list[list[str]], descending: bool) -> Levels:
    parsed = [(Decimal(p), Decimal(q)) for p, q in pairs if Decimal(q) != 0]
    return tuple(sorted(parsed, key=lambda level: level[0], reverse=descending))


def binance(capture: str) -> Callable[[], Scenario]:
    """The first recorded depth snapshot of ``capture`` and its symbol's recorded diffs.

    The fresh REST body is the recorded snapshot with the diffs up to the third
    one fed after the resync applied (``lastUpdateId`` = that diff's ``u``), as
    the venue would answer then.
    """

    def build() -> Scenario:
        recs = records(capture)
        http = next(r for r in recs if r["kind"] == "http" and "depth" in r["url"])
        symbol = http["url"].split("symbol=")[1].split("&")[0]
        snapshot = json.loads(http["data"])
        frames = [
            r["data"]
            for r in recs
            if r["kind"] == "recv"
            and json.loads(r["data"])["data"].get("e") == "depthUpdate"
            and json.loads(r["data"])["data"]["s"] == symbol
        ]
        diffs = [json.loads(frame)["data"] for frame in frames]
        first = next(i for i, d in enumerate(diffs) if d["u"] >= snapshot["lastUpdateId"])
        sync = frames[: first + 3]
        deltas = frames[first + 3 : first + 9]
        as_of = first + 5
        book = {"b": dict(snapshot["bids"]), "a": dict(snapshot["asks"])}
        for diff in diffs[first : as_of + 1]:
            for key in ("b", "a"):
                for price, quantity in diff[key]:
                    book[key][price] = quantity
        bids = [(p, q) for p, q in book["b"].items() if Decimal(q) != 0]
        asks = [(p, q) for p, q in book["a"].items() if Decimal(q) != 0]
        body = json.dumps({"lastUpdateId": diffs[as_of]["u"], "bids": bids, "asks": asks})
        return Scenario(
            symbol,
            sync,
            deltas,
            [],
            (levels(bids, True), levels(asks, False)),
            rest=True,
            sync_body=http["data"].encode(),
            sync_body_after=first + 1,
            fresh_body=body.encode(),
        )

    return build


def gate(capture: str) -> Callable[[], Scenario]:
    """As :func:`binance`, for Gate.io's recorded ``order_book_update`` diffs and REST bodies
    (``id``; futures levels ``{"p": price, "s": size}``), on the first fetched book that has
    nine diffs after its snapshot."""

    def pairs(raw: list[Any]) -> list[tuple[str, str]]:
        return [(x["p"], str(x["s"])) if isinstance(x, dict) else (x[0], x[1]) for x in raw]

    def build() -> Scenario:
        recs = records(capture)
        updates = [
            r["data"]
            for r in recs
            if r["kind"] == "recv"
            and json.loads(r["data"])["channel"].endswith("order_book_update")
            and json.loads(r["data"])["event"] == "update"
        ]
        for http in (r for r in recs if r["kind"] == "http"):
            symbol = http["url"].split("=")[1].split("&")[0]
            snapshot = json.loads(http["data"])
            frames = [f for f in updates if json.loads(f)["result"]["s"] == symbol]
            diffs = [json.loads(frame)["result"] for frame in frames]
            later = [i for i, d in enumerate(diffs) if d["u"] > snapshot["id"]]
            if later and len(diffs) >= later[0] + 9:
                break
        first = later[0]
        as_of = first + 5
        book = {"b": dict(pairs(snapshot["bids"])), "a": dict(pairs(snapshot["asks"]))}
        for diff in diffs[first : as_of + 1]:
            for key in ("b", "a"):
                book[key].update(pairs(diff[key]))
        bids = [(p, q) for p, q in book["b"].items() if Decimal(q) != 0]
        asks = [(p, q) for p, q in book["a"].items() if Decimal(q) != 0]
        futures = isinstance((snapshot["bids"] + snapshot["asks"])[0], dict)
        body = {
            "id": diffs[as_of]["u"],
            "bids": [{"p": p, "s": int(q)} if futures else [p, q] for p, q in bids],
            "asks": [{"p": p, "s": int(q)} if futures else [p, q] for p, q in asks],
        }
        return Scenario(
            symbol,
            frames[: first + 3],
            frames[first + 3 : first + 9],
            [],
            (levels(bids, True), levels(asks, False)),
            rest=True,
            sync_body=http["data"].encode(),
            sync_body_after=first + 1,
            fresh_body=json.dumps(body).encode(),
        )

    return build


def bitstamp() -> Scenario:
    """bitstamp.jsonl's ethusd order book and diffs: the diff before the snapshot's
    ``microtimestamp`` (so the stream reaches it), the body, three diffs after it; the fresh
    body is the book as of the third diff fed after the resync (its ``microtimestamp``)."""
    recs = records("bitstamp.jsonl")
    body = next(r["data"] for r in recs if r["kind"] == "http" and r["url"].endswith("/ethusd"))
    snapshot = json.loads(body)
    frames = [
        r["data"]
        for r in recs
        if r["kind"] == "recv" and '"channel":"diff_order_book_ethusd","event":"data"' in r["data"]
    ]
    diffs = [json.loads(frame)["data"] for frame in frames]
    stamp = int(snapshot["microtimestamp"])
    first = next(i for i, d in enumerate(diffs) if int(d["microtimestamp"]) > stamp)
    as_of = first + 5
    book = {"b": dict(snapshot["bids"]), "a": dict(snapshot["asks"])}
    for diff in diffs[first : as_of + 1]:
        for key, side in (("b", "bids"), ("a", "asks")):
            book[key].update(diff[side])
    bids = [(p, q) for p, q in book["b"].items() if Decimal(q) != 0]
    asks = [(p, q) for p, q in book["a"].items() if Decimal(q) != 0]
    fresh = {"microtimestamp": diffs[as_of]["microtimestamp"], "bids": bids, "asks": asks}
    return Scenario(
        "ethusd",
        frames[first - 1 : first + 3],
        frames[first + 3 : first + 9],
        [],
        (levels(bids, True), levels(asks, False)),
        rest=True,
        sync_body=body.encode(),
        sync_body_after=1,
        fresh_body=json.dumps(fresh).encode(),
    )


def bybit(venue: str) -> Callable[[], Scenario]:
    """The orderbook page's shapes: a snapshot at u=177400506, the documented delta at u+1."""

    def build() -> Scenario:
        snapshot = snapshot_before_delta()
        fresh = snapshot_before_delta()
        fresh["data"].update(
            u=177400600,
            seq=66544703400,
            b=[["30246.00", "4.000"]],
            a=[["30250.00", "0.500"], ["30251.00", "1.250"]],
        )
        deltas = [
            delta_with(177400507, 66544703342, [["30247.20", "30.028"]], []),
            delta_with(177400508, 66544703343, [], [["30260.00", "0"]]),
        ]
        topic = '["orderbook.50.BTCUSDT"]'
        return Scenario(
            "BTCUSDT",
            [json.dumps(snapshot)],
            [json.dumps(d) for d in deltas],
            [json.dumps(fresh)],
            (levels(fresh["data"]["b"], True), levels(fresh["data"]["a"], False)),
            replies=[
                f'{{"op":"unsubscribe","args":{topic}}}',
                f'{{"op":"subscribe","args":{topic}}}',
            ],
        )

    return build


def recorded(capture: str) -> list[str]:
    return [r["data"] for r in records(capture) if r["kind"] == "recv"]


def okx() -> Scenario:
    """The first recorded ``books`` snapshot of okx.jsonl and that book's next updates."""
    frames = recorded("okx.jsonl")
    index, snapshot = next(
        (i, f)
        for i, f in enumerate(frames)
        if '"action":"snapshot"' in f and '"channel":"books"' in f
    )
    inst_id = json.loads(snapshot)["arg"]["instId"]
    updates = [
        f
        for f in frames[index:]
        if '"action":"update"' in f and f'"channel":"books","instId":"{inst_id}"' in f
    ][:5]
    entry = json.loads(snapshot)["data"][0]
    arg = f'[{{"channel":"books","instId":"{inst_id}"}}]'
    return Scenario(
        inst_id,
        [snapshot],
        updates,
        [snapshot],
        (
            levels([lv[:2] for lv in entry["bids"]], True),
            levels([lv[:2] for lv in entry["asks"]], False),
        ),
        replies=[f'{{"op":"unsubscribe","args":{arg}}}', f'{{"op":"subscribe","args":{arg}}}'],
    )


def coinbase_exchange() -> Scenario:
    """The first recorded level2 ``snapshot`` of coinbase-exchange.jsonl and its ``l2update``s."""
    frames = recorded("coinbase-exchange.jsonl")
    index, snapshot = next((i, f) for i, f in enumerate(frames) if '"type":"snapshot"' in f)
    message = json.loads(snapshot)
    product = message["product_id"]
    updates = [
        f for f in frames[index:] if '"type":"l2update"' in f and f'"product_id":"{product}"' in f
    ][:5]
    channels = f'[{{"name":"level2_batch","product_ids":["{product}"]}}]'
    return Scenario(
        product,
        [snapshot],
        updates,
        [snapshot],
        (levels(message["bids"], True), levels(message["asks"], False)),
        replies=[
            f'{{"type":"unsubscribe","channels":{channels}}}',
            f'{{"type":"subscribe","channels":{channels}}}',
        ],
    )


def deribit() -> Scenario:
    """The first recorded book snapshot of deribit.jsonl and that book's next changes."""
    frames = recorded("deribit.jsonl")
    index, snapshot = next((i, f) for i, f in enumerate(frames) if '"type":"snapshot"' in f)
    data = json.loads(snapshot, parse_float=Decimal)["params"]["data"]
    name = data["instrument_name"]
    changes = [
        f for f in frames[index:] if '"type":"change"' in f and f'"instrument_name":"{name}"' in f
    ][:5]
    channel = f'["book.{name}.100ms"]'
    # Request ids go on from the connection's subscribe frames (ids 1..3 here).
    return Scenario(
        name,
        [snapshot],
        changes,
        [snapshot],
        (
            levels([lv[1:] for lv in data["bids"]], True),
            levels([lv[1:] for lv in data["asks"]], False),
        ),
        replies=[
            '{"jsonrpc":"2.0","id":3,"method":"public/unsubscribe","params":{"channels":'
            f"{channel}}}}}",
            '{"jsonrpc":"2.0","id":4,"method":"public/subscribe","params":{"channels":'
            f"{channel}}}}}",
        ],
    )


def bitmex() -> Scenario:
    """The first recorded ``orderBookL2`` partial of bitmex.jsonl and that book's next rows."""
    frames = recorded("bitmex.jsonl")
    index, partial = next(
        (i, f) for i, f in enumerate(frames) if '"table":"orderBookL2","action":"partial"' in f
    )
    data = json.loads(partial, parse_float=Decimal)["data"]
    name = data[0]["symbol"]
    deltas = [
        f
        for f in frames[index:]
        if '"table":"orderBookL2","action":"' in f
        and all(row["symbol"] == name for row in json.loads(f)["data"])
        and '"action":"partial"' not in f
    ][:5]
    bids = [(str(r["price"]), str(r["size"])) for r in data if r["side"] == "Buy"]
    asks = [(str(r["price"]), str(r["size"])) for r in data if r["side"] == "Sell"]
    args = f'["orderBookL2:{name}"]'
    return Scenario(
        name,
        [partial],
        deltas,
        [partial],
        (levels(bids, True), levels(asks, False)),
        replies=[f'{{"op":"unsubscribe","args":{args}}}', f'{{"op":"subscribe","args":{args}}}'],
    )


def bitfinex() -> Scenario:
    """tDOGUSD's recorded ``subscribed`` answer, snapshot and next five updates of
    bitfinex.jsonl (after its ``conf`` answer: ``SEQ_ALL``), renumbered 1, 2, 3...; the
    fresh subscription's answer (a new ``chanId``) and the same snapshot next."""
    frames = recorded("bitfinex.jsonl")
    conf = next(f for f in frames if '"event":"conf"' in f)
    answer = next(f for f in frames if '"channel":"book","chanId":225206' in f)
    book = [json.loads(f, parse_float=str)[1] for f in frames if f.startswith("[225206,[")]
    snapshot, updates = book[0], book[1:6]

    def numbered(chan: int, body: list[Any], seq: int) -> str:
        return json.dumps([chan, body, seq]).replace('"', "")

    bids = [(p, a) for p, _, a in snapshot if not a.startswith("-")]
    asks = [(p, a[1:]) for p, _, a in snapshot if a.startswith("-")]
    return Scenario(
        "tDOGUSD",
        [conf, answer, numbered(225206, snapshot, 1)],
        [numbered(225206, u, 2 + i) for i, u in enumerate(updates)],
        [answer.replace("225206", "7"), numbered(7, snapshot, 7)],
        (levels(bids, True), levels(asks, False)),
        replies=[
            '{"event":"unsubscribe","chanId":225206}',
            '{"event":"subscribe","channel":"book","symbol":"tDOGUSD","prec":"P0","freq":"F0",'
            '"len":"25"}',
        ],
    )


def kraken_futures() -> Scenario:
    """The first recorded ``book_snapshot`` of kraken-futures.jsonl and its product's deltas."""
    frames = recorded("kraken-futures.jsonl")
    index, snapshot = next((i, f) for i, f in enumerate(frames) if "book_snapshot" in f)
    message = json.loads(snapshot, parse_float=str)
    product = message["product_id"]
    deltas = [
        f for f in frames[index:] if '"feed":"book",' in f and f'"product_id":"{product}"' in f
    ][:5]
    products = f'"feed":"book","product_ids":["{product}"]'
    return Scenario(
        product,
        [snapshot],
        deltas,
        [snapshot],
        (
            levels([(lv["price"], lv["qty"]) for lv in message["bids"]], True),
            levels([(lv["price"], lv["qty"]) for lv in message["asks"]], False),
        ),
        replies=[f'{{"event":"unsubscribe",{products}}}', f'{{"event":"subscribe",{products}}}'],
    )


def cryptocom() -> Scenario:
    """The book page's SNAPSHOT_AND_UPDATE samples (no recording): the snapshot, the documented
    delta and two built on it; a fresh snapshot at a later ``u``. The resync subscribes the
    book channel again (depth 0: ``book.BTCUSD-PERP.50``), without unsubscribing."""
    bids, asks = [["50110.000000", "0.5"]], [["50120.000000", "0.7"], ["50121.000000", "2"]]
    params = (
        '"params":{"channels":["book.BTCUSD-PERP.50"],'
        '"book_subscription_type":"SNAPSHOT_AND_UPDATE","book_update_frequency":10}'
    )
    return Scenario(
        cryptocom_frames.BOOK,
        [cryptocom_frames.BOOK_SNAPSHOT],
        [
            cryptocom_frames.BOOK_UPDATE,
            cryptocom_frames.delta(7845460003, 7845460002, [["50113.500000", "0"]], []),
            cryptocom_frames.delta(7845460004, 7845460003, [], [["50130.000000", "2"]]),
        ],
        [cryptocom_frames.snapshot(7845460010, bids, asks)],
        (levels(bids, True), levels(asks, False)),
        replies=[f'{{"id":2,"method":"subscribe",{params}}}'],
    )


def kraken() -> Scenario:
    """The book channel page's MATIC/USD snapshot and update (checksums 2439117997, 2114181697)."""
    channel = '{"channel":"book","symbol":["MATIC/USD"],"depth":10'
    return Scenario(
        "MATIC/USD",
        [matic_snapshot()],
        [MATIC_UPDATE],
        [matic_snapshot()],
        (levels(MATIC_BIDS, True), levels(MATIC_ASKS, False)),
        replies=[
            f'{{"method":"unsubscribe","params":{channel}}}}}',
            f'{{"method":"subscribe","params":{channel},"snapshot":true}}}}',
        ],
    )


def coinbase() -> Scenario:
    """The channels page's level2 shape: a snapshot, updates, a fresh snapshot after them."""
    updates = [
        l2(2, "update", "BTC-USD", ("bid", "21921.5", "1")),
        l2(3, "update", "BTC-USD", ("offer", "21933.98", "0")),
    ]
    products = '"product_ids":["BTC-USD"],"channel":"level2"'
    return Scenario(
        "BTC-USD",
        [book_snapshot(1)],
        updates,
        [book_snapshot(4)],
        (
            ((Decimal("21921.73"), Decimal("0.06317902")), (Decimal("21921.3"), Decimal("0.02"))),
            ((Decimal("21933.98"), Decimal("1.5")),),
        ),
        replies=[f'{{"type":"unsubscribe",{products}}}', f'{{"type":"subscribe",{products}}}'],
    )


def hyperliquid() -> Scenario:
    """Documented ``WsBook`` shape; every message a whole book, so there are no deltas.

    The fresh book carries the same ``time`` as the synced one: a resync forgets
    the last time, so it is published (without the resync it is ``stale_update``).
    """
    bids, asks = [("113377.0", "7.6699")], [("113397.0", "0.11543"), ("113398.0", "2")]
    return Scenario(
        "BTC",
        [hyperliquid_book(T_MS, [("113376.0", "1")], [("113399.0", "1")])],
        [],
        [hyperliquid_book(T_MS, bids, asks)],
        (levels(bids, True), levels(asks, False)),
    )


def dydx() -> Scenario:
    """The indexer page's ``v4_orderbook`` examples, numbered for one connection; the fresh
    book is the documented snapshot with its best bid and ask changed."""
    fresh = json.loads(numbered(DYDX_SNAPSHOT, 4))
    fresh["contents"]["bids"] = [{"price": "28193", "size": "1"}]
    fresh["contents"]["asks"] = [{"price": "28196", "size": "2"}, {"price": "28197", "size": "3"}]
    return Scenario(
        "BTC-USD",
        [DYDX_CONNECTED, numbered(DYDX_SNAPSHOT, 1)],
        [
            dydx_book(message_id=2, contents={"bids": [["28194", "1"]]}),
            dydx_book(message_id=3, contents={"asks": [["28195", "0"]]}),
        ],
        [json.dumps(fresh)],
        (levels([("28193", "1")], True), levels([("28196", "2"), ("28197", "3")], False)),
        replies=[
            '{"type":"unsubscribe","channel":"v4_orderbook","id":"BTC-USD"}',
            '{"type":"subscribe","channel":"v4_orderbook","id":"BTC-USD"}',
        ],
    )


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "binance-spot": binance("binance-spot.jsonl"),
    "binance-usdm": binance("binance-usdm.jsonl"),
    "binance-coinm": binance("binance-coinm.jsonl"),
    "bitfinex": bitfinex,
    "bitmex": bitmex,
    "bitstamp": bitstamp,
    "bybit-spot": bybit("bybit-spot"),
    "bybit-linear": bybit("bybit-linear"),
    "bybit-inverse": bybit("bybit-inverse"),
    "okx": okx,
    "gate-spot": gate("gate-spot.jsonl"),
    "gate-futures": gate("gate-futures.jsonl"),
    "coinbase-exchange": coinbase_exchange,
    "cryptocom": cryptocom,
    "deribit": deribit,
    "kraken": kraken,
    "kraken-futures": kraken_futures,
    "coinbase": coinbase,
    "hyperliquid": hyperliquid,
    "dydx": dydx,
}


def test_every_registered_venue_has_a_resync_scenario() -> None:
    assert sorted(SCENARIOS) == list(registered_venues())


class Feed:
    """Drives one protocol: frames in, events and rejections out, snapshot requests kept."""

    def __init__(self, venue: str, scenario: Scenario) -> None:
        depth = {"depth": 50} if venue.startswith("bybit") else {}
        self.protocol: VenueProtocol = venue_spec(venue).protocol_factory(
            config(venue, scenario.instrument, **depth)
        )
        self.events: list[MarketEvent] = []
        self.rejected: list[str] = []
        self.requests: list[SnapshotRequest] = []
        self.at_ms = 1_000
        self.protocol.subscribe_frames()  # as a connection does first (Deribit numbers requests)
        self.take(self.protocol.on_open())

    def take(self, outcome: FrameOutcome) -> FrameOutcome:
        self.events.extend(outcome.events)
        self.requests.extend(outcome.snapshot_requests)
        return outcome

    def frame(self, frame: str) -> None:
        self.at_ms += 1
        try:
            self.take(self.protocol.on_frame(frame, self.at_ms))
        except FrameError as exc:
            self.rejected.append(exc.reason)

    def body(self, body: bytes) -> None:
        request = self.requests.pop(0)
        self.at_ms += 1
        self.take(self.protocol.on_snapshot(request, body, self.at_ms))

    def books(self) -> list[L2Update]:
        books = [e.payload for e in self.events if e.data_type is DataType.L2_ORDERBOOK]
        self.events.clear()
        return [b for b in books if isinstance(b, L2Update)]


def synced(venue: str, scenario: Scenario) -> Feed:
    feed = Feed(venue, scenario)
    for index, frame in enumerate(scenario.sync):
        if scenario.rest and index == scenario.sync_body_after:
            feed.body(scenario.sync_body)
        feed.frame(frame)
    assert [b.is_snapshot for b in feed.books()][:1] == [True]
    return feed


@pytest.mark.parametrize("venue", sorted(SCENARIOS))
def test_resync_books_publishes_no_delta_until_the_fresh_snapshot_which_is_the_book(
    venue: str,
) -> None:
    scenario = SCENARIOS[venue]()
    instrument = Instrument(venue, scenario.instrument, scenario.instrument.replace("-", "/"))

    control = synced(venue, scenario)
    for frame in scenario.deltas:
        control.frame(frame)
    assert len([b for b in control.books() if not b.is_snapshot]) == len(scenario.deltas)

    feed = synced(venue, scenario)
    outcome = feed.take(feed.protocol.resync_books(None, REASON))
    assert outcome.events == []
    if scenario.rest:
        assert [(r.instrument, r.reason) for r in outcome.snapshot_requests] == [
            (instrument, REASON)
        ]
        assert (outcome.replies, outcome.resyncs) == ([], [])
    else:
        assert outcome.snapshot_requests == []
        assert outcome.resyncs == [BookResync(instrument, REASON)]
        assert outcome.replies == scenario.replies

    for frame in scenario.deltas:
        feed.frame(frame)
    assert feed.books() == []

    for frame in scenario.fresh:
        feed.frame(frame)
    if scenario.rest:
        assert feed.books() == []
        feed.body(scenario.fresh_body)
    first, *_ = feed.books()
    assert first.is_snapshot
    assert (first.bids, first.asks) == scenario.snapshot


@pytest.mark.parametrize("venue", sorted(SCENARIOS))
def test_resync_books_ignores_instruments_without_a_book_here(venue: str) -> None:
    scenario = SCENARIOS[venue]()
    feed = synced(venue, scenario)
    outcome = feed.protocol.resync_books(["NOT-SUBSCRIBED", "TRADES-ONLY"], REASON)
    assert outcome == FrameOutcome([], [], [], [])
    for frame in scenario.deltas:
        feed.frame(frame)
    assert len([b for b in feed.books() if not b.is_snapshot]) == len(scenario.deltas)


@pytest.mark.parametrize("venue", sorted(SCENARIOS))
def test_resync_books_by_name_resyncs_that_book(venue: str) -> None:
    scenario = SCENARIOS[venue]()
    by_name = synced(venue, scenario).protocol.resync_books([scenario.instrument], REASON)
    every = synced(venue, scenario).protocol.resync_books(None, REASON)
    assert by_name == every != FrameOutcome([], [], [], [])
