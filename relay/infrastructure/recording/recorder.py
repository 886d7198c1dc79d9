"""Raw venue traffic to capture files, off the frame path: a bounded queue and a writer thread.

:class:`CaptureRecorder` implements :class:`~relay.application.ports.TrafficRecorder`.
The event loop only appends a tuple to a bounded deque (``max_queue_records``;
no lock per frame, the writer polls it every :data:`POLL_S` when it is empty);
when it is full the record is dropped and counted
(``relay_recording_dropped_total{reason="queue_full"}``, full-policy
``drop_newest``): the venue reader never waits for the disk. One thread owns
the files: it compresses records into one :class:`CaptureFile` per venue,
named ``<dir>/<venue>-<UTC start>-<n>.jsonl.zst``, and starts a new file when
the current one reaches ``max_file_bytes`` (compressed) or ``max_file_age_s``.
A new file begins with a ``connect`` record for every connection still open,
so each file is a capture ``relay simulate`` can serve on its own.

Other drops, counted under their reason: ``binary_frame`` (a frame that is
not UTF-8 text cannot be a capture's ``data``) and ``write_error`` (the disk
refused a write: the unflushed records of that file are lost, the file is
abandoned as ``.part``, and records are dropped until a new file opens,
tried again every :data:`WRITE_RETRY_S`).
"""

from __future__ import annotations

import collections
import datetime
import itertools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from relay.config.recording import RecordingConfig
from relay.infrastructure.recording.capture_file import CaptureFile

log = logging.getLogger("relay.recording")

IDLE_FLUSH_S = 1.0
"""Seconds between two flushes of pending records to disk (and checks of file ages)."""

POLL_S = 0.01
"""How long the writer sleeps when the queue is empty (no lock is taken per frame)."""

WRITE_RETRY_S = 10.0
"""Seconds after a write error before a venue's next file is tried."""

QUEUE_FULL_LOG_INTERVAL_S = 10.0
"""Least seconds between two "recording queue full" lines (each gives the drops since the last)."""

DropCounter = Callable[[str, str, int], None]
"""``(venue, reason, count)``: records not written (``relay_recording_dropped_total``)."""

WriteCounter = Callable[[str, int], None]
"""``(venue, count)``: records written (``relay_recording_records_total``)."""

_CLOSE = "close"


class _Item(NamedTuple):
    """One queued record (``kind``: connect, send, recv, http) or ``close`` of a connection.

    ``text`` is the URL of a ``connect``, the method of an ``http`` record (whose
    URL is in ``conn``); ``data`` the frame or body as read.
    """

    kind: str
    venue: str
    t_s: float
    conn: str
    text: str = ""
    data: str | bytes = ""
    status: int = 0


class CaptureRecorder:
    """Records venue traffic into zstd capture files (see the module docstring).

    Args:
        config: the ``[recording]`` section (``enabled`` is the caller's concern).
        on_dropped: counts records not written, by venue and reason.
        on_written: counts records written, by venue.

    Call :meth:`start` before use and :meth:`stop` at shutdown (it finishes every file).
    """

    def __init__(
        self, config: RecordingConfig, on_dropped: DropCounter, on_written: WriteCounter
    ) -> None:
        self.config = config
        self.directory = Path(config.dir)
        self._records: collections.deque[_Item] = collections.deque()
        self._max_records = config.max_queue_records
        self._stopping = threading.Event()
        self._on_dropped = on_dropped
        self._on_written = on_written
        self._conn_numbers: dict[str, itertools.count[int]] = {}
        self._file_numbers = itertools.count(1)
        self._files: dict[str, CaptureFile] = {}
        self._open_conns: dict[str, dict[str, str]] = {}
        self._retry_at: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="recording-writer", daemon=True)
        self._queue_full_drops = 0
        self._queue_full_logged = 0
        self._queue_full_logged_s = -QUEUE_FULL_LOG_INTERVAL_S
        self.finished: list[Path] = []
        """Every file finished so far, in order (for tests and the stop log line)."""

    def start(self) -> None:
        """Create the directory and start the writer thread.

        Raises:
            OSError: the directory cannot be created.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        """Write everything queued, finish every file, end the thread (blocks until done)."""
        if self._thread.is_alive():
            self._stopping.set()
            self._thread.join()

    # --- the port, called on the event loop: never blocks, never raises ---

    def _put(self, venue: str, item: _Item) -> None:
        # One producer (the event loop's thread), one consumer (the writer): deque's
        # append and popleft are atomic, and no lock is taken per frame.
        records = self._records
        if len(records) < self._max_records:
            records.append(item)
        else:
            self._queue_full_drops += 1
            self._on_dropped(venue, "queue_full", 1)

    def connection_opened(self, venue: str, url: str, t_s: float) -> str:
        """Name the connection (``ws-1``, ``ws-2``... per venue) and record its ``connect``."""
        numbers = self._conn_numbers.setdefault(venue, itertools.count(1))
        conn = f"ws-{next(numbers)}"
        self._put(venue, _Item("connect", venue, t_s, conn, url))
        return conn

    def connection_closed(self, venue: str, conn: str) -> None:
        """Forget the connection (later files do not open it again)."""
        self._put(venue, _Item(_CLOSE, venue, 0.0, conn))

    def frame_sent(self, venue: str, conn: str, frame: str | bytes, t_s: float) -> None:
        """Record a ``send`` frame."""
        self._put(venue, _Item("send", venue, t_s, conn, "", frame))

    def frame_received(self, venue: str, conn: str, frame: str | bytes, t_s: float) -> None:
        """Record a ``recv`` frame."""
        self._put(venue, _Item("recv", venue, t_s, conn, "", frame))

    def http_response(
        self, venue: str, method: str, url: str, status: int, body: bytes, t_s: float
    ) -> None:
        """Record an ``http`` answer."""
        self._put(venue, _Item("http", venue, t_s, url, method, body, status))

    # --- the writer thread ---

    def _run(self) -> None:
        records = self._records
        last_idle_s = time.monotonic()
        while True:
            try:
                item = records.popleft()
            except IndexError:
                if self._stopping.is_set():
                    break
                time.sleep(POLL_S)
            else:
                self._handle(item)
            if time.monotonic() - last_idle_s >= IDLE_FLUSH_S:
                self._log_queue_full()
                self._idle()
                last_idle_s = time.monotonic()
        self._log_queue_full()
        for venue in list(self._files):
            self._finish(venue)
        self._report_written()

    def _log_queue_full(self) -> None:
        """One WARNING line per interval while records are dropped at the full queue."""
        dropped = self._queue_full_drops - self._queue_full_logged
        now = time.monotonic()
        if dropped and now - self._queue_full_logged_s >= QUEUE_FULL_LOG_INTERVAL_S:
            self._queue_full_logged += dropped
            self._queue_full_logged_s = now
            log.warning(
                "recording queue full; records dropped",
                extra={"dropped": dropped, "max_queue_records": self.config.max_queue_records},
            )

    def _idle(self) -> None:
        """Flush pending records and rotate files that have grown old."""
        for venue, file in list(self._files.items()):
            try:
                file.flush()
            except OSError as exc:
                self._write_failed(venue, exc)
                continue
            self._rotate_if_due(venue, file)
        self._report_written()

    def _report_written(self) -> None:
        for venue, file in self._files.items():
            self._count_written(venue, file)

    def _count_written(self, venue: str, file: CaptureFile) -> None:
        count = file.take_written()
        if count:
            self._on_written(venue, count)

    def _handle(self, item: _Item) -> None:
        kind, venue, t_s, conn, text, data, status = item
        if kind == _CLOSE:
            self._open_conns.get(venue, {}).pop(conn, None)
            return
        if kind == "connect":
            fields: dict[str, object] = {"kind": kind, "conn": conn, "url": text}
        else:
            try:
                decoded = data.decode("utf-8") if isinstance(data, bytes) else data
            except UnicodeDecodeError:
                self._on_dropped(venue, "binary_frame", 1)
                return
            if kind == "http":
                fields = {
                    "kind": kind,
                    "method": text,
                    "url": conn,
                    "status": status,
                    "data": decoded,
                }
            else:
                fields = {"kind": kind, "conn": conn, "data": decoded}
        file = self._file_for(venue, t_s)
        if file is None:
            self._on_dropped(venue, "write_error", 1)
            return
        try:
            file.write(t_s, fields)
        except OSError as exc:
            self._write_failed(venue, exc)
            return
        if kind == "connect":
            self._open_conns.setdefault(venue, {})[conn] = text
        self._rotate_if_due(venue, file)

    def _file_for(self, venue: str, t_s: float) -> CaptureFile | None:
        """The venue's open file, or a new one (opened with its open connections)."""
        file = self._files.get(venue)
        if file is not None:
            return file
        if time.monotonic() < self._retry_at.get(venue, 0.0):
            return None
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.directory / f"{venue}-{stamp}-{next(self._file_numbers):06d}.jsonl.zst"
        file = None
        try:
            file = CaptureFile(
                path, venue, self.config.compression_level, self.config.max_file_bytes
            )
            for conn, url in self._open_conns.get(venue, {}).items():
                file.write(t_s, {"kind": "connect", "conn": conn, "url": url}, offered=False)
        except OSError as exc:
            if file is not None:
                file.abandon()
            self._retry_at[venue] = time.monotonic() + WRITE_RETRY_S
            log.error(
                "cannot open a recording file; records dropped until a retry",
                extra={"venue": venue, "path": str(path), "error": str(exc)},
            )
            return None
        self._files[venue] = file
        return file

    def _rotate_if_due(self, venue: str, file: CaptureFile) -> None:
        config = self.config
        too_big = 0 < config.max_file_bytes <= file.compressed_bytes
        too_old = 0 < config.max_file_age_s <= time.monotonic() - file.opened_s
        if too_big or too_old:
            self._finish(venue)

    def _finish(self, venue: str) -> None:
        file = self._files.pop(venue)
        try:
            path = file.finish()
        except OSError as exc:
            file.abandon()
            self._count_written(venue, file)
            if file.pending_offered:
                self._on_dropped(venue, "write_error", file.pending_offered)
            self._retry_at[venue] = time.monotonic() + WRITE_RETRY_S
            log.error(
                "cannot finish a recording file; its records stay in the .part file",
                extra={
                    "venue": venue,
                    "path": str(file.part_path),
                    "error": str(exc),
                    "lost_records": file.pending_offered,
                },
            )
            return
        self._count_written(venue, file)
        self.finished.append(path)
        log.info(
            "recording file written",
            extra={"venue": venue, "path": str(path), "records": file.records},
        )

    def _write_failed(self, venue: str, exc: OSError) -> None:
        """Abandon the venue's file after a write error; count its unflushed records."""
        file = self._files.pop(venue)
        file.abandon()
        self._count_written(venue, file)
        self._on_dropped(venue, "write_error", file.pending_offered)
        self._retry_at[venue] = time.monotonic() + WRITE_RETRY_S
        log.error(
            "recording write failed; file abandoned, records dropped until a retry",
            extra={
                "venue": venue,
                "path": str(file.part_path),
                "error": str(exc),
                "lost_records": file.pending_offered,
            },
        )
