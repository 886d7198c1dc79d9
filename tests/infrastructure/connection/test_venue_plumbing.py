"""The generic parts every venue relies on, driven by a minimal venue against real servers.

A test venue (``plumbing-test``) is registered for the duration of each test:
its protocol sends three subscribe frames, a keepalive ``"ping"`` every 0.2 s,
and answers the frame ``"break"`` with a book resync (unsubscribe + subscribe
replies). A real WebSocket server records what the relay sends; the simulator
serves a small capture of that venue through the venue's simulated side.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.asyncio.server import ServerConnection, serve

from relay.application.health import HealthMonitor
from relay.application.ports import (
    BookResync,
    FrameOutcome,
    Keepalive,
    SnapshotRequest,
    VenueProtocol,
)
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument, MarketEvent
from relay.infrastructure.connection import rotation
from relay.infrastructure.connection.session import OUTBOX_MAX_FRAMES
from relay.infrastructure.connection.venue_connection import VenueConnection
from relay.infrastructure.embedded_nats import free_port
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.venues import registry
from relay.infrastructure.venues.registry import VenueSpec, plan_connections
from relay.sim.captures import read_capture
from relay.sim.server import Simulator
from relay.sim.venues import registry as sim_registry

VENUE = "plumbing-test"
SUBSCRIBE_INTERVAL_S = 0.1


class PlumbingProtocol(VenueProtocol):
    """A venue of the test: three subscribe frames, a ping, a resync on ``"break"``."""

    def __init__(self, config: VenueConfig) -> None:
        self.config = config
        self.instrument = Instrument(VENUE, "BOOK-1", "BOOK/ONE")

    def ws_url(self) -> str:
        return self.config.ws_url

    def subscribe_frames(self) -> Sequence[str]:
        return ["sub-1", "sub-2", "sub-3"]

    def keepalive(self) -> Keepalive | None:
        return Keepalive(0.2, "ping")

    def on_open(self) -> FrameOutcome:
        return FrameOutcome([], [], [])

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        if frame == "flood":
            return FrameOutcome([], [], [f"frame {n}" for n in range(OUTBOX_MAX_FRAMES + 10)])
        if frame == "reconnect":
            return FrameOutcome([], [], [], reconnect=True)
        if frame == "break":
            return FrameOutcome(
                [], [], ["unsub BOOK-1", "sub BOOK-1"], [BookResync(self.instrument, "checksum")]
            )
        return FrameOutcome([], [], [])

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        if instruments is not None and "BOOK-1" not in instruments:
            return FrameOutcome([], [], [])
        return FrameOutcome(
            [], [], ["unsub BOOK-1", "sub BOOK-1"], [BookResync(self.instrument, reason)]
        )

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, received_at_ms: int
    ) -> FrameOutcome:
        return FrameOutcome([], [], [])


class EchoVenueSide:
    """The simulated venue side: answers "ping" with "pong" and notes the frames passed."""

    def __init__(self) -> None:
        self.passed: list[str] = []
        sides.append(self)

    def on_frame_passed(self, frame: str) -> None:
        self.passed.append(frame)

    def on_client_frame(self, frame: str) -> Sequence[str]:
        return [f"pong after {len(self.passed)}"] if frame == "ping" else []


sides: list[EchoVenueSide] = []


@pytest.fixture
def plumbing_venue() -> Iterator[VenueSpec]:
    spec = registry.register(
        VenueSpec(
            id=VENUE,
            data_types=frozenset({DataType.L2_ORDERBOOK}),
            default_ws_url="ws://127.0.0.1:1/unused",
            default_rest_url="",
            protocol_factory=PlumbingProtocol,
            subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
            max_subscriptions_per_connection=2,
        )
    )
    sim_registry.register_simulated(sim_registry.SimulatedSide(VENUE, venue=EchoVenueSide))
    sides.clear()
    yield spec
    registry._REGISTRY.pop(VENUE)
    sim_registry._REGISTRY.pop(VENUE)


def venue_config(ws_url: str, instruments: Sequence[str] = ("BOOK-1",)) -> VenueConfig:
    return VenueConfig(
        id=VENUE,
        ws_url=ws_url,
        subscriptions=tuple(
            SubscriptionConfig(name, name.replace("-", "/"), (DataType.L2_ORDERBOOK,))
            for name in instruments
        ),
        ping_interval_s=20.0,
    )


@pytest.fixture
async def recording_server() -> AsyncIterator[tuple[str, list[tuple[float, str]]]]:
    """A WebSocket server noting (monotonic time, frame) of what clients send.

    It sends ``"break"`` once the third frame has arrived.
    """
    received: list[tuple[float, str]] = []

    async def handler(connection: ServerConnection) -> None:
        async for message in connection:
            received.append((time.monotonic(), str(message)))
            if [frame for _, frame in received if frame != "ping"] == ["sub-1", "sub-2", "sub-3"]:
                await connection.send("break")

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/", received


async def published(_: MarketEvent, __: int) -> None:
    raise AssertionError("the test venue publishes nothing")


async def test_subscribe_frames_are_paced_pings_sent_and_a_book_resync_counted_and_sent(
    plumbing_venue: VenueSpec, recording_server: tuple[str, list[tuple[float, str]]]
) -> None:
    url, received = recording_server
    metrics = PrometheusMetrics()
    async with httpx.AsyncClient() as http:
        connection = VenueConnection(
            plumbing_venue, venue_config(url), published, metrics, HealthMonitor([VENUE]), http
        )
        task = asyncio.create_task(connection.run())
        for _ in range(100):
            frames = [frame for _, frame in received]
            if frames.count("ping") >= 2 and "sub BOOK-1" in frames:
                break
            await asyncio.sleep(0.05)
        await connection.stop_reading()
        await asyncio.wait_for(task, 5)
    paced = [(at, frame) for at, frame in received if frame != "ping"]
    assert [frame for _, frame in paced] == [
        "sub-1",
        "sub-2",
        "sub-3",
        "unsub BOOK-1",
        "sub BOOK-1",
    ]
    pings = [at for at, frame in received if frame == "ping"]
    assert len(pings) >= 2
    assert pings[1] - pings[0] >= 0.2 - 0.02
    times = [at for at, _ in paced]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    print(f"\ngaps between paced frames: {[round(gap, 3) for gap in gaps]} s")
    # The writer keeps 0.1 s between frames; the receiving side may see them up to a
    # scheduling tick closer together.
    assert min(gaps) >= SUBSCRIBE_INTERVAL_S - 0.02
    resyncs = metrics.registry.get_sample_value(
        "relay_book_resyncs_total", {"venue": VENUE, "instrument": "BOOK-1", "reason": "checksum"}
    )
    assert resyncs == 1


async def test_a_flood_of_frames_for_the_venue_drops_the_connection_and_reconnects(
    plumbing_venue: VenueSpec,
) -> None:
    """More frames waiting to be sent than the outbox holds: the venue is not reading."""
    connections: list[int] = []

    async def handler(connection: ServerConnection) -> None:
        connections.append(len(connections) + 1)
        if len(connections) == 1:
            await connection.send("flood")
        async for _ in connection:
            pass

    async with serve(handler, "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        metrics = PrometheusMetrics()
        config = replace(venue_config(url), reconnect_base_s=0.05, reconnect_cap_s=0.1)
        async with httpx.AsyncClient() as http:
            connection = VenueConnection(
                plumbing_venue, config, published, metrics, HealthMonitor([VENUE]), http
            )
            task = asyncio.create_task(connection.run())
            for _ in range(100):
                if len(connections) >= 2:
                    break
                await asyncio.sleep(0.05)
            await connection.stop_reading()
            await asyncio.wait_for(task, 5)
    assert len(connections) >= 2
    reconnects = metrics.registry.get_sample_value("relay_venue_reconnects_total", {"venue": VENUE})
    assert reconnects is not None and reconnects >= 1


async def test_a_venue_asking_for_a_reconnect_gets_a_new_connection_before_the_old_closes(
    plumbing_venue: VenueSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The protocol's outcome says ``reconnect`` (Bitstamp's ``bts:request_reconnect``): a
    second connection is opened, and only once it has received a frame is the first one
    closed (the rotation's handover; its catch-up wait cut to 0.2 s: the test venue
    publishes nothing to catch up on). Counted as one rotation; no further connection."""
    monkeypatch.setattr(rotation, "CATCH_UP_TIMEOUT_S", 0.2)
    opened: list[float] = []
    first_frame_sent: list[float] = []
    closed: dict[int, float] = {}

    async def handler(connection: ServerConnection) -> None:
        number = len(opened) + 1
        opened.append(time.monotonic())
        await connection.send("reconnect" if number == 1 else "hello")
        if number > 1:
            first_frame_sent.append(time.monotonic())
        async for _ in connection:
            pass
        closed[number] = time.monotonic()

    async with serve(handler, "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        metrics = PrometheusMetrics()
        async with httpx.AsyncClient() as http:
            connection = VenueConnection(
                plumbing_venue, venue_config(url), published, metrics, HealthMonitor([VENUE]), http
            )
            task = asyncio.create_task(connection.run())
            for _ in range(100):
                if 1 in closed:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # a window for a wrong third connection
            assert len(opened) == 2 and list(closed) == [1]
            await connection.stop_reading()
            await asyncio.wait_for(task, 5)
    assert first_frame_sent[0] < closed[1]
    rotations = metrics.registry.get_sample_value(
        "relay_connection_rotations_total", {"venue": VENUE}
    )
    assert rotations == 1


def test_plan_connections_shards_subscriptions_and_names_the_connections(
    plumbing_venue: VenueSpec,
) -> None:
    config = venue_config("ws://x/", ["A-1", "B-1", "C-1", "D-1", "E-1"])
    plan = plan_connections(plumbing_venue, config)
    assert [name for name, _ in plan] == [VENUE, f"{VENUE}#2", f"{VENUE}#3"]
    assert [[s.instrument for s in part.subscriptions] for _, part in plan] == [
        ["A-1", "B-1"],
        ["C-1", "D-1"],
        ["E-1"],
    ]


def test_plan_connections_applies_the_venue_split_before_sharding(
    plumbing_venue: VenueSpec,
) -> None:
    def by_letter(config: VenueConfig) -> list[VenueConfig]:
        vowels = tuple(s for s in config.subscriptions if s.instrument[0] in "AE")
        others = tuple(s for s in config.subscriptions if s.instrument[0] not in "AE")
        return [
            replace(config, subscriptions=vowels, ws_url="ws://vowels/"),
            replace(config, subscriptions=others),
            replace(config, subscriptions=()),
        ]

    spec = replace(plumbing_venue, split_connections=by_letter)
    plan = plan_connections(spec, venue_config("ws://x/", ["A-1", "B-1", "C-1", "D-1", "E-1"]))
    assert [
        (name, part.ws_url, [s.instrument for s in part.subscriptions]) for name, part in plan
    ] == [
        (VENUE, "ws://vowels/", ["A-1", "E-1"]),
        (f"{VENUE}#2", "ws://x/", ["B-1", "C-1"]),
        (f"{VENUE}#3", "ws://x/", ["D-1"]),
    ]


async def test_the_simulator_lets_the_venue_side_answer_client_frames(
    plumbing_venue: VenueSpec, tmp_path: Path
) -> None:
    lines = [
        json.dumps(
            {
                "capture": 1,
                "venue": VENUE,
                "recorded": "2026-11-22T00:00:00+00:00",
                "source": "test",
                "records": 4,
            }
        ),
        json.dumps({"t": 1.0, "kind": "connect", "conn": "ws-1", "url": "wss://venue/ws"}),
        json.dumps({"t": 1.1, "kind": "send", "conn": "ws-1", "data": "subscribe"}),
        json.dumps({"t": 1.2, "kind": "recv", "conn": "ws-1", "data": "frame-1"}),
        json.dumps({"t": 1.3, "kind": "recv", "conn": "ws-1", "data": "frame-2"}),
    ]
    path = tmp_path / "plumbing.jsonl"
    path.write_text("\n".join(lines) + "\n")
    async with (
        Simulator([read_capture(path)], speed=None) as simulator,
        websockets.connect(simulator.ws_url_for(VENUE, "/ws")) as client,
    ):
        await client.send("subscribe")
        assert [await client.recv(), await client.recv()] == ["frame-1", "frame-2"]
        await client.send("ping")
        assert await client.recv() == "pong after 2"
    assert [side.passed for side in sides] == [["frame-1", "frame-2"]]


async def test_the_first_frame_waits_the_venues_connect_wait_after_the_connection_opens(
    plumbing_venue: VenueSpec,
) -> None:
    """``VenueSpec.connect_wait_s`` (Crypto.com: 1 s, its rate limit counts from the second
    the connection opened): the server sees the first subscribe frame no sooner than that
    after accepting the connection; the frames after it keep their own pacing."""
    opened: list[float] = []
    received: list[tuple[float, str]] = []

    async def handler(connection: ServerConnection) -> None:
        opened.append(time.monotonic())
        async for message in connection:
            received.append((time.monotonic(), str(message)))

    spec = replace(plumbing_venue, connect_wait_s=0.4)
    async with serve(handler, "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        async with httpx.AsyncClient() as http:
            connection = VenueConnection(
                spec,
                venue_config(url),
                published,
                PrometheusMetrics(),
                HealthMonitor([VENUE]),
                http,
            )
            task = asyncio.create_task(connection.run())
            for _ in range(100):
                if [f for _, f in received if f.startswith("sub-")] == ["sub-1", "sub-2", "sub-3"]:
                    break
                await asyncio.sleep(0.05)
            await connection.stop_reading()
            await asyncio.wait_for(task, 5)
    subs = [(at, f) for at, f in received if f.startswith("sub-")]
    assert [f for _, f in subs] == ["sub-1", "sub-2", "sub-3"]
    waited_s = subs[0][0] - opened[0]
    print(f"\nfirst frame {waited_s:.3f} s after the connection opened")
    assert waited_s >= 0.4 - 0.02
    assert subs[1][0] - subs[0][0] >= SUBSCRIBE_INTERVAL_S - 0.02


@pytest.mark.parametrize(
    ("waiting_in", "settings"),
    [
        ("reconnect backoff", {"reconnect_base_s": 60.0, "reconnect_cap_s": 60.0}),
        (
            "open circuit breaker",
            {
                "reconnect_base_s": 0.01,
                "reconnect_cap_s": 0.01,
                "breaker_failure_threshold": 1,
                "breaker_reset_timeout_s": 60.0,
            },
        ),
    ],
)
async def test_stop_reading_ends_a_connection_that_cannot_connect_without_cancelling_it(
    plumbing_venue: VenueSpec, waiting_in: str, settings: dict[str, float]
) -> None:
    """The venue is unreachable: the connection waits a minute before its next attempt,
    in its backoff or behind its open breaker. ``stop_reading`` ends ``run`` at once:
    a stopping relay never has to cancel it (a cancellation a library swallows would
    leave the retry loop running)."""
    metrics = PrometheusMetrics()
    config = replace(
        venue_config(f"ws://127.0.0.1:{free_port()}/"),
        reconnect_base_s=settings["reconnect_base_s"],
        reconnect_cap_s=settings["reconnect_cap_s"],
        breaker_failure_threshold=int(settings.get("breaker_failure_threshold", 5)),
        breaker_reset_timeout_s=settings.get("breaker_reset_timeout_s", 30.0),
    )
    async with httpx.AsyncClient() as http:
        connection = VenueConnection(
            plumbing_venue, config, published, metrics, HealthMonitor([VENUE]), http
        )
        task = asyncio.create_task(connection.run())
        for _ in range(200):
            if metrics.registry.get_sample_value("relay_venue_reconnects_total", {"venue": VENUE}):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("no failed connection attempt within 10 s")
        if waiting_in == "open circuit breaker":
            assert connection.breaker.seconds_until_allowed(time.monotonic()) > 30
        await connection.stop_reading()
        done, _ = await asyncio.wait([task], timeout=5)
        assert done == {task}, f"run() still waiting in its {waiting_in} after stop_reading"
    assert task.result() is None
    assert not connection.open
