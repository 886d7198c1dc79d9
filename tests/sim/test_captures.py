"""Reading capture files (``shared/captures/FORMAT.md``): the header, the records, every refusal.

The readable cases are the recorded Binance USD-M session as it is; every
refusal is that session's first lines with one line changed, and must name the
file, the 1-based line (``None`` for whole-file problems) and the reason.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import zstandard
from support.reference_books import CAPTURES

from relay.sim.captures import (
    CaptureError,
    CaptureHeader,
    RecordKind,
    read_capture,
)

USDM = CAPTURES / "binance-usdm.jsonl"
FIRST_LINES = USDM.read_text(encoding="utf-8").splitlines()[:6]
"""Header, connect, recv, recv, http, recv: the start of the recorded session."""


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cut(records: int = 5) -> list[str]:
    """The header (its ``records`` set to ``records``) and the first five records."""
    header = json.loads(FIRST_LINES[0])
    header["records"] = records
    return [json.dumps(header), *FIRST_LINES[1:]]


def changed(line: int, **fields: object) -> list[str]:
    """:func:`cut` with ``fields`` set on 1-based ``line`` (a value of ``...`` removes one)."""
    lines = cut()
    obj = json.loads(lines[line - 1])
    for name, value in fields.items():
        if value is ...:
            obj.pop(name, None)
        else:
            obj[name] = value
    lines[line - 1] = json.dumps(obj)
    return lines


def test_the_recorded_session_gives_its_header_and_every_record_in_order() -> None:
    capture = read_capture(USDM)
    assert capture.path == USDM
    assert capture.header == CaptureHeader(
        version=1,
        venue="binance-usdm",
        recorded="2021-07-22T22:25:40+00:00",
        source=json.loads(FIRST_LINES[0])["source"],
        record_count=1540,
    )
    assert Counter(r.kind for r in capture.records) == {
        RecordKind.CONNECT: 1,
        RecordKind.RECV: 1535,
        RecordKind.HTTP: 4,
    }
    assert [r.line for r in capture.records] == list(range(2, 1542))
    connect, first = capture.records[0], capture.records[1]
    assert (connect.kind, connect.t, connect.conn) == (
        RecordKind.CONNECT,
        1626992740.179554,
        "ws-1",
    )
    assert connect.url == json.loads(FIRST_LINES[1])["url"]
    assert connect.data is None
    assert first.data == json.loads(FIRST_LINES[2])["data"]  # the frame text, as recorded
    http = capture.records[3]
    assert (http.kind, http.method, http.status, http.conn, http.headers) == (
        RecordKind.HTTP,
        "GET",
        200,
        None,
        (),
    )
    assert http.url == "https://fapi.binance.com/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000"
    assert all(a.t <= b.t for a, b in zip(capture.records, capture.records[1:], strict=False))


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "2", "Content-Type": "application/json"},
        [["Retry-After", "2"], ["Content-Type", "application/json"]],
    ],
)
def test_recorded_response_headers_are_kept_in_file_order(
    tmp_path: Path,
    headers: object,
) -> None:
    capture = read_capture(write(tmp_path, changed(5, headers=headers)))
    assert capture.records[3].headers == (
        ("Retry-After", "2"),
        ("Content-Type", "application/json"),
    )


def test_a_capture_of_only_a_header_has_no_records(tmp_path: Path) -> None:
    capture = read_capture(write(tmp_path, cut(records=0)[:1]))
    assert (capture.header.record_count, capture.records) == (0, ())


LONG = "x" * 100

REFUSALS: list[tuple[str, list[str], int | None, str]] = [
    ("empty file", [], None, "empty file, expected a header line"),
    (
        "header not JSON",
        ["{capture: 1}", *cut()[1:]],
        1,
        "not JSON: Expecting property name enclosed in double quotes",
    ),
    ("header not an object", ["[1]", *cut()[1:]], 1, "expected a JSON object, got list"),
    (
        "header of another format",
        ['{"hello": 1}', *cut()[1:]],
        1,
        "not a relay capture file: no 'capture' field in the header",
    ),
    ("version a string", changed(1, capture="1"), 1, "field 'capture' must be an integer, got '1'"),
    ("version a bool", changed(1, capture=True), 1, "field 'capture' must be an integer, got True"),
    ("version 2", changed(1, capture=2), 1, "unsupported capture version 2"),
    ("no venue", changed(1, venue=...), 1, "field 'venue' must be a string, got None"),
    (
        "venue with a slash",
        changed(1, venue="binance/usdm"),
        1,
        "venue 'binance/usdm' is not a single URL path segment",
    ),
    ("empty venue", changed(1, venue=""), 1, "venue '' is not a single URL path segment"),
    ("negative record count", changed(1, records=-1), 1, "records=-1 is negative"),
    ("no recorded", changed(1, recorded=...), 1, "field 'recorded' must be a string, got None"),
    ("no source", changed(1, source=...), 1, "field 'source' must be a string, got None"),
    ("blank line", [*cut()[:3], "  ", *cut()[4:]], 4, "blank line"),
    (
        "record not JSON",
        [*cut()[:3], "{", *cut()[4:]],
        4,
        "not JSON: Expecting property name enclosed in double quotes",
    ),
    (
        "record not an object",
        [*cut()[:3], '"recv"', *cut()[4:]],
        4,
        "expected a JSON object, got str",
    ),
    ("unknown kind", changed(3, kind="ping"), 3, "unknown record kind 'ping'"),
    ("no kind", changed(3, kind=...), 3, "field 'kind' must be a string, got None"),
    (
        "t a string",
        changed(3, t="1626992741.06217"),
        3,
        "field 't' must be a finite number, got '1626992741.06217'",
    ),
    ("t a bool", changed(3, t=True), 3, "field 't' must be a finite number, got True"),
    ("t infinite", changed(3, t=float("inf")), 3, "field 't' must be a finite number, got inf"),
    (
        "t before the previous record",
        changed(4, t=1626992741.0),
        4,
        "t=1626992741.0 is earlier than the previous record",
    ),
    ("connect without url", changed(2, url=...), 2, "field 'url' must be a string, got None"),
    ("connect without conn", changed(2, conn=7), 2, "field 'conn' must be a string, got 7"),
    ("recv without data", changed(3, data=...), 3, "field 'data' must be a string, got None"),
    (
        "recv data an object",
        changed(3, data={"e": 1}),
        3,
        "field 'data' must be a string, got {'e': 1}",
    ),
    ("http without method", changed(5, method=...), 5, "field 'method' must be a string, got None"),
    (
        "http status a string",
        changed(5, status="200"),
        5,
        "field 'status' must be an integer, got '200'",
    ),
    (
        "http headers a string",
        changed(5, headers="Retry-After: 2"),
        5,
        "field 'headers' must be an object or a list of pairs",
    ),
    (
        "http header not a pair",
        changed(5, headers=[["Retry-After"]]),
        5,
        "header ['Retry-After'] is not a (name, value) string pair",
    ),
    (
        "http header value a number",
        changed(5, headers={"Retry-After": 2}),
        5,
        "header ['Retry-After', 2] is not a (name, value) string pair",
    ),
    (
        "a long value is shortened",
        changed(3, data=[LONG]),
        3,
        f"field 'data' must be a string, got {repr([LONG])[:57]}...",
    ),
    (
        "fewer records than the header says",
        cut(records=6),
        None,
        "header says 6 records, file has 5",
    ),
    (
        "more records than the header says",
        cut(records=4),
        None,
        "header says 4 records, file has 5",
    ),
]


@pytest.mark.parametrize(
    ("lines", "line", "reason"), [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS]
)
def test_every_refusal_names_the_file_the_line_and_the_reason(
    tmp_path: Path,
    lines: list[str],
    line: int | None,
    reason: str,
) -> None:
    path = write(tmp_path, lines) if lines else tmp_path / "empty.jsonl"
    if not lines:
        path.write_bytes(b"")
    with pytest.raises(CaptureError) as raised:
        read_capture(path)
    error = raised.value
    assert error.path == path
    assert error.line == line
    assert error.reason.startswith(reason), error.reason
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(error) == f"{where}: {error.reason}"


def test_a_missing_file_is_refused_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"
    with pytest.raises(CaptureError) as raised:
        read_capture(path)
    assert (raised.value.path, raised.value.line) == (path, None)
    assert raised.value.reason.startswith("cannot read capture file: [Errno 2]")


def test_a_file_that_is_not_utf8_is_refused_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes("\n".join(cut()).encode("utf-8") + b"\n\xff\n")
    with pytest.raises(CaptureError) as raised:
        read_capture(path)
    assert raised.value.line is None
    assert raised.value.reason.startswith("cannot read capture file: 'utf-8' codec can't decode")


def test_a_zstd_capture_reads_like_the_plain_file_across_concatenated_frames(
    tmp_path: Path,
) -> None:
    text = USDM.read_bytes()
    half = text.index(b"\n", len(text) // 2) + 1
    path = tmp_path / "binance-usdm.jsonl.zst"
    # Two zstd frames, cut mid-file, as the recorder writes a header frame and a body frame.
    compressor = zstandard.ZstdCompressor()
    path.write_bytes(compressor.compress(text[:half]) + compressor.compress(text[half:]))
    plain, compressed = read_capture(USDM), read_capture(path)
    assert compressed.header == plain.header
    assert compressed.records == plain.records
    assert len(compressed.records) == 1540


def test_a_zst_file_that_is_not_zstd_is_refused_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl.zst"
    path.write_bytes(USDM.read_bytes()[:1000])
    with pytest.raises(CaptureError) as raised:
        read_capture(path)
    assert raised.value.line is None
    assert raised.value.reason.startswith("cannot read capture file: zstd decompress error")
