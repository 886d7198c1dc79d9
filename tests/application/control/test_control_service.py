"""The control service: desired streams = config + overlay; each change names only its streams."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from relay.application.control.desired import (
    Changes,
    Knobs,
    Overlay,
    StreamSpec,
    parse_document,
)
from relay.application.control.service import (
    CONFLICT_ATTEMPTS,
    ControlError,
    ControlService,
    StoreConflict,
    StoreError,
)
from relay.application.sharding import shard_of
from relay.config.errors import ConfigProblem
from relay.config.model import StaleAfterConfig, SubscriptionConfig, VenueConfig
from relay.domain.model import DataType

L2, TRADE, TICKER = DataType.L2_ORDERBOOK, DataType.TRADE, DataType.TICKER
SUPPORTED = {"binance-usdm": frozenset({TRADE, TICKER, L2}), "okx": frozenset({TRADE})}
VENUES = (
    VenueConfig(
        id="binance-usdm",
        subscriptions=(SubscriptionConfig("SUSHIUSDT", "SUSHI/USDT", (TRADE, L2), depth=20),),
        stale_after_s=StaleAfterConfig(l2_orderbook=45.0),
    ),
    VenueConfig(
        id="okx",
        subscriptions=(SubscriptionConfig("BTC-USDT", "BTC/USDT", (TRADE,)),),
        enabled=False,
    ),
)


class Recorder:
    """The runtime port, recording every change it is given."""

    def __init__(self) -> None:
        self.changes: list[Changes] = []

    async def apply(self, changes: Changes) -> None:
        self.changes.append(changes)


class Store:
    """The store port: keeps every document; refuses while ``down``; compare-and-set
    like the bucket (a document another writer put since the last load or save here is
    a conflict)."""

    def __init__(self) -> None:
        self.documents: list[bytes] = []
        self.down = False
        self.seen = 0
        """How many documents this writer has seen (loaded or saved)."""

    def put_by_another_replica(self, document: bytes) -> None:
        self.documents.append(document)

    async def save(self, document: bytes) -> None:
        if self.down:
            raise StoreError("bucket relay-control: no responders")
        if self.seen != len(self.documents):
            raise StoreConflict("bucket relay-control: key changed")
        self.documents.append(document)
        self.seen = len(self.documents)

    async def load(self) -> bytes | None:
        if self.down:
            raise StoreError("bucket relay-control: no responders")
        self.seen = len(self.documents)
        return self.documents[-1] if self.documents else None


def service() -> tuple[ControlService, Recorder, Store]:
    runtime, store = Recorder(), Store()
    return ControlService(VENUES, SUPPORTED, runtime, store), runtime, store


def akro(*data_types: str, depth: int = 0) -> dict[str, object]:
    return {
        "venue": "binance-usdm",
        "instrument": "AKROUSDT",
        "canonical_symbol": "AKRO/USDT",
        "data_types": list(data_types),
        "depth": depth,
    }


def test_the_config_files_enabled_streams_are_the_initial_state() -> None:
    control, _, _ = service()
    assert control.streams() == [
        StreamSpec("binance-usdm", "SUSHIUSDT", L2, "SUSHI/USDT", 20, "1m", 45.0),
        StreamSpec("binance-usdm", "SUSHIUSDT", TRADE, "SUSHI/USDT", 20, "1m", 0.0),
    ]


async def test_an_add_hands_the_runtime_only_the_new_streams_and_saves_the_overlay() -> None:
    control, runtime, store = service()
    added = await control.add(akro("trade", "l2_orderbook", depth=5), "ops")
    assert [(s.instrument, s.data_type, s.depth, s.stale_after_s, s.origin) for s in added] == [
        ("AKROUSDT", TRADE, 5, 0.0, "runtime"),
        ("AKROUSDT", L2, 5, 45.0, "runtime"),
    ]
    assert runtime.changes == [Changes(added=(added[1], added[0]))]
    assert parse_document(store.documents[-1], SUPPORTED) == (control.overlay, [])


async def test_adding_a_subscribed_stream_is_a_conflict_and_changes_nothing() -> None:
    control, runtime, store = service()
    with pytest.raises(ControlError) as caught:
        await control.add(
            {
                "venue": "binance-usdm",
                "instrument": "SUSHIUSDT",
                "canonical_symbol": "SUSHI/USDT",
                "data_types": ["ticker", "trade"],
            },
            "ops",
        )
    assert (caught.value.status, caught.value.problems) == (
        409,
        (ConfigProblem("data_types[1]", "binance-usdm SUSHIUSDT trade: already subscribed"),),
    )
    assert (runtime.changes, store.documents) == ([], [])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            {**akro("ticker"), "instrument": "SUSHIUSDT", "canonical_symbol": "SUSHI/USD"},
            ConfigProblem("canonical_symbol", "'SUSHIUSDT' is subscribed as 'SUSHI/USDT'"),
        ),
        (
            {**akro("trade"), "canonical_symbol": "sushi/usdt"},
            ConfigProblem(
                "canonical_symbol",
                "subject token 'sushi-usdt' of 'sushi/usdt' is already used by 'SUSHIUSDT'"
                " in venue 'binance-usdm'",
            ),
        ),
        (
            {
                "venue": "okx",
                "instrument": "ETH-USDT",
                "canonical_symbol": "ETH/USDT",
                "data_types": ["trade"],
            },
            ConfigProblem("venue", "venue 'okx' is disabled in the config"),
        ),
        ([1], ConfigProblem("", "expected a JSON object")),
    ],
)
async def test_an_add_breaking_a_config_rule_is_refused_with_422(
    body: object, problem: ConfigProblem
) -> None:
    control, runtime, _ = service()
    with pytest.raises(ControlError) as caught:
        await control.add(body, "ops")
    assert (caught.value.status, caught.value.problems) == (422, (problem,))
    assert runtime.changes == []


async def test_removing_a_config_stream_is_kept_as_removed_and_adding_it_back_restores_it() -> None:
    control, runtime, _ = service()
    assert await control.remove("binance-usdm", "SUSHIUSDT", "trade", "ops") == [
        ("binance-usdm", "SUSHIUSDT", TRADE)
    ]
    assert control.overlay == Overlay(removed=frozenset({("binance-usdm", "SUSHIUSDT", TRADE)}))
    assert [s.data_type for s in runtime.changes[-1].removed] == [TRADE]
    await control.add(
        {**akro("trade"), "instrument": "SUSHIUSDT", "canonical_symbol": "SUSHI/USDT", "depth": 20},
        "ops",
    )
    assert control.overlay == Overlay()
    assert [s.origin for s in control.streams()] == ["config", "config"]


async def test_removing_an_unknown_stream_is_404() -> None:
    control, _, _ = service()
    with pytest.raises(ControlError) as caught:
        await control.remove("binance-usdm", "SUSHIUSDT", "ticker", "ops")
    assert (caught.value.status, caught.value.problems) == (
        404,
        (ConfigProblem("", "no such stream: binance-usdm SUSHIUSDT ticker"),),
    )


async def test_a_patch_retunes_one_stream_and_lists_every_problem() -> None:
    control, runtime, _ = service()
    key = ("binance-usdm", "SUSHIUSDT", L2)
    spec = await control.patch(key, {"paused": True, "depth": 5, "stale_after_s": 10}, "ops")
    assert (spec.paused, spec.depth, spec.stale_after_s) == (True, 5, 10.0)
    [change] = runtime.changes
    assert change.added == change.removed == () and [n for _, n in change.retuned] == [spec]
    with pytest.raises(ControlError) as caught:
        await control.patch(
            ("binance-usdm", "SUSHIUSDT", TRADE),
            {"paused": 1, "depth": 3, "stale_after_s": -1, "colour": "red"},
            "ops",
        )
    assert caught.value.problems == (
        ConfigProblem("colour", "unknown key (known keys: paused, depth, stale_after_s)"),
        ConfigProblem("paused", "expected a boolean, got 1"),
        ConfigProblem("stale_after_s", "must be a finite number >= 0, got -1"),
        ConfigProblem("depth", "only l2_orderbook streams have a depth"),
    )
    await control.patch(key, {"paused": False, "depth": None, "stale_after_s": None}, "ops")
    assert control.overlay.knobs == {}


async def test_a_change_that_cannot_be_saved_is_refused_and_not_applied() -> None:
    control, runtime, store = service()
    store.down = True
    with pytest.raises(ControlError) as caught:
        await control.add(akro("trade"), "ops")
    assert caught.value.status == 503
    assert (runtime.changes, control.overlay) == ([], Overlay())


async def test_following_another_replicas_document_applies_the_difference_once() -> None:
    leader, _, store = service()
    await leader.add(akro("l2_orderbook"), "ops")
    await leader.patch(("binance-usdm", "SUSHIUSDT", TRADE), {"paused": True}, "ops")
    follower, runtime, follower_store = service()
    await follower.follow(store.documents[-1], "bucket")
    await follower.follow(store.documents[-1], "bucket")
    assert follower.streams() == leader.streams()
    assert len(runtime.changes) == 1 and follower_store.documents == []
    await follower.follow(None, "bucket")
    assert follower.overlay == Overlay() and len(runtime.changes) == 2


async def test_a_bucket_document_with_bad_entries_keeps_the_good_ones() -> None:
    document = (
        b'{"version":1,"added":[{"venue":"binance-usdm","instrument":"AKROUSDT",'
        b'"canonical_symbol":"AKRO/USDT","data_type":"ticker","depth":0,"candle_interval":"1m"},'
        b'{"venue":"binance-usdm","instrument":"X","canonical_symbol":"X","data_type":"candle"}],'
        b'"removed":[{"venue":"nope","instrument":"A","data_type":"trade"}],'
        b'"knobs":[{"venue":"binance-usdm","instrument":"SUSHIUSDT","data_type":"trade",'
        b'"paused":"yes"}]}'
    )
    overlay, problems = parse_document(document, SUPPORTED)
    assert list(overlay.added) == [("binance-usdm", "AKROUSDT", TICKER)]
    assert (overlay.removed, overlay.knobs) == (frozenset(), {})
    assert problems == [
        "added[1].data_types[0]: data type 'candle' is not supported by venue 'binance-usdm'"
        " (supported: trade, ticker, l2_orderbook)",
        "removed[0]: not a stream of a registered venue",
        'knobs[0].paused: expected a boolean, got "yes"',
    ]


async def test_an_unreadable_bucket_document_is_ignored() -> None:
    control, runtime, _ = service()
    for document in (b"{", b"[]", b'{"version":2,"added":[],"removed":[],"knobs":[]}'):
        await control.follow(document, "bucket")
    assert (runtime.changes, control.overlay) == ([], Overlay())


def test_knobs_default_to_the_config() -> None:
    assert Knobs() == Knobs(paused=False, depth=None, stale_after_s=None)


async def test_with_shards_a_change_made_on_any_shard_is_applied_by_the_owner_only() -> None:
    """Two shards (``shard_of`` with 2: SUSHIUSDT on 1, AKROUSDT on 0) share one document:
    an AKROUSDT add made through shard 1 is saved there but applied by shard 0 when it
    follows the document; each lists only the streams it serves."""
    store = Store()
    runtimes = [Recorder(), Recorder()]

    def owner(k: int) -> Callable[[str, str], bool]:
        return lambda venue, instrument: shard_of(venue, instrument, 2) == k

    shards = [
        ControlService(
            VENUES,
            SUPPORTED,
            runtimes[k],
            store,
            owns=owner(k),
        )
        for k in (0, 1)
    ]
    assert [s.instrument for s in shards[0].streams()] == []
    assert [s.instrument for s in shards[1].streams()] == ["SUSHIUSDT", "SUSHIUSDT"]

    added = await shards[1].add(akro("trade"), "ops")

    assert [(s.instrument, s.data_type) for s in added] == [("AKROUSDT", TRADE)]
    assert runtimes[1].changes == [Changes()]
    await shards[0].follow(store.documents[-1], "bucket")
    assert runtimes[0].changes == [Changes(added=(added[0],))]
    assert [(s.instrument, s.data_type) for s in shards[0].streams()] == [("AKROUSDT", TRADE)]
    with pytest.raises(ControlError) as caught:
        await shards[0].add(akro("trade"), "ops")
    assert caught.value.status == 409


def ctk(*data_types: str) -> dict[str, object]:
    return {**akro(*data_types), "instrument": "CTKUSDT", "canonical_symbol": "CTK/USDT"}


async def test_a_change_saved_meanwhile_by_another_replica_is_taken_then_the_request_redone() -> (
    None
):
    """Two replicas add at once: the second one's save conflicts, it takes the first's
    document (its runtime subscribes what that added), then saves both."""
    first, _, _ = service()
    await first.add(akro("trade"), "ops")
    control, runtime, store = service()
    store.put_by_another_replica(first.overlay.document())
    added = await control.add(ctk("ticker"), "ops")
    assert [(s.instrument, s.data_type) for s in added] == [("CTKUSDT", TICKER)]
    assert [[(s.instrument, s.data_type) for s in c.added] for c in runtime.changes] == [
        [("AKROUSDT", TRADE)],
        [("CTKUSDT", TICKER)],
    ]
    overlay, _ = parse_document(store.documents[-1], SUPPORTED)
    assert sorted(k[1] for k in overlay.added) == ["AKROUSDT", "CTKUSDT"]
    assert overlay == control.overlay


async def test_a_request_the_other_replicas_change_made_moot_is_refused_as_after_it() -> None:
    """Both replicas add AKROUSDT trades at once: the later one is a 409, nothing saved."""
    first, _, _ = service()
    await first.add(akro("trade"), "ops")
    control, runtime, store = service()
    store.put_by_another_replica(first.overlay.document())
    with pytest.raises(ControlError) as caught:
        await control.add(akro("trade"), "ops")
    assert caught.value.status == 409
    assert len(store.documents) == 1
    assert [[(s.instrument, s.data_type) for s in c.added] for c in runtime.changes] == [
        [("AKROUSDT", TRADE)]
    ]


async def test_a_document_changing_under_every_save_is_a_503_and_nothing_changes() -> None:
    control, runtime, store = service()
    other, _, _ = service()
    await other.add(akro("trade"), "ops")
    original_load = store.load

    async def load_then_changed_again() -> bytes | None:
        document = await original_load()
        store.put_by_another_replica(other.overlay.document())
        return document

    store.load = load_then_changed_again  # type: ignore[method-assign]
    store.put_by_another_replica(other.overlay.document())
    with pytest.raises(ControlError) as caught:
        await control.add(ctk("ticker"), "ops")
    assert caught.value.status == 503
    assert f"changed under each of {CONFLICT_ATTEMPTS} saves" in caught.value.problems[0].message
    assert all(b"CTKUSDT" not in document for document in store.documents)
    assert all("CTKUSDT" not in [s.instrument for s in c.added] for c in runtime.changes)
