"""``relay bench``: the synthetic replay keeps books valid, and a short run reports every key.

Speed is never asserted here (CI machines differ); ``docs/performance.md`` has the figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reference_books import CAPTURES

from relay.application.errors import FrameError
from relay.bench import canonical_symbol, latency_percentiles, write_synthetic_capture
from relay.cli import main
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.captures import RecordKind, read_capture
from relay.infrastructure.venues.binance import USDM, BinanceProtocol

USDM_CAPTURE = CAPTURES / "binance-usdm.jsonl"
REPORT_KEYS = {
    "events", "format", "relay_events_per_s", "baseline_publish_async_per_s",
    "baseline_core_publish_per_s", "ratio_vs_publish_async", "ratio_vs_core_publish",
    "latency_ms", "peak_rss_mb", "cpu_s_per_million_events", "rss_with_subscriptions_mb",
    "subscriptions", "runs", "baselines", "machine",
}


def replay_through_parser(path: Path) -> tuple[int, set[str], list[str]]:
    """Feed a capture to the relay's Binance USD-M parser: (events, message ids, problems)."""
    capture = read_capture(path)
    symbols = sorted({
        record.url.split("symbol=")[1].split("&")[0]
        for record in capture.records if record.kind is RecordKind.HTTP and record.url
    })
    subscriptions = tuple(
        SubscriptionConfig(symbol, canonical_symbol(symbol),
                           (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK,
                            DataType.CANDLE))
        for symbol in symbols
    )
    protocol = BinanceProtocol(VenueConfig("binance-usdm", subscriptions), USDM, "ws://unused")
    snapshots = {
        record.url.split("symbol=")[1].split("&")[0]: (record.data or "").encode()
        for record in capture.records if record.kind is RecordKind.HTTP and record.url
    }
    events, ids, problems = 0, set[str](), []
    for request in protocol.on_open().snapshot_requests:
        outcome = protocol.on_snapshot(request, snapshots[request.instrument.instrument], 0)
        events += len(outcome.events)
        ids.update(event.msg_id for event in outcome.events)
    for record in capture.records:
        if record.kind is not RecordKind.RECV:
            continue
        try:
            outcome = protocol.on_frame(record.data or "", 0)
        except FrameError as exc:
            problems.append(str(exc))
            continue
        problems.extend(f"resync {r.instrument.instrument} {r.reason}"
                        for r in outcome.snapshot_requests)
        events += len(outcome.events)
        ids.update(event.msg_id for event in outcome.events)
    return events, ids, problems


def test_synthetic_capture_keeps_books_valid_and_message_ids_unique(tmp_path: Path) -> None:
    capture = write_synthetic_capture(USDM_CAPTURE, tmp_path / "bench.jsonl", 5_000, None)
    assert capture.instruments == ("SUSHIUSDT", "AKROUSDT", "KEEPUSDT", "CTKUSDT")
    assert capture.events == 5_000
    events, ids, problems = replay_through_parser(capture.path)
    assert problems == []
    assert events == 5_000
    assert len(ids) == 5_000


def test_renamed_copies_each_get_a_snapshot_and_a_valid_book(tmp_path: Path) -> None:
    capture = write_synthetic_capture(USDM_CAPTURE, tmp_path / "many.jsonl", 4_000, 500.0, 3)
    assert len(capture.instruments) == 12
    assert "SUSHI002USDT" in capture.instruments
    records = read_capture(capture.path).records
    assert sum(1 for r in records if r.kind is RecordKind.HTTP) == 12
    recv = [r.t for r in records if r.kind is RecordKind.RECV]
    assert recv[500] - recv[0] == pytest.approx(1.0)
    events, ids, problems = replay_through_parser(capture.path)
    assert (events, len(ids), problems) == (capture.events, capture.events, [])


def test_latency_percentiles_are_nearest_rank_in_milliseconds() -> None:
    latencies = [i * 1_000_000 for i in range(1, 1001)]
    result = latency_percentiles(latencies)
    assert (result.p50, result.p99, result.p999, result.max) == (500.0, 990.0, 999.0, 1000.0)


@pytest.mark.integration
def test_short_bench_run_prints_one_json_object_with_every_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["bench", "--events", "3000", "--json", "--load-seconds", "0.5",
                 "--subscriptions", "200", "--out", str(tmp_path), "--loop", "asyncio"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= REPORT_KEYS
    assert report["events"] == 3000
    assert report["format"] == "json"
    assert set(report["latency_ms"]) >= {"p50", "p99", "p999"}
    assert report["subscriptions"] == 200
    assert [run["label"] for run in report["runs"]] == [
        "5000/s", "20000/s", "max", "200 subscriptions"
    ]
    assert all(run["dropped"] == 0 and run["duplicates_suppressed"] == 0
               for run in report["runs"])
    assert {run["event_loop"] for run in report["runs"]} == {"asyncio"}
    assert report["settings"]["loop"] == "asyncio"
    assert [(b["method"], b["stored"]) for b in report["baselines"]] == [
        ("publish_async", 3000), ("core_publish", 3000)
    ]
    assert list(tmp_path.iterdir()) == []
