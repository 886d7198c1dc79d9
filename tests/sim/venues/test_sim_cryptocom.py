"""Crypto.com's simulated side: request answers and a fresh snapshot on a repeated subscribe.

Frames are the Exchange API v1 reference's samples (``support.cryptocom_frames``; there
is no recording of this venue).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from support.cryptocom_frames import (
    BOOK_SNAPSHOT,
    BOOK_UPDATE,
    CANDLE,
    FUNDING,
    HEARTBEAT,
    HEARTBEAT_ANSWER,
    SUBSCRIBED,
    TICKER,
    TRADE,
    delta,
    protocol,
    protocol_config,
)

from relay.application.health import HealthMonitor
from relay.application.order_book import OrderBook
from relay.domain.model import DataType, L2Update, MarketEvent
from relay.infrastructure.connection.venue_connection import VenueConnection
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.venues.cryptocom import parse
from relay.infrastructure.venues.cryptocom.protocol import WS_URL
from relay.infrastructure.venues.registry import venue_spec
from relay.sim.captures import read_capture
from relay.sim.server import Simulator
from relay.sim.venues.cryptocom import CryptocomSimulatedVenue

SUBSCRIBE = (
    '{"id":2,"method":"subscribe","params":{"channels":["book.BTCUSD-PERP.10"],'
    '"book_subscription_type":"SNAPSHOT_AND_UPDATE","book_update_frequency":10}}'
)


def test_simulated_venue_answers_requests_with_their_ids_and_takes_heartbeat_answers() -> None:
    venue = CryptocomSimulatedVenue()
    assert [json.loads(r) for r in venue.on_client_frame(SUBSCRIBE)] == [
        {"id": 2, "code": 0, "method": "subscribe"}
    ]
    assert [
        json.loads(r)
        for r in venue.on_client_frame(
            '{"id":5,"method":"unsubscribe","params":{"channels":["trade.BTCUSD-PERP"]}}'
        )
    ] == [{"id": 5, "code": 0, "method": "unsubscribe"}]
    assert venue.on_client_frame(HEARTBEAT_ANSWER) == []
    assert [json.loads(r) for r in venue.on_client_frame('{"id":7,"method":"public/auth"}')] == [
        {"id": 7, "code": 40001, "method": "public/auth", "message": "Unknown method"}
    ]
    assert venue.on_client_frame("garbage") == []


def test_a_repeated_book_subscribe_gets_the_book_passed_which_the_protocol_takes() -> None:
    """The replay passed the documented snapshot, its delta and one more (``u`` 7845460003);
    the client's resync (a second subscribe of the channel) is answered with the book as of
    then, which the protocol publishes whole and chains the next delta onto."""
    venue = CryptocomSimulatedVenue()
    assert len(venue.on_client_frame(SUBSCRIBE)) == 1  # first subscribe: the answer only
    later = delta(7845460003, 7845460002, [["50113.500000", "0"]], [["50125.000000", "1.5"]])
    for frame in (BOOK_SNAPSHOT, BOOK_UPDATE, later):
        venue.on_frame_passed(frame)
    answer, fresh = venue.on_client_frame(SUBSCRIBE)
    assert json.loads(answer)["code"] == 0
    assert json.loads(fresh)["result"]["depth"] == 10  # a number, as the reference writes it
    proto = protocol((DataType.L2_ORDERBOOK,))
    (event,) = proto.on_frame(fresh, 1).events
    assert isinstance(event.payload, L2Update) and event.payload.is_snapshot
    assert event.payload.last_update_id == 7845460003
    assert [str(p) for p, _ in event.payload.bids[:2]] == ["50113.000000", "50112.000000"]
    assert [(str(p), str(q)) for p, q in event.payload.asks[:2]] == [
        ("50125.000000", "1.5"),
        ("50130.000000", "1.279000"),
    ]
    assert len(event.payload.asks) == 11  # 10 documented, 50126 removed, 50180 and 50125 added
    follow = proto.on_frame(delta(7845460004, 7845460003, [], [["50125.000000", "0"]]), 2)
    assert [e.dedup_key for e in follow.events] == ["7845460003:7845460004"]


async def test_relay_simulate_serves_a_documented_session_to_a_real_cryptocom_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A capture made of the documented frames (no recording exists; the header says so),
    served by the real simulator over a real WebSocket to a real ``VenueConnection`` running
    the cryptocom protocol. The relay waits its 1 s, subscribes (answered by the simulated
    side), answers the recorded ``public/heartbeat`` with ``public/respond-heartbeat`` and the
    same id, publishes every documented event, and resyncs the book after the recorded ``pu``
    break: its repeated subscribe is answered with a fresh snapshot equal to the book the
    documented frames build, which is published."""
    later = delta(7845460005, 7845460004, [["50113.000000", "0.9"]], [])
    gap = delta(7845460004, 7845460003, [], [["50130.000000", "0"]])
    recv = [SUBSCRIBED, BOOK_SNAPSHOT, BOOK_UPDATE, TRADE, TICKER, FUNDING, CANDLE, HEARTBEAT]
    recv += [gap, later]
    records = [
        {
            "capture": 1,
            "venue": "cryptocom",
            "recorded": "2026-12-01T00:00:00+00:00",
            "source": "documented examples of exchange-docs.crypto.com (not a recording)",
            "records": len(recv) + 2,
        },
        {"t": 1.0, "kind": "connect", "conn": "ws-1", "url": WS_URL},
        {"t": 1.1, "kind": "send", "conn": "ws-1", "data": '{"id":1,"method":"subscribe"}'},
        *(
            {"t": 1.2 + n / 100, "kind": "recv", "conn": "ws-1", "data": f}
            for n, f in enumerate(recv)
        ),
    ]
    path = tmp_path / "cryptocom.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    sent: list[str] = []
    answer = CryptocomSimulatedVenue.on_client_frame

    def noting(self: CryptocomSimulatedVenue, frame: str) -> Sequence[str]:
        sent.append(frame)
        return answer(self, frame)

    monkeypatch.setattr(CryptocomSimulatedVenue, "on_client_frame", noting)
    events: list[MarketEvent] = []

    async def publish(event: MarketEvent, _: int) -> None:
        events.append(event)

    metrics = PrometheusMetrics()
    async with (
        Simulator([read_capture(path)], speed=None) as simulator,
        httpx.AsyncClient() as http,
    ):
        config = replace(
            protocol_config(candle_interval="1d"), ws_url=simulator.ws_url_for("cryptocom", "/")
        )
        connection = VenueConnection(
            venue_spec("cryptocom"), config, publish, metrics, HealthMonitor(["cryptocom"]), http
        )
        task = asyncio.create_task(connection.run())
        for _ in range(200):
            if sum(isinstance(e.payload, L2Update) and e.payload.is_snapshot for e in events) == 2:
                break
            await asyncio.sleep(0.05)
        await connection.stop_reading()
        await asyncio.wait_for(task, 5)
    assert [json.loads(f).get("id") for f in sent] == [1, 2, 1587523073344, 3]
    assert sent[2] == HEARTBEAT_ANSWER
    assert json.loads(sent[3])["params"]["channels"] == ["book.BTCUSD-PERP.10"]
    assert [(e.data_type.value, e.dedup_key) for e in events] == [
        ("l2_orderbook", "snapshot:7845460001"),
        ("l2_orderbook", "7845460001:7845460002"),
        ("trade", "2030407068"),
        ("ticker", "1613580710768:51170.000000:0.1000:51180.000000:0.2000"),
        ("open_interest", "1613580710768:12345.12"),
        ("funding_rate", "1613582880000:0.00144"),
        ("candle", "1612224000000:867.9432:51699.000000:49212.000000:51313.500000"),
        ("l2_orderbook", "snapshot:7845460005"),
    ]
    reference = OrderBook()
    reference.reset(
        *(
            parse.book_levels(k, json.loads(BOOK_SNAPSHOT)["result"]["data"][0][k])
            for k in ("bids", "asks")
        )
    )
    for frame in (BOOK_UPDATE, gap, later):
        update = json.loads(frame)["result"]["data"][0]["update"]
        reference.apply(
            parse.book_levels("bids", update["bids"]), parse.book_levels("asks", update["asks"])
        )
    fresh = events[-1].payload
    assert isinstance(fresh, L2Update)
    assert (fresh.bids, fresh.asks) == reference.levels()
    resyncs = metrics.registry.get_sample_value(
        "relay_book_resyncs_total",
        {"venue": "cryptocom", "instrument": "BTCUSD-PERP", "reason": "gap"},
    )
    assert resyncs == 1
