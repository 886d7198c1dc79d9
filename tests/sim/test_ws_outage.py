"""The mid-session WebSocket outage fault (``--refuse-ws-after S --refuse-ws-for T``)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from relay.cli import build_parser
from relay.sim.captures import Capture, RecordKind, read_capture
from relay.sim.errors import SimulatorError
from relay.sim.faults import Faults
from relay.sim.server import Simulator

AFTER_S = 0.4
FOR_S = 0.8


@pytest.fixture
def usdm(captures_dir: Path) -> Capture:
    return read_capture(captures_dir / "binance-usdm.jsonl")


def first_frame(capture: Capture) -> str:
    return next(r.data for r in capture.records if r.kind is RecordKind.RECV and r.data)


async def test_the_outage_drops_the_open_connection_and_refuses_handshakes_for_its_length(
    usdm: Capture,
) -> None:
    faults = Faults(refuse_ws_after_s=AFTER_S, refuse_ws_for_s=FOR_S)
    async with Simulator([usdm], speed=1.0, faults=faults) as sim, httpx.AsyncClient() as http:
        url = sim.ws_url_for("binance-usdm", "/stream")
        async with connect(url) as client:
            connected_s = time.monotonic()
            with pytest.raises(ConnectionClosedError) as dropped:
                while True:
                    await client.recv()
        dropped_s = time.monotonic()
        statuses: list[int] = []
        depth = await http.get(sim.http_url_for("binance-usdm", "/fapi/v1/depth?symbol=CTKUSDT"))
        while True:
            try:
                async with connect(url) as again:
                    resumed = await again.recv()
                break
            except InvalidStatus as refused:
                statuses.append(refused.response.status_code)
                await asyncio.sleep(0.05)
        reopened_s = time.monotonic()

    assert dropped.value.rcvd is None  # no close frame: the TCP connection was dropped
    assert dropped_s - connected_s >= AFTER_S - 0.05
    assert statuses and set(statuses) == {503}
    assert sim.ws_refused == len(statuses)
    assert reopened_s - connected_s >= AFTER_S + FOR_S - 0.05
    assert depth.status_code == 200  # REST keeps answering during the outage
    assert resumed == first_frame(usdm)  # restart mode: the recording from its start
    assert sim.connections_served == 2


@pytest.mark.parametrize(
    ("after_s", "for_s"),
    [(None, 5.0), (3.0, 0.0), (-1.0, 5.0), (3.0, float("inf"))],
)
def test_an_outage_needs_a_start_and_a_positive_finite_length(
    after_s: float | None, for_s: float
) -> None:
    with pytest.raises(SimulatorError):
        Faults(refuse_ws_after_s=after_s, refuse_ws_for_s=for_s)


def test_the_outage_flags_are_read_and_described() -> None:
    args = build_parser().parse_args(
        ["simulate", "x.jsonl", "--refuse-ws-after", "3", "--refuse-ws-for", "20"]
    )
    faults = Faults(refuse_ws_after_s=args.refuse_ws_after, refuse_ws_for_s=args.refuse_ws_for)

    assert (args.refuse_ws_after, args.refuse_ws_for) == (3.0, 20.0)
    assert faults.describe() == "WebSocket outage of 20 s, 3 s after the first connection"


async def test_derived_rest_answers_follow_the_replay_at_max_speed(usdm: Capture) -> None:
    recorded = [
        json.loads(r.data)["data"]
        for r in usdm.records
        if r.kind is RecordKind.RECV and r.data and "@aggTrade" in r.data
    ]
    ctk = [d for d in recorded if d["s"] == "CTKUSDT"]
    async with Simulator([usdm], speed=None) as sim, httpx.AsyncClient() as http:
        before = await http.get(
            sim.http_url_for("binance-usdm", "/fapi/v1/aggTrades?symbol=CTKUSDT")
        )
        async with connect(sim.ws_url_for("binance-usdm", "/stream")) as client:
            for _ in range(1535):
                await client.recv()
            after = await http.get(
                sim.http_url_for("binance-usdm", "/fapi/v1/aggTrades?symbol=CTKUSDT&limit=1000")
            )
            last_two = await http.get(
                sim.http_url_for("binance-usdm", "/fapi/v1/aggTrades?symbol=CTKUSDT&limit=2")
            )

    assert before.json() == []
    assert [item["a"] for item in after.json()] == [d["a"] for d in ctk]
    assert len(ctk) == 38
    assert last_two.json() == [
        {k: d[k] for k in ("a", "p", "q", "f", "l", "T", "m")} for d in ctk[-2:]
    ]
