"""Record a simulated session through the relay, replay the recording, compare JetStream.

Run 1: a real nats-server, ``relay simulate`` on ``binance-usdm.jsonl`` at 20x,
``relay run`` with ``[recording]``. Run 2: a fresh nats-server, ``relay simulate``
on the recorded ``.jsonl.zst``, a fresh ``relay run`` without recording. Both
streams must hold the same messages: subjects, ``Nats-Msg-Id`` and envelopes
equal except ``received_at`` (the relay's own clock), and both must match the
original capture (``verify_jetstream``).
"""

from __future__ import annotations

import asyncio
import resource
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import zstandard
from prometheus_client.parser import text_string_to_metric_families
from support.e2e import (
    Stored,
    config_text,
    expected_counts,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
    until,
    verify_jetstream,
)
from support.reference_books import CAPTURES

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.sim.captures import RecordKind, read_capture

pytestmark = pytest.mark.integration

VENUE = ("binance-usdm",)
FSIZE_LIMIT = 64 * 1024


def by_msg_id(messages: Stored) -> dict[str, tuple[str, dict[str, Any]]]:
    """Msg id -> (subject, envelope without ``received_at``)."""
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    for subject, headers, data in messages:
        envelope = dict(orjson.loads(data))
        del envelope["received_at"]
        result[headers["Nats-Msg-Id"]] = (subject, envelope)
    return result


async def relay_run(captures: str, config_extra: str, tmp_path: Path, name: str) -> Stored:
    """nats-server + simulator on ``captures`` + relay; every message stored, once stable."""
    async with EmbeddedNats() as nats_server, simulator_process(captures, speed="20") as sim:
        config = tmp_path / f"{name}.toml"
        config.write_text(
            config_text(nats_server.url, sim, free_port(), "json", VENUE) + config_extra
        )
        relay = await start_relay(config)
        try:
            messages = await stored_messages(nats_server.url, expected_counts(VENUE))
        finally:
            stderr = await stop_relay(relay)
        assert relay.returncode == 0, stderr[-2000:]
    return messages


async def test_a_recorded_session_replayed_gives_the_same_messages_in_jetstream(
    tmp_path: Path,
) -> None:
    recordings = tmp_path / "recordings"
    recording = f'\n[recording]\nenabled = true\ndir = "{recordings}"\n'
    first = await relay_run("binance-usdm.jsonl", recording, tmp_path, "record")

    files = sorted(recordings.iterdir())
    assert [f.name.endswith(".jsonl.zst") for f in files] == [True]
    recorded = read_capture(files[0])
    assert recorded.header.record_count == 1540  # connect, 1,535 frames, 4 REST answers
    source = read_capture(CAPTURES / "binance-usdm.jsonl")
    # Every frame the simulator sent, byte for byte and in order; the REST answers too.
    assert [r.data for r in recorded.records if r.kind is RecordKind.RECV] == [
        r.data for r in source.records if r.kind is RecordKind.RECV
    ]
    assert sorted(r.data or "" for r in recorded.records if r.kind is RecordKind.HTTP) == sorted(
        r.data or "" for r in source.records if r.kind is RecordKind.HTTP
    )
    assert {r.status for r in recorded.records if r.kind is RecordKind.HTTP} == {200}
    assert [r.kind for r in recorded.records[:1]] == [RecordKind.CONNECT]

    second = await relay_run(str(files[0]), "", tmp_path, "replay")

    assert len(second) == len(first)
    assert by_msg_id(second) == by_msg_id(first)
    counts = {"trade": 91, "ticker": 613, "candle": 67, "l2_orderbook": 756, "l2_snapshot": 4}
    assert dict(verify_jetstream(first, "json", VENUE)) == counts
    assert dict(verify_jetstream(second, "json", VENUE)) == counts
    assert len(first) == 1527


async def test_a_recording_rotated_by_size_holds_every_frame_once_in_valid_captures(
    tmp_path: Path,
) -> None:
    recordings = tmp_path / "recordings"
    recording = f'\n[recording]\nenabled = true\ndir = "{recordings}"\nmax_file_bytes = 4096\n'
    await relay_run("binance-usdm.jsonl", recording, tmp_path, "record")

    files = sorted(recordings.iterdir())
    assert len(files) > 5
    assert all(f.name.endswith(".jsonl.zst") for f in files)
    captures = [read_capture(f) for f in files]  # each one a valid capture
    assert all(c.records[0].kind is RecordKind.CONNECT for c in captures)
    source = read_capture(CAPTURES / "binance-usdm.jsonl")
    assert [r.data for c in captures for r in c.records if r.kind is RecordKind.RECV] == [
        r.data for r in source.records if r.kind is RecordKind.RECV
    ]
    assert sum(1 for c in captures for r in c.records if r.kind is RecordKind.HTTP) == 4


async def test_a_full_disk_loses_recording_records_counted_and_nothing_published(
    tmp_path: Path,
) -> None:
    """The relay's files may not grow past 64 KiB (RLIMIT_FSIZE: writes fail with EFBIG,
    as on a full disk); the session compresses to about 110 KB. At 4x the records are
    flushed once a second, a few times before the limit is hit."""
    recordings = tmp_path / "recordings"
    http_port = free_port()

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    async with (
        EmbeddedNats() as nats_server,
        simulator_process("binance-usdm.jsonl", speed="4") as sim,
    ):
        config = tmp_path / "relay.toml"
        config.write_text(
            config_text(nats_server.url, sim, http_port, "json", VENUE)
            + f'\n[recording]\nenabled = true\ndir = "{recordings}"\n'
        )
        relay = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "relay.cli",
            "run",
            "--config",
            str(config),
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=small_files,
        )
        try:
            messages = await stored_messages(nats_server.url, expected_counts(VENUE))

            async def all_records_accounted() -> bool:
                nonlocal metrics
                async with httpx.AsyncClient() as client:
                    text = (await client.get(f"http://127.0.0.1:{http_port}/metrics")).text
                metrics = {
                    (s.name, tuple(sorted(s.labels.items()))): s.value
                    for family in text_string_to_metric_families(text)
                    for s in family.samples
                    if s.name.startswith("relay_recording_") and s.name.endswith("_total")
                }
                return sum(metrics.values()) == 1540

            await until(all_records_accounted, "every record written or dropped")
        finally:
            stderr = await stop_relay(relay)
    assert relay.returncode == 0, stderr[-2000:]
    assert dict(verify_jetstream(messages, "json", VENUE)) == {
        "trade": 91,
        "ticker": 613,
        "candle": 67,
        "l2_orderbook": 756,
        "l2_snapshot": 4,
    }
    written = metrics[("relay_recording_records_total", (("venue", "binance-usdm"),))]
    dropped = metrics[
        (
            "relay_recording_dropped_total",
            (("reason", "write_error"), ("venue", "binance-usdm")),
        )
    ]
    print(f"recording: {written:.0f} records written, {dropped:.0f} dropped (write_error)")
    assert written + dropped == 1540 and dropped > 0
    assert "recording write failed; file abandoned, records dropped until a retry" in stderr
    [part] = recordings.iterdir()
    assert part.name.endswith(".jsonl.zst.part") and part.stat().st_size <= FSIZE_LIMIT
    # What reached the disk before the error is the session's first records, readable.
    text = zstandard.ZstdDecompressor().decompressobj().decompress(part.read_bytes())
    lines = text.decode().splitlines()
    source = read_capture(CAPTURES / "binance-usdm.jsonl")
    assert len(lines) >= written
    assert [orjson.loads(line)["kind"] for line in lines[:3]] == ["connect", "recv", "recv"]
    received = [orjson.loads(line).get("data") for line in lines[1 : int(written)]]
    assert received[:2] == [r.data for r in source.records[1:3]]
