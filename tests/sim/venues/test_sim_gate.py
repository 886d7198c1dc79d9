"""Gate.io's simulated side: subscribe acks and pongs as the venue writes them, and REST
snapshots rebuilt from ``gate-spot.jsonl`` / ``gate-futures.jsonl`` equal to the reference
books built from the raw frames (``support.gate_reference``)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.gate_reference import SYMBOL_QUERY, gate_books
from support.reference_books import records

from relay.sim.venues.gate import GateSimulatedVenue, GateSnapshotBuilder


def test_subscribe_requests_are_acknowledged_and_pings_answered() -> None:
    side = GateSimulatedVenue()
    request = (
        '{"time":1619093532,"channel":"spot.trades","event":"subscribe","payload":["DIS_USDT"]}'
    )
    assert [json.loads(r) for r in side.on_client_frame(request)] == [
        {
            "time": 1619093532,
            "channel": "spot.trades",
            "event": "subscribe",
            "result": {"status": "success"},
        }
    ]
    assert [json.loads(r) for r in side.on_client_frame('{"channel":"futures.ping"}')] == [
        {"time": 0, "channel": "futures.pong", "event": "", "result": None}
    ]
    assert side.on_client_frame("not json") == []


@pytest.mark.parametrize("capture", ["gate-spot.jsonl", "gate-futures.jsonl"])
def test_rebuilt_snapshots_at_the_end_equal_the_reference_books(capture: str) -> None:
    recs = records(capture)
    frames = [r["data"] for r in recs if r["kind"] == "recv"]
    builder = GateSnapshotBuilder([frames])
    reference = gate_books(capture)
    query = SYMBOL_QUERY[capture]
    rebuilt = 0
    for r in (r for r in recs if r["kind"] == "http"):
        path, _, raw_query = r["url"].split("gateio.ws", 1)[1].partition("?")
        symbol = raw_query.split(query + "=")[1].split("&")[0]
        assert builder.snapshot(path, raw_query, r["data"], [0]) is None
        body = builder.snapshot(path, raw_query, r["data"], [len(frames)])
        if symbol not in reference:
            assert body is None  # no update after the recorded snapshot
            continue
        assert body is not None
        snapshot = json.loads(body)
        last_u = max(
            json.loads(f)["result"]["u"]
            for f in frames
            if "order_book_update" in f
            and json.loads(f)["event"] == "update"
            and json.loads(f)["result"]["s"] == symbol
        )
        assert snapshot["id"] == last_u

        def side(levels: list[object]) -> dict[Decimal, Decimal]:
            return {
                Decimal(x["p"]) if isinstance(x, dict) else Decimal(x[0]): (  # type: ignore[index]
                    Decimal(x["s"]) if isinstance(x, dict) else Decimal(x[1])  # type: ignore[index]
                )
                for x in levels
            }

        assert (side(snapshot["bids"]), side(snapshot["asks"])) == reference[symbol]
        rebuilt += 1
    assert rebuilt == len(reference)
