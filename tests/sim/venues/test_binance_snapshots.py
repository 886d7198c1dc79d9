"""Book-accurate Binance depth snapshots built from recorded frames."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from relay.application.order_book import apply_raw_levels
from relay.sim.captures import Capture, RecordKind, read_capture
from relay.sim.venues.binance import BinanceSnapshotBuilder, parse_binance_depth_update
from relay.sim.venues.registry import simulated_side, simulated_venue_ids, snapshot_builder_for

SNAPSHOT = (
    '{"lastUpdateId":100,"E":5000,"T":4999,'
    '"bids":[["10.00","1"],["9.90","2"],["9.80","3"]],'
    '"asks":[["10.10","4"],["10.20","5"]]}'
)
SPOT_SNAPSHOT = '{"lastUpdateId":100,"bids":[["10.00","1.00"]],"asks":[["10.10","4.00"]]}'
PATH = "/fapi/v1/depth"
QUERY = "symbol=ABCUSDT&limit=1000"


def depth_frame(
    symbol: str, first: int, last: int, bids: list[list[str]], asks: list[list[str]]
) -> str:
    """A combined-stream USD-M depthUpdate frame."""
    data = {
        "e": "depthUpdate",
        "E": 5000 + last,
        "T": 4000 + last,
        "s": symbol,
        "U": first,
        "u": last,
        "pu": first - 1,
        "b": bids,
        "a": asks,
    }
    return json.dumps({"stream": f"{symbol.lower()}@depth@100ms", "data": data})


FRAMES = [
    depth_frame("ABCUSDT", 90, 99, [["9.70", "9"]], []),
    '{"stream":"abcusdt@bookTicker","data":{"e":"bookTicker","s":"ABCUSDT","u":99}}',
    depth_frame("ABCUSDT", 100, 104, [["9.90", "0"], ["10.05", "7"]], [["10.10", "6"]]),
    depth_frame("XYZUSDT", 100, 105, [["1.00", "1"]], []),
    depth_frame("ABCUSDT", 105, 110, [["10.05", "0"]], [["10.15", "8"], ["10.20", "0"]]),
]


@pytest.fixture
def usdm(captures_dir: Path) -> Capture:
    return read_capture(captures_dir / "binance-usdm.jsonl")


def test_a_frame_not_yet_passing_the_snapshot_leaves_the_recorded_body() -> None:
    builder = BinanceSnapshotBuilder([FRAMES])
    for position in (0, 1, 2):
        assert builder.snapshot(PATH, QUERY, SNAPSHOT, [position]) is None


def test_passed_updates_are_applied_with_zero_quantities_removing_levels() -> None:
    builder = BinanceSnapshotBuilder([FRAMES])
    body = builder.snapshot(PATH, QUERY, SNAPSHOT, [3])
    assert body == (
        '{"lastUpdateId":104,"E":5104,"T":4104,'
        '"bids":[["10.05","7"],["10.00","1"],["9.80","3"]],'
        '"asks":[["10.10","6"],["10.20","5"]]}'
    )
    later = builder.snapshot(PATH, QUERY, SNAPSHOT, [5])
    assert later is not None
    assert json.loads(later) == {
        "lastUpdateId": 110,
        "E": 5110,
        "T": 4110,
        "bids": [["10.00", "1"], ["9.80", "3"]],
        "asks": [["10.10", "6"], ["10.15", "8"]],
    }


def test_a_spot_snapshot_keeps_its_keys_without_adding_times() -> None:
    builder = BinanceSnapshotBuilder([FRAMES])
    body = builder.snapshot("/api/v3/depth", "symbol=ABCUSDT", SPOT_SNAPSHOT, [3])
    assert body == (
        '{"lastUpdateId":104,"bids":[["10.05","7"],["10.00","1.00"]],"asks":[["10.10","6"]]}'
    )


def test_requests_that_are_not_depth_snapshots_of_a_known_symbol_are_left_alone() -> None:
    builder = BinanceSnapshotBuilder([FRAMES])
    assert builder.snapshot("/fapi/v1/ticker", QUERY, SNAPSHOT, [5]) is None
    assert builder.snapshot(PATH, "symbol=NOPEUSDT", SNAPSHOT, [5]) is None
    assert builder.snapshot(PATH, "limit=5", SNAPSHOT, [5]) is None
    assert builder.snapshot(PATH, QUERY, "not json", [5]) is None


def test_updates_of_several_connections_are_applied_once_in_update_id_order() -> None:
    builder = BinanceSnapshotBuilder([FRAMES[:3], FRAMES[2:]])
    both = builder.snapshot(PATH, QUERY, SNAPSHOT, [3, 3])
    assert both == BinanceSnapshotBuilder([FRAMES]).snapshot(PATH, QUERY, SNAPSHOT, [5])
    only_first = builder.snapshot(PATH, QUERY, SNAPSHOT, [3, 0])
    assert only_first is not None
    assert json.loads(only_first)["lastUpdateId"] == 104


def test_parse_binance_depth_update_reads_wrapped_and_raw_frames() -> None:
    parsed = parse_binance_depth_update(FRAMES[2])
    assert parsed is not None
    symbol, update = parsed
    assert symbol == "ABCUSDT"
    assert (update.first_update_id, update.last_update_id) == (100, 104)
    assert (update.event_time_ms, update.transaction_time_ms) == (5104, 4104)
    assert update.bids == (("9.90", "0"), ("10.05", "7"))
    assert update.asks == (("10.10", "6"),)
    raw = json.dumps(json.loads(FRAMES[2])["data"])
    assert parse_binance_depth_update(raw) == parsed
    assert parse_binance_depth_update(FRAMES[1]) is None
    assert parse_binance_depth_update("{") is None


def test_apply_levels_removes_zero_quantities_in_any_spelling() -> None:
    side = {Decimal("1.0"): ("1.0", "5"), Decimal("2.0"): ("2.0", "6")}
    apply_raw_levels(side, [("1.00000000", "0.00000000"), ("2.0", "7"), ("3.0", "1")])
    assert side == {Decimal("2.0"): ("2.0", "7"), Decimal("3.0"): ("3.0", "1")}


def test_builders_are_registered_by_venue_id(usdm: Capture) -> None:
    with_builders = {
        venue
        for venue in simulated_venue_ids()
        if (side := simulated_side(venue)) is not None and side.snapshot_builder is not None
    }
    assert with_builders == {
        "binance-coinm",
        "binance-spot",
        "binance-usdm",
        "bitstamp",
        "gate-futures",
        "gate-spot",
    }
    assert isinstance(snapshot_builder_for("binance-coinm", [[]]), BinanceSnapshotBuilder)
    assert snapshot_builder_for("okx", [[]]) is None


def test_the_recorded_usdm_session_rebuilds_the_sushi_book_at_the_end(usdm: Capture) -> None:
    frames = [r.data for r in usdm.records if r.kind is RecordKind.RECV and r.data is not None]
    recorded = usdm.records[3].data
    assert recorded is not None
    body = BinanceSnapshotBuilder([frames]).snapshot(
        PATH, "symbol=SUSHIUSDT&limit=1000", recorded, [len(frames)]
    )
    assert body is not None
    book = json.loads(body)
    sushi = [json.loads(f)["data"] for f in frames if '"s":"SUSHIUSDT","U"' in f]
    assert len(sushi) == 255
    assert book["lastUpdateId"] == sushi[-1]["u"]
    assert book["T"] == sushi[-1]["T"]
    bid_prices = [Decimal(p) for p, _ in book["bids"]]
    ask_prices = [Decimal(p) for p, _ in book["asks"]]
    assert bid_prices == sorted(bid_prices, reverse=True)
    assert ask_prices == sorted(ask_prices)
    assert bid_prices[0] < ask_prices[0]
    assert all(Decimal(q) > 0 for _, q in book["bids"] + book["asks"])
