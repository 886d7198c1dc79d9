"""``/health`` and the SDK's ``status()`` show the same stream states through a running relay.

Real nats-server, the simulator replaying the recorded binance-usdm session
(the setup of tests/e2e/test_client_end_to_end.py) and the relay in this
event loop: a skip fault makes the CTKUSDT book resync (``resyncing`` then
``streaming``), a stall fault makes the ticker streams go silent until the
staleness watchdog replaces the connection (``stale`` then ``streaming``);
both are polled in ``/health``'s ``streams`` section and in ``status()``.
"""

from __future__ import annotations

import httpx
import pytest
from nats.js.errors import NotFoundError
from support.e2e import relay_in_process, until
from support.reference_books import CAPTURES

from relay.bootstrap import Relay
from relay.client import RelayClient
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.sim.captures import read_capture
from relay.sim.faults import Faults, ReconnectMode
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration

USDM_ONLY = ("binance-usdm",)

States = list[tuple[str, int, str | None]]
"""(state, resyncs, last reason) in the order first seen."""


class Watch:
    """Polls one stream's state in ``/health`` and in ``status()``, keeping each change."""

    def __init__(
        self, relay: Relay, client: RelayClient, http: httpx.AsyncClient, key: tuple[str, str]
    ) -> None:
        self.url = f"http://127.0.0.1:{relay.config.http.port}/health"
        self.client = client
        self.http = http
        self.instrument, self.data_type = key
        self.health: States = []
        self.status: States = []

    @staticmethod
    def _note(seen: States, state: tuple[str, int, str | None]) -> None:
        if not seen or seen[-1] != state:
            seen.append(state)

    async def poll(self) -> None:
        """One look at both."""
        report = (await self.http.get(self.url)).json()
        entry = report["streams"]["binance-usdm"][self.instrument][self.data_type]
        self._note(self.health, (entry["state"], entry["resyncs"], entry["last_reason"]))
        for record in await self.client.status("binance-usdm"):
            if (record.instrument, record.data_type) == (self.instrument, self.data_type):
                self._note(self.status, (record.state, record.resyncs, record.last_reason))

    async def reached(self, state: str, after: str | None = None) -> bool:
        """Both have shown ``state`` (after ``after``, when given)."""
        await self.poll()
        return all(_after(seen, after, state) for seen in (self.health, self.status))


def _after(seen: States, first: str | None, then: str) -> bool:
    states = [state for state, _, _ in seen]
    if first is None:
        return then in states
    return first in states and then in states[states.index(first) + 1 :]


async def _stream_made(client: RelayClient) -> bool:
    try:
        await client.nc.jetstream().stream_info("MARKET")
    except NotFoundError:
        return False
    return True


async def test_a_forced_gap_shows_resyncing_then_streaming_in_health_as_in_status() -> None:
    # Recorded frames 200-204 skipped: the CTKUSDT book resyncs once, reason "gap"
    # (tests/e2e/test_client_end_to_end.py).
    simulator = Simulator(
        [read_capture(CAPTURES / "binance-usdm.jsonl")],
        speed=2.0,
        faults=Faults(skip_after_frames=200, skip_frames=5, reconnect=ReconnectMode.RESUME),
    )
    async with EmbeddedNats() as server, simulator, httpx.AsyncClient() as http:
        async with relay_in_process(server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY) as relay:
            async with RelayClient(server.url) as client:
                await until(lambda: _stream_made(client), "stream MARKET created by the relay")
                watch = Watch(relay, client, http, ("CTKUSDT", "l2_orderbook"))
                await until(lambda: watch.reached("streaming"), "CTKUSDT streaming", 60)
                await until(lambda: watch.reached("resyncing"), "CTKUSDT resyncing", 60)
                await until(
                    lambda: watch.reached("streaming", after="resyncing"),
                    "CTKUSDT streaming again",
                    30,
                )
                akro = (await http.get(watch.url)).json()["streams"]["binance-usdm"]["AKROUSDT"]
    print(f"\nCTKUSDT in /health: {watch.health}; in status(): {watch.status}")
    for seen in (watch.health, watch.status):
        states = [state for state, _, _ in seen]
        assert ("resyncing", 1, "gap") in seen
        assert seen[-1] == ("streaming", 1, "gap")
        assert states.index("resyncing") < len(states) - 1
    assert (akro["l2_orderbook"]["resyncs"], akro["l2_orderbook"]["last_reason"]) == (1, "gap")
    assert (akro["ticker"]["resyncs"], akro["ticker"]["last_reason"]) == (0, None)


async def test_a_stalled_venue_shows_stale_then_streaming_after_the_reconnect() -> None:
    # After 100 recorded frames the simulator keeps the connection open and silent;
    # the ticker watchdog (2 s) replaces it and the replay resumes on the new one.
    simulator = Simulator(
        [read_capture(CAPTURES / "binance-usdm.jsonl")],
        speed=2.0,
        faults=Faults(stall_after_frames=100),
    )
    stale_after = "stale_after_s = { ticker = 2.0, l2_orderbook = 0, candle = 0 }"
    async with EmbeddedNats() as server, simulator, httpx.AsyncClient() as http:
        async with relay_in_process(
            server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY, stale_after
        ) as relay:
            async with RelayClient(server.url) as client:
                await until(lambda: _stream_made(client), "stream MARKET created by the relay")
                watch = Watch(relay, client, http, ("SUSHIUSDT", "ticker"))
                await until(lambda: watch.reached("streaming"), "SUSHIUSDT ticker streaming", 60)
                await until(lambda: watch.reached("stale"), "SUSHIUSDT ticker stale", 30)
                await until(
                    lambda: watch.reached("streaming", after="stale"),
                    "SUSHIUSDT ticker streaming after the reconnect",
                    30,
                )
                connections = simulator.connections_served
                book = (await http.get(watch.url)).json()["streams"]["binance-usdm"]["SUSHIUSDT"]
    print(f"\nSUSHIUSDT ticker in /health: {watch.health}; in status(): {watch.status}")
    for seen in (watch.health, watch.status):
        assert [state for state, _, _ in seen][:3] == ["streaming", "stale", "streaming"]
        assert {(resyncs, reason) for _, resyncs, reason in seen} == {(0, None)}
    assert connections == 2
    assert book["l2_orderbook"]["state"] == "streaming"
