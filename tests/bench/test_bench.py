"""``relay bench``: the synthetic replay keeps books valid (Binance and OKX), and short runs
publish every synthetic event and report every key.

Speed is never asserted here (CI machines differ); ``docs/performance.md`` has the figures.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from support.reference_books import CAPTURES

from relay.application.errors import FrameError
from relay.application.ports import OutboundMessage, VenueProtocol
from relay.bench.binance import canonical_symbol
from relay.bench.errors import BenchError
from relay.bench.probe import StatsProbe
from relay.bench.report import latency_percentiles
from relay.bench.sessions import open_session, write_synthetic_capture
from relay.cli import main
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.venues.binance.protocol import USDM, BinanceProtocol
from relay.infrastructure.venues.okx.protocol import OkxProtocol
from relay.sim.captures import RecordKind, read_capture

USDM_CAPTURE = CAPTURES / "binance-usdm.jsonl"
OKX_CAPTURE = CAPTURES / "okx.jsonl"
OKX_TYPES = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK)
REPORT_KEYS = {
    "events",
    "format",
    "relay_events_per_s",
    "baseline_publish_async_per_s",
    "baseline_core_publish_per_s",
    "ratio_vs_publish_async",
    "ratio_vs_core_publish",
    "latency_ms",
    "peak_rss_mb",
    "cpu_s_per_million_events",
    "rss_with_subscriptions_mb",
    "subscriptions",
    "runs",
    "baselines",
    "machine",
}


def replay_frames(
    protocol: VenueProtocol, path: Path
) -> tuple[int, set[tuple[str, str]], list[str]]:
    """Feed a capture's received frames to a venue parser: (events, (instrument, message
    id)s, problems: rejected frames and book resyncs, REST or WebSocket)."""
    events = 0
    ids: set[tuple[str, str]] = set()
    problems: list[str] = []
    for record in read_capture(path).records:
        if record.kind is not RecordKind.RECV:
            continue
        try:
            outcome = protocol.on_frame(record.data or "", 0)
        except FrameError as exc:
            problems.append(str(exc))
            continue
        problems.extend(
            f"resync {r.instrument.instrument} {r.reason}" for r in outcome.snapshot_requests
        )
        problems.extend(f"resync {r.instrument.instrument} {r.reason}" for r in outcome.resyncs)
        events += len(outcome.events)
        ids.update((event.instrument.instrument, event.msg_id) for event in outcome.events)
    return events, ids, problems


def replay_through_parser(path: Path) -> tuple[int, set[str], list[str]]:
    """Feed a capture to the relay's Binance USD-M parser: (events, message ids, problems)."""
    capture = read_capture(path)
    symbols = sorted(
        {
            record.url.split("symbol=")[1].split("&")[0]
            for record in capture.records
            if record.kind is RecordKind.HTTP and record.url
        }
    )
    subscriptions = tuple(
        SubscriptionConfig(
            symbol,
            canonical_symbol(symbol),
            (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE),
        )
        for symbol in symbols
    )
    protocol = BinanceProtocol(VenueConfig("binance-usdm", subscriptions), USDM, "ws://unused")
    snapshots = {
        record.url.split("symbol=")[1].split("&")[0]: (record.data or "").encode()
        for record in capture.records
        if record.kind is RecordKind.HTTP and record.url
    }
    events, ids = 0, set[str]()
    problems: list[str] = []
    for request in protocol.on_open().snapshot_requests:
        outcome = protocol.on_snapshot(request, snapshots[request.instrument.instrument], 0)
        events += len(outcome.events)
        ids.update(event.msg_id for event in outcome.events)
    frames, frame_ids, problems = replay_frames(protocol, path)
    return events + frames, ids | {msg_id for _, msg_id in frame_ids}, problems


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


def replay_through_okx_parser(
    instruments: tuple[str, ...], symbols: tuple[str, ...], path: Path
) -> tuple[int, set[tuple[str, str]], list[str]]:
    """Feed a capture to the relay's OKX parser: (events, (instrument, message id)s, problems:
    rejected frames and book resyncs)."""
    subscriptions = tuple(
        SubscriptionConfig(instrument, symbol, OKX_TYPES)
        for instrument, symbol in zip(instruments, symbols, strict=True)
    )
    return replay_frames(OkxProtocol(VenueConfig("okx", subscriptions)), path)


def test_okx_synthetic_capture_keeps_checksums_and_seq_ids_chained(tmp_path: Path) -> None:
    capture = write_synthetic_capture(OKX_CAPTURE, tmp_path / "okx.jsonl", 5_000, None)
    assert capture.instruments == ("BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT")
    assert capture.symbols == ("BTC/USD:220527", "UNI/USD:PERP", "BTC/USDT")
    assert (capture.venue, capture.events) == ("okx", 5_000)
    events, ids, problems = replay_through_okx_parser(
        capture.instruments, capture.symbols, capture.path
    )
    assert problems == []
    assert events == 5_000
    assert len(ids) == 5_000
    updates = [
        entry
        for record in read_capture(capture.path).records
        if record.kind is RecordKind.RECV
        for message in (json.loads(record.data or ""),)
        if message["arg"] == {"channel": "books", "instId": "BTC-USDT"}
        for entry in message["data"]
    ]
    assert [(u["prevSeqId"], u["seqId"]) for u in updates[:3]] == [(-1, 1), (1, 2), (2, 3)]
    assert all(b["prevSeqId"] == a["seqId"] for a, b in itertools.pairwise(updates))


def test_okx_renamed_copies_each_get_a_snapshot_and_a_valid_book(tmp_path: Path) -> None:
    capture = write_synthetic_capture(OKX_CAPTURE, tmp_path / "many.jsonl", 3_000, 500.0, 3)
    assert len(capture.instruments) == 9
    assert ("BTC002-USDT", "BTC002/USDT") in zip(capture.instruments, capture.symbols, strict=True)
    snapshots = [
        record
        for record in read_capture(capture.path).records
        if record.kind is RecordKind.RECV and '"action":"snapshot"' in (record.data or "")
    ]
    assert len(snapshots) == 9
    events, ids, problems = replay_through_okx_parser(
        capture.instruments, capture.symbols, capture.path
    )
    assert (events, len(ids), problems) == (capture.events, capture.events, [])


def test_okx_session_whose_recorded_checksum_is_wrong_is_refused(tmp_path: Path) -> None:
    lines = OKX_CAPTURE.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if '\\"action\\":\\"update\\"' in line)
    record = json.loads(lines[index])
    message = json.loads(record["data"])
    message["data"][0]["checksum"] += 1
    record["data"] = json.dumps(message)
    lines[index] = json.dumps(record)
    broken = tmp_path / "okx.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(BenchError, match="checksum does not match"):
        open_session(broken)


def test_stats_probe_records_latency_of_messages_with_a_read_time() -> None:
    probe = StatsProbe()
    probe.on_acked(OutboundMessage("market.a", b"{}", "1", "okx", "trade", read_ns=1_000), 4_500)
    probe.on_acked(OutboundMessage("market.a", b"{}", "2", "okx", "trade"), 9_000)
    assert list(probe.latencies_ns) == [3_500]


def test_latency_percentiles_are_nearest_rank_in_milliseconds() -> None:
    latencies = [i * 1_000_000 for i in range(1, 1001)]
    result = latency_percentiles(latencies)
    assert (result.p50, result.p99, result.p999, result.max) == (500.0, 990.0, 999.0, 1000.0)


@pytest.mark.integration
def test_short_bench_run_prints_one_json_object_with_every_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "bench",
            "--events",
            "3000",
            "--json",
            "--load-seconds",
            "0.5",
            "--subscriptions",
            "200",
            "--out",
            str(tmp_path),
            "--loop",
            "asyncio",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= REPORT_KEYS
    assert report["events"] == 3000
    assert report["format"] == "json"
    assert set(report["latency_ms"]) >= {"p50", "p99", "p999"}
    assert report["subscriptions"] == 200
    assert [run["label"] for run in report["runs"]] == [
        "5000/s",
        "20000/s",
        "max",
        "200 subscriptions",
    ]
    assert all(run["dropped"] == 0 and run["duplicates_suppressed"] == 0 for run in report["runs"])
    assert {run["event_loop"] for run in report["runs"]} == {"asyncio"}
    assert report["settings"]["loop"] == "asyncio"
    assert [(b["method"], b["stored"]) for b in report["baselines"]] == [
        ("publish_async", 3000),
        ("core_publish", 3000),
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_short_okx_bench_publishes_every_synthetic_event_without_resync(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The bench serves no OKX venue side: after a resync the fresh snapshot never comes and
    # the book's later updates are refused, so a resync leaves the run short (exit 1).
    code = main(
        [
            "bench",
            "--venue",
            "okx",
            "--captures",
            str(CAPTURES),
            "--events",
            "2000",
            "--rate",
            "4000",
            "--load-seconds",
            "0.25",
            "--subscriptions",
            "0",
            "--json",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["source"] == "okx.jsonl"
    assert [
        (run["label"], run["events"], run["dropped"], run["duplicates_suppressed"])
        for run in report["runs"]
    ] == [("4000/s", 1000, 0, 0), ("max", 2000, 0, 0)]
    assert [(b["method"], b["stored"], b["errors"]) for b in report["baselines"]] == [
        ("publish_async", 2000, 0),
        ("core_publish", 2000, 0),
    ]
