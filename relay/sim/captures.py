"""Reading recorded venue sessions (relay-capture version 1) into frozen records.

A capture file is JSON Lines: line 1 is a header object, every further line is
one record ordered by ``t``. The format is described in
``shared/captures/FORMAT.md``; a trimmed example (``binance-usdm.jsonl``)::

    {"capture": 1, "venue": "binance-usdm", "recorded": "2021-07-22T22:25:40+00:00",
     "source": "cryptofeed sample_data: ...", "records": 1540}
    {"t":1626992740.179554,"kind":"connect","conn":"ws-1","url":"wss://fstream.binance.com/stream?streams=..."}
    {"t":1626992741.06217,"kind":"recv","conn":"ws-1","data":"{\\"stream\\":\\"sushiusdt@bookTicker\\",...}"}
    {"t":1626992741.301402,"kind":"http","method":"GET",
     "url":"https://fapi.binance.com/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000",
     "status":200,"data":"{\\"lastUpdateId\\":600859605926,...}"}

Frame texts (``data``) are kept exactly as recorded: they are never decoded here.

A file whose name ends in ``.zst`` (``relay run``'s ``[recording]`` writes
``*.jsonl.zst``) is zstd-compressed; it may hold several concatenated zstd
frames (the recorder writes the header and the records as separate frames).
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import zstandard

from relay.domain.errors import RelayError

SUPPORTED_CAPTURE_VERSION = 1
ZSTD_SUFFIX = ".zst"
"""A capture file with this suffix is zstd-compressed."""
FORBIDDEN_VENUE_CHARACTERS = frozenset("/?#% \t\r\n")


class CaptureError(RelayError):
    """A capture file could not be read or does not follow the capture format.

    Attributes:
        path: the capture file.
        line: 1-based line number of the offending line, or ``None`` when the
            problem concerns the whole file (unreadable, wrong record count).
        reason: what is wrong, e.g. ``"field 't' must be a number"``.
    """

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class RecordKind(enum.Enum):
    """What a capture record holds; the value is the ``kind`` field's text."""

    CONNECT = "connect"
    SEND = "send"
    RECV = "recv"
    HTTP = "http"


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    """Line 1 of a capture file.

    Attributes:
        version: format version, the ``capture`` field (always 1 here).
        venue: venue name, e.g. ``"binance-usdm"``; a single URL path segment.
        recorded: ISO 8601 time the session was recorded, as written.
        source: where the recording came from, as written.
        record_count: number of records after the header, the ``records`` field.
    """

    version: int
    venue: str
    recorded: str
    source: str
    record_count: int


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One record of a capture file.

    Which optional fields are set depends on ``kind``:

    - ``CONNECT``: ``conn``, ``url`` (``"wss://fstream.binance.com/stream?streams=..."``).
    - ``SEND`` / ``RECV``: ``conn``, ``data`` (the text frame, byte-for-byte).
    - ``HTTP``: ``method``, ``url``, ``status``, ``data`` (response body) and
      ``headers`` (empty when none were recorded).

    Attributes:
        kind: the record kind.
        t: local receive time, Unix epoch seconds.
        line: 1-based line number in the capture file (the header is line 1).
        conn: connection name (``"ws-1"``), or ``None`` for ``HTTP``.
        url: connection or request URL, or ``None`` for ``SEND`` / ``RECV``.
        data: frame text or response body, or ``None`` for ``CONNECT``.
        method: HTTP method (``"GET"``), or ``None`` unless ``HTTP``.
        status: HTTP status code, or ``None`` unless ``HTTP``.
        headers: recorded response headers as ``(name, value)`` pairs in file order.
    """

    kind: RecordKind
    t: float
    line: int
    conn: str | None = None
    url: str | None = None
    data: str | None = None
    method: str | None = None
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Capture:
    """A whole capture file: its header and its records in file order.

    Attributes:
        path: the file it was read from.
        header: line 1.
        records: lines 2.. in file (and time) order.
    """

    path: Path
    header: CaptureHeader
    records: tuple[CaptureRecord, ...]


def read_capture(path: Path) -> Capture:
    """Read and validate one capture file.

    Args:
        path: a ``*.jsonl`` capture file (UTF-8), or a zstd-compressed one
            (``*.jsonl.zst``, read across concatenated zstd frames).

    Returns:
        The header and every record; ``data`` strings are exactly as recorded.

    Raises:
        CaptureError: the file cannot be read (or decompressed), a line is not a JSON object, a
            field is missing or of the wrong type, the ``kind`` or ``capture``
            version is unknown, records go back in time, or the header's
            ``records`` count differs from the number of record lines.
    """
    try:
        text = _read_bytes(path).decode("utf-8")
    except (OSError, UnicodeDecodeError, zstandard.ZstdError) as exc:
        raise CaptureError(path, None, f"cannot read capture file: {exc}") from exc
    lines = text.splitlines()
    if not lines:
        raise CaptureError(path, None, "empty file, expected a header line")
    header = _parse_header(path, _load_object(path, 1, lines[0]))
    records: list[CaptureRecord] = []
    previous_t = -math.inf
    for index, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            raise CaptureError(path, index, "blank line")
        record = _parse_record(path, index, _load_object(path, index, raw))
        if record.t < previous_t:
            raise CaptureError(path, index, f"t={record.t} is earlier than the previous record")
        previous_t = record.t
        records.append(record)
    if len(records) != header.record_count:
        raise CaptureError(
            path,
            None,
            f"header says {header.record_count} records, file has {len(records)}",
        )
    return Capture(path=path, header=header, records=tuple(records))


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when its name ends in :data:`ZSTD_SUFFIX`."""
    if path.suffix != ZSTD_SUFFIX:
        return path.read_bytes()
    with path.open("rb") as file:
        reader = zstandard.ZstdDecompressor().stream_reader(file, read_across_frames=True)
        return reader.read()


def _load_object(path: Path, line: int, raw: str) -> Mapping[str, object]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CaptureError(path, line, f"not JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise CaptureError(path, line, f"expected a JSON object, got {type(value).__name__}")
    return value


def _parse_header(path: Path, obj: Mapping[str, object]) -> CaptureHeader:
    if "capture" not in obj:
        raise CaptureError(path, 1, "not a relay capture file: no 'capture' field in the header")
    version = _require_int(path, 1, obj, "capture")
    if version != SUPPORTED_CAPTURE_VERSION:
        raise CaptureError(path, 1, f"unsupported capture version {version}")
    venue = _require_str(path, 1, obj, "venue")
    if not venue or FORBIDDEN_VENUE_CHARACTERS.intersection(venue):
        raise CaptureError(path, 1, f"venue {venue!r} is not a single URL path segment")
    record_count = _require_int(path, 1, obj, "records")
    if record_count < 0:
        raise CaptureError(path, 1, f"records={record_count} is negative")
    return CaptureHeader(
        version=version,
        venue=venue,
        recorded=_require_str(path, 1, obj, "recorded"),
        source=_require_str(path, 1, obj, "source"),
        record_count=record_count,
    )


def _parse_record(path: Path, line: int, obj: Mapping[str, object]) -> CaptureRecord:
    kind_text = _require_str(path, line, obj, "kind")
    try:
        kind = RecordKind(kind_text)
    except ValueError:
        raise CaptureError(path, line, f"unknown record kind {kind_text!r}") from None
    t = obj.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise CaptureError(path, line, f"field 't' must be a finite number, got {_short(t)}")
    if kind is RecordKind.CONNECT:
        return CaptureRecord(
            kind=kind,
            t=float(t),
            line=line,
            conn=_require_str(path, line, obj, "conn"),
            url=_require_str(path, line, obj, "url"),
        )
    if kind is RecordKind.HTTP:
        return CaptureRecord(
            kind=kind,
            t=float(t),
            line=line,
            url=_require_str(path, line, obj, "url"),
            data=_require_str(path, line, obj, "data"),
            method=_require_str(path, line, obj, "method"),
            status=_require_int(path, line, obj, "status"),
            headers=_parse_headers(path, line, obj.get("headers")),
        )
    return CaptureRecord(
        kind=kind,
        t=float(t),
        line=line,
        conn=_require_str(path, line, obj, "conn"),
        data=_require_str(path, line, obj, "data"),
    )


def _parse_headers(path: Path, line: int, value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, dict):
        pairs: list[object] = [[name, text] for name, text in value.items()]
    elif isinstance(value, list):
        pairs = value
    else:
        raise CaptureError(path, line, "field 'headers' must be an object or a list of pairs")
    headers: list[tuple[str, str]] = []
    for pair in pairs:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not isinstance(pair[0], str)
            or not isinstance(pair[1], str)
        ):
            raise CaptureError(
                path, line, f"header {_short(pair)} is not a (name, value) string pair"
            )
        headers.append((pair[0], pair[1]))
    return tuple(headers)


def _require_str(path: Path, line: int, obj: Mapping[str, object], field: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str):
        raise CaptureError(path, line, f"field {field!r} must be a string, got {_short(value)}")
    return value


def _require_int(path: Path, line: int, obj: Mapping[str, object], field: str) -> int:
    value = obj.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CaptureError(path, line, f"field {field!r} must be an integer, got {_short(value)}")
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
