"""The generic REST poller against the real simulator serving the recorded USD-M session.

The simulator runs at max speed and a WebSocket client reads every recorded
frame first, so the derived REST answers (relay.sim.venues.binance_rest) hold
the whole recording: CTKUSDT's 38 aggregate trades, its last book ticker, and
its open interest (the sum of those trades' quantities).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from relay.application.rest_polls import FallbackState, RestEndpoint, RestPolling
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, MarketEvent, Source
from relay.infrastructure.connection.polling import RestPoller
from relay.infrastructure.connection.rest import RestClient, rest_bucket
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.venues.binance.rest import USDM_POLLING, agg_trades
from relay.sim.captures import Capture, RecordKind, read_capture
from relay.sim.faults import Faults
from relay.sim.server import Simulator

VENUE = "binance-usdm"


@pytest.fixture
def usdm(captures_dir: Path) -> Capture:
    return read_capture(captures_dir / "binance-usdm.jsonl")


def ctk_trades(capture: Capture) -> list[dict[str, Any]]:
    return [
        json.loads(r.data)["data"]
        for r in capture.records
        if r.kind is RecordKind.RECV and r.data and "ctkusdt@aggTrade" in r.data
    ]


async def played(simulator: Simulator) -> Simulator:
    """Read every recorded frame once, so the replay clock has passed them all."""
    async with connect(simulator.ws_url_for(VENUE, "/stream")) as client:
        for _ in range(1535):
            await client.recv()
    return simulator


@pytest.fixture
async def simulator(usdm: Capture) -> AsyncIterator[Simulator]:
    async with Simulator([usdm], speed=None) as sim:
        yield await played(sim)


class Poller:
    """A RestPoller on CTKUSDT with the events it publishes and its metrics."""

    def __init__(
        self, sim: Simulator, http: httpx.AsyncClient, polling: RestPolling = USDM_POLLING
    ) -> None:
        self.events: list[MarketEvent] = []
        self.metrics = PrometheusMetrics()
        config = VenueConfig(
            VENUE,
            (
                SubscriptionConfig(
                    "CTKUSDT",
                    "CTK/USDT",
                    (DataType.TRADE, DataType.TICKER, DataType.OPEN_INTEREST),
                ),
            ),
            rest_fallback_after_s=0.2,
            rest_fallback_interval_s=0.05,
            rest_poll_interval_s=0.05,
        )
        rest = RestClient(
            http,
            sim.http_url_for(VENUE, ""),
            VENUE,
            rest_bucket(1_000_000, time.monotonic()),
            5.0,
            self.metrics,
        )
        self.poller = RestPoller(config, VENUE, polling, rest, self.publish, self.metrics)

    async def publish(self, event: MarketEvent, read_ns: int) -> None:
        self.events.append(event)

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, {"venue": VENUE, **labels}) or 0.0


async def until(condition: Any, what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_open_interest_is_published_once_per_venue_time_marked_rest(
    simulator: Simulator, usdm: Capture
) -> None:
    trades = ctk_trades(usdm)
    async with httpx.AsyncClient() as http:
        p = Poller(simulator, http)
        await p.poller.poll(p.poller.polled)
        await p.poller.poll(p.poller.polled)

    (event,) = p.events
    assert event.data_type is DataType.OPEN_INTEREST
    assert event.source is Source.REST
    assert event.payload.open_interest == sum(Decimal(t["q"]) for t in trades)  # type: ignore[union-attr]
    assert event.exchange_timestamp_ms == trades[-1]["T"]
    assert event.msg_id == f"binance-usdm:CTKUSDT:open_interest:{trades[-1]['T']}"
    endpoint = "/fapi/v1/openInterest"
    assert p.sample("relay_rest_polls_total", endpoint=endpoint, outcome="ok") == 2


async def test_the_fallback_polls_while_down_once_more_when_back_then_stops(
    simulator: Simulator, usdm: Capture
) -> None:
    trades = ctk_trades(usdm)
    async with httpx.AsyncClient() as http:
        p = Poller(simulator, http, RestPolling(fallback=USDM_POLLING.fallback))
        task = asyncio.create_task(p.poller.run())
        try:
            await until(lambda: p.poller.fallback_polls >= 2, "two fallback rounds")
            assert p.sample("relay_rest_fallback_active") == 1
            p.poller.ws_back()
            await until(lambda: p.sample("relay_rest_fallback_active") == 0, "the fallback to stop")
            rounds, requests = p.poller.fallback_polls, len(simulator.rest_log)
            for _ in range(20):
                await asyncio.sleep(0)
            assert (p.poller.fallback_polls, len(simulator.rest_log)) == (rounds, requests)
            assert p.poller.switch.state is FallbackState.UP
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    polled_trades = [e for e in p.events if e.data_type is DataType.TRADE]
    assert [e.dedup_key for e in polled_trades] == [str(t["a"]) for t in trades]
    assert {e.source for e in p.events} == {Source.REST}
    tickers = [e for e in p.events if e.data_type is DataType.TICKER]
    assert len(tickers) == 1  # one recorded quote, polled each round: put once
    assert p.sample("relay_events_received_total", data_type="trade") == 38


async def test_a_poll_refused_on_every_attempt_counts_failed_and_publishes_nothing(
    usdm: Capture,
) -> None:
    faults = Faults(rest_error_status=500, rest_error_for_s=60)
    async with Simulator([usdm], speed=None, faults=faults) as sim, httpx.AsyncClient() as http:
        p = Poller(sim, http)
        await p.poller.poll(p.poller.polled)
        statuses = [status for _, _, status in sim.rest_log]

    assert p.events == []
    assert statuses == [500, 500, 500]
    endpoint = "/fapi/v1/openInterest"
    assert p.sample("relay_rest_polls_total", endpoint=endpoint, outcome="failed") == 1


async def test_an_answer_the_parser_refuses_counts_bad_body_and_is_skipped(
    simulator: Simulator,
) -> None:
    # A depth snapshot (an object) read as an aggregate trades list (a list).
    wrong = RestEndpoint(
        DataType.TRADE, "/fapi/v1/depth", lambda i: f"symbol={i.instrument}", 20, agg_trades
    )
    async with httpx.AsyncClient() as http:
        p = Poller(simulator, http, RestPolling(polled=(wrong,)))
        await p.poller.poll(p.poller.polled)

    assert p.events == []
    assert p.sample("relay_rest_polls_total", endpoint="/fapi/v1/depth", outcome="bad_body") == 1
    assert p.sample("relay_frames_rejected_total", reason="bad_rest_body") == 1


async def test_the_poller_ends_when_cancelled_as_the_websocket_is_lost(
    simulator: Simulator,
) -> None:
    # The relay stopping: the connection ends (ws_lost) and the poller is cancelled
    # in the same turn of the loop; the cancellation must not be lost.
    async with httpx.AsyncClient() as http:
        p = Poller(simulator, http, RestPolling(fallback=USDM_POLLING.fallback))
        p.poller.config = replace(p.poller.config, rest_fallback_after_s=60)
        task = asyncio.create_task(p.poller.run())
        for _ in range(5):
            await asyncio.sleep(0)
        p.poller.ws_lost()
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=5)

    assert done == {task}
    assert task.cancelled()
    assert p.events == []
