"""The venue simulator, driven by real clients against the recorded sessions."""

from __future__ import annotations

import asyncio
import bisect
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from relay.cli import build_parser
from relay.domain.errors import RelayError
from relay.sim.captures import (
    Capture,
    CaptureError,
    CaptureRecord,
    RecordKind,
    read_capture,
)
from relay.sim.errors import InvalidSpeedError, SimulatorError
from relay.sim.faults import GARBAGE_NOT_JSON, GARBAGE_UNKNOWN_EVENT, Faults, ReconnectMode
from relay.sim.replay import parse_speed, replay_schedule, rest_key
from relay.sim.server import Simulator, run_simulator

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
        received = await receive_n(client, len(recorded) + 1)
    # OKX's simulated side acknowledges the subscribe at once, among the recorded frames.
    ack = '{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"simulated"}'
    assert ack in received
    received.remove(ack)
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


async def receive_until_closed(
    client: ClientConnection,
) -> tuple[list[str | bytes], ConnectionClosed]:
    """Receive frames until the connection closes; the frames and how it closed."""
    frames: list[str | bytes] = []
    while True:
        try:
            frames.append(await client.recv())
        except ConnectionClosed as closed:
            return frames, closed


def depth_frames(recorded: Sequence[str], symbol: str) -> list[tuple[int, dict[str, object]]]:
    """``(index, data)`` of the recorded Binance depthUpdate frames of ``symbol``."""
    found = []
    for index, text in enumerate(recorded):
        data = json.loads(text)["data"]
        if data["e"] == "depthUpdate" and data["s"] == symbol:
            found.append((index, data))
    return found


def book_as_of(
    snapshot: dict[str, object], updates: Sequence[dict[str, object]]
) -> tuple[list[list[str]], list[list[str]]]:
    """Bids (best first) and asks of ``snapshot`` after the updates with a higher ``u``."""
    sides: dict[str, dict[Decimal, list[str]]] = {}
    for name in ("bids", "asks"):
        levels = snapshot[name]
        assert isinstance(levels, list)
        sides[name] = {Decimal(p): [p, q] for p, q in levels}
    last_update_id = snapshot["lastUpdateId"]
    assert isinstance(last_update_id, int)
    for update in updates:
        u = update["u"]
        assert isinstance(u, int)
        if u <= last_update_id:
            continue
        for side, key in (("bids", "b"), ("asks", "a")):
            changes = update[key]
            assert isinstance(changes, list)
            for price, quantity in changes:
                if Decimal(quantity) == 0:
                    sides[side].pop(Decimal(price), None)
                else:
                    sides[side][Decimal(price)] = [price, quantity]
    bids = [sides["bids"][p] for p in sorted(sides["bids"], reverse=True)]
    asks = [sides["asks"][p] for p in sorted(sides["asks"])]
    return bids, asks


async def test_dropping_after_10_frames_3_times_leaves_the_4th_connection_every_frame(
    usdm: Capture,
) -> None:
    recorded = recv_frames(usdm)
    faults = Faults(drop_after_frames=10, drop_times=3)
    async with Simulator([usdm], speed=None, faults=faults) as simulator:
        url = simulator.ws_url_for("binance-usdm", "/stream")
        for attempt in range(3):
            async with connect(url) as client:
                frames, closed = await receive_until_closed(client)
            assert frames == recorded[:10], attempt
            assert isinstance(closed, ConnectionClosedError)
            assert closed.rcvd is None
            assert closed.sent is None
        async with connect(url) as client:
            assert await receive_n(client, 1535) == recorded
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
        assert simulator.connections_served == 4


async def test_stalling_after_5_frames_keeps_the_socket_open_and_silent(
    usdm: Capture,
) -> None:
    recorded = recv_frames(usdm)
    async with (
        Simulator([usdm], speed=None, faults=Faults(stall_after_frames=5)) as simulator,
        connect(simulator.ws_url_for("binance-usdm", "/stream")) as client,
    ):
        assert await receive_n(client, 5) == recorded[:5]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
        await client.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
        async with connect(simulator.ws_url_for("binance-usdm", "/stream")) as second:
            assert await receive_n(second, 1535) == recorded


async def test_skipping_frames_leaves_exactly_that_range_out_once(usdm: Capture) -> None:
    recorded = recv_frames(usdm)
    faults = Faults(skip_after_frames=20, skip_frames=100)
    async with Simulator([usdm], speed=None, faults=faults) as simulator:
        url = simulator.ws_url_for("binance-usdm", "/stream")
        async with connect(url) as client:
            received = await receive_n(client, 1435)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
        async with connect(url) as again:
            assert await receive_n(again, 1535) == recorded
    assert received == recorded[:20] + recorded[120:]


async def test_garbage_every_100_frames_interleaves_15_garbage_frames_in_turn(
    usdm: Capture,
) -> None:
    recorded = recv_frames(usdm)
    async with (
        Simulator([usdm], speed=None, faults=Faults(garbage_every=100)) as simulator,
        connect(simulator.ws_url_for("binance-usdm", "/stream")) as client,
    ):
        received = [await client.recv() for _ in range(1535 + 15)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
    garbage_positions = [101 * n - 1 for n in range(1, 16)]
    garbage = [received[i] for i in garbage_positions]
    real = [frame for i, frame in enumerate(received) if i not in garbage_positions]
    assert real == recorded
    assert garbage[0] == GARBAGE_NOT_JSON
    assert garbage[1] == GARBAGE_UNKNOWN_EVENT
    assert json.loads(GARBAGE_UNKNOWN_EVENT)["data"]["e"] == "simulatorGarbage"
    assert garbage[2] == recorded[299][: len(recorded[299]) // 2]
    assert isinstance(garbage[3], bytes)
    assert len(garbage[3]) == 16
    assert [type(g) for g in garbage] == [str, str, str, bytes] * 3 + [str, str, str]
    with pytest.raises(json.JSONDecodeError):
        json.loads(garbage[0])


async def test_refusing_connections_answers_503_until_the_time_is_up(usdm: Capture) -> None:
    refuse_for_s = 0.5
    async with Simulator([usdm], speed=1.0, faults=Faults(refuse_for_s=refuse_for_s)) as sim:
        started_s = time.monotonic()
        url = sim.ws_url_for("binance-usdm", "/stream")
        with pytest.raises(InvalidStatus) as refused:
            await connect(url)
        assert time.monotonic() - started_s < refuse_for_s
        assert sim.connections_served == 0
        await asyncio.sleep(refuse_for_s + 0.1)
        async with connect(url) as client:
            assert await client.recv() == recv_frames(usdm)[0]
        assert sim.connections_served == 1
    assert refused.value.response.status_code == 503
    assert json.loads(refused.value.response.body)["status"] == 503


@pytest.mark.parametrize("status", [429, 500])
async def test_rest_errors_are_answered_until_the_time_is_up_then_the_recorded_body(
    usdm: Capture, status: int
) -> None:
    faults = Faults(rest_error_status=status, rest_error_for_s=0.5)
    target = "/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000"
    async with (
        Simulator([usdm], speed=None, faults=faults) as simulator,
        httpx.AsyncClient(base_url=simulator.base_url) as http_client,
    ):
        failed = await http_client.get(target)
        await asyncio.sleep(0.6)
        served = await http_client.get(target)
        log = list(simulator.rest_log)
    assert failed.status_code == status
    assert failed.json() == {"error": "simulated fault", "status": status, "path": target}
    assert failed.headers.get("retry-after") == ("1" if status == 429 else None)
    assert served.status_code == 200
    assert served.text == usdm.records[3].data
    assert [(path, answered) for _, path, answered in log] == [(target, status), (target, 200)]
    assert log[1][0] - log[0][0] >= 0.6


async def test_resume_at_max_speed_continues_after_the_last_frame_sent(usdm: Capture) -> None:
    recorded = recv_frames(usdm)
    faults = Faults(drop_after_frames=10, reconnect="resume")  # type: ignore[arg-type]
    assert faults.reconnect is ReconnectMode.RESUME
    async with Simulator([usdm], speed=None, faults=faults) as simulator:
        url = simulator.ws_url_for("binance-usdm", "/stream")
        async with connect(url) as client:
            frames, _ = await receive_until_closed(client)
        async with connect(url) as client:
            resumed = await receive_n(client, 1535 - 10)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
    assert frames == recorded[:10]
    assert resumed == recorded[10:]


async def test_resume_at_realtime_continues_where_real_time_is_and_loses_the_rest(
    usdm: Capture,
) -> None:
    recorded = recv_frames(usdm)
    offsets_s = replay_schedule([r.t for r in usdm.records if r.kind is RecordKind.RECV], 1.0)
    faults = Faults(reconnect=ReconnectMode.RESUME)
    async with Simulator([usdm], speed=1.0, faults=faults) as simulator:
        url = simulator.ws_url_for("binance-usdm", "/stream")
        async with connect(url) as client:
            assert await client.recv() == recorded[0]
            first_frame_s = time.monotonic()
        await asyncio.sleep(1.5)
        reconnect_s = time.monotonic()
        async with connect(url) as client:
            resumed = await receive_n(client, 5)
    elapsed_s = reconnect_s - first_frame_s
    lower_bound = bisect.bisect_left(offsets_s, elapsed_s - 0.05)
    index = recorded.index(resumed[0])
    assert index > 0
    assert index >= lower_bound
    assert offsets_s[index] >= 1.5 - 0.05
    assert resumed == recorded[index : index + 5]


async def test_after_a_skip_the_rest_snapshot_is_the_book_as_of_the_replay_position(
    usdm: Capture,
) -> None:
    recorded = recv_frames(usdm)
    faults = Faults(skip_after_frames=10, skip_frames=200, stall_after_frames=50)
    async with (
        Simulator([usdm], speed=None, faults=faults) as simulator,
        connect(simulator.ws_url_for("binance-usdm", "/stream")) as client,
        httpx.AsyncClient(base_url=simulator.base_url) as http_client,
    ):
        received = await receive_n(client, 50)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
        response = await http_client.get("/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000")
    assert received == recorded[:10] + recorded[210:250]
    passed = [data for index, data in depth_frames(recorded, "SUSHIUSDT") if index < 250]
    assert passed[-1]["u"] == 600859748638
    snapshot = json.loads(usdm.records[3].data or "")
    bids, asks = book_as_of(snapshot, passed)
    body = response.json()
    assert response.status_code == 200
    assert list(body) == ["lastUpdateId", "E", "T", "bids", "asks"]
    assert body["lastUpdateId"] == 600859748638
    assert body["E"] == passed[-1]["E"]
    assert body["T"] == passed[-1]["T"]
    assert body["bids"] == bids
    assert body["asks"] == asks
    assert body["bids"] != snapshot["bids"]
    # the same best levels as the recording's last SUSHIUSDT bookTicker before frame 250
    assert (body["bids"][0], body["asks"][0]) == (["7.6120", "38"], ["7.6130", "1"])


async def test_a_snapshot_not_yet_passed_by_the_replay_is_served_as_recorded(
    usdm: Capture,
) -> None:
    faults = Faults(skip_after_frames=0, skip_frames=5, stall_after_frames=2)
    async with (
        Simulator([usdm], speed=None, faults=faults) as simulator,
        connect(simulator.ws_url_for("binance-usdm", "/stream")) as client,
        httpx.AsyncClient(base_url=simulator.base_url) as http_client,
    ):
        assert await receive_n(client, 2) == recv_frames(usdm)[5:7]
        response = await http_client.get("/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000")
    assert response.text == usdm.records[3].data
    assert response.json()["lastUpdateId"] == SUSHI_LAST_UPDATE_ID


async def test_in_resume_mode_a_snapshot_after_a_reconnect_follows_the_frames_lost(
    usdm: Capture,
) -> None:
    recorded = recv_frames(usdm)
    faults = Faults(
        drop_after_frames=30,
        stall_after_frames=60,
        stall_times=2,
        reconnect=ReconnectMode.RESUME,
    )
    async with Simulator([usdm], speed=None, faults=faults) as simulator:
        url = simulator.ws_url_for("binance-usdm", "/stream")
        async with connect(url) as client:
            dropped, _ = await receive_until_closed(client)
        async with (
            connect(url) as client,
            httpx.AsyncClient(base_url=simulator.base_url) as http_client,
        ):
            resumed = await receive_n(client, 60)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.recv(), IDLE_WAIT_S)
            akro = await http_client.get("/fapi/v1/depth?symbol=AKROUSDT&limit=1000")
    assert dropped == recorded[:30]
    assert resumed == recorded[30:90]
    passed = [data for index, data in depth_frames(recorded, "AKROUSDT") if index < 90]
    snapshot = json.loads(usdm.records[5].data or "")
    bids, asks = book_as_of(snapshot, passed)
    body = akro.json()
    assert body["lastUpdateId"] == passed[-1]["u"]
    assert body["bids"] == bids
    assert body["asks"] == asks


def test_faults_validate_their_values() -> None:
    assert Faults().describe() == ""
    assert Faults(
        drop_after_frames=10, drop_times=3, reconnect=ReconnectMode.RESUME
    ).describe() == ("drop after 10 frames (3 connections), reconnect resume")
    with pytest.raises(SimulatorError):
        Faults(drop_times=0)
    with pytest.raises(SimulatorError):
        Faults(garbage_every=0)
    with pytest.raises(SimulatorError):
        Faults(refuse_for_s=-1.0)
    with pytest.raises(SimulatorError):
        Faults(rest_error_for_s=1.0)
    with pytest.raises(SimulatorError):
        Faults(rest_error_status=200, rest_error_for_s=1.0)
    with pytest.raises(SimulatorError) as raised:
        Faults(reconnect="sometimes")  # type: ignore[arg-type]
    assert str(raised.value) == "reconnect='sometimes' must be 'restart' or 'resume'"


def test_the_simulate_command_reads_every_fault_flag() -> None:
    args = build_parser().parse_args(
        [
            "simulate",
            "x.jsonl",
            "--drop-after=10",
            "--drop-times=3",
            "--stall-after=5",
            "--stall-times=2",
            "--skip-after=7",
            "--skip-frames=4",
            "--garbage-every=100",
            "--refuse-for=1.5",
            "--rest-error=429",
            "--rest-error-for=2",
            "--reconnect=resume",
        ]
    )
    assert (args.drop_after, args.drop_times, args.stall_after, args.stall_times) == (10, 3, 5, 2)
    assert (args.skip_after, args.skip_frames, args.garbage_every) == (7, 4, 100)
    assert (args.refuse_for, args.rest_error, args.rest_error_for) == (1.5, 429, 2.0)
    assert args.reconnect == "resume"


async def test_run_simulator_prints_the_faults_after_the_listening_line(
    captures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = Faults(stall_after_frames=5, rest_error_status=429, rest_error_for_s=2.0)
    task = asyncio.create_task(
        run_simulator([captures_dir / "binance-usdm.jsonl"], "127.0.0.1", 0, "max", faults)
    )
    try:
        output = await wait_for_output(lambda: capsys.readouterr().out, timeout_s=10.0)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    lines = output.splitlines()
    assert lines[0].startswith("relay simulate: listening on ws://127.0.0.1:")
    assert (
        lines[1] == "relay simulate: faults: stall after 5 frames (1 connections), REST 429 for 2 s"
    )
