"""The venue simulator, driven by real clients against the recorded sessions."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from relay.domain.errors import RelayError
from relay.infrastructure.captures import (
    Capture,
    CaptureError,
    CaptureRecord,
    RecordKind,
    read_capture,
)
from relay.infrastructure.simulator import (
    InvalidSpeedError,
    Simulator,
    SimulatorError,
    parse_speed,
    replay_schedule,
    rest_key,
    run_simulator,
)

SUSHI_LAST_UPDATE_ID = 600859605926
IDLE_WAIT_S = 0.3


def recv_frames(capture: Capture, conn: str = "ws-1") -> list[str]:
    """The recorded ``recv`` frame texts of one connection, in order."""
    return [
        r.data
        for r in capture.records
        if r.kind is RecordKind.RECV and r.conn == conn and r.data is not None
    ]


def record_line(record: CaptureRecord, **changes: object) -> str:
    """A capture record as a JSONL line, with some fields replaced."""
    obj: dict[str, object] = {"t": record.t, "kind": record.kind.value}
    for field in ("conn", "url", "data", "method", "status"):
        value = getattr(record, field)
        if value is not None:
            obj[field] = value
    obj.update(changes)
    return json.dumps(obj)


def write_capture(path: Path, venue: str, lines: Sequence[str]) -> Path:
    """Write a capture file whose header counts ``lines``."""
    header = {
        "capture": 1,
        "venue": venue,
        "recorded": "2021-07-22T22:25:40+00:00",
        "source": "test slice of shared/captures",
        "records": len(lines),
    }
    path.write_text("\n".join([json.dumps(header), *lines]) + "\n", encoding="utf-8")
    return path


async def receive_n(client: ClientConnection, count: int) -> list[str]:
    """Receive ``count`` text frames."""
    frames = []
    for _ in range(count):
        frame = await client.recv()
        assert isinstance(frame, str)
        frames.append(frame)
    return frames


@pytest.fixture
def usdm(captures_dir: Path) -> Capture:
    return read_capture(captures_dir / "binance-usdm.jsonl")


@pytest.fixture
def spot(captures_dir: Path) -> Capture:
    return read_capture(captures_dir / "binance-spot.jsonl")


@pytest.fixture
def okx(captures_dir: Path) -> Capture:
    return read_capture(captures_dir / "okx.jsonl")


@pytest.fixture
async def usdm_simulator(usdm: Capture) -> AsyncIterator[Simulator]:
    """binance-usdm at max speed: for clients that read every frame before closing."""
    async with Simulator([usdm], speed=None) as simulator:
        yield simulator


@pytest.fixture
async def usdm_realtime(usdm: Capture) -> AsyncIterator[Simulator]:
    """binance-usdm at recorded pace: for clients that close after a few frames."""
    async with Simulator([usdm], speed=1.0) as simulator:
        yield simulator


def test_parse_speed_reads_realtime_max_and_factors() -> None:
    assert parse_speed("realtime") == 1.0
    assert parse_speed("max") is None
    assert parse_speed("2") == 2.0
    assert parse_speed("0.5") == 0.5


@pytest.mark.parametrize("text", ["0", "-1", "fast", "", "nan", "inf"])
def test_parse_speed_refuses_values_that_are_not_a_positive_number(text: str) -> None:
    with pytest.raises(InvalidSpeedError) as raised:
        parse_speed(text)
    assert raised.value.text == text
    assert isinstance(raised.value, RelayError)
    assert isinstance(raised.value, ValueError)


def test_replay_schedule_divides_recorded_gaps_by_the_speed() -> None:
    assert replay_schedule([100.0, 100.5, 101.0], 2.0) == (0.0, 0.25, 0.5)
    assert replay_schedule([100.0, 100.5, 101.0], 1.0) == (0.0, 0.5, 1.0)


def test_replay_schedule_at_max_speed_has_no_waits() -> None:
    assert replay_schedule([100.0, 100.5, 101.0], None) == (0.0, 0.0, 0.0)
    assert replay_schedule([], 1.0) == ()


def test_rest_key_ignores_size_limit_parameters_and_their_order() -> None:
    assert rest_key("/fapi/v1/depth", "limit=1000&symbol=SUSHIUSDT") == (
        "/fapi/v1/depth",
        (("symbol", "SUSHIUSDT"),),
    )
    assert rest_key("/x", "size=5&depth=3&b=2&a=1") == ("/x", (("a", "1"), ("b", "2")))
    assert rest_key("", "") == ("/", ())


def test_read_capture_loads_header_and_every_record(usdm: Capture) -> None:
    assert usdm.header.venue == "binance-usdm"
    assert usdm.header.version == 1
    assert usdm.header.recorded == "2021-07-22T22:25:40+00:00"
    assert usdm.header.record_count == 1540
    assert len(usdm.records) == 1540
    kinds = [r.kind for r in usdm.records]
    assert kinds.count(RecordKind.RECV) == 1535
    assert kinds.count(RecordKind.HTTP) == 4
    first = usdm.records[0]
    assert first.kind is RecordKind.CONNECT
    assert first.t == 1626992740.179554
    assert first.conn == "ws-1"
    assert first.line == 2
    http_record = usdm.records[3]
    assert http_record.kind is RecordKind.HTTP
    assert http_record.method == "GET"
    assert http_record.status == 200
    assert http_record.url == "https://fapi.binance.com/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000"
    assert http_record.headers == ()


def test_a_malformed_line_raises_capture_error_naming_file_and_line(
    usdm: Capture, tmp_path: Path
) -> None:
    path = write_capture(
        tmp_path / "bad.jsonl",
        "binance-usdm",
        [record_line(usdm.records[0]), '{"t": "soon", "kind": "recv", "conn": "ws-1"}'],
    )
    with pytest.raises(CaptureError) as raised:
        read_capture(path)
    assert raised.value.path == path
    assert raised.value.line == 3
    assert str(raised.value) == f"{path}:3: field 't' must be a finite number, got 'soon'"


def test_a_line_that_is_not_json_raises_capture_error(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "bad.jsonl", "okx", ['{"t": 1.0, "kind": "recv"'])
    with pytest.raises(CaptureError) as raised:
        read_capture(path)
    assert raised.value.line == 2
    assert raised.value.reason.startswith("not JSON: ")


def test_an_unknown_record_kind_raises_capture_error(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "bad.jsonl", "okx", ['{"t": 1.0, "kind": "ping"}'])
    with pytest.raises(CaptureError) as raised:
        read_capture(path)
    assert str(raised.value) == f"{path}:2: unknown record kind 'ping'"


def test_a_record_count_differing_from_the_header_raises_capture_error(
    usdm: Capture, tmp_path: Path
) -> None:
    path = tmp_path / "short.jsonl"
    header = {"capture": 1, "venue": "x", "recorded": "r", "source": "s", "records": 2}
    path.write_text(f"{json.dumps(header)}\n{record_line(usdm.records[0])}\n", encoding="utf-8")
    with pytest.raises(CaptureError) as raised:
        read_capture(path)
    assert raised.value.line is None
    assert str(raised.value) == f"{path}: header says 2 records, file has 1"


async def test_binance_usdm_at_max_speed_serves_all_1535_frames_exactly(
    usdm: Capture, usdm_simulator: Simulator
) -> None:
    recorded = recv_frames(usdm)
    async with connect(usdm_simulator.ws_url_for("binance-usdm", "/stream")) as client:
        received = await receive_n(client, 1535)
    assert len(recorded) == 1535
    assert received[0] == recorded[0]
    assert received[0].startswith('{"stream":"sushiusdt@bookTicker","data":{"e":"bookTicker"')
    assert received == recorded


async def test_after_the_last_frame_the_connection_stays_open_and_idle(
    usdm_simulator: Simulator,
) -> None:
    async with connect(usdm_simulator.ws_url_for("binance-usdm", "/stream")) as client:
        await receive_n(client, 1535)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
        await client.send('{"method":"LIST_SUBSCRIPTIONS","id":1}')
        await client.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.recv(), IDLE_WAIT_S)


async def test_a_client_connecting_twice_gets_the_recording_again_from_its_first_frame(
    usdm: Capture, usdm_realtime: Simulator
) -> None:
    recorded = recv_frames(usdm)
    url = usdm_realtime.ws_url_for("binance-usdm", "/stream")
    async with connect(url) as first, connect(url) as second:
        assert await receive_n(first, 3) == recorded[:3]
        assert await receive_n(second, 3) == recorded[:3]
    async with connect(url) as third:
        assert await receive_n(third, 1) == recorded[:1]


async def test_rest_depth_returns_the_recorded_snapshot_whatever_the_limit(
    usdm: Capture, usdm_simulator: Simulator
) -> None:
    recorded_body = usdm.records[3].data
    async with httpx.AsyncClient(base_url=usdm_simulator.base_url) as http_client:
        for limit in (1000, 5000):
            response = await http_client.get(f"/fapi/v1/depth?symbol=SUSHIUSDT&limit={limit}")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.text == recorded_body
            assert response.json()["lastUpdateId"] == SUSHI_LAST_UPDATE_ID
        prefixed = await http_client.get("/binance-usdm/fapi/v1/depth?symbol=SUSHIUSDT")
    assert prefixed.json()["lastUpdateId"] == SUSHI_LAST_UPDATE_ID


async def test_an_unknown_rest_request_gets_a_404_with_a_json_error(
    usdm_simulator: Simulator,
) -> None:
    async with httpx.AsyncClient(base_url=usdm_simulator.base_url) as http_client:
        unknown_symbol = await http_client.get("/fapi/v1/depth?symbol=BTCUSDT&limit=1000")
        unknown_path = await http_client.get("/fapi/v1/exchangeInfo")
    assert unknown_symbol.status_code == 404
    assert unknown_symbol.headers["content-type"] == "application/json"
    assert unknown_symbol.json() == {
        "error": "no recorded response for this path and query",
        "status": 404,
        "path": "/fapi/v1/depth?symbol=BTCUSDT&limit=1000",
    }
    assert unknown_path.status_code == 404


async def test_repeated_rest_requests_are_served_in_recorded_order_then_the_last_repeats(
    usdm: Capture, tmp_path: Path
) -> None:
    snapshots = [r for r in usdm.records if r.kind is RecordKind.HTTP]
    url = "https://fapi.binance.com/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000"
    path = write_capture(
        tmp_path / "repeat.jsonl",
        "binance-usdm",
        [record_line(snapshots[0]), record_line(snapshots[1], url=url, status=418)],
    )
    async with (
        Simulator([read_capture(path)], speed=None) as simulator,
        httpx.AsyncClient(base_url=simulator.base_url) as http_client,
    ):
        responses = [
            await http_client.get("/fapi/v1/depth?symbol=SUSHIUSDT&limit=100") for _ in range(3)
        ]
    assert [r.status_code for r in responses] == [200, 418, 418]
    assert [r.text for r in responses] == [snapshots[0].data, snapshots[1].data, snapshots[1].data]


async def test_recorded_response_headers_are_sent_back(usdm: Capture, tmp_path: Path) -> None:
    headers = {"X-MBX-USED-WEIGHT-1M": "20", "Content-Type": "application/json;charset=UTF-8"}
    path = write_capture(
        tmp_path / "headers.jsonl",
        "binance-usdm",
        [record_line(usdm.records[3], headers=headers)],
    )
    async with (
        Simulator([read_capture(path)], speed=None) as simulator,
        httpx.AsyncClient(base_url=simulator.base_url) as http_client,
    ):
        response = await http_client.get("/fapi/v1/depth?symbol=SUSHIUSDT")
    assert response.headers["x-mbx-used-weight-1m"] == "20"
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.json()["lastUpdateId"] == SUSHI_LAST_UPDATE_ID


async def test_two_captures_are_served_under_their_venue_prefixes(
    usdm: Capture, spot: Capture
) -> None:
    async with (
        Simulator([usdm, spot], speed=1.0) as simulator,
        httpx.AsyncClient(base_url=simulator.base_url) as http_client,
    ):
        assert simulator.venues == ("binance-usdm", "binance-spot")
        async with connect(f"{simulator.ws_base_url}/binance-spot/stream") as spot_client:
            assert await receive_n(spot_client, 1) == recv_frames(spot)[:1]
        async with connect(f"{simulator.ws_base_url}/binance-usdm/stream") as usdm_client:
            assert await receive_n(usdm_client, 2) == recv_frames(usdm)[:2]
        with pytest.raises(InvalidStatus) as rejected:
            await connect(f"{simulator.ws_base_url}/stream")
        usdm_depth = await http_client.get("/binance-usdm/fapi/v1/depth?symbol=SUSHIUSDT")
        spot_depth = await http_client.get("/binance-spot/api/v3/depth?symbol=NKNUSDT&limit=5")
        unprefixed = await http_client.get("/fapi/v1/depth?symbol=SUSHIUSDT")
    assert rejected.value.response.status_code == 404
    assert usdm_depth.json()["lastUpdateId"] == SUSHI_LAST_UPDATE_ID
    assert spot_depth.json()["lastUpdateId"] == 499869752
    assert unprefixed.status_code == 404


async def test_a_single_capture_is_served_with_and_without_its_prefix(
    usdm: Capture, usdm_realtime: Simulator
) -> None:
    first = recv_frames(usdm)[0]
    for url in (
        f"{usdm_realtime.ws_base_url}/stream?streams=sushiusdt@aggTrade",
        f"{usdm_realtime.ws_base_url}/binance-usdm/stream",
        f"{usdm_realtime.ws_base_url}/",
    ):
        async with connect(url) as client:
            assert await client.recv() == first


async def test_connections_of_one_capture_are_routed_by_url_path(
    usdm: Capture, okx: Capture, tmp_path: Path
) -> None:
    lines = [record_line(r) for r in usdm.records if r.kind is not RecordKind.HTTP]
    lines += [record_line(r, conn="ws-2") for r in okx.records]
    path = write_capture(tmp_path / "two-connections.jsonl", "mixed", lines)
    async with Simulator([read_capture(path)], speed=1.0) as simulator:
        async with connect(simulator.ws_url_for("mixed", "/ws/v5/public")) as okx_client:
            await okx_client.send('{"op":"subscribe","args":[]}')
            assert await receive_n(okx_client, 2) == recv_frames(okx)[:2]
        async with connect(f"{simulator.ws_base_url}/stream") as usdm_client:
            assert await usdm_client.recv() == recv_frames(usdm)[0]
        with pytest.raises(InvalidStatus) as rejected:
            await connect(f"{simulator.ws_base_url}/v5/public/linear")
    assert rejected.value.response.status_code == 404
    assert json.loads(rejected.value.response.body) == {
        "error": "no recorded WebSocket connection at this path",
        "status": 404,
        "path": "/v5/public/linear",
    }


async def test_a_recording_that_begins_with_sends_waits_for_the_client_first_frame(
    okx: Capture,
) -> None:
    recorded = recv_frames(okx)
    async with (
        Simulator([okx], speed=None) as simulator,
        connect(simulator.ws_url_for("okx", "/ws/v5/public")) as client,
    ):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
        await client.send('{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}')
        received = await receive_n(client, len(recorded))
    assert len(received) == 410
    first_okx = '{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USD-220527"}}'
    assert received[0] == first_okx
    assert received == recorded


async def test_a_speed_factor_keeps_the_recorded_gaps_divided_by_it(
    spot: Capture, tmp_path: Path
) -> None:
    records = [r for r in spot.records if r.kind is not RecordKind.HTTP][:6]
    frames = [r for r in records if r.kind is RecordKind.RECV]
    path = write_capture(
        tmp_path / "slice.jsonl", "binance-spot", [record_line(r) for r in records]
    )
    expected_span_s = (frames[-1].t - frames[0].t) / 4.0
    async with (
        Simulator([read_capture(path)], speed=4.0) as simulator,
        connect(simulator.ws_url_for("binance-spot", "/stream")) as client,
    ):
        first = await client.recv()
        started_s = time.monotonic()
        rest = await receive_n(client, len(frames) - 1)
        span_s = time.monotonic() - started_s
    assert [first, *rest] == [r.data for r in frames]
    assert round(expected_span_s, 6) == 0.250131
    assert span_s >= expected_span_s - 0.01


async def test_closing_the_simulator_closes_client_connections_as_going_away(
    usdm: Capture,
) -> None:
    simulator = Simulator([usdm], speed=1.0)
    await simulator.start()
    try:
        client = await connect(simulator.ws_url_for("binance-usdm", "/stream"))
        assert await client.recv() == recv_frames(usdm)[0]
    finally:
        await simulator.close()
    with pytest.raises(ConnectionClosed) as closed:
        await receive_n(client, 1535)
    await client.close()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1001


async def test_port_zero_binds_a_free_port_reported_in_the_urls(usdm: Capture) -> None:
    simulator = Simulator([usdm], host="127.0.0.1", port=0)
    with pytest.raises(SimulatorError):
        _ = simulator.port
    async with simulator:
        assert simulator.port > 0
        assert simulator.base_url == f"http://127.0.0.1:{simulator.port}"
        assert simulator.ws_url_for("binance-usdm", "/stream") == (
            f"ws://127.0.0.1:{simulator.port}/binance-usdm/stream"
        )
        assert simulator.http_url_for("binance-usdm", "/fapi/v1/depth?symbol=SUSHIUSDT") == (
            f"http://127.0.0.1:{simulator.port}/binance-usdm/fapi/v1/depth?symbol=SUSHIUSDT"
        )
        with pytest.raises(SimulatorError):
            simulator.ws_url_for("okx", "/ws/v5/public")


def test_two_captures_of_one_venue_are_refused(usdm: Capture) -> None:
    with pytest.raises(SimulatorError) as raised:
        Simulator([usdm, usdm])
    assert str(raised.value) == "venue 'binance-usdm' is given by two captures"


async def wait_for_output(read: Callable[[], str], timeout_s: float) -> str:
    """Poll captured stdout until a line appears."""
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        text = read()
        if text:
            return text
        await asyncio.sleep(0.01)
    raise AssertionError("nothing printed")


async def test_run_simulator_prints_its_address_once_bound_and_serves_until_cancelled(
    captures_dir: Path, usdm: Capture, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [captures_dir / "binance-usdm.jsonl", captures_dir / "binance-spot.jsonl"]
    task = asyncio.create_task(run_simulator(paths, "127.0.0.1", 0, "realtime"))
    try:
        output = await wait_for_output(lambda: capsys.readouterr().out, timeout_s=10.0)
        match = re.fullmatch(
            r"relay simulate: listening on ws://127\.0\.0\.1:(\d+) "
            r"\(binance-usdm: /binance-usdm/stream \[4 REST\], "
            r"binance-spot: /binance-spot/stream \[4 REST\]\)\n",
            output,
        )
        assert match is not None, output
        async with connect(f"ws://127.0.0.1:{match[1]}/binance-usdm/stream") as client:
            assert await client.recv() == recv_frames(usdm)[0]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_run_simulator_refuses_a_bad_speed_before_binding(captures_dir: Path) -> None:
    with pytest.raises(InvalidSpeedError):
        await run_simulator([captures_dir / "okx.jsonl"], "127.0.0.1", 0, "warp")
