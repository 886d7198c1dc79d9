"""The HTTP server's bounds: the connection gate, the fd-derived cap, and a real uvicorn
server (in this event loop, raw sockets as clients) shedding idle connections, closing slow
request heads and refusing oversized ones, while /livez and /readyz answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from relay.application.health import ConnectionState, HealthMonitor
from relay.application.log_rate_limit import LogRateLimit
from relay.config.model import HttpConfig
from relay.infrastructure.embedded_nats import free_port
from relay.infrastructure.http_app import HttpBindError, HttpServer, build_app
from relay.infrastructure.http_limits import ConnectionGate, ShedAction, connection_cap
from relay.infrastructure.metrics import PrometheusMetrics


class FakeConnection:
    def __init__(self, idle: bool = True) -> None:
        self.idle = idle
        self.was_shed = False

    def shed(self) -> None:
        self.was_shed = True


def test_the_cap_leaves_half_the_fd_limit_and_at_least_256_fds_to_the_rest() -> None:
    assert connection_cap(100, 1024) == 100
    assert connection_cap(1000, 1024) == 512
    assert connection_cap(50_000, 20_000) == 10_000
    assert connection_cap(100, 300) == 44
    assert connection_cap(100, 200) == 1
    assert connection_cap(7, resource.RLIM_INFINITY) == 7


def test_at_the_cap_the_longest_open_idle_connection_makes_room() -> None:
    sheds: list[ShedAction] = []
    gate = ConnectionGate(3, sheds.append)
    busy, idle_old, idle_new = FakeConnection(idle=False), FakeConnection(), FakeConnection()
    for connection in (busy, idle_old, idle_new):
        assert gate.admit(connection)
    newcomer = FakeConnection()
    assert gate.admit(newcomer)
    assert (busy.was_shed, idle_old.was_shed, idle_new.was_shed) == (False, True, False)
    assert sheds == [ShedAction.EVICTED_IDLE]
    assert gate.open_connections == 3
    gate.release(idle_old)  # its close arrives later: no effect
    assert gate.open_connections == 3


def test_with_every_connection_busy_the_newcomer_is_refused_until_one_closes() -> None:
    sheds: list[ShedAction] = []
    gate = ConnectionGate(2, sheds.append)
    first, second = FakeConnection(idle=False), FakeConnection(idle=False)
    assert gate.admit(first) and gate.admit(second)
    assert not gate.admit(FakeConnection())
    assert sheds == [ShedAction.REFUSED]
    gate.release(first)
    assert gate.admit(FakeConnection())
    assert (first.was_shed, second.was_shed, gate.open_connections) == (False, False, 2)


def test_sheds_are_logged_once_per_interval_with_the_count_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    gate = ConnectionGate(1, lambda action: None, LogRateLimit(10.0, clock=lambda: now[0]))
    gate.admit(FakeConnection())
    for _ in range(500):
        gate.admit(FakeConnection())
    now[0] = 10.0
    gate.admit(FakeConnection())
    lines = [r for r in caplog.records if r.name == "relay.http"]
    assert [(r.levelno, r.getMessage(), r.__dict__["suppressed"]) for r in lines] == [
        (logging.WARNING, "http connection limit reached", 0),
        (logging.WARNING, "http connection limit reached", 499),
    ]
    assert {r.__dict__["action"] for r in lines} == {"evicted_idle"}


@pytest.fixture
def health() -> HealthMonitor:
    return HealthMonitor(["binance-usdm"])


Server = tuple[HttpServer, PrometheusMetrics]


@contextlib.asynccontextmanager
async def running_server(health: HealthMonitor, header_timeout_s: float) -> AsyncIterator[Server]:
    """An HttpServer capped at 4 connections, request heads of at most 1,024 bytes."""
    metrics = PrometheusMetrics()
    config = HttpConfig(
        listen=f"127.0.0.1:{free_port()}",
        max_connections=4,
        max_header_bytes=1024,
        header_timeout_s=header_timeout_s,
    )
    http = HttpServer(
        build_app(health, metrics), config, lambda a: metrics.http_connection_shed(a.value)
    )
    task = asyncio.create_task(http.run())
    deadline = time.monotonic() + 10
    while not http.started:
        assert time.monotonic() < deadline, "HTTP server not started within 10 s"
        await asyncio.sleep(0.01)
    try:
        yield http, metrics
    finally:
        http.stop()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def server(health: HealthMonitor) -> AsyncIterator[Server]:
    async with running_server(health, header_timeout_s=30.0) as running:
        yield running


def url(http: HttpServer, path: str) -> str:
    return f"http://{http.listen}{path}"


async def closed_by_server(reader: asyncio.StreamReader, within_s: float) -> bool:
    """True when the server closes (EOF or reset) within ``within_s``."""
    try:
        return await asyncio.wait_for(reader.read(), within_s) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


async def test_livez_answers_and_readyz_says_why_until_nats_and_a_venue_are_up(
    server: Server, health: HealthMonitor
) -> None:
    http, _ = server
    async with httpx.AsyncClient() as client:
        live = await client.get(url(http, "/livez"))
        assert (live.status_code, live.json()) == (200, {"status": "alive"})
        not_ready = await client.get(url(http, "/readyz"))
        assert (not_ready.status_code, not_ready.json()) == (
            503,
            {"ready": False, "reasons": ["nats: not connected", "venues: none connected"]},
        )
        health.nats_connected = True
        health.venue_state("binance-usdm", ConnectionState.CONNECTED)
        ready = await client.get(url(http, "/readyz"))
        assert (ready.status_code, ready.json()) == (200, {"ready": True})


async def test_idle_connections_at_the_cap_make_room_for_a_probe_oldest_first(
    server: Server,
) -> None:
    http, metrics = server
    host, port = http.listen.split(":")
    idle = [await asyncio.open_connection(host, int(port)) for _ in range(4)]
    deadline = time.monotonic() + 5
    while http.gate.open_connections < 4:
        assert time.monotonic() < deadline, http.gate.open_connections
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient() as client:
        assert (await client.get(url(http, "/livez"))).status_code == 200
    assert await closed_by_server(idle[0][0], 5.0)
    assert not await closed_by_server(idle[1][0], 0.05)
    shed = metrics.registry.get_sample_value(
        "relay_http_connections_shed_total", {"action": "evicted_idle"}
    )
    assert shed == 1
    for _, writer in idle:
        writer.close()


async def test_a_request_head_not_complete_within_the_timeout_is_closed(
    health: HealthMonitor,
) -> None:
    async with running_server(health, header_timeout_s=0.3) as (http, _):
        host, port = http.listen.split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        started = time.monotonic()
        writer.write(b"GET /livez HTTP/1.1\r\nHost: relay\r\n")
        assert await closed_by_server(reader, 5.0)
        assert time.monotonic() - started >= 0.29
        assert http.gate.open_connections == 0
        writer.close()


async def test_an_unfinished_request_head_over_max_header_bytes_is_answered_400(
    server: Server,
) -> None:
    http, _ = server
    host, port = http.listen.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /livez HTTP/1.1\r\nHost: relay\r\nX-Big: " + b"a" * 1100)
    answer = await asyncio.wait_for(reader.read(), 5.0)
    assert answer.startswith(b"HTTP/1.1 400 ")
    writer.close()


async def test_a_taken_port_is_one_bind_error_naming_the_address(
    server: Server, health: HealthMonitor
) -> None:
    http, metrics = server
    second = HttpServer(build_app(health, metrics), HttpConfig(listen=http.listen), lambda a: None)
    with pytest.raises(HttpBindError) as caught:
        second.bind()
    assert str(caught.value) == f"http: cannot listen on {http.listen}: address already in use"
