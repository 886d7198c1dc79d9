"""One zstd-compressed relay-capture/1 file being written, for one venue.

The format is ``shared/captures/FORMAT.md`` (read back by
:func:`relay.sim.captures.read_capture`): line 1 a header whose ``records``
field counts the lines after it, then one JSON record per line, ``t``
non-decreasing. The count is known only at the end, so records are compressed
into ``<name>.part`` while the file is open; :meth:`CaptureFile.finish` writes
the header as its own zstd frame into ``<name>.tmp``, appends the part's
compressed bytes unchanged (zstd frames concatenate into one valid stream,
RFC 8878 section 3.1) and renames it to ``<name>``. A crash leaves the ``.part``
file: every flushed record, without a header.

Not thread-safe: one writer thread owns every instance.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import time
from pathlib import Path

import orjson
import zstandard

SOURCE: str = "relay run [recording]"
"""The header's ``source`` field of every recorded file."""

FLUSH_BYTES_MAX = 1024 * 1024
"""Uncompressed bytes after which records are flushed to disk (at most; less when
``max_file_bytes`` is smaller), so the file size seen for rotation stays current."""


def record_line(record: dict[str, object]) -> bytes:
    """One record as a JSON line (``b'{"t":...,"kind":"recv",...}\\n'``)."""
    return orjson.dumps(record) + b"\n"


class CaptureFile:
    """A capture file of ``venue`` under construction (see the module docstring).

    Args:
        path: the final path (``.../binance-usdm-20261201T120000Z-000001.jsonl.zst``).
        venue: the header's ``venue``.
        level: zstd compression level (1..19).
        max_file_bytes: the rotation size in compressed bytes (0: none); also
            bounds how much is compressed between two flushes.

    Raises:
        OSError: the part file cannot be created.
    """

    def __init__(self, path: Path, venue: str, level: int, max_file_bytes: int) -> None:
        self.path = path
        self.venue = venue
        self.part_path = path.with_name(path.name + ".part")
        self.opened_s = time.monotonic()
        self.recorded = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        self.records = 0
        self.last_t = 0.0
        self.compressed_bytes = 0
        self.pending_bytes = 0
        self.pending_records = 0
        self.pending_offered = 0
        """Records given by the recorder (not the connects a new file repeats), not on disk yet."""
        self.unreported_written = 0
        self.flush_bytes = min(FLUSH_BYTES_MAX, max_file_bytes or FLUSH_BYTES_MAX)
        self._level = level
        self._compressor = zstandard.ZstdCompressor(level=level).compressobj()
        self._file = self.part_path.open("wb")

    def write(self, t_s: float, fields: dict[str, object], offered: bool = True) -> None:
        """Compress one record: ``t`` (raised to the previous record's if earlier) + ``fields``.

        Args:
            t_s: the record's time, Unix epoch seconds.
            fields: the rest of the record, in file order (``{"kind": "recv", ...}``).
            offered: a record the recorder was given (False for the ``connect``
                records a new file repeats), counted as written once on disk.

        Raises:
            OSError: writing failed (the disk is full); the record counts as pending.
        """
        self.last_t = max(self.last_t, t_s)
        record: dict[str, object] = {"t": self.last_t, **fields}
        line = record_line(record)
        self.records += 1
        self.pending_records += 1
        self.pending_offered += offered
        self.pending_bytes += len(line)
        self._put(self._compressor.compress(line))
        if self.pending_bytes >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Write every compressed record to the part file (a complete zstd block).

        Raises:
            OSError: the write failed.
        """
        if self.pending_records == 0:
            return
        self._put(self._compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
        self._file.flush()
        self._on_disk()

    def _on_disk(self) -> None:
        self.unreported_written += self.pending_offered
        self.pending_offered = 0
        self.pending_bytes = 0
        self.pending_records = 0

    def take_written(self) -> int:
        """Offered records on disk since the last call."""
        count, self.unreported_written = self.unreported_written, 0
        return count

    def _put(self, chunk: bytes) -> None:
        if chunk:
            self._file.write(chunk)
            self.compressed_bytes += len(chunk)

    def finish(self) -> Path:
        """Close the file: header frame + the records' compressed bytes, renamed into place.

        Returns:
            the final path.

        Raises:
            OSError: writing or renaming failed (the ``.part`` file is kept).
        """
        self._put(self._compressor.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH))
        self._file.close()
        self._on_disk()
        header = {
            "capture": 1,
            "venue": self.venue,
            "recorded": self.recorded,
            "source": SOURCE,
            "records": self.records,
        }
        tmp_path = self.path.with_name(self.path.name + ".tmp")
        with tmp_path.open("wb") as out:
            out.write(zstandard.ZstdCompressor(level=self._level).compress(record_line(header)))
            with self.part_path.open("rb") as body:
                shutil.copyfileobj(body, out)
            out.flush()
            os.fsync(out.fileno())
        tmp_path.replace(self.path)
        self.part_path.unlink()
        return self.path

    def abandon(self) -> None:
        """Close the part file without finishing it (after a write error); never raises."""
        with contextlib.suppress(OSError):
            self._file.close()
