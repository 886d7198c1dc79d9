"""Tests of relay.infrastructure.recording: the queue, the writer thread, the zstd files.

Every record of a real capture (``binance-usdm.jsonl``, 1,540 records) is given to
the recorder through the port, as the venue session and the REST client would,
and the files are read back with :func:`relay.sim.captures.read_capture`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import zstandard
from support.reference_books import CAPTURES

from relay.config.recording import RecordingConfig
from relay.infrastructure.recording.recorder import CaptureRecorder
from relay.sim.captures import Capture, CaptureRecord, RecordKind, read_capture

VENUE = "binance-usdm"
SOURCE = read_capture(CAPTURES / "binance-usdm.jsonl")


class Counts:
    """The recorder's counter callbacks, kept."""

    def __init__(self) -> None:
        self.dropped: dict[tuple[str, str], int] = {}
        self.written: dict[str, int] = {}

    def drop(self, venue: str, reason: str, count: int) -> None:
        self.dropped[(venue, reason)] = self.dropped.get((venue, reason), 0) + count

    def write(self, venue: str, count: int) -> None:
        self.written[venue] = self.written.get(venue, 0) + count


def recorder(directory: Path, counts: Counts, **keys: int) -> CaptureRecorder:
    config = RecordingConfig(enabled=True, dir=str(directory), **keys)  # type: ignore[arg-type]
    return CaptureRecorder(config, counts.drop, counts.write)


def feed(
    target: CaptureRecorder,
    records: tuple[CaptureRecord, ...],
    names: dict[str, str] | None = None,
) -> None:
    """Every record through the port; HTTP bodies as bytes, as httpx gives them.

    ``names``: recorded connection name -> the recorder's, kept across calls.
    """
    names = {} if names is None else names
    for record in records:
        if record.kind is RecordKind.CONNECT:
            assert record.conn is not None and record.url is not None
            names[record.conn] = target.connection_opened(VENUE, record.url, record.t)
        elif record.kind is RecordKind.HTTP:
            assert record.method and record.url and record.status and record.data is not None
            body = record.data.encode()
            target.http_response(VENUE, record.method, record.url, record.status, body, record.t)
        else:
            assert record.conn is not None and record.data is not None
            send = target.frame_sent if record.kind is RecordKind.SEND else target.frame_received
            send(VENUE, names[record.conn], record.data, record.t)


def content(record: CaptureRecord) -> tuple[object, ...]:
    return (
        record.kind,
        record.t,
        record.conn,
        record.url,
        record.data,
        record.method,
        record.status,
    )


def test_every_record_of_a_capture_comes_back_from_one_zstd_file(tmp_path: Path) -> None:
    counts = Counts()
    target = recorder(tmp_path, counts, max_file_bytes=0)
    target.start()
    feed(target, SOURCE.records)
    target.stop()

    assert len(target.finished) == 1
    path = target.finished[0]
    assert path.parent == tmp_path and path.name.endswith(".jsonl.zst")
    assert path.name.startswith("binance-usdm-")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    capture = read_capture(path)
    assert capture.header.venue == VENUE
    assert capture.header.source == "relay run [recording]"
    assert capture.header.record_count == len(SOURCE.records) == 1540
    assert [content(r) for r in capture.records] == [content(r) for r in SOURCE.records]
    assert counts.written == {VENUE: 1540}
    assert counts.dropped == {}
    # A plain zstd decoder reads it too (the header and the records are two frames).
    with path.open("rb") as file:
        text = zstandard.ZstdDecompressor().stream_reader(file, read_across_frames=True).read()
    assert len(text.splitlines()) == 1541


def test_rotation_by_size_gives_valid_captures_holding_every_frame_once(tmp_path: Path) -> None:
    counts = Counts()
    target = recorder(tmp_path, counts, max_file_bytes=4096)
    target.start()
    feed(target, SOURCE.records)
    target.stop()

    captures: list[Capture] = [read_capture(path) for path in target.finished]
    assert len(captures) > 5
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in target.finished)
    for capture in captures:
        # Each file opens the connection its frames belong to, so it can be served alone.
        assert content(capture.records[0])[:4] == (
            RecordKind.CONNECT,
            capture.records[0].t,
            "ws-1",
            SOURCE.records[0].url,
        )
    others = [content(r) for c in captures for r in c.records if r.kind is not RecordKind.CONNECT]
    assert others == [content(r) for r in SOURCE.records if r.kind is not RecordKind.CONNECT]
    assert counts.dropped == {}


def test_a_full_queue_drops_the_newest_records_and_counts_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="relay.recording")
    counts = Counts()
    target = recorder(tmp_path, counts, max_queue_records=100)
    feed(target, SOURCE.records[:150])  # the writer is not started: nothing leaves the queue
    assert counts.dropped == {(VENUE, "queue_full"): 50}
    target.start()
    target.stop()
    capture = read_capture(target.finished[0])
    assert [content(r) for r in capture.records] == [content(r) for r in SOURCE.records[:100]]
    assert counts.written == {VENUE: 100}
    [record] = caplog.records
    assert record.getMessage() == "recording queue full; records dropped"
    assert (record.dropped, record.max_queue_records) == (50, 100)  # type: ignore[attr-defined]


def test_a_binary_frame_that_is_not_utf8_is_dropped_and_counted(tmp_path: Path) -> None:
    counts = Counts()
    target = recorder(tmp_path, counts)
    target.start()
    conn = target.connection_opened(VENUE, "ws://127.0.0.1:1/stream", 1.0)
    target.frame_received(VENUE, conn, b"\xff\xfe binary", 2.0)
    target.frame_received(VENUE, conn, b'{"utf8": "bytes"}', 3.0)
    target.stop()
    capture = read_capture(target.finished[0])
    assert [(r.kind, r.t, r.data) for r in capture.records] == [
        (RecordKind.CONNECT, 1.0, None),
        (RecordKind.RECV, 3.0, '{"utf8": "bytes"}'),
    ]
    assert counts.dropped == {(VENUE, "binary_frame"): 1}


def test_a_directory_that_cannot_be_written_drops_and_counts_without_raising(
    tmp_path: Path,
) -> None:
    counts = Counts()
    directory = tmp_path / "gone"
    target = recorder(directory, counts)
    target.start()
    directory.rmdir()  # the next file cannot be created, as on a disk that went away
    feed(target, SOURCE.records[:20])
    target.stop()
    assert target.finished == []
    assert counts.dropped == {(VENUE, "write_error"): 20}
    assert counts.written == {}


def test_rotation_by_age_closes_the_file_while_traffic_pauses(tmp_path: Path) -> None:
    counts = Counts()
    config = RecordingConfig(enabled=True, dir=str(tmp_path), max_file_age_s=1.0)
    target = CaptureRecorder(config, counts.drop, counts.write)
    target.start()
    names: dict[str, str] = {}
    feed(target, SOURCE.records[:10], names)
    deadline = time.monotonic() + 10
    while not target.finished:  # the writer's once-a-second check closes it
        assert time.monotonic() < deadline, "the old file was never closed"
        time.sleep(0.05)
    feed(target, SOURCE.records[10:20], names)
    target.stop()

    first, second = (read_capture(path) for path in target.finished)
    assert [content(r) for r in first.records] == [content(r) for r in SOURCE.records[:10]]
    # The new file opens the connection still open, then goes on with its frames.
    assert content(second.records[0])[2:4] == ("ws-1", SOURCE.records[0].url)
    assert second.records[0].kind is RecordKind.CONNECT
    assert [content(r) for r in second.records[1:]] == [content(r) for r in SOURCE.records[10:20]]
